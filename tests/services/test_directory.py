"""The public directory (opt-in, no member data, short link, QR code) and the signed-in directory
(descriptions, kind filter, search, join modes; invite-only spaces offer no Join button)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.persistence.models import Meeting, PublicSpace
from tests.factories import add_member, add_space_member, bearer, make_account, make_network, make_space, make_token


@pytest.fixture
async def world(db_session: AsyncSession) -> dict:
    net = await make_network(db_session, slug="kent", name="Kent School District")
    admin = await make_account(db_session, name="Ada Admin", email="ada@kent.example")
    fac = await make_account(db_session, name="Fay Facilitator")
    member = await make_account(db_session, name="Zora Secretmember", email="zora@kent.example")
    outsider = await make_account(db_session)
    await add_member(db_session, net, admin, "admin")
    await add_member(db_session, net, fac, "facilitator")
    await add_member(db_session, net, member)
    black = await make_space(db_session, net, name="Black educators", kind="identity", join_mode="request")
    black.description = "Monthly circle for Black staff."
    book = await make_space(db_session, net, name="Book study", kind="topic", join_mode="open")
    book.description = "We read one book a term."
    secret = await make_space(db_session, net, name="Quiet circle", kind="identity", join_mode="invite")
    hidden = await make_space(db_session, net, name="Unlisted", join_mode="invite", visibility="unlisted")
    await add_space_member(db_session, black, member)
    db_session.add(
        Meeting(
            id=uuid.uuid4(),
            space_id=black.id,
            kind="virtual",
            title="Circle",
            starts_at=dt.datetime(2031, 3, 4, 17, tzinfo=dt.UTC),
            duration_minutes=60,
        )
    )
    out = {
        "net": net,
        "admin": admin,
        "member": member,
        "black": black,
        "book": book,
        "secret": secret,
        "hidden": hidden,
        "admin_h": bearer(await make_token(db_session, admin)),
        "fac_h": bearer(await make_token(db_session, fac)),
        "member_h": bearer(await make_token(db_session, member)),
        "outsider_h": bearer(await make_token(db_session, outsider)),
    }
    await db_session.commit()
    return out


async def _publish(client, world) -> dict:
    r = await client.put("/api/v1/networks/kent/directory-settings", json={"public": True}, headers=world["admin_h"])
    assert r.status_code == 200, r.text
    for space in (world["black"], world["secret"]):
        r = await client.put(f"/api/v1/spaces/{space.id}/public-listing", json={}, headers=world["admin_h"])
        assert r.status_code == 204, r.text
    return (await client.get("/api/v1/networks/kent/directory-settings", headers=world["admin_h"])).json()


async def test_the_directory_is_private_until_the_admin_opts_in(client, world) -> None:
    assert (await client.get("/api/v1/networks/kent/public-directory")).status_code == 404
    assert (await client.get("/directory/kent")).status_code == 404
    assert (await client.get("/api/v1/networks/nowhere/public-directory")).json()["error"][
        "code"
    ] == "directory_not_found"
    settings = await _publish(client, world)
    assert settings["public"] is True and settings["short_url"].startswith("http://localhost:8000/d/")
    r = await client.get("/api/v1/networks/kent/public-directory")  # no credentials
    assert r.status_code == 200
    body = r.json()
    assert [s["name"] for s in body["spaces"]] == ["Black educators", "Quiet circle"]
    black = body["spaces"][0]
    assert black == {
        "name": "Black educators",
        "kind": "identity",
        "description": "Monthly circle for Black staff.",
        "join": "ask to join",
        "how_to_join": "Sign in and ask to join; a facilitator answers.",
        "next_meeting": "2031-03-04",
    }
    assert body["spaces"][1]["join"] == "invitation only"
    # Nothing about who belongs, anywhere in the answer.
    for secret in ("Zora", "zora@", str(world["member"].id), "Ada", "member_count", "members"):
        assert secret not in r.text
    # Switched off: gone again; switched on: the same short link.
    off = await client.put("/api/v1/networks/kent/directory-settings", json={"public": False}, headers=world["admin_h"])
    assert off.json()["short_url"] == settings["short_url"]
    assert (await client.get("/api/v1/networks/kent/public-directory")).status_code == 404


async def test_page_short_link_and_qr_code(client, world) -> None:
    settings = await _publish(client, world)
    page = await client.get("/directory/kent")
    assert page.status_code == 200 and "Black educators" in page.text and "Zora" not in page.text
    code = settings["short_url"].rsplit("/", 1)[1]
    short = await client.get(f"/d/{code}", follow_redirects=False)
    assert short.status_code == 302 and short.headers["location"] == "/directory/kent"
    assert (await client.get("/d/nothing1", follow_redirects=False)).status_code == 404
    qr = await client.get("/directory/kent/qr.svg")
    assert qr.status_code == 200 and qr.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in qr.content and b"<path" in qr.content


async def test_only_admins_manage_it_and_unlisted_spaces_stay_out(client, world, db_session) -> None:
    for who in ("fac_h", "member_h", "outsider_h"):
        r = await client.put("/api/v1/networks/kent/directory-settings", json={"public": True}, headers=world[who])
        assert r.status_code == 403, who
        r = await client.put(f"/api/v1/spaces/{world['book'].id}/public-listing", json={}, headers=world[who])
        assert r.status_code in {403, 404}, who
    r = await client.put(f"/api/v1/spaces/{world['hidden'].id}/public-listing", json={}, headers=world["admin_h"])
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "visibility"
    r = await client.put(
        f"/api/v1/spaces/{world['book'].id}/public-listing", json={"how_to_join": "x" * 1001}, headers=world["admin_h"]
    )
    assert r.status_code in {400, 422}
    assert await db_session.scalar(select(func.count()).select_from(PublicSpace)) == 0
    r = await client.delete(f"/api/v1/spaces/{world['book'].id}/public-listing", headers=world["admin_h"])
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_public"


async def test_the_signed_in_directory_filters_and_shows_join_modes(client, world) -> None:
    h = world["member_h"]
    items = (await client.get("/api/v1/networks/kent/directory", headers=h)).json()["items"]
    by_name = {i["name"]: i for i in items}
    assert set(by_name) == {"Black educators", "Book study", "Quiet circle"}  # not the unlisted one
    assert by_name["Quiet circle"]["join"] == "invitation only" and by_name["Quiet circle"]["join_button"] is None
    assert by_name["Book study"]["join_button"] == "Join"
    assert by_name["Black educators"]["join_button"] is None and by_name["Black educators"]["my_role"] == "member"
    fac_view = {
        i["name"]: i
        for i in (await client.get("/api/v1/networks/kent/directory", headers=world["fac_h"])).json()["items"]
    }
    assert fac_view["Black educators"]["join_button"] == "Ask to join"
    r = await client.get("/api/v1/networks/kent/directory", params={"kind": "topic"}, headers=h)
    assert [i["name"] for i in r.json()["items"]] == ["Book study"]
    r = await client.get("/api/v1/networks/kent/directory", params={"q": "monthly BLACK"}, headers=h)
    assert [i["name"] for i in r.json()["items"]] == ["Black educators"]
    assert (
        await client.get("/api/v1/networks/kent/directory", params={"kind": "nonsense"}, headers=h)
    ).status_code in {400, 422}
    assert (await client.get("/api/v1/networks/kent/directory", headers=world["outsider_h"])).status_code == 403
