"""Template targeting and exemptions through the API: an umbrella space that only holds groups
stops being non-compliant once the template binds leaf spaces only; an exempted sub-tree is not
measured; refusals and bad input change nothing."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.compliance import program_year
from services.persistence.models import AuditEvent, Meeting, PolicyAttachment, PolicyExemption
from tests.factories import (
    add_facilitators,
    add_member,
    bearer,
    make_account,
    make_network,
    make_space,
    make_template,
    make_token,
)

MONTHLY = {"meetings.virtual_per_year": {"min": 9}, "meetings.cadence": {"allowed": ["monthly"]}}


@pytest.fixture
async def esd(db_session: AsyncSession) -> dict[str, Any]:
    """ESD 112: "LEADER groups meet monthly" on the whole network; an umbrella holding two LEADER
    groups that each meet every month of the program year; an admin, a facilitator, another
    network's admin."""
    network = await make_network(db_session, slug="esd112", kind="esd")
    other = await make_network(db_session, slug="other")
    template = await make_template(db_session, network, MONTHLY, name="LEADER groups meet monthly", attach_to=network)
    people = {w: await make_account(db_session, name=w) for w in ("admin", "fac", "other_admin")}
    await add_member(db_session, network, people["admin"], "admin")
    await add_member(db_session, network, people["fac"], "member")
    await add_member(db_session, other, people["other_admin"], "admin")
    umbrella = await make_space(db_session, network, name="LEADER", kind="cohort", join_mode="invite")
    groups = [
        await make_space(db_session, network, name=f"LEADER group {n}", kind="identity", parent=umbrella)
        for n in (1, 2)
    ]
    year = program_year(dt.datetime.now(dt.UTC).date(), 8)
    for space in (umbrella, *groups):
        await add_facilitators(db_session, space, people["fac"])
    for space in groups:
        for month in range(12):
            m0 = year.start.month - 1 + month
            db_session.add(
                Meeting(
                    id=uuid.uuid4(),
                    space_id=space.id,
                    kind="virtual",
                    title=f"Circle {month}",
                    starts_at=dt.datetime(year.start.year + m0 // 12, m0 % 12 + 1, 12, 18, tzinfo=dt.UTC),
                    duration_minutes=60,
                    components=[],
                )
            )
    other_space = await make_space(db_session, other, name="Elsewhere")
    tokens = {w: await make_token(db_session, a) for w, a in people.items()}
    await db_session.commit()
    return {
        "tokens": tokens,
        "template": str(template.id),
        "umbrella": str(umbrella.id),
        "groups": [str(g.id) for g in groups],
        "other_space": str(other_space.id),
    }


async def _report(client, esd) -> dict[str, dict[str, Any]]:
    r = await client.get("/api/v1/networks/esd112/compliance", headers=bearer(esd["tokens"]["admin"]))
    assert r.status_code == 200, r.text
    return {s["space_id"]: s for s in r.json()["spaces"]}


async def _counts(db_session: AsyncSession) -> tuple[int, ...]:
    await db_session.rollback()
    out = [
        int(await db_session.scalar(select(func.count()).select_from(m)) or 0) for m in (PolicyExemption, AuditEvent)
    ]
    targets = await db_session.scalar(select(func.count()).where(PolicyAttachment.target.is_not(None)))
    return (*out, int(targets or 0))


async def test_leaf_only_target_clears_the_umbrella(client, esd, db_session) -> None:
    rows = await _report(client, esd)
    umbrella = rows[esd["umbrella"]]
    assert umbrella["status"] == "non_compliant"
    assert {f["code"] for f in umbrella["findings"]} == {"too_few_virtual_meetings", "cadence_gap"}
    assert all(rows[g]["status"] == "compliant" for g in esd["groups"])

    url = f"/api/v1/networks/esd112/templates/{esd['template']}/target"
    r = await client.put(url, json={"leaf_only": True}, headers=bearer(esd["tokens"]["admin"]))
    assert r.status_code == 200, r.text
    assert r.json() == {
        "template_id": esd["template"],
        "space_id": None,
        "kinds": None,
        "leaf_only": True,
        "min_depth": None,
        "max_depth": None,
    }
    rows = await _report(client, esd)
    assert rows[esd["umbrella"]]["status"] == "compliant"
    assert all(rows[g]["status"] == "compliant" for g in esd["groups"])
    # The groups are still measured: one without its December circle falls short of monthly.
    await db_session.rollback()
    year = program_year(dt.datetime.now(dt.UTC).date(), 8)
    december = dt.datetime(year.start.year, 12, 12, 18, tzinfo=dt.UTC)
    meeting = await db_session.scalar(
        select(Meeting).where(Meeting.space_id == uuid.UUID(esd["groups"][0]), Meeting.starts_at == december)
    )
    assert meeting is not None
    meeting.cancelled_at = dt.datetime.now(dt.UTC)
    await db_session.commit()
    rows = await _report(client, esd)
    group = rows[esd["groups"][0]]
    assert group["status"] == "non_compliant" and [f["code"] for f in group["findings"]] == ["cadence_gap"]
    assert f"Dec {year.start.year}" in group["findings"][0]["message"]
    # A kind target: identity spaces only also leaves the (cohort) umbrella out; all defaults undo it.
    r = await client.put(url, json={"kinds": ["identity"]}, headers=bearer(esd["tokens"]["admin"]))
    assert r.status_code == 200 and (await _report(client, esd))[esd["umbrella"]]["status"] == "compliant"
    r = await client.put(url, json={}, headers=bearer(esd["tokens"]["admin"]))
    assert r.status_code == 200 and (await _report(client, esd))[esd["umbrella"]]["status"] == "non_compliant"
    await db_session.rollback()
    assert (await db_session.scalars(select(AuditEvent.action))).all().count("template.target") == 3


async def test_exempting_a_subtree_with_a_reason(client, esd, db_session) -> None:
    admin = bearer(esd["tokens"]["admin"])
    r = await client.post(
        "/api/v1/networks/esd112/exemptions",
        json={"space_id": esd["umbrella"], "template_id": esd["template"], "reason": "Umbrella of the LEADER groups"},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    exemption = r.json()
    assert exemption["space_name"] == "LEADER" and exemption["reason"] == "Umbrella of the LEADER groups"
    rows = await _report(client, esd)
    assert all(rows[s]["status"] == "compliant" for s in [esd["umbrella"], *esd["groups"]])
    r = await client.get("/api/v1/networks/esd112/exemptions", headers=admin)
    assert [e["id"] for e in r.json()["items"]] == [exemption["id"]]
    r = await client.post(
        "/api/v1/networks/esd112/exemptions",
        json={"space_id": esd["umbrella"], "template_id": esd["template"], "reason": "again"},
        headers=admin,
    )
    assert r.status_code == 409
    r = await client.delete(f"/api/v1/networks/esd112/exemptions/{exemption['id']}", headers=admin)
    assert r.status_code == 204
    assert (await _report(client, esd))[esd["umbrella"]]["status"] == "non_compliant"
    await db_session.rollback()
    events = (await db_session.execute(select(AuditEvent.action, AuditEvent.after))).all()
    created = [after for action, after in events if action == "exemption.create"]
    assert created and created[0]["reason"] == "Umbrella of the LEADER groups"
    assert any(action == "exemption.delete" for action, _ in events)


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"kinds": ["galaxy"]}, 422, None),
        ({"kinds": []}, 422, "kinds"),
        ({"min_depth": 3, "max_depth": 1}, 422, "max_depth"),
        ({"min_depth": -1}, 422, None),
        ({"space_id": "00000000-0000-0000-0000-000000000001"}, 404, None),  # not attached there
    ],
)
async def test_bad_targets_change_nothing(client, esd, db_session, body, status, field) -> None:
    before = await _counts(db_session)
    r = await client.put(
        f"/api/v1/networks/esd112/templates/{esd['template']}/target", json=body, headers=bearer(esd["tokens"]["admin"])
    )
    assert r.status_code == status, r.text
    if field:
        assert r.json()["error"]["details"]["field"] == field
    assert await _counts(db_session) == before


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"reason": "   "}, "reason"),
        ({"space_id": "other"}, "space_id"),
        ({"template_id": str(uuid.UUID(int=5))}, "template_id"),
    ],
)
async def test_bad_exemptions_change_nothing(client, esd, db_session, over, field) -> None:
    body = {"space_id": esd["umbrella"], "reason": "umbrella", **over}
    if body["space_id"] == "other":
        body["space_id"] = esd["other_space"]
    before = await _counts(db_session)
    r = await client.post("/api/v1/networks/esd112/exemptions", json=body, headers=bearer(esd["tokens"]["admin"]))
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == field, r.text
    assert await _counts(db_session) == before


@pytest.mark.parametrize("who", ["fac", "other_admin"])
async def test_only_the_networks_admins_target_and_exempt(client, esd, db_session, who) -> None:
    before = await _counts(db_session)
    token = bearer(esd["tokens"][who])
    r = await client.put(
        f"/api/v1/networks/esd112/templates/{esd['template']}/target", json={"leaf_only": True}, headers=token
    )
    assert r.status_code == 403
    r = await client.post(
        "/api/v1/networks/esd112/exemptions", json={"space_id": esd["umbrella"], "reason": "mine"}, headers=token
    )
    assert r.status_code == 403
    assert (await client.get("/api/v1/networks/esd112/exemptions", headers=token)).status_code == 403
    assert await _counts(db_session) == before
