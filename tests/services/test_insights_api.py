"""Insights for network admins: figures per program year and kind, small cells suppressed
(complementary too), the same in CSV and charts; staff figures; refusals and bad input."""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.compliance import program_year
from services.persistence.models import AuditEvent, Meeting, Message, Space, StaffFigure
from tests.factories import (
    add_facilitators,
    add_member,
    add_space_member,
    bearer,
    make_account,
    make_network,
    make_space,
    make_token,
)

YEAR = program_year(dt.datetime.now(dt.UTC).date(), 8)


@pytest.fixture
async def kent(db_session: AsyncSession) -> dict[str, Any]:
    """Kent: an identity space of 15 members that met 12 times (11 attended each), a role space of 3."""
    network = await make_network(db_session, slug="kent", kind="district")
    other = await make_network(db_session, slug="other")
    admin, fac, other_admin = [await make_account(db_session, name=n) for n in ("admin", "fac", "other_admin")]
    await add_member(db_session, network, admin, "admin")
    await add_member(db_session, network, fac, "member")
    await add_member(db_session, other, other_admin, "admin")
    bipoc = await make_space(db_session, network, name="BIPOC Educators", kind="identity")
    role = await make_space(db_session, network, name="New teachers", kind="role")
    await add_facilitators(db_session, bipoc, fac)
    for n in range(14):
        person = await make_account(db_session, name=f"p{n}")
        await add_member(db_session, network, person, "member")
        await add_space_member(db_session, bipoc, person)
    for n in range(3):
        person = await make_account(db_session, name=f"r{n}")
        await add_member(db_session, network, person, "member")
        await add_space_member(db_session, role, person)
    start = dt.datetime(YEAR.start.year, YEAR.start.month, 2, 18, tzinfo=dt.UTC)
    for n in range(12):
        db_session.add(
            Meeting(
                id=uuid.uuid4(),
                space_id=bipoc.id,
                kind="virtual",
                title=f"Circle {n}",
                starts_at=min(start + dt.timedelta(days=7 * n), dt.datetime.now(dt.UTC) - dt.timedelta(days=1)),
                duration_minutes=60,
                components=[],
                attendance_count=11,
            )
        )
    for n in range(2):
        db_session.add(
            Meeting(
                id=uuid.uuid4(),
                space_id=role.id,
                kind="virtual",
                title=f"Check-in {n}",
                starts_at=start + dt.timedelta(days=n),
                duration_minutes=60,
                components=[],
            )
        )
    tokens = {"admin": await make_token(db_session, admin), "fac": await make_token(db_session, fac)}
    tokens["other_admin"] = await make_token(db_session, other_admin)
    await db_session.commit()
    return {"tokens": tokens}


def _row(body: dict[str, Any], metric: str, year: str) -> dict[str, Any]:
    found = next(m for m in body["metrics"] if m["name"] == metric)
    return next(r for r in found["rows"] if r["year"] == year)


async def test_figures_with_small_cells_suppressed(client, kent) -> None:
    r = await client.get("/api/v1/networks/kent/insights", headers=bearer(kent["tokens"]["admin"]))
    assert r.status_code == 200, r.text
    body = r.json()
    assert [y["label"] for y in body["years"]][-1] == YEAR.label and len(body["years"]) == 5
    members = _row(body, "members", YEAR.label)
    assert members["by_kind"]["identity"] == {"value": 15, "display": "15", "suppressed": False}
    assert members["by_kind"]["role"] == {"value": None, "display": "fewer than 10", "suppressed": True}
    assert members["total"]["value"] == 18
    held = _row(body, "meetings_held", YEAR.label)
    assert held["by_kind"]["identity"]["value"] == 12 and held["by_kind"]["role"]["suppressed"]
    assert _row(body, "attendance", YEAR.label)["by_kind"]["identity"]["value"] == 132
    # Nothing below 10 anywhere in the answer; never a line with exactly one hidden cell and its total shown.
    for metric in body["metrics"]:
        for row in metric["rows"]:
            figures = [*row["by_kind"].values(), row["total"]]
            assert all(f["suppressed"] or f["value"] >= 10 for f in figures)
            hidden = [f for f in row["by_kind"].values() if f["suppressed"]]
            assert row["total"]["suppressed"] or len(hidden) != 1
    assert "BIPOC" not in r.text  # spaces only by kind


async def test_csv_and_charts_use_the_same_suppression(client, kent) -> None:
    admin = bearer(kent["tokens"]["admin"])
    r = await client.get("/api/v1/networks/kent/insights/export.csv", headers=admin)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert {"metric": "members", "year": YEAR.label, "kind": "identity", "value": "15"} in rows
    assert {"metric": "members", "year": YEAR.label, "kind": "role", "value": "fewer than 10"} in rows
    assert all(row["value"] == "fewer than 10" or int(row["value"]) >= 10 for row in rows)
    r = await client.get("/api/v1/networks/kent/insights/charts/trend-members.svg", headers=admin)
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
    assert r.text.startswith("<svg") and "fewer than 10" in r.text  # earlier years: nobody yet
    r = await client.get("/api/v1/networks/kent/insights/charts/kinds-members.svg", headers=admin)
    assert r.status_code == 200 and ">15<" in r.text and ">3<" not in r.text
    for bad in ("pie-members.svg", "trend-nothing.svg", "trend-members.png"):
        r = await client.get(f"/api/v1/networks/kent/insights/charts/{bad}", headers=admin)
        assert r.status_code == 404, bad


