"""Item 10 of issue 9: numeric settings are bounded, and one space's value can never stop the
retention purge for the others (it ran as one statement over all spaces and failed for all)."""

from __future__ import annotations

import datetime as dt
import logging
import uuid

import pytest
from sqlalchemy import func, select, text, update

from federation.policy.parameters import CATALOGUE, ParamKind
from federation.policy.parsing import parse_constraints
from federation.policy.sources import Source
from services.chat import repository
from services.chat.runtime import purge_expired
from services.persistence.models import Message
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


def test_every_numeric_parameter_has_a_documented_maximum() -> None:
    from pathlib import Path

    doc = (Path(__file__).parents[2] / "docs" / "spaces-and-policy.md").read_text()
    for param in CATALOGUE:
        if param.kind in (ParamKind.INTEGER, ParamKind.DURATION):
            assert param.maximum < 2**31, param.name
            with pytest.raises(ValueError, match="at most"):
                param.normalise(param.maximum + 1)
            assert param.normalise(param.maximum) == param.maximum
            assert param.to_dict()["maximum"] == param.maximum
            rows = [line for line in doc.splitlines() if line.startswith(f"| `{param.name}` |")]
            assert rows and str(param.maximum) in rows[0], f"{param.name}'s maximum is not in docs/spaces-and-policy.md"


def test_constraint_bounds_beyond_the_maximum_are_refused() -> None:
    with pytest.raises(Exception, match="at most 36500"):
        parse_constraints({"chat.retention_days": {"max": 10**9}}, Source.template(uuid.uuid4(), "t", 1))


async def test_an_absurd_retention_setting_is_refused_by_the_api(client, db_session) -> None:
    account = await make_account(db_session)
    network = await make_network(db_session)
    await add_member(db_session, network, account, "admin")
    space = await make_space(db_session, network)
    await add_space_member(db_session, space, account, role="facilitator")
    token = await make_token(db_session, account)
    await db_session.commit()
    r = await client.patch(
        f"/api/v1/spaces/{space.id}", json={"settings": {"chat.retention_days": 10**9}}, headers=bearer(token)
    )
    assert r.status_code == 422, r.text
    assert "chat.retention_days" in r.text and "36500" in r.text


async def test_one_bad_value_does_not_stop_the_purge_for_other_spaces(engine, db_session, caplog) -> None:
    network = await make_network(db_session)
    good = await make_space(db_session, network, settings={"chat.retention_days": 30})
    absurd = await make_space(db_session, network)
    fractional = await make_space(db_session, network)
    author = await make_account(db_session)
    await add_member(db_session, network, author)  # chat is for members of the network
    for space in (good, absurd, fractional):
        await add_space_member(db_session, space, author)
    await db_session.commit()
    # Values written before bounds existed (or around the API): 2^70 days and 1.5 days.
    await db_session.execute(
        text(
            "UPDATE spaces SET settings = jsonb_build_object('chat.retention_days', 1180591620717411303424::numeric)"
            " WHERE id = :id"
        ),
        {"id": absurd.id},
    )
    await db_session.execute(
        text("UPDATE spaces SET settings = '{\"chat.retention_days\": 1.5}'::jsonb WHERE id = :id"),
        {"id": fractional.id},
    )
    await db_session.commit()
    ids = (good.id, absurd.id, fractional.id)
    async with engine.begin() as conn:
        for space in ids:
            for i in range(2):
                assert await repository.append(conn, space, author.id, f"k{i}", "old", members_may_post=True)
    now = dt.datetime.now(dt.UTC)
    async with engine.begin() as conn:
        await conn.execute(update(Message).values(sent_at=now - dt.timedelta(days=40)))
    with caplog.at_level(logging.WARNING, logger="affinity.chat"):
        assert await purge_expired(engine, now) == 2
    counts = {
        space: (await db_session.execute(select(func.count()).where(Message.space_id == space))).scalar_one()
        for space in ids
    }
    assert counts == {good.id: 0, absurd.id: 2, fractional.id: 2}
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert str(absurd.id) in logged and str(fractional.id) in logged


async def test_the_purge_uses_the_governing_retention_not_the_raw_setting(engine, db_session) -> None:
    """A template that allows at most 30 days governs a space that still says 365, and one that
    never chose (keep forever): both purge at 30. A warn-mode template only reports."""
    network = await make_network(db_session)
    other = await make_network(db_session)
    tightened = await make_space(db_session, network, settings={"chat.retention_days": 365})
    unset = await make_space(db_session, network)
    warned = await make_space(db_session, other, settings={"chat.retention_days": 365})
    await make_template(db_session, network, {"chat.retention_days": {"max": 30}}, attach_to=network)
    await make_template(db_session, other, {"chat.retention_days": {"max": 30}}, mode="warn", attach_to=other)
    author = await make_account(db_session)
    for net in (network, other):
        await add_member(db_session, net, author)
    for space in (tightened, unset, warned):
        await add_space_member(db_session, space, author)
    await db_session.commit()
    ids = (tightened.id, unset.id, warned.id)
    async with engine.begin() as conn:
        for space in ids:
            assert await repository.append(conn, space, author.id, "old", "old", members_may_post=True)
            assert await repository.append(conn, space, author.id, "new", "new", members_may_post=True)
    now = dt.datetime.now(dt.UTC)
    async with engine.begin() as conn:
        await conn.execute(update(Message).where(Message.body == "old").values(sent_at=now - dt.timedelta(days=40)))
        await conn.execute(update(Message).where(Message.body == "new").values(sent_at=now - dt.timedelta(days=20)))
    assert await purge_expired(engine, now) == 2
    left = {
        space: sorted((await db_session.execute(select(Message.body).where(Message.space_id == space))).scalars().all())
        for space in ids
    }
    assert left == {tightened.id: ["new"], unset.id: ["new"], warned.id: ["new", "old"]}
