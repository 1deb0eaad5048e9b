"""Invitations by e-mail: a person with no account is invited, follows the link, sets a password
and lands in the space (real SMTP server on loopback), or signs in through the network's provider
(oidc-provider-mock on loopback); existing members accept from home; bad
links say what is wrong; nothing joins twice."""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import re
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import msgspec
import pytest
from litestar.testing import AsyncTestClient
from oidc_provider_mock import run_server_in_thread
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.app import create_app
from services.persistence.models import (
    Account,
    AuditEvent,
    MailOutbox,
    NetworkMember,
    Notification,
    Share,
    Space,
    SpaceInvitation,
    SpaceMember,
)
from services.settings import Settings
from tests.factories import (
    add_facilitators,
    add_member,
    bearer,
    make_account,
    make_network,
    make_space,
    make_token,
)
from tests.services.mailserver import Mailbox, smtp_server
from tests.services.test_identity_broker import connect, set_mock_user

BASE = "http://affinity.test"


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with smtp_server() as box:
        yield box


@pytest.fixture
def mail_settings(settings: Settings, mailbox: Mailbox) -> Settings:
    return msgspec.structs.replace(
        settings,
        smtp_host=mailbox.host,
        smtp_port=mailbox.port,
        smtp_security="none",
        mail_poll_seconds=0.2,
        public_url=BASE,
    )


@pytest.fixture
async def web(mail_settings: Settings) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(app=create_app(mail_settings), base_url=BASE) as c:
        yield c


@pytest.fixture
async def world(db_session: AsyncSession) -> dict:
    net = await make_network(db_session, name="Kent School District")
    other = await make_network(db_session, name="Puget ESD")
    fac = await make_account(db_session, name="Fran Facilitator")
    member = await make_account(db_session, email="mia@kent.example.org", name="Mia")
    outsider = await make_account(db_session, email="olu@puget.example.org", name="Olu")
    await add_member(db_session, net, fac)
    await add_member(db_session, net, member)
    await add_member(db_session, other, outsider)
    space = await make_space(
        db_session,
        net,
        name="Black Educators",
        join_mode="invite",
        visibility="unlisted",
        settings={"membership.join_mode": "invite"},
    )
    await add_facilitators(db_session, space, fac)
    out = {
        "net": net,
        "other": other,
        "fac": fac,
        "member": member,
        "outsider": outsider,
        "space": space,
        "fac_token": await make_token(db_session, fac),
        "member_token": await make_token(db_session, member),
        "outsider_token": await make_token(db_session, outsider),
    }
    await db_session.commit()
    return out


def _link(mailbox: Mailbox, address: str) -> str:
    [message] = mailbox.to(address)
    found = re.search(r"http://affinity\.test/invitations/(\S+)", message.get_content())
    assert found, message.get_content()
    return "/invitations/" + found.group(1)


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


async def _invite(web: AsyncTestClient, world: dict, email: str, token_key: str = "fac_token") -> dict:
    r = await web.post(
        f"/api/v1/spaces/{world['space'].id}/email-invitations",
        json={"email": email, "message": "We meet monthly."},
        headers=bearer(world[token_key]),
    )
    assert r.status_code == 201, r.text
    return r.json()


