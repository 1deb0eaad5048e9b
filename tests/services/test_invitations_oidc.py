"""Accepting an e-mail invitation by signing in through the network's own identity provider.

End to end with real parts: the invitation e-mail is captured by a real SMTP server on loopback,
the network's provider is a real OpenID provider (``oidc-provider-mock``) on loopback reached over
real HTTP, and the browser is the app's test client (it keeps the cookies).
"""

from __future__ import annotations

import asyncio
import html
import re

import httpx
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.persistence.models import Account, NetworkMember, SpaceInvitation, SpaceMember
from tests.factories import add_member, make_account, make_token
from tests.services.mailserver import Mailbox
from tests.services.test_identity_broker import connect, mock_idp, set_mock_user  # noqa: F401  (fixture)
from tests.services.test_invitations import (  # noqa: F401  (fixtures)
    BASE,
    _invite,
    _link,
    mail_settings,
    mailbox,
    web,
    world,
)


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
