"""Self check-in (issue 13 item 6): a member checks in to a meeting, or one occurrence of a
series, once, from 15 minutes before the start to the end of the meeting's day; checking in
again (even twice at once) counts once; the attendance figure is the recorded count, else the
check-ins; members see only their own check-in, facilitators the counts, nobody the names."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.persistence.models import AuditEvent, MeetingCheckIn, OccurrenceCheckIn
from tests.factories import bearer
from tests.services import test_meetings_api as meetings_tests

AGENDA = meetings_tests.AGENDA
alas = meetings_tests.alas  # the fixture: ALAS, an identity space, facilitators fac1/fac2, one member


async def _counts(db_session: AsyncSession) -> tuple[int, int, int]:
    await db_session.rollback()
    out = [
        int(await db_session.scalar(select(func.count()).select_from(m)) or 0)
        for m in (MeetingCheckIn, OccurrenceCheckIn, AuditEvent)
    ]
    return out[0], out[1], out[2]


async def _meeting(client: Any, alas: dict[str, str], starts_at: dt.datetime, **over: Any) -> dict[str, Any]:
    body = {
        "kind": "virtual",
        "title": "Circle",
        "starts_at": starts_at.isoformat(),
        "duration_minutes": 60,
        "components": AGENDA,
        **over,
    }
    r = await client.post(f"/api/v1/spaces/{alas['space']}/meetings", json=body, headers=bearer(alas["fac1"]))
    assert r.status_code == 201, r.text
    return dict(r.json())


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


async def test_member_checks_in_once_and_facilitators_see_counts(client, alas, db_session) -> None:
    m = await _meeting(client, alas, _now() - dt.timedelta(minutes=5))
    url = f"/api/v1/spaces/{alas['space']}/meetings/{m['id']}/check-in"
    r = await client.post(url, headers=bearer(alas["member"]))
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["checked_in"] is True and out["already"] is False and out["state"] == "open"
    # A member sees their own check-in, never the counts.
    assert out["checked_in_count"] is None and out["recorded"] is None and out["attendance"] is None
    r = await client.post(url, headers=bearer(alas["member"]))
    assert r.status_code == 200 and r.json()["already"] is True and r.json()["checked_in"] is True
    # Two clicks at once count once (ON CONFLICT DO NOTHING).
    first, second = await asyncio.gather(
        client.post(url, headers=bearer(alas["fac2"])), client.post(url, headers=bearer(alas["fac2"]))
    )
    assert sorted([first.status_code, second.status_code]) == [200, 201]
    assert (await _counts(db_session))[0] == 2

    listing = f"/api/v1/spaces/{alas['space']}/check-ins"
    r = await client.get(listing, headers=bearer(alas["fac1"]))
    assert r.status_code == 200, r.text
    [item] = r.json()["items"]
    assert item["meeting_id"] == m["id"] and item["checked_in"] is False and item["can_check_in"] is True
    assert (item["recorded"], item["checked_in_count"], item["attendance"]) == (None, 2, 2)
    assert "account" not in r.text and alas["member"] not in r.text  # counts, never who
    r = await client.get(listing, headers=bearer(alas["member"]))
    [item] = r.json()["items"]
    assert item["checked_in"] is True and item["checked_in_count"] is None
    # A recorded count is the figure; the check-ins are still shown beside it.
    r = await client.put(
        f"/api/v1/spaces/{alas['space']}/meetings/{m['id']}/attendance", json={"count": 3}, headers=bearer(alas["fac1"])
    )
    assert r.status_code == 200, r.text
    [item] = (await client.get(listing, headers=bearer(alas["fac1"]))).json()["items"]
    assert (item["recorded"], item["checked_in_count"], item["attendance"]) == (3, 2, 3)
    # Network admins oversee the figures but do not check in themselves.
    r = await client.get(listing, headers=bearer(alas["admin"]))
    assert r.status_code == 200 and r.json()["items"][0]["attendance"] == 3
    assert r.json()["items"][0]["can_check_in"] is False


async def test_who_may_not_check_in(client, alas, db_session) -> None:
    m = await _meeting(client, alas, _now() - dt.timedelta(minutes=5))
    url = f"/api/v1/spaces/{alas['space']}/meetings/{m['id']}/check-in"
    before = await _counts(db_session)
    for who, status in (("net_member", 404), ("other_admin", 404), ("stranger", 404), ("admin", 403)):
        r = await client.post(url, headers=bearer(alas[who]))
        assert r.status_code == status, (who, r.text)
        r = await client.get(f"/api/v1/spaces/{alas['space']}/check-ins", headers=bearer(alas[who]))
        assert r.status_code == (200 if who == "admin" else 404), (who, r.text)
    r = await client.post(url)
    assert r.status_code == 401
    # A missing meeting, or one of another space, is a 404.
    r = await client.post(
        f"/api/v1/spaces/{alas['space']}/meetings/{uuid.uuid4()}/check-in", headers=bearer(alas["member"])
    )
    assert r.status_code == 404 and r.json()["error"]["code"] == "meeting_not_found"
    assert await _counts(db_session) == before


async def test_outside_the_window_or_cancelled_is_409(client, alas, db_session) -> None:
    early = await _meeting(client, alas, _now() + dt.timedelta(hours=2))
    late = await _meeting(client, alas, _now() - dt.timedelta(days=2))
    gone = await _meeting(client, alas, _now() - dt.timedelta(minutes=5))
    r = await client.delete(f"/api/v1/spaces/{alas['space']}/meetings/{gone['id']}", headers=bearer(alas["fac1"]))
    assert r.status_code == 200
    before = await _counts(db_session)
    base = f"/api/v1/spaces/{alas['space']}/meetings"
    r = await client.post(f"{base}/{early['id']}/check-in", headers=bearer(alas["member"]))
    assert r.status_code == 409 and r.json()["error"]["code"] == "check_in_not_open", r.text
    assert "opens at" in r.json()["error"]["message"]
    r = await client.post(f"{base}/{late['id']}/check-in", headers=bearer(alas["member"]))
    assert r.status_code == 409 and r.json()["error"]["code"] == "check_in_closed", r.text
    assert "closed at" in r.json()["error"]["message"]
    r = await client.post(f"{base}/{gone['id']}/check-in", headers=bearer(alas["member"]))
    assert r.status_code == 409 and r.json()["error"]["code"] == "meeting_cancelled"
    assert await _counts(db_session) == before
    # The listing shows members only what is open now.
    r = await client.get(f"/api/v1/spaces/{alas['space']}/check-ins", headers=bearer(alas["member"]))
    assert r.json()["items"] == []


async def test_occurrence_of_a_series(client, alas, db_session) -> None:
    start = _now() - dt.timedelta(days=1, minutes=5)
    series = {
        "kind": "virtual",
        "title": "Daily",
        "starts_at": start.isoformat().replace("+00:00", ""),
        "time_zone": "UTC",
        "rule": "FREQ=DAILY;COUNT=3",
        "components": AGENDA,
    }
    r = await client.post(f"/api/v1/spaces/{alas['space']}/series", json=series, headers=bearer(alas["fac1"]))
    assert r.status_code == 201, r.text
    s = r.json()
    today = s["occurrences"][1]["original_start"]
    url = f"/api/v1/spaces/{alas['space']}/series/{s['id']}/check-in"
    r = await client.post(url, json={"original_start": today}, headers=bearer(alas["member"]))
    assert r.status_code == 201, r.text
    assert r.json()["series_id"] == s["id"] and r.json()["checked_in"] is True
    r = await client.post(url, json={"original_start": today}, headers=bearer(alas["member"]))
    assert r.status_code == 200 and r.json()["already"] is True
    before = await _counts(db_session)
    r = await client.post(
        url, json={"original_start": s["occurrences"][2]["original_start"]}, headers=bearer(alas["member"])
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "check_in_not_open"
    r = await client.post(url, json={"original_start": "2026-01-01T00:00:00Z"}, headers=bearer(alas["member"]))
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "original_start"
    r = await client.put(
        f"/api/v1/spaces/{alas['space']}/series/{s['id']}/exceptions",
        json={"original_start": today, "action": "skip"},
        headers=bearer(alas["fac1"]),
    )
    assert r.status_code == 200, r.text
    before = await _counts(db_session)
    r = await client.post(url, json={"original_start": today}, headers=bearer(alas["fac2"]))
    assert r.status_code == 409 and r.json()["error"]["code"] == "occurrence_cancelled"
    assert await _counts(db_session) == before
    r = await client.post(url, json={"original_start": today}, headers=bearer(alas["net_member"]))
    assert r.status_code == 404


async def test_the_meeting_keeps_an_exact_check_in_count_through_every_delete(client, alas, db_session) -> None:
    """Insights read ``meetings.checked_in`` (kept by a trigger) instead of grouping every
    check-in: it must follow inserts, a repeated check-in, a removed row and the cascade of an
    erased account, none of which the app's own code sees all of."""
    from sqlalchemy import text

    m = await _meeting(client, alas, _now() - dt.timedelta(minutes=5))
    url = f"/api/v1/spaces/{alas['space']}/meetings/{m['id']}/check-in"

    async def counter() -> tuple[int, int]:
        await db_session.rollback()
        row = (
            await db_session.execute(
                text(
                    "SELECT m.checked_in, (SELECT count(*) FROM meeting_check_ins c WHERE c.meeting_id = m.id) "
                    "FROM meetings m WHERE m.id = :m"
                ),
                {"m": uuid.UUID(m["id"])},
            )
        ).one()
        return int(row[0]), int(row[1])

    assert await counter() == (0, 0)
    for who in ("member", "fac2", "member"):
        assert (await client.post(url, headers=bearer(alas[who]))).status_code in (200, 201)
    assert await counter() == (2, 2)
    fac2 = await db_session.scalar(
        text("SELECT account_id FROM api_tokens WHERE token_hash = sha256(convert_to(:t, 'UTF8'))"),
        {"t": alas["fac2"]},
    )
    assert fac2 is not None
    await db_session.execute(text("DELETE FROM accounts WHERE id = :a"), {"a": fac2})  # erasure cascades
    await db_session.commit()
    assert await counter() == (1, 1)
    await db_session.execute(text("DELETE FROM meeting_check_ins WHERE meeting_id = :m"), {"m": uuid.UUID(m["id"])})
    await db_session.commit()
    assert await counter() == (0, 0)
