"""Time zones and recurring meetings through the API: network zones, meetings shown in their
zone, series with exceptions, bad input (422 naming the field, nothing stored), and compliance
counting occurrences on the network's local day."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.compliance import program_year
from services.persistence.models import AuditEvent, Meeting, MeetingSeries, MeetingSeriesException, Network
from tests.factories import bearer
from tests.services import test_meetings_api as meetings_tests

AGENDA, _report = meetings_tests.AGENDA, meetings_tests._report
alas = meetings_tests.alas  # the fixture: ALAS, an identity space, its facilitators and members

LA = ZoneInfo("America/Los_Angeles")


def _series(alas: dict[str, str], space: str = "space") -> str:
    return f"/api/v1/spaces/{alas[space]}/series"


def _body(**over: Any) -> dict[str, Any]:
    return {
        "kind": "virtual",
        "title": "Monthly circle",
        "starts_at": "2026-09-08T16:00:00",
        "time_zone": "America/Los_Angeles",
        "rule": "FREQ=MONTHLY;BYDAY=2TU;UNTIL=20270630T235959",
        "duration_minutes": 60,
        "components": AGENDA,
        "join_url": "https://meet.example.org/circle",
        **over,
    }


async def _counts(db_session: AsyncSession) -> tuple[int, ...]:
    await db_session.rollback()
    out = []
    for model in (MeetingSeries, MeetingSeriesException, Meeting, AuditEvent):
        out.append(int(await db_session.scalar(select(func.count()).select_from(model)) or 0))
    return tuple(out)


async def test_network_time_zone_set_by_admin_only_and_checked(client, alas, db_session) -> None:
    url = "/api/v1/networks/alas/time-zone"
    r = await client.put(url, json={"time_zone": "America/Los_Angeles"}, headers=bearer(alas["admin"]))
    assert r.status_code == 200, r.text
    assert r.json()["time_zone"] == "America/Los_Angeles"
    r = await client.get("/api/v1/networks/alas", headers=bearer(alas["member"]))
    assert r.json()["time_zone"] == "America/Los_Angeles"
    before = await _counts(db_session)
    r = await client.put(url, json={"time_zone": "Mars/Olympus_Mons"}, headers=bearer(alas["admin"]))
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "time_zone", r.text
    r = await client.put(url, json={"time_zone": "Europe/Paris"}, headers=bearer(alas["fac1"]))
    assert r.status_code == 403
    assert await _counts(db_session) == before
    network = await db_session.scalar(select(Network).where(Network.slug == "alas"))
    assert network is not None and network.time_zone == "America/Los_Angeles"


async def test_meeting_shown_in_its_zone(client, alas, db_session) -> None:
    await client.put(
        "/api/v1/networks/alas/time-zone", json={"time_zone": "America/Los_Angeles"}, headers=bearer(alas["admin"])
    )
    body = {
        "kind": "virtual",
        "title": "Winter circle",
        "starts_at": "2030-01-15T00:00:00Z",
        "components": AGENDA,
    }
    r = await client.post(f"/api/v1/spaces/{alas['space']}/meetings", json=body, headers=bearer(alas["fac1"]))
    assert r.status_code == 201, r.text
    m = r.json()
    assert m["time_zone"] == "America/Los_Angeles" and m["zone_abbreviation"] == "PST"
    assert m["starts_at_local"] == "2030-01-14T16:00:00-08:00" and m["sequence"] == 0
    r = await client.patch(
        f"/api/v1/spaces/{alas['space']}/meetings/{m['id']}",
        json={"time_zone": "America/New_York"},
        headers=bearer(alas["fac1"]),
    )
    assert r.status_code == 200 and r.json()["starts_at_local"] == "2030-01-14T19:00:00-05:00"
    assert r.json()["sequence"] == 1
    before = await _counts(db_session)
    r = await client.post(
        f"/api/v1/spaces/{alas['space']}/meetings",
        json={**body, "time_zone": "Atlantis/Capital"},
        headers=bearer(alas["fac1"]),
    )
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "time_zone"
    assert await _counts(db_session) == before


async def test_monthly_second_tuesday_4pm_pacific_with_exceptions(client, alas, db_session) -> None:
    r = await client.post(_series(alas), json=_body(), headers=bearer(alas["fac1"]))
    assert r.status_code == 201, r.text
    s = r.json()
    occ = s["occurrences"]
    assert len(occ) == 10
    for o in occ:
        local = dt.datetime.fromisoformat(o["starts_at_local"])
        assert (local.hour, local.minute, local.weekday()) == (16, 0, 1) and 8 <= local.day <= 14
        assert o["time_zone"] == "America/Los_Angeles" and o["zone_abbreviation"] in {"PDT", "PST"}
    assert {o["zone_abbreviation"] for o in occ} == {"PDT", "PST"}
    sid = s["id"]
    # Skip the December one, move the January one to Thursday at 5 pm, cancel February's.
    dec, jan, feb = occ[3]["original_start"], occ[4]["original_start"], occ[5]["original_start"]
    url = f"{_series(alas)}/{sid}/exceptions"
    r = await client.put(url, json={"original_start": dec, "action": "skip"}, headers=bearer(alas["fac1"]))
    assert r.status_code == 200, r.text
    r = await client.put(
        url,
        json={
            "original_start": jan,
            "action": "move",
            "starts_at": "2027-01-14T17:00:00-08:00",
            "duration_minutes": 90,
        },
        headers=bearer(alas["fac2"]),
    )
    assert r.status_code == 200, r.text
    r = await client.put(url, json={"original_start": feb, "action": "cancel"}, headers=bearer(alas["admin"]))
    occ = r.json()["occurrences"]
    assert [o["exception"] for o in occ[3:6]] == ["skip", "move", "cancel"]
    assert occ[3]["cancelled"] and occ[5]["cancelled"] and occ[4]["moved"]
    assert occ[4]["starts_at_local"] == "2027-01-14T17:00:00-08:00"
    # Restore February; members see the list, without cancelled occurrences by default.
    r = await client.put(url, json={"original_start": feb, "action": "restore"}, headers=bearer(alas["fac1"]))
    assert r.status_code == 200 and r.json()["occurrences"][5]["exception"] is None
    r = await client.get(
        f"/api/v1/spaces/{alas['space']}/meetings",
        params={"from": "2026-09-01T00:00:00Z", "to": "2027-07-01T00:00:00Z"},
        headers=bearer(alas["member"]),
    )
    assert r.status_code == 200
    assert len(r.json()["occurrences"]) == 9  # ten less the skipped one
    r = await client.get(_series(alas), headers=bearer(alas["member"]))
    assert r.status_code == 200 and r.json()["items"][0]["join_url"] == "https://meet.example.org/circle"
    r = await client.get(_series(alas), headers=bearer(alas["admin"]))
    assert r.status_code == 200 and r.json()["items"][0]["join_url"] is None
    # Changing the series bumps SEQUENCE; cancelling it cancels all.
    r = await client.patch(f"{_series(alas)}/{sid}", json={"title": "Monthly gathering"}, headers=bearer(alas["fac1"]))
    assert r.status_code == 200 and r.json()["sequence"] == 2  # restore + edit
    r = await client.delete(f"{_series(alas)}/{sid}", headers=bearer(alas["fac1"]))
    assert r.status_code == 200 and r.json()["cancelled_at"] is not None
    r = await client.put(url, json={"original_start": dec, "action": "restore"}, headers=bearer(alas["fac1"]))
    assert r.status_code == 409
    await db_session.rollback()
    actions = list(await db_session.scalars(select(AuditEvent.action)))
    for action in ("create", "skip", "move", "cancel", "restore", "update"):
        assert f"meeting_series.{action}" in actions


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"rule": "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30;COUNT=2"}, "rule"),  # 30 February never occurs
        ({"rule": "FREQ=MONTHLY;UNTIL=20320101"}, "rule"),  # longer than five years
        ({"rule": "FREQ=YEARLY;COUNT=7"}, "rule"),  # the 7th is six years on
        ({"rule": "FREQ=MONTHLY"}, "rule"),  # no end
        ({"rule": "FREQ=FORTNIGHTLY;COUNT=3"}, "rule"),
        ({"time_zone": "Pacific/Nowhere"}, "time_zone"),
        ({"time_zone": "../../etc/passwd"}, "time_zone"),
        ({"title": "  "}, "title"),
        ({"components": ["quote"]}, None),  # policy_violation: the agenda lacks required components
        ({"kind": "in_person"}, "join_url"),
    ],
)
async def test_bad_series_is_422_naming_the_field_and_stores_nothing(client, alas, db_session, over, field) -> None:
    before = await _counts(db_session)
    r = await client.post(_series(alas), json=_body(**over), headers=bearer(alas["fac1"]))
    assert r.status_code == 422, r.text
    if field:
        assert r.json()["error"]["details"]["field"] == field, r.text
    assert await _counts(db_session) == before


@pytest.mark.parametrize(
    ("who", "status"), [("member", 403), ("net_member", 404), ("other_admin", 404), ("stranger", 404)]
)
async def test_only_facilitators_and_admins_make_series(client, alas, db_session, who, status) -> None:
    before = await _counts(db_session)
    r = await client.post(_series(alas), json=_body(), headers=bearer(alas[who]))
    assert r.status_code == status, r.text
    assert await _counts(db_session) == before


async def test_bad_exceptions(client, alas, db_session) -> None:
    sid = (await client.post(_series(alas), json=_body(), headers=bearer(alas["fac1"]))).json()["id"]
    url = f"{_series(alas)}/{sid}/exceptions"
    before = await _counts(db_session)
    for body, field in [
        ({"original_start": "2026-09-09T16:00:00-07:00", "action": "skip"}, "original_start"),  # not an occurrence
        ({"original_start": "2026-09-08T16:00:00", "action": "skip"}, "original_start"),  # no offset
        ({"original_start": "2026-09-08T16:00:00-07:00", "action": "move"}, "starts_at"),
        (
            {"original_start": "2026-09-08T16:00:00-07:00", "action": "move", "starts_at": "2027-09-08T16:00:00Z"},
            "starts_at",
        ),
        (
            {"original_start": "2026-09-08T16:00:00-07:00", "action": "skip", "starts_at": "2026-09-09T16:00:00Z"},
            "starts_at",
        ),
    ]:
        r = await client.put(url, json=body, headers=bearer(alas["fac1"]))
        assert r.status_code == 422, r.text
        assert r.json()["error"]["details"]["field"] == field, (body, r.text)
    r = await client.put(
        url, json={"original_start": "2026-09-08T16:00:00-07:00", "action": "skip"}, headers=bearer(alas["member"])
    )
    assert r.status_code == 403
    r = await client.put(
        f"{_series(alas)}/{uuid.uuid4()}/exceptions",
        json={"original_start": "2026-09-08T16:00:00-07:00", "action": "skip"},
        headers=bearer(alas["fac1"]),
    )
    assert r.status_code == 404 and r.json()["error"]["code"] == "series_not_found"
    assert await _counts(db_session) == before


async def test_compliance_counts_occurrences_on_the_networks_local_day(client, alas, db_session) -> None:
    """ALAS asks for two virtual meetings and one in person a year."""
    s = alas["space"]
    year = program_year(dt.datetime.now(LA).date(), 8)
    await client.put(
        "/api/v1/networks/alas/time-zone", json={"time_zone": "America/Los_Angeles"}, headers=bearer(alas["admin"])
    )
    # An in-person meeting at 8 pm on the last evening of the program year, Pacific time: in
    # UTC that is already the next year, in the network's zone it is this one.
    last = year.end - dt.timedelta(days=1)
    evening = dt.datetime(last.year, last.month, last.day, 20, tzinfo=LA)
    r = await client.post(
        f"/api/v1/spaces/{s}/meetings",
        json={
            "kind": "in_person",
            "title": "Closing",
            "starts_at": evening.isoformat(),
            "components": AGENDA,
            "location": "Hall",
        },
        headers=bearer(alas["fac1"]),
    )
    assert r.status_code == 201, r.text
    rows = await _report(client, alas)
    assert {f["code"] for f in rows[s]["findings"]} == {"too_few_virtual_meetings"}
    # A series of three virtual occurrences in the year, one skipped: two count.
    first = dt.datetime(year.start.year, 9, 1, 16)
    r = await client.post(
        f"/api/v1/spaces/{s}/series",
        json=_body(starts_at=first.isoformat(), rule="FREQ=MONTHLY;COUNT=3"),
        headers=bearer(alas["fac1"]),
    )
    assert r.status_code == 201, r.text
    sid, occ = r.json()["id"], r.json()["occurrences"]
    r = await client.put(
        f"/api/v1/spaces/{s}/series/{sid}/exceptions",
        json={"original_start": occ[0]["original_start"], "action": "skip"},
        headers=bearer(alas["fac1"]),
    )
    assert r.status_code == 200
    assert (await _report(client, alas))[s]["status"] == "compliant"
    r = await client.put(
        f"/api/v1/spaces/{s}/series/{sid}/exceptions",
        json={"original_start": occ[1]["original_start"], "action": "cancel"},
        headers=bearer(alas["fac1"]),
    )
    rows = await _report(client, alas)
    assert [f["code"] for f in rows[s]["findings"]] == ["too_few_virtual_meetings"]
    assert "1 virtual meeting(s)" in rows[s]["findings"][0]["message"]


async def test_wall_clock_start_is_read_in_the_named_zone(client, alas) -> None:
    url = f"/api/v1/spaces/{alas['space']}/meetings"
    body = {"kind": "virtual", "title": "Summer", "starts_at": "2030-07-09T16:00:00", "components": AGENDA}
    r = await client.post(url, json={**body, "time_zone": "America/Los_Angeles"}, headers=bearer(alas["fac1"]))
    assert r.status_code == 201, r.text
    assert r.json()["starts_at"].startswith("2030-07-09T23:00:00") and r.json()["zone_abbreviation"] == "PDT"
    r = await client.patch(
        f"{url}/{r.json()['id']}",
        json={"starts_at": "2030-12-10T16:00:00", "time_zone": "America/Los_Angeles"},
        headers=bearer(alas["fac1"]),
    )
    assert r.status_code == 200 and r.json()["starts_at_local"] == "2030-12-10T16:00:00-08:00"
    r = await client.post(url, json=body, headers=bearer(alas["fac1"]))  # no zone, no offset: ambiguous
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "starts_at"


async def test_compliance_report_for_a_past_program_year(client, alas) -> None:
    year = program_year(dt.datetime.now(dt.UTC).date(), 8)
    past = f"{year.start.year - 1}-{year.start.year % 100:02d}"
    r = await client.get("/api/v1/networks/alas/compliance", params={"year": past}, headers=bearer(alas["admin"]))
    assert r.status_code == 200, r.text
    assert r.json()["year"]["label"] == past
    # A circle held in that year counts there, not in this one.
    last_year = dt.datetime(year.start.year - 1, 10, 6, 18, tzinfo=dt.UTC)
    r = await client.post(
        f"/api/v1/spaces/{alas['space']}/meetings",
        json={"kind": "virtual", "title": "Old", "starts_at": last_year.isoformat(), "components": AGENDA},
        headers=bearer(alas["fac1"]),
    )
    r = await client.get("/api/v1/networks/alas/compliance", params={"year": past}, headers=bearer(alas["admin"]))
    row = {s["space_id"]: s for s in r.json()["spaces"]}[alas["space"]]
    assert any("1 virtual meeting(s)" in f["message"] for f in row["findings"]), row
    for bad in ("2025-27", "last year", "1999-00"):
        r = await client.get("/api/v1/networks/alas/compliance", params={"year": bad}, headers=bearer(alas["admin"]))
        assert r.status_code in {400, 422}, (bad, r.text)
    r = await client.get("/api/v1/networks/alas/compliance", params={"year": past}, headers=bearer(alas["fac1"]))
    assert r.status_code == 403
