"""Calendar feeds, parsed back with icalendar and expanded with recurring-ical-events (a library
independent of our own rule expansion).

Done when: a facilitator creates "monthly on the second Tuesday, 4 pm Pacific" once; the member's
feed shows every occurrence at 4 pm Pacific; skipping one shows up as a cancellation.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import recurring_ical_events
from icalendar import Calendar
from sqlalchemy import select

from services.persistence.models import AuditEvent, CalendarFeed
from tests.factories import bearer
from tests.services import test_meetings_api as meetings_tests

AGENDA = meetings_tests.AGENDA
alas = meetings_tests.alas  # the fixture: ALAS, the identity space "Latina Superintendents", people

LA = ZoneInfo("America/Los_Angeles")
SERIES = {
    "kind": "virtual",
    "title": "Monthly circle",
    "starts_at": "2026-09-08T16:00:00",
    "time_zone": "America/Los_Angeles",
    "rule": "FREQ=MONTHLY;BYDAY=2TU;UNTIL=20270630T235959",
    "duration_minutes": 60,
    "components": AGENDA,
    "join_url": "https://meet.example.org/circle",
}


async def _feed_url(client, token: str) -> str:
    r = await client.post("/api/v1/me/calendar-feed", headers=bearer(token))
    assert r.status_code == 201, r.text
    url = r.json()["url"]
    assert "/calendar/feeds/acf_" in url and url.endswith(".ics")
    return "/calendar/feeds/" + url.split("/calendar/feeds/", 1)[1]


async def _get_calendar(client, path: str, **kw) -> Calendar:
    r = await client.get(path, **kw)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/calendar")
    return Calendar.from_ical(r.content)


def _instances(cal: Calendar) -> list:
    return list(recurring_ical_events.of(cal).between(dt.datetime(2026, 8, 1), dt.datetime(2027, 8, 1)))


async def test_monthly_second_tuesday_4pm_pacific_reaches_the_members_feed(client, alas) -> None:
    r = await client.post(f"/api/v1/spaces/{alas['space']}/series", json=SERIES, headers=bearer(alas["fac1"]))
    assert r.status_code == 201, r.text
    series = r.json()
    path = await _feed_url(client, alas["member"])

    cal = await _get_calendar(client, path)  # no credentials: calendar apps poll the secret URL
    events = _instances(cal)
    assert len(events) == 10
    for e in events:
        start = e["DTSTART"].dt
        assert str(start.tzinfo) == "America/Los_Angeles" or getattr(start.tzinfo, "key", "") == "America/Los_Angeles"
        local = start.astimezone(LA)
        assert (local.hour, local.minute, local.weekday()) == (16, 0, 1) and 8 <= local.day <= 14
        assert str(e["SUMMARY"]) == "Monthly circle"
        assert str(e.get("STATUS")) == "CONFIRMED"
    uids = {str(e["UID"]) for e in events}
    assert uids == {f"series-{series['id']}@localhost"}
    # Both sides of daylight-saving time are in there, at the same wall-clock time.
    assert {e["DTSTART"].dt.utcoffset() for e in events} == {dt.timedelta(hours=-7), dt.timedelta(hours=-8)}
    assert cal.walk("VTIMEZONE"), "the feed defines its time zones"

    # Skip December: the feed carries a cancelled instance with a higher SEQUENCE.
    december = series["occurrences"][3]["original_start"]
    r = await client.put(
        f"/api/v1/spaces/{alas['space']}/series/{series['id']}/exceptions",
        json={"original_start": december, "action": "skip"},
        headers=bearer(alas["fac1"]),
    )
    assert r.status_code == 200, r.text
    cal = await _get_calendar(client, path)
    overrides = [c for c in cal.walk("VEVENT") if "RECURRENCE-ID" in c]
    assert len(overrides) == 1
    skipped = overrides[0]
    assert str(skipped["STATUS"]) == "CANCELLED"
    assert skipped["RECURRENCE-ID"].dt.astimezone(LA) == dt.datetime(2026, 12, 8, 16, tzinfo=LA)
    master = next(c for c in cal.walk("VEVENT") if "RRULE" in c)
    assert int(skipped["SEQUENCE"]) > int(master["SEQUENCE"])
    by_start = {e["DTSTART"].dt.astimezone(LA).date(): e for e in _instances(cal)}
    assert dt.date(2026, 12, 8) not in by_start or str(by_start[dt.date(2026, 12, 8)]["STATUS"]) == "CANCELLED"
    assert sum(str(e.get("STATUS")) == "CONFIRMED" for e in _instances(cal)) == 9


async def test_single_meeting_updates_and_cancellation_propagate(client, alas) -> None:
    body = {"kind": "virtual", "title": "Kick-off", "starts_at": "2030-09-10T16:00:00-07:00", "components": AGENDA}
    r = await client.post(f"/api/v1/spaces/{alas['space']}/meetings", json=body, headers=bearer(alas["fac1"]))
    mid = r.json()["id"]
    path = await _feed_url(client, alas["member"])
    first = (await _get_calendar(client, path)).walk("VEVENT")
    assert [str(e["UID"]) for e in first] == [f"meeting-{mid}@localhost"]
    assert int(first[0]["SEQUENCE"]) == 0
    await client.patch(
        f"/api/v1/spaces/{alas['space']}/meetings/{mid}",
        json={"title": "Kick-off (moved)"},
        headers=bearer(alas["fac1"]),
    )
    await client.delete(f"/api/v1/spaces/{alas['space']}/meetings/{mid}", headers=bearer(alas["fac1"]))
    last = (await _get_calendar(client, path)).walk("VEVENT")
    assert [str(e["UID"]) for e in last] == [f"meeting-{mid}@localhost"]  # same UID: an update, not a new event
    assert int(last[0]["SEQUENCE"]) == 2 and str(last[0]["STATUS"]) == "CANCELLED"
    assert str(last[0]["SUMMARY"]) == "Kick-off (moved)"


async def test_identity_space_name_reaches_members_only(client, alas) -> None:
    await client.post(f"/api/v1/spaces/{alas['space']}/series", json=SERIES, headers=bearer(alas["fac1"]))
    name = b"Latina Superintendents"
    member = await client.get(await _feed_url(client, alas["member"]))
    assert name in member.content
    outsider = await client.get(await _feed_url(client, alas["net_member"]))
    assert outsider.status_code == 200 and name not in outsider.content
    assert Calendar.from_ical(outsider.content).walk("VEVENT") == []
    # The space's own feed: its members only; everyone else gets the missing-space 404.
    space_feed = f"/api/v1/spaces/{alas['space']}/calendar.ics"
    cal = await _get_calendar(client, space_feed, headers=bearer(alas["member"]))
    assert str(cal["X-WR-CALNAME"]) == "Latina Superintendents" and len(_instances(cal)) == 10
    for who in ("net_member", "other_admin", "stranger", "admin"):
        r = await client.get(space_feed, headers=bearer(alas[who]))
        assert r.status_code == 404 and r.json()["error"]["code"] == "space_not_found", who
        assert b"Latina" not in r.content
    assert (await client.get(space_feed)).status_code == 401


async def test_reset_ends_the_old_url_and_nothing_is_stored_in_clear(client, alas, db_session) -> None:
    r = await client.get("/api/v1/me/calendar-feed", headers=bearer(alas["member"]))
    assert r.json() == {"active": False, "created_at": None}
    old = await _feed_url(client, alas["member"])
    new = await _feed_url(client, alas["member"])
    assert old != new
    assert (await client.get(old)).status_code == 404
    assert (await client.get(new)).status_code == 200
    await db_session.rollback()
    rows = list(await db_session.scalars(select(CalendarFeed)))
    token = new.split("/")[-1].removesuffix(".ics")
    assert len(rows) == 1 and token not in rows[0].token_hash and len(rows[0].token_hash) == 64
    r = await client.get("/api/v1/me/calendar-feed", headers=bearer(alas["member"]))
    assert r.json()["active"] is True
    r = await client.delete("/api/v1/me/calendar-feed", headers=bearer(alas["member"]))
    assert r.status_code == 204
    assert (await client.get(new)).status_code == 404
    actions = list(await db_session.scalars(select(AuditEvent.action)))
    assert actions.count("calendar_feed.reset") == 2 and actions.count("calendar_feed.revoke") == 1


async def test_bad_feed_addresses_are_404(client, alas) -> None:
    await _feed_url(client, alas["member"])
    for bad in ("acf_nope.ics", "acf_nope", "x" * 119 + ".ics", "../../etc/passwd.ics"):
        r = await client.get(f"/calendar/feeds/{bad}")
        assert r.status_code == 404, (bad, r.text)
    r = await client.get("/calendar/feeds/%00.ics")  # refused by the input guard before routing
    assert r.status_code == 400
    r = await client.post("/api/v1/me/calendar-feed")
    assert r.status_code == 401


async def test_calendar_apps_revalidate_with_the_etag(client, alas) -> None:
    """A weak ETag from what the feed says: 304 while nothing changed, a new body and tag as soon
    as a meeting changes or the member leaves a space (cached bytes are never stale)."""
    body = {"kind": "virtual", "title": "Kick-off", "starts_at": "2030-09-10T16:00:00-07:00", "components": AGENDA}
    r = await client.post(f"/api/v1/spaces/{alas['space']}/meetings", json=body, headers=bearer(alas["fac1"]))
    mid = r.json()["id"]
    path = await _feed_url(client, alas["member"])
    first = await client.get(path)
    assert first.status_code == 200
    etag = first.headers["etag"]
    assert etag.startswith('W/"') and first.headers["cache-control"] == "private, no-cache"
    again = await client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    assert (await client.get(path, headers={"If-None-Match": '"other", ' + etag})).status_code == 304
    assert (await client.get(path, headers={"If-None-Match": '"other"'})).status_code == 200

    await client.patch(
        f"/api/v1/spaces/{alas['space']}/meetings/{mid}",
        json={"title": "Kick-off (moved)"},
        headers=bearer(alas["fac1"]),
    )
    changed = await client.get(path, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert str(Calendar.from_ical(changed.content).walk("VEVENT")[0]["SUMMARY"]) == "Kick-off (moved)"

    r = await client.post(f"/api/v1/spaces/{alas['space']}/leave", headers=bearer(alas["member"]))
    assert r.status_code in (200, 204), r.text
    gone = await client.get(path, headers={"If-None-Match": changed.headers["etag"]})
    assert gone.status_code == 200 and Calendar.from_ical(gone.content).walk("VEVENT") == []