async def test_staff_figures(client, kent, db_session) -> None:
    admin = bearer(kent["tokens"]["admin"])
    url = "/api/v1/networks/kent/insights/staff"
    r = await client.put(url, json={"year": YEAR.label, "staff_total": 240, "staff_retained": 201}, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["staff_total"]["value"] == 240 and r.json()["staff_retained"]["value"] == 201
    r = await client.get("/api/v1/networks/kent/insights", headers=admin)
    assert r.json()["staff"] == [
        {
            "year": YEAR.label,
            "staff_total": {"value": 240, "display": "240", "suppressed": False},
            "staff_retained": {"value": 201, "display": "201", "suppressed": False},
        }
    ]
    # 236 of 240 kept: the 4 who left would follow from the total, so the kept figure is hidden too.
    r = await client.put(url, json={"year": YEAR.label, "staff_total": 240, "staff_retained": 236}, headers=admin)
    assert r.json()["staff_retained"]["suppressed"] is True
    await db_session.rollback()
    before = (
        await db_session.scalar(select(func.count()).select_from(AuditEvent)),
        await db_session.get(StaffFigure, (await db_session.scalar(select(StaffFigure.network_id)), YEAR.start)),
    )
    for body, field in [
        ({"staff_total": -1, "staff_retained": 0}, "staff_total"),
        ({"staff_total": 10, "staff_retained": -2}, "staff_retained"),
        ({"staff_total": 10, "staff_retained": 11}, "staff_retained"),
        ({"year": "2026-28", "staff_total": 10, "staff_retained": 1}, "year"),
    ]:
        r = await client.put(url, json={"year": YEAR.label, **body}, headers=admin)
        assert r.status_code == 422, r.text
        assert r.json()["error"]["details"]["field"] == field, r.text
    await db_session.rollback()
    assert await db_session.scalar(select(func.count()).select_from(AuditEvent)) == before[0]
    row = await db_session.scalar(select(StaffFigure))
    assert row is not None and (row.staff_total, row.staff_retained) == (240, 236)


@pytest.mark.parametrize("who", ["fac", "other_admin"])
async def test_only_admins_see_insights(client, kent, who) -> None:
    token = bearer(kent["tokens"][who])
    for path in ("", "/export.csv", "/charts/trend-members.svg"):
        r = await client.get(f"/api/v1/networks/kent/insights{path}", headers=token)
        assert r.status_code == 403, path
    r = await client.put(
        "/api/v1/networks/kent/insights/staff",
        json={"year": YEAR.label, "staff_total": 1, "staff_retained": 1},
        headers=token,
    )
    assert r.status_code == 403


@pytest.mark.parametrize(
    ("params", "field"),
    [({"from": "2026-01-01", "to": "2025-01-01"}, "to"), ({"from": "2001-01-01", "to": "2026-01-01"}, "from")],
)
async def test_bad_ranges(client, kent, params, field) -> None:
    r = await client.get("/api/v1/networks/kent/insights", params=params, headers=bearer(kent["tokens"]["admin"]))
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == field, r.text
    r = await client.get(
        "/api/v1/networks/kent/insights", params={"from": "soon"}, headers=bearer(kent["tokens"]["admin"])
    )
    assert r.status_code in {400, 422}


async def test_chat_and_leavers_are_counted(client, kent, db_session) -> None:
    """Eight people who joined the role space this year and left again still count as its members
    this year (from the audit log); its chat messages are counted per year."""
    await db_session.rollback()
    role = await db_session.scalar(select(Space).where(Space.name == "New teachers"))
    assert role is not None
    joined = dt.datetime(YEAR.start.year, YEAR.start.month, 3, tzinfo=dt.UTC)
    for n in range(8):
        person = await make_account(db_session, name=f"left{n}")
        for action, at in (("space.member.join", joined), ("space.member.leave", joined + dt.timedelta(days=20))):
            db_session.add(
                AuditEvent(
                    id=uuid.uuid4(),
                    actor_id=person.id,
                    action=action,
                    target_type="space",
                    target_id=str(role.id),
                    network_id=role.network_id,
                    after={"account_id": str(person.id)},
                    occurred_at=at,
                )
            )
    for n in range(12):
        db_session.add(Message(space_id=role.id, seq=n + 1, id=uuid.uuid4(), body="hi", key=f"k{n}", sent_at=joined))
    await db_session.commit()
    r = await client.get(
        "/api/v1/networks/kent/insights",
        params={"from": YEAR.start.isoformat()},
        headers=bearer(kent["tokens"]["admin"]),
    )
    assert r.status_code == 200 and len(r.json()["years"]) == 1
    body = r.json()
    assert _row(body, "members", YEAR.label)["by_kind"]["role"]["value"] == 11
    assert _row(body, "chat_messages", YEAR.label)["by_kind"]["role"]["value"] == 12
    assert _row(body, "active_spaces", YEAR.label)["total"]["suppressed"]  # two active spaces: fewer than 10



@pytest.mark.parametrize("query", [{"to": "0001-01-01"}, {"from": "0001-01-01"}, {"from": "9999-12-31"}])
async def test_days_far_from_now_are_refused_naming_the_field(client, kent, query) -> None:
    # Found by the API fuzz: ?to=0001-01-01 was a 500 (program-year arithmetic left datetime's range).
    r = await client.get("/api/v1/networks/kent/insights", params=query, headers=bearer(kent["tokens"]["admin"]))
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"]["field"] == next(iter(query))