async def test_a_new_person_is_invited_by_email_sets_a_password_and_lands_in_the_space(
    web: AsyncTestClient, world: dict, mailbox: Mailbox, db_session: AsyncSession
) -> None:
    created = await _invite(web, world, "  Nia.New@Example.ORG ")
    assert created["email"] == "nia.new@example.org" and created["for_new_person"] is True
    await asyncio.to_thread(mailbox.wait, 1)  # the background sender, woken by the commit
    [mail] = mailbox.to("nia.new@example.org")
    assert mail["Subject"] == "You are invited to Black Educators (Kent School District)"
    assert "Accepting also makes you a member of Kent School District" in mail.get_content()
    link = _link(mailbox, "nia.new@example.org")
    token = link.rsplit("/", 1)[1]
    # The token is nowhere in the database: not in the invitation, not in the outbox.
    inv = await db_session.scalar(select(SpaceInvitation))
    assert inv is not None and token.encode() not in inv.token_hash
    for _ in range(100):  # the sender commits "sent" just after the server said 250 (READ COMMITTED: no rollback)
        status, body_text, headers = (
            await db_session.execute(select(MailOutbox.status, MailOutbox.body_text, MailOutbox.headers))
        ).one()
        if status == "sent":
            break
        await asyncio.sleep(0.05)
    assert status == "sent"
    assert token not in body_text and token not in str(headers)

    page = await web.get(link)
    assert page.status_code == 200
    assert "Black Educators" in page.text and "Set password and join" in page.text
    csrf = _csrf(page.text)
    weak = await web.post(
        link + "/accept",
        data={"csrf_token": csrf, "display_name": "Nia", "password": "short", "password_again": "short"},
        headers={"Origin": BASE},
    )
    assert weak.status_code == 422 and "at least 12 characters" in weak.text
    done = await web.post(
        link + "/accept",
        data={
            "csrf_token": csrf,
            "display_name": "Nia New",
            "password": "a long enough secret",
            "password_again": "a long enough secret",
        },
        headers={"Origin": BASE},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    assert done.headers["location"] == f"/spaces/{world['space'].id}"
    assert "affinity_session" in web.cookies
    me = (await web.get("/api/v1/me")).json()
    assert me["display_name"] == "Nia New"
    assert [s["name"] for s in me["spaces"]] == ["Black Educators"]
    assert [n["name"] for n in me["networks"]] == ["Kent School District"]
    assert (await web.get(f"/spaces/{world['space'].id}")).status_code == 200
    # Single use: the same link again says so and joins nothing twice.
    web.cookies.clear()
    again = await web.get(link)
    assert again.status_code == 410 and "already been used" in again.text
    again = await web.post(
        link + "/accept",
        data={
            "csrf_token": csrf,
            "display_name": "X",
            "password": "another long one!",
            "password_again": "another long one!",
        },
        headers={"Origin": BASE},
    )
    assert again.status_code in {403, 410}
    assert (
        await db_session.scalar(
            select(func.count())
            .select_from(SpaceMember)
            .where(SpaceMember.space_id == world["space"].id, SpaceMember.status == "active")
        )
        == 2
    )


async def test_a_member_sees_the_invitation_at_home_and_accepts_it_once(
    web: AsyncTestClient, world: dict, mailbox: Mailbox, db_session: AsyncSession
) -> None:
    created = await _invite(web, world, "mia@kent.example.org")
    assert created["for_new_person"] is False
    h = bearer(world["member_token"])
    mine = (await web.get("/api/v1/me/invitations", headers=h)).json()["items"]
    assert [(i["space_name"], i["invited_by"], i["network_name"]) for i in mine] == [
        ("Black Educators", "Fran Facilitator", "Kent School District")
    ]
    note = await db_session.scalar(select(Notification).where(Notification.account_id == world["member"].id))
    assert note is not None and note.kind == "invitation" and note.link == "/"
    # Someone else cannot accept it.
    r = await web.post(f"/api/v1/me/invitations/{mine[0]['id']}/accept", headers=bearer(world["fac_token"]))
    assert r.status_code == 404
    r = await web.post(f"/api/v1/me/invitations/{mine[0]['id']}/accept", headers=h)
    assert r.status_code == 200 and r.json() == {
        "space_id": str(world["space"].id),
        "outcome": "joined",
        "joined_network": False,
    }
    r = await web.post(f"/api/v1/me/invitations/{mine[0]['id']}/accept", headers=h)
    assert r.status_code == 409 and r.json()["error"]["code"] == "invitation_used"
    assert (await web.get("/api/v1/me/invitations", headers=h)).json()["items"] == []
    listed = (
        await web.get(f"/api/v1/spaces/{world['space'].id}/email-invitations", headers=bearer(world["fac_token"]))
    ).json()["items"]
    assert [i["status"] for i in listed] == ["accepted"]
    # Inviting a member again is refused.
    r = await web.post(
        f"/api/v1/spaces/{world['space'].id}/email-invitations",
        json={"email": "mia@kent.example.org"},
        headers=bearer(world["fac_token"]),
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "already_member"


async def test_only_people_who_may_belong_can_be_invited(
    web: AsyncTestClient, world: dict, db_session: AsyncSession
) -> None:
    before = await db_session.scalar(select(func.count()).select_from(SpaceInvitation))
    r = await web.post(
        f"/api/v1/spaces/{world['space'].id}/email-invitations",
        json={"email": "olu@puget.example.org"},
        headers=bearer(world["fac_token"]),
    )
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "not_eligible" and r.json()["error"]["details"]["field"] == "email"
    assert await db_session.scalar(select(func.count()).select_from(SpaceInvitation)) == before
    # Once the space is shared with Olu's network, Olu may be invited.
    db_session.add(
        Share(
            id=uuid.uuid4(),
            space_id=world["space"].id,
            host_network_id=world["net"].id,
            guest_network_id=world["other"].id,
            status="active",
            created_at=dt.datetime.now(dt.UTC),
            expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=14),
        )
    )
    await db_session.commit()
    r = await web.post(
        f"/api/v1/spaces/{world['space'].id}/email-invitations",
        json={"email": "olu@puget.example.org"},
        headers=bearer(world["fac_token"]),
    )
    assert r.status_code == 201, r.text
    mine = (await web.get("/api/v1/me/invitations", headers=bearer(world["outsider_token"]))).json()["items"]
    r = await web.post(f"/api/v1/me/invitations/{mine[0]['id']}/accept", headers=bearer(world["outsider_token"]))
    assert r.status_code == 200, r.text
    row = await db_session.scalar(select(SpaceMember).where(SpaceMember.account_id == world["outsider"].id))
    assert row is not None and row.own_standing  # a guest through the share


async def test_bad_input_and_refused_roles(web: AsyncTestClient, world: dict, db_session: AsyncSession) -> None:
    url = f"/api/v1/spaces/{world['space'].id}/email-invitations"
    r = await web.post(url, json={"email": "not an address"}, headers=bearer(world["fac_token"]))
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "email"
    r = await web.post(url, json={"email": "x@example.org", "extra": 1}, headers=bearer(world["fac_token"]))
    assert r.status_code in {400, 422}
    r = await web.post(url, json={"email": "x@example.org"}, headers=bearer(world["member_token"]))
    assert r.status_code == 404  # not a member of this unlisted space: it does not exist for them
    r = await web.get(url, headers=bearer(world["member_token"]))
    assert r.status_code == 404
    assert await db_session.scalar(select(func.count()).select_from(SpaceInvitation)) == 0
    assert await db_session.scalar(select(func.count()).select_from(AuditEvent)) == 0


async def test_each_bad_link_says_what_is_wrong(
    web: AsyncTestClient, world: dict, mailbox: Mailbox, db_session: AsyncSession
) -> None:
    assert (await web.get("/invitations/" + "x" * 40)).status_code == 404
    for n, email in enumerate(("a@example.org", "b@example.org", "c@example.org", "mia@kent.example.org")):
        await _invite(web, world, email)
        await asyncio.to_thread(mailbox.wait, n + 1)
    links = {e: _link(mailbox, e) for e in ("a@example.org", "b@example.org", "c@example.org", "mia@kent.example.org")}
    await db_session.execute(
        update(SpaceInvitation)
        .where(SpaceInvitation.email == "a@example.org")
        .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
    )
    await db_session.commit()
    r = await web.get(links["a@example.org"])
    assert r.status_code == 410 and "expired" in r.text and "send a new one" in r.text
    inv_b = await db_session.scalar(select(SpaceInvitation.id).where(SpaceInvitation.email == "b@example.org"))
    r = await web.delete(
        f"/api/v1/spaces/{world['space'].id}/email-invitations/{inv_b}", headers=bearer(world["fac_token"])
    )
    assert r.status_code == 204
    r = await web.get(links["b@example.org"])
    assert r.status_code == 410 and "withdrawn" in r.text
    # Signed in as someone else: "another address".
    web.cookies.set("affinity_session", "nope")
    r = await web.get(links["c@example.org"])
    assert r.status_code == 200  # a stale cookie is no sign-in
    # The existing member's link while signed out: sign in first, then accept at home.
    r = await web.get(links["mia@kent.example.org"])
    assert r.status_code == 200 and "Sign in" in r.text and "Set password" not in r.text
    # The space goes away: the link says so.
    await db_session.execute(delete(SpaceMember).where(SpaceMember.space_id == world["space"].id))
    await db_session.execute(delete(Space).where(Space.id == world["space"].id))
    await db_session.commit()
    r = await web.get(links["c@example.org"])
    assert r.status_code == 410 and "no longer exists" in r.text


async def test_signed_in_with_another_address(
    web: AsyncTestClient, world: dict, mailbox: Mailbox, db_session: AsyncSession
) -> None:
    from services.identity.sessions import create_session

    await _invite(web, world, "c@example.org")
    await asyncio.to_thread(mailbox.wait, 1)
    link = _link(mailbox, "c@example.org")
    settings: Settings = web.app.state.settings
    new = await create_session(db_session, settings, world["member"].id, "test")
    await db_session.commit()
    web.cookies.set("affinity_session", new.token)
    r = await web.get(link)
    assert r.status_code == 409 and "another address" in r.text and "c@example.org" in r.text
    assert await db_session.scalar(select(func.count()).select_from(NetworkMember)) == 3


# --- accepting by signing in through the network's own provider --------------------------------
# A real OpenID provider (oidc-provider-mock) on loopback, reached over real HTTP; the browser is
# the app's test client (it keeps the cookies).


@pytest.fixture(scope="module")
def mock_idp() -> Iterator[str]:
    """A real OIDC provider on a free loopback port (as in test_identity_broker); yields its issuer."""
    with run_server_in_thread(require_nonce=True) as server:
        yield f"http://localhost:{server.server_port}"


async def _provider_ready(web: AsyncTestClient, world: dict, db_session: AsyncSession, issuer: str) -> str:
    """The network's admin connects its provider; returns the network's slug."""
    admin = await make_account(db_session, name="Ada Admin")
    await add_member(db_session, world["net"], admin, "admin")
    token = await make_token(db_session, admin)
    await db_session.commit()
    r = await connect(web, token, world["net"].slug, issuer)
    assert r.status_code == 200, r.text
    return str(world["net"].slug)


async def _sign_in_from_invitation(web: AsyncTestClient, link: str, sub: str) -> httpx.Response:
    """Open the invitation, choose "Sign in with <network>", let the provider authorize ``sub``,
    come back: the callback's response (a redirect to where the invitation page said)."""
    page = await web.get(link)
    assert page.status_code == 200, page.text
    found = re.search(r'<a class="button" href="([^"]+)">Sign in with Kent School District</a>', page.text)
    assert found, page.text
    start = await web.get(html.unescape(found.group(1)), follow_redirects=False)
    assert start.status_code == 302, start.text
    async with httpx.AsyncClient() as http:  # real HTTP to the network's provider
        authorized = await http.post(start.headers["location"], data={"sub": sub})
    assert authorized.status_code == 302, authorized.text
    callback = authorized.headers["location"]
    assert callback.startswith(f"{BASE}/auth/callback/")
    back = await web.get(callback.removeprefix(BASE), follow_redirects=False)
    assert back.status_code == 303, back.text
    # back at the invitation this browser was looking at (its token stayed in a cookie, never in
    # the sign-in's stored state)
    assert back.headers["location"] == "/invitations/continue"
    resumed = await web.get("/invitations/continue", follow_redirects=False)
    assert resumed.status_code == 303, resumed.text
    return resumed


async def _active_in_space(db_session: AsyncSession, space_id: object) -> int:
    return int(
        await db_session.scalar(
            select(func.count())
            .select_from(SpaceMember)
            .where(SpaceMember.space_id == space_id, SpaceMember.status == "active")
        )
        or 0
    )


async def test_a_new_person_accepts_by_signing_in_through_the_networks_provider(
    web: AsyncTestClient, world: dict, mailbox: Mailbox, db_session: AsyncSession, mock_idp: str
) -> None:
    await _provider_ready(web, world, db_session, mock_idp)
    created = await _invite(web, world, "nia.sso@example.org")
    assert created["for_new_person"] is True
    await asyncio.to_thread(mailbox.wait, 1)
    link = _link(mailbox, "nia.sso@example.org")
    await set_mock_user(mock_idp, "nia-1", {"email": "Nia.SSO@example.org", "email_verified": True, "name": "Nia"})

    back = await _sign_in_from_invitation(web, link, "nia-1")
    # Back from the provider, signed in, at the invitation again: it now offers to join.
    assert back.headers["location"] == link
    assert (await web.get("/invitations/continue", follow_redirects=False)).headers["location"] == "/"  # once
    page = await web.get(link)
    assert page.status_code == 200 and "Join Black Educators" in page.text, page.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf
    done = await web.post(
        link + "/accept", data={"csrf_token": csrf.group(1)}, headers={"Origin": BASE}, follow_redirects=False
    )
    assert done.status_code == 303, done.text
    assert done.headers["location"] == f"/spaces/{world['space'].id}"
    assert "affinity_invitation" not in web.cookies  # the way back is cleared once used
    assert (await web.get(done.headers["location"])).status_code == 200
    me = (await web.get("/api/v1/me")).json()
    assert me["display_name"] == "Nia" and [s["name"] for s in me["spaces"]] == ["Black Educators"]
    assert [n["name"] for n in me["networks"]] == ["Kent School District"]
    account = await db_session.scalar(select(Account).where(func.lower(Account.email) == "nia.sso@example.org"))
    assert account is not None and account.password_hash is None  # signs in through the provider only
    inv = await db_session.scalar(select(SpaceInvitation))
    assert inv is not None and inv.status == "accepted"
    assert await _active_in_space(db_session, world["space"].id) == 2
    # The link is used: a second use says so, signed in or not, and joins nothing twice.
    again = await web.get(link)
    assert again.status_code == 410 and "already been used" in again.text
    web.cookies.clear()
    again = await web.get(link)
    assert again.status_code == 410 and "already been used" in again.text
    assert await _active_in_space(db_session, world["space"].id) == 2


async def test_the_provider_vouches_for_another_address_nothing_joins(
    web: AsyncTestClient, world: dict, mailbox: Mailbox, db_session: AsyncSession, mock_idp: str
) -> None:
    await _provider_ready(web, world, db_session, mock_idp)
    await _invite(web, world, "invited@example.org")
    await asyncio.to_thread(mailbox.wait, 1)
    link = _link(mailbox, "invited@example.org")
    await set_mock_user(mock_idp, "someone-else", {"email": "other@example.org", "email_verified": True})
    members_before = int(await db_session.scalar(select(func.count()).select_from(NetworkMember)) or 0)

    back = await _sign_in_from_invitation(web, link, "someone-else")
    assert back.headers["location"] == link
    page = await web.get(link)
    assert page.status_code == 409, page.text
    assert "another address" in page.text and "invited@example.org" in page.text
    assert "Join Black Educators" not in page.text
    # Posting the accept form anyway (an old tab) joins nothing either.
    r = await web.post(link + "/accept", data={"csrf_token": "x"}, headers={"Origin": BASE})
    assert r.status_code in {403, 409}
    assert await _active_in_space(db_session, world["space"].id) == 1
    inv = await db_session.scalar(select(SpaceInvitation))
    assert inv is not None and inv.status == "pending"
    # The provider's sign-in made the other person a member of the network (its own provider
    # vouches for them), but not of the space, and the invitation stays theirs to accept.
    other = await db_session.scalar(select(Account).where(Account.email == "other@example.org"))
    assert other is not None
    assert int(await db_session.scalar(select(func.count()).select_from(NetworkMember)) or 0) == members_before + 1
    assert (await web.get("/api/v1/me")).json()["email"] == "other@example.org"  # still signed in as them
    assert (await web.get("/api/v1/me/invitations")).json()["items"] == []
