"""Query budgets of the hot policy endpoints: a fixed number of SQL statements per request,
whatever the depth of the space (no N+1 along the path can come back unnoticed)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import (
    add_facilitators,
    add_member,
    add_space_member,
    bearer,
    make_account,
    make_network,
    make_space,
    make_template,
    make_token,
)

GOOD = {
    "meetings.virtual_per_year": 4,
    "meetings.in_person_per_year": 1,
    "facilitators.min_count": 2,
    "sessions.required_components": ["quote", "story", "reflection"],
    "membership.join_mode": "request",
}


@contextmanager
def counting() -> Iterator[list[str]]:
    """Every SQL statement any engine sends while the block runs (BEGIN/COMMIT are not statements)."""
    seen: list[str] = []

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(Engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", before)


@pytest.fixture
async def deep(db_session: AsyncSession) -> dict[str, str]:
    """A chain of 9 spaces (depth 0..8) under a network template, templates on some ancestors,
    sub-space constraints on every other level; a facilitator of the deepest space."""
    network = await make_network(db_session, slug="deep")
    admin, fac, fac2 = [await make_account(db_session) for _ in range(3)]
    await add_member(db_session, network, admin, "admin")
    await add_member(db_session, network, fac, "member")
    await add_member(db_session, network, fac2, "member")
    await make_template(db_session, network, {"meetings.virtual_per_year": {"min": 3}}, attach_to=network)
    parent = None
    for depth in range(9):
        parent = await make_space(db_session, network, name=f"L{depth}", parent=parent, settings=GOOD)
        if depth % 2:
            parent.subspace_constraints = {"meetings.virtual_per_year": {"min": 4}}
        if depth % 3 == 0:
            await make_template(db_session, network, {"chat.retention_days": {"max": 365 - depth}}, attach_to=parent)
        if depth < 8:
            await add_space_member(db_session, parent, fac)
    assert parent is not None and parent.depth == 8
    await add_facilitators(db_session, parent, fac, fac2)
    out = {
        "leaf": str(parent.id),
        "fac": await make_token(db_session, fac),
        "admin": await make_token(db_session, admin),
    }
    await db_session.commit()
    return out


async def test_policy_read_query_budget(client, deep) -> None:
    url = f"/api/v1/spaces/{deep['leaf']}/policy"
    for who in ("fac", "admin"):
        (await client.get(url, headers=bearer(deep[who]))).raise_for_status()  # warm: token last-used write
        with counting() as seen:
            r = await client.get(url, headers=bearer(deep[who]))
        assert r.status_code == 200, r.text
        assert r.json()["constraints"]["meetings.virtual_per_year"]["min"] == 4
        # token, caller's network roles, space+ancestors+caller's rows (one statement), templates on
        # the path and network, non-compliance marks.
        assert len(seen) == 5, "\n\n".join(seen)


async def test_patch_query_budget(client, deep) -> None:
    url = f"/api/v1/spaces/{deep['leaf']}"
    (await client.get(url + "/policy", headers=bearer(deep["fac"]))).raise_for_status()
    with counting() as seen:
        r = await client.patch(url, json={"settings": {"meetings.virtual_per_year": 6}}, headers=bearer(deep["fac"]))
    assert r.status_code == 200, r.text
    # token, roles, row lock, space+ancestors+rows, templates, UPDATE ... RETURNING, audit INSERT.
    assert len(seen) == 7, "\n\n".join(seen)
    assert sum(s.lstrip().upper().startswith("UPDATE") for s in seen) == 1
    with counting() as refused:
        r = await client.patch(url, json={"settings": {"meetings.virtual_per_year": 3}}, headers=bearer(deep["fac"]))
    assert r.status_code == 422, r.text
    assert len(refused) == 5, "\n\n".join(refused)  # refused before anything is written
