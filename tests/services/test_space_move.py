"""Moving a space (PATCH parent_id): a sub-space's facilitator cannot take it out from under its
parent and so shed the parent's bounds (issue 9, item 6); those who govern the old parent can."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.persistence.models import AuditEvent, Space
from tests.factories import add_facilitators, add_member, bearer, make_account, make_network, make_space, make_token

BOUND = {"meetings.virtual_per_year": {"min": 5}}


@pytest.fixture
async def tree(db_session: AsyncSession) -> dict[str, str]:
    """Parent P (facilitated by ``pfac``) binds its sub-spaces to 5+ virtual meetings a year; its
    child C is facilitated by ``cfac`` alone, who also facilitates another root space Q."""
    network = await make_network(db_session, slug="movers")
    admin, pfac, cfac, both = [await make_account(db_session) for _ in range(4)]
    await add_member(db_session, network, admin, "admin")
    for a in (pfac, cfac, both):
        await add_member(db_session, network, a, "member")
    parent = await make_space(db_session, network, name="P", settings={"meetings.virtual_per_year": 5})
    parent.subspace_constraints = BOUND
    child = await make_space(db_session, network, name="C", parent=parent, settings={"meetings.virtual_per_year": 5})
    other = await make_space(db_session, network, name="Q")
    await add_facilitators(db_session, parent, pfac, both)
    await add_facilitators(db_session, child, cfac, both)
    await add_facilitators(db_session, other, cfac, both)
    out = {"parent": str(parent.id), "child": str(child.id), "other": str(other.id)}
    for name, account in (("admin", admin), ("pfac", pfac), ("cfac", cfac), ("both", both)):
        out[name] = await make_token(db_session, account)
    await db_session.commit()
    return out


async def test_a_sub_space_s_facilitator_cannot_move_it_out_from_under_its_parent(client, tree, db_session) -> None:
    r = await client.patch(
        f"/api/v1/spaces/{tree['child']}", json={"parent_id": tree["other"]}, headers=bearer(tree["cfac"])
    )
    assert r.status_code == 403, r.text
    err = r.json()["error"]
    assert err["details"]["rule"] == "move_needs_authority_over_old_parent"
    assert "parent's bounds would no longer apply" in err["message"]
    # Nothing moved, nothing recorded: the parent's bound still applies to C.
    child = await db_session.get(Space, tree["child"])
    assert child is not None and str(child.parent_id) == tree["parent"]
    assert await db_session.scalar(select(func.count()).select_from(AuditEvent)) == 0
    r = await client.patch(
        f"/api/v1/spaces/{tree['child']}",
        json={"settings": {"meetings.virtual_per_year": 2}},
        headers=bearer(tree["cfac"]),
    )
    assert r.status_code == 422 and "ancestor space 'P'" in r.json()["error"]["message"]


async def test_the_parent_s_facilitators_cannot_place_it_where_they_do_not_facilitate(client, tree) -> None:
    # Authority over the old parent is not enough: the new parent must take it too.
    r = await client.patch(
        f"/api/v1/spaces/{tree['child']}", json={"parent_id": tree["other"]}, headers=bearer(tree["pfac"])
    )
    assert r.status_code == 403, r.text


@pytest.mark.parametrize("who", ["both", "admin"])
async def test_who_governs_both_parents_may_move_it(client, tree, db_session, who) -> None:
    r = await client.patch(
        f"/api/v1/spaces/{tree['child']}", json={"parent_id": tree["other"]}, headers=bearer(tree[who])
    )
    assert r.status_code == 200, r.text
    assert r.json()["parent_id"] == tree["other"] and r.json()["path"] == [tree["other"]]
    action = await db_session.scalar(select(AuditEvent.action))
    assert action == "space.move"


async def test_moving_a_root_space_under_a_parent_needs_no_old_parent(client, tree) -> None:
    # Q has no parent whose bounds it could shed: facilitating Q and the new parent is enough.
    r = await client.patch(
        f"/api/v1/spaces/{tree['other']}", json={"parent_id": tree["parent"]}, headers=bearer(tree["both"])
    )
    assert r.status_code == 200, r.text
    # ... and from then on P's bound for its sub-spaces applies to Q.
    r = await client.patch(
        f"/api/v1/spaces/{tree['other']}",
        json={"settings": {"meetings.virtual_per_year": 2}},
        headers=bearer(tree["both"]),
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "policy_violation"
