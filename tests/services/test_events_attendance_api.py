"""Network events (a meeting held "with" a convening counts for meetings.with_event_per_year) and
attendance counts (facilitators record them; never above the member count; never names)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.compliance import program_year
from services.persistence.models import AuditEvent, Meeting, NetworkEvent, OccurrenceAttendance
from tests.factories import bearer, make_template
from tests.services import test_meetings_api as meetings_tests

AGENDA, _report = meetings_tests.AGENDA, meetings_tests._report
alas = meetings_tests.alas  # the fixture: ALAS, an identity space, facilitators fac1/fac2, one member


async def _counts(db_session: AsyncSession) -> tuple[int, ...]:
    await db_session.rollback()
    out = [int(await db_session.scalar(select(func.count()).select_from(m)) or 0) for m in (NetworkEvent, AuditEvent)]
    recorded = await db_session.scalar(select(func.count()).where(Meeting.attendance_count.is_not(None)))
    occ = await db_session.scalar(select(func.count()).select_from(OccurrenceAttendance))
    return (*out, int(recorded or 0), int(occ or 0))


def _event(**over: Any) -> dict[str, Any]:
    return {
        "title": "ALAS Summer Institute",
        "kind": "convening",
        "starts_at": "2030-07-10T09:00:00-07:00",
        "ends_at": "2030-07-12T17:00:00-07:00",
        "location": "San Diego",
        **over,
    }


async def test_events_and_meetings_held_with_them(client, alas, db_session) -> None:
    r = await client.post("/api/v1/networks/alas/events", json=_event(), headers=bearer(alas["admin"]))
    assert r.status_code == 201, r.text
    event = r.json()
    r = await client.get("/api/v1/networks/alas/events", headers=bearer(alas["member"]))
    assert r.status_code == 200 and [e["title"] for e in r.json()["items"]] == ["ALAS Summer Institute"]
    url = f"/api/v1/spaces/{alas['space']}/meetings"
    body = {
        "kind": "in_person",
        "title": "Gathering at the Institute",
        "starts_at": "2030-07-11T12:00:00-07:00",
        "components": AGENDA,
        "location": "Room 4",
        "event_id": event["id"],
    }
    r = await client.post(url, json=body, headers=bearer(alas["fac1"]))
    assert r.status_code == 201 and r.json()["event_id"] == event["id"], r.text
    before = await _counts(db_session)
    r = await client.post(url, json={**body, "starts_at": "2030-07-14T12:00:00-07:00"}, headers=bearer(alas["fac1"]))
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "event_id"
    r = await client.post(
        url, json={**body, "event_id": "00000000-0000-0000-0000-000000000009"}, headers=bearer(alas["fac1"])
    )
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "event_id"
    assert await _counts(db_session) == before
    r = await client.delete(f"/api/v1/networks/alas/events/{event['id']}", headers=bearer(alas["fac1"]))
    assert r.status_code == 403
    r = await client.delete(f"/api/v1/networks/alas/events/{event['id']}", headers=bearer(alas["admin"]))
    assert r.status_code == 200 and r.json()["cancelled_at"] is not None
    r = await client.post(url, json=body, headers=bearer(alas["fac1"]))
    assert r.status_code == 422 and "cancelled" in r.json()["error"]["message"]


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"ends_at": "2030-07-09T09:00:00-07:00"}, "ends_at"),
        ({"ends_at": "2030-08-30T09:00:00-07:00"}, "ends_at"),
        ({"starts_at": "2030-07-10T09:00:00"}, "starts_at"),
        ({"title": "  "}, "title"),
    ],
)
async def test_bad_events_change_nothing(client, alas, db_session, over, field) -> None:
    before = await _counts(db_session)
    r = await client.post("/api/v1/networks/alas/events", json=_event(**over), headers=bearer(alas["admin"]))
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == field, r.text
    assert await _counts(db_session) == before


@pytest.mark.parametrize(("who", "status"), [("fac1", 403), ("member", 403), ("other_admin", 403), ("stranger", 403)])
async def test_only_admins_create_events(client, alas, db_session, who, status) -> None:
    before = await _counts(db_session)
    r = await client.post("/api/v1/networks/alas/events", json=_event(), headers=bearer(alas[who]))
    assert r.status_code == status
    assert await _counts(db_session) == before
    r = await client.get("/api/v1/networks/alas/events", headers=bearer(alas["other_admin"]))
    assert r.status_code == 403


async def test_alas_rule_counts_meetings_held_with_events(client, alas, db_session) -> None:
    """ALAS: three virtual meetings and one in person "in conjunction with ALAS' in-person events"."""
    network_id = alas["network_id"]
    from services.persistence.models import Network

    network = await db_session.get(Network, __import__("uuid").UUID(network_id))
    await make_template(
        db_session, network, {"meetings.with_event_per_year": {"min": 1}}, name="With events", attach_to=network
    )
    await db_session.commit()
    year = program_year(dt.datetime.now(dt.UTC).date(), 8)
    day = year.start + dt.timedelta(days=100)
    start = dt.datetime(day.year, day.month, day.day, 9, tzinfo=dt.UTC)
    r = await client.post(
        "/api/v1/networks/alas/events",
        json=_event(starts_at=start.isoformat(), ends_at=(start + dt.timedelta(days=2)).isoformat()),
        headers=bearer(alas["admin"]),
    )
    event_id = r.json()["id"]
    rows = await _report(client, alas)
    assert "too_few_event_meetings" in {f["code"] for f in rows[alas["space"]]["findings"]}
    r = await client.post(
        f"/api/v1/spaces/{alas['space']}/meetings",
        json={
            "kind": "in_person",
            "title": "At the convening",
            "starts_at": (start + dt.timedelta(hours=5)).isoformat(),
            "components": AGENDA,
            "event_id": event_id,
        },
        headers=bearer(alas["fac1"]),
    )
    assert r.status_code == 201, r.text
    rows = await _report(client, alas)
    assert "too_few_event_meetings" not in {f["code"] for f in rows[alas["space"]]["findings"]}


async def test_attendance_counts(client, alas, db_session) -> None:
    url = f"/api/v1/spaces/{alas['space']}/meetings"
    past = {"kind": "virtual", "title": "Last month", "starts_at": "2026-10-13T16:00:00-07:00", "components": AGENDA}
    mid = (await client.post(url, json=past, headers=bearer(alas["fac1"]))).json()["id"]
    # The space has three people: two facilitators and a member.
    r = await client.put(f"{url}/{mid}/attendance", json={"count": 3}, headers=bearer(alas["fac2"]))
    assert r.status_code == 200 and r.json()["attendance_count"] == 3, r.text
    r = await client.get(url, params={"from": "2026-10-01T00:00:00Z"}, headers=bearer(alas["member"]))
    assert r.json()["items"][0]["attendance_count"] == 3
    before = await _counts(db_session)
    r = await client.put(f"{url}/{mid}/attendance", json={"count": 4}, headers=bearer(alas["fac1"]))
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "count", r.text
    r = await client.put(f"{url}/{mid}/attendance", json={"count": -1}, headers=bearer(alas["fac1"]))
    assert r.status_code == 422 and r.json()["error"]["details"]["problems"][0]["key"] == "count", r.text
    assert (
        "more than the space's 3 member(s)"
        in (await client.put(f"{url}/{mid}/attendance", json={"count": 4}, headers=bearer(alas["fac1"]))).json()[
            "error"
        ]["message"]
    )
    r = await client.put(f"{url}/{mid}/attendance", json={"count": 2}, headers=bearer(alas["member"]))
    assert r.status_code == 403
    r = await client.put(f"{url}/{mid}/attendance", json={"count": 2}, headers=bearer(alas["net_member"]))
    assert r.status_code == 404
    future = (
        await client.post(url, json={**past, "starts_at": "2031-01-01T16:00:00Z"}, headers=bearer(alas["fac1"]))
    ).json()
    before = await _counts(db_session)
    r = await client.put(f"{url}/{future['id']}/attendance", json={"count": 1}, headers=bearer(alas["fac1"]))
    assert r.status_code == 422 and "not started" in r.json()["error"]["message"]
    assert await _counts(db_session) == before
    # One occurrence of a series.
    series = {
        "kind": "virtual",
        "title": "Monthly",
        "starts_at": "2026-09-08T16:00:00",
        "time_zone": "America/Los_Angeles",
        "rule": "FREQ=MONTHLY;BYDAY=2TU;COUNT=3",
        "components": AGENDA,
    }
    s = (await client.post(f"/api/v1/spaces/{alas['space']}/series", json=series, headers=bearer(alas["fac1"]))).json()
    first = s["occurrences"][0]["original_start"]
    r = await client.put(
        f"/api/v1/spaces/{alas['space']}/series/{s['id']}/attendance",
        json={"original_start": first, "count": 2},
        headers=bearer(alas["fac1"]),
    )
    assert r.status_code == 200 and r.json()["count"] == 2, r.text
    r = await client.get(f"/api/v1/spaces/{alas['space']}/series/{s['id']}", headers=bearer(alas["member"]))
    assert r.json()["occurrences"][0]["attendance_count"] == 2, r.text
    r = await client.put(
        f"/api/v1/spaces/{alas['space']}/series/{s['id']}/attendance",
        json={"original_start": first, "count": 9},
        headers=bearer(alas["fac1"]),
    )
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "count"
