"""Listings show only what the caller may see, and "exists elsewhere" is not told to strangers
(issue 9 item 7).

* ``GET /networks/{slug}/templates`` (and one template) listed the ids of every space a template
  is attached to, unlisted identity spaces included, to any member of the network.
* The directory decided visibility without bans above (a membership held on its own standing
  below a ban kept showing an unlisted space that its own route answers 404 for).
* ``parent_in_other_network`` / ``template_in_other_network`` told an admin of another network
  that a uuid exists; now that answer is given only to someone who may see the thing, and
  everyone else gets exactly the answer for a uuid that does not exist.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from services.persistence.models import SpaceMember
from tests.factories import (
    add_member,
    add_space_member,
    bearer,
    make_account,
    make_network,
    make_space,
    make_template,
    make_token,
)


@pytest.fixture
async def world(db_session: AsyncSession) -> dict[str, Any]:
    """Network ``alas`` with a listed space, an unlisted identity space (member ``insider``) and a
    template attached to both; network ``other`` with its own admin; an operator."""
    alas = await make_network(db_session, slug="alas-lp")
    other = await make_network(db_session, slug="other-lp")
    w: dict[str, Any] = {}
    for who, net, role in [
        ("admin", alas, "admin"),
        ("member", alas, "member"),
        ("insider", alas, "member"),
        ("foreign_admin", other, "admin"),
    ]:
        account = await make_account(db_session)
        await add_member(db_session, net, account, role)
        w[who] = bearer(await make_token(db_session, account))
        w[f"{who}_account"] = account
    operator = await make_account(db_session, operator=True)
    w["operator"] = bearer(await make_token(db_session, operator))
    listed = await make_space(db_session, alas, name="Listed", kind="topic")
    hidden = await make_space(db_session, alas, name="Latina leaders", visibility="unlisted")
    await add_space_member(db_session, hidden, w["insider_account"])
    template = await make_template(db_session, alas, {"meetings.virtual_per_year": {"min": 1}}, attach_to=listed)
    await make_template(db_session, alas, {"meetings.virtual_per_year": {"min": 1}}, name="X", attach_to=hidden)
    from services.persistence.models import PolicyAttachment

    db_session.add(PolicyAttachment(id=uuid.uuid4(), template_id=template.id, network_id=alas.id, space_id=hidden.id))
    foreign_space = await make_space(db_session, other, name="Theirs", kind="topic")
    await db_session.commit()
    w.update(alas=alas, other=other, listed=listed.id, hidden=hidden.id, template=template.id, foreign=foreign_space.id)
    return w


async def _attached(client: Any, headers: dict[str, str]) -> set[str]:
    r = await client.get("/api/v1/networks/alas-lp/templates", headers=headers)
    assert r.status_code == 200, r.text
    return {s for t in r.json()["items"] for s in t["attached_to_spaces"]}


async def test_template_listings_leave_out_spaces_the_caller_may_not_see(client, world) -> None:
    listed, hidden = str(world["listed"]), str(world["hidden"])
    assert await _attached(client, world["member"]) == {listed}
    assert await _attached(client, world["insider"]) == {listed, hidden}
    assert await _attached(client, world["admin"]) == {listed, hidden}
    one = f"/api/v1/networks/alas-lp/templates/{world['template']}"
    r = await client.get(one, headers=world["member"])
    assert r.status_code == 200 and r.json()["attached_to_spaces"] == [listed]
    r = await client.get(one, headers=world["admin"])
    assert sorted(r.json()["attached_to_spaces"]) == sorted([listed, hidden])


async def test_the_directory_leaves_out_a_space_below_a_ban(client, world, db_session) -> None:
    """A membership held on its own standing (e.g. joined as a guest, later a network member)
    survives a ban above; the space then answers 404 and must not be listed either."""
    parent = await make_space(db_session, world["alas"], name="Parent", visibility="unlisted")
    child = await make_space(db_session, world["alas"], name="Child", parent=parent, visibility="unlisted")
    member = world["member_account"]
    await add_space_member(db_session, parent, member, status="banned")
    await add_space_member(db_session, child, member)
    await db_session.execute(update(SpaceMember).where(SpaceMember.space_id == child.id).values(own_standing=True))
    await db_session.commit()
    assert (await client.get(f"/api/v1/spaces/{child.id}", headers=world["member"])).status_code == 404
    r = await client.get("/api/v1/networks/alas-lp/spaces", headers=world["member"])
    assert r.status_code == 200
    assert str(child.id) not in {s["id"] for s in r.json()["items"]}
    # Who is not banned still sees their own unlisted space listed.
    r = await client.get("/api/v1/networks/alas-lp/spaces", headers=world["insider"])
    assert str(world["hidden"]) in {s["id"] for s in r.json()["items"]}


def _same(a: Any, b: Any, *ids: str) -> None:
    """Two refusals are the same answer (status, code, message with the uuid blanked)."""
    assert a.status_code == b.status_code, (a.text, b.text)
    ea, eb = a.json()["error"], b.json()["error"]
    assert ea["code"] == eb["code"], (ea, eb)
    blank = ea["message"], eb["message"]
    for i in ids:
        blank = blank[0].replace(i, "?"), blank[1].replace(i, "?")
    assert blank[0] == blank[1]


async def test_a_foreign_admin_cannot_tell_a_hidden_parent_from_a_missing_one(client, world) -> None:
    nobody = str(uuid.uuid4())
    hidden = str(world["hidden"])
    url = "/api/v1/networks/other-lp/spaces"
    as_hidden = await client.post(
        url, json={"name": "S", "kind": "topic", "parent_id": hidden}, headers=world["foreign_admin"]
    )
    as_missing = await client.post(
        url, json={"name": "S", "kind": "topic", "parent_id": nobody}, headers=world["foreign_admin"]
    )
    assert as_missing.status_code == 422 and as_missing.json()["error"]["code"] == "parent_not_found"
    _same(as_hidden, as_missing, hidden, nobody)
    # Moving works the same way.
    move = f"/api/v1/spaces/{world['foreign']}"
    _same(
        await client.patch(move, json={"parent_id": hidden}, headers=world["foreign_admin"]),
        await client.patch(move, json={"parent_id": nobody}, headers=world["foreign_admin"]),
        hidden,
        nobody,
    )
    # Someone who may see the parent still gets the helpful answer.
    r = await client.post(
        "/api/v1/networks/other-lp/spaces",
        json={"name": "S", "kind": "topic", "parent_id": hidden},
        headers=world["operator"],
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "parent_in_other_network"


async def test_a_foreign_admin_cannot_tell_another_networks_template_from_a_missing_one(client, world) -> None:
    nobody, theirs = str(uuid.uuid4()), str(world["template"])
    base = f"/api/v1/spaces/{world['foreign']}/templates"
    _same(
        await client.put(f"{base}/{theirs}", headers=world["foreign_admin"]),
        await client.put(f"{base}/{nobody}", headers=world["foreign_admin"]),
        theirs,
        nobody,
    )
    r = await client.put(f"{base}/{theirs}", headers=world["operator"])
    assert r.status_code == 422 and r.json()["error"]["code"] == "template_in_other_network"


async def test_a_listed_space_under_a_hidden_parent_does_not_name_it(client, world, db_session) -> None:
    from services.persistence.models import Space

    hidden = await db_session.get(Space, world["hidden"])
    assert hidden is not None
    child = await make_space(db_session, world["alas"], name="Open circle", kind="topic", parent=hidden)
    await db_session.commit()
    child_id, hidden_id = str(child.id), str(world["hidden"])
    # A network member who is not in the unlisted parent reads the child, but never the parent's id.
    r = await client.get(f"/api/v1/spaces/{child_id}", headers=world["member"])
    assert r.status_code == 200, r.text
    assert r.json()["parent_id"] is None and hidden_id not in r.json()["path"]
    r = await client.get(f"/api/v1/spaces/{child_id}/hierarchy", headers=world["member"])
    assert hidden_id not in r.text
    r = await client.get("/api/v1/networks/alas-lp/spaces", headers=world["member"])
    assert r.status_code == 200, r.text
    assert child_id in r.text and hidden_id not in r.text
    # The parent's own member still sees where the child sits.
    r = await client.get(f"/api/v1/spaces/{child_id}", headers=world["insider"])
    assert r.json()["parent_id"] == hidden_id and hidden_id in r.json()["path"]
