"""The feed writer (``services.calendar.ics.build_calendar`` writes content lines directly)
gives exactly what building ``icalendar`` components and serialising them gives (the builder it
replaced, kept here as the reference), and ``icalendar`` parses it back to the same events.

Awkward text (commas, semicolons, backslashes, newlines, non-ASCII, lines long enough to fold,
an escape right at a fold), UTC and non-UTC zones, moved and skipped occurrences, cancelled
series and meetings, with and without location or join link."""

from __future__ import annotations

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar import Calendar, Event, vRecur

from federation.schedule import SeriesRule, parse_series
from services.calendar.ics import PRODID, FeedMeeting, FeedOverride, FeedSeries, build_calendar


def _description(space_name: str, join_url: str | None) -> str:
    lines = [f"Space: {space_name}"]
    if join_url:
        lines.append(f"Join: {join_url}")
    return "\n".join(lines)


def _base(event: Event, *, uid: str, title: str, space_name: str, sequence: int, stamp: dt.datetime) -> None:
    event.add("uid", uid)
    event.add("summary", title)
    event.add("dtstamp", stamp)
    event.add("sequence", sequence)
    event.add("categories", [space_name])


def _recur(rule: SeriesRule) -> vRecur:
    recur: vRecur = vRecur.from_ical(rule.rule)
    if "UNTIL" in recur:
        recur["UNTIL"] = [rule.last.astimezone(dt.UTC)]
    return recur


def reference(name, meetings, series, *, host, now) -> bytes:
    """The builder as it was (icalendar components, ``to_ical``)."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    first = last = None

    def span(instant):
        nonlocal first, last
        day = instant.date()
        first = day if first is None or day < first else first
        last = day if last is None or day > last else last

    for m in meetings:
        zone = ZoneInfo(m.zone)
        event = Event()
        _base(
            event, uid=f"meeting-{m.id}@{host}", title=m.title, space_name=m.space_name, sequence=m.sequence, stamp=now
        )
        start = m.starts_at.astimezone(zone)
        event.add("dtstart", start)
        event.add("dtend", start + dt.timedelta(minutes=m.duration_minutes))
        event.add("status", "CANCELLED" if m.cancelled else "CONFIRMED")
        event.add("description", _description(m.space_name, m.join_url))
        if m.location:
            event.add("location", m.location)
        elif m.join_url:
            event.add("location", m.join_url)
        if m.updated_at is not None:
            event.add("last-modified", m.updated_at.astimezone(dt.UTC))
        span(m.starts_at)
        cal.add_component(event)
    for s in series:
        zone = s.rule.zone
        uid = f"series-{s.id}@{host}"
        master = Event()
        _base(master, uid=uid, title=s.title, space_name=s.space_name, sequence=s.sequence, stamp=now)
        start = s.rule.starts[0].astimezone(zone)
        master.add("dtstart", start)
        master.add("dtend", start + dt.timedelta(minutes=s.duration_minutes))
        master.add("rrule", _recur(s.rule))
        master.add("status", "CANCELLED" if s.cancelled else "CONFIRMED")
        master.add("description", _description(s.space_name, s.join_url))
        if s.location:
            master.add("location", s.location)
        elif s.join_url:
            master.add("location", s.join_url)
        if s.updated_at is not None:
            master.add("last-modified", s.updated_at.astimezone(dt.UTC))
        span(s.rule.starts[0])
        span(s.rule.last)
        cal.add_component(master)
        if s.cancelled:
            continue
        for o in s.overrides:
            override = Event()
            _base(
                override,
                uid=uid,
                title=s.title,
                space_name=s.space_name,
                sequence=s.sequence + o.revision + 1,
                stamp=now,
            )
            override.add("recurrence-id", o.original.astimezone(zone))
            begin = o.starts_at.astimezone(zone)
            override.add("dtstart", begin)
            override.add("dtend", begin + dt.timedelta(minutes=o.duration_minutes))
            override.add("status", "CANCELLED" if o.cancelled else "CONFIRMED")
            override.add("description", _description(s.space_name, s.join_url))
            if s.location:
                override.add("location", s.location)
            span(o.starts_at)
            cal.add_component(override)
    if first is not None and last is not None:
        cal.add_missing_timezones(first_date=first - dt.timedelta(days=1), last_date=last + dt.timedelta(days=2))
    return cal.to_ical()


NOW = dt.datetime(2026, 12, 2, 7, 30, 12, 345, tzinfo=dt.UTC)
AWKWARD = st.lists(st.sampled_from([*"ab ,;:\\\n\r^\"'é漢😀N", "\\N", "x" * 30]), min_size=1, max_size=12).map("".join)
ZONES = ["America/Los_Angeles", "Europe/Berlin", "UTC", "Asia/Kolkata"]


@st.composite
def meetings(draw, zone=None):
    return FeedMeeting(
        id=uuid.UUID(int=draw(st.integers(0, 2**64))),
        space_name=draw(AWKWARD),
        title=draw(AWKWARD),
        starts_at=NOW + dt.timedelta(minutes=draw(st.integers(-500_000, 500_000)), microseconds=7),
        duration_minutes=draw(st.integers(15, 600)),
        zone=zone or draw(st.sampled_from(ZONES)),
        sequence=draw(st.integers(0, 5)),
        cancelled=draw(st.booleans()),
        location=draw(st.none() | AWKWARD | st.just("")),
        join_url=draw(st.none() | st.just("https://meet.example/abc?x=1,2;3")),
        updated_at=draw(st.none() | st.just(NOW - dt.timedelta(days=3))),
    )


@st.composite
def serieses(draw, zone=None):
    zone = zone or draw(st.sampled_from(ZONES))
    start_local = dt.datetime(2026, draw(st.integers(1, 12)), 5, 16, 0)
    text = draw(
        st.sampled_from(["FREQ=MONTHLY;BYDAY=2TU;COUNT=12", "FREQ=WEEKLY;UNTIL=20270301", "FREQ=DAILY;COUNT=3"])
    )
    rule = parse_series(text, start_local, zone)
    overrides = []
    for original in draw(st.lists(st.sampled_from(rule.starts), max_size=3, unique=True)):
        moved = draw(st.booleans())
        overrides.append(
            FeedOverride(
                original=original,
                cancelled=not moved,
                starts_at=original + dt.timedelta(hours=2) if moved else original,
                duration_minutes=draw(st.integers(15, 120)),
                revision=draw(st.integers(0, 3)),
            )
        )
    return FeedSeries(
        id=uuid.UUID(int=draw(st.integers(0, 2**64))),
        space_name=draw(AWKWARD),
        title=draw(AWKWARD),
        rule=rule,
        duration_minutes=60,
        sequence=draw(st.integers(0, 3)),
        cancelled=draw(st.booleans()),
        location=draw(st.none() | AWKWARD),
        join_url=draw(st.none() | st.just("https://meet.example/abc")),
        updated_at=draw(st.none() | st.just(NOW - dt.timedelta(days=1))),
        overrides=tuple(overrides),
    )


@settings(max_examples=120, deadline=None)
@given(
    st.sampled_from(ZONES).flatmap(
        lambda zone: st.tuples(st.lists(meetings(zone), max_size=6), st.lists(serieses(zone), max_size=4))
    ),
    AWKWARD.filter(lambda name: "\n" not in name and "\r" not in name),
)
def test_one_zone_feed_is_byte_for_byte_what_icalendar_writes(data, name) -> None:
    ms, ss = data
    mine = build_calendar(name, ms, ss, host="feeds.example", now=NOW)
    assert mine == reference(name, ms, ss, host="feeds.example", now=NOW)
    assert Calendar.from_ical(mine).to_ical() == mine


@settings(max_examples=60, deadline=None)
@given(st.lists(meetings(), max_size=6), st.lists(serieses(), max_size=4))
def test_several_zones_give_the_same_components(ms, ss) -> None:
    """With several zones only the order of the VTIMEZONEs may differ (icalendar's follows a set)."""
    mine = Calendar.from_ical(build_calendar("Feed", ms, ss, host="h", now=NOW))
    theirs = Calendar.from_ical(reference("Feed", ms, ss, host="h", now=NOW))

    def parts(cal):
        return sorted(c.to_ical() for c in cal.subcomponents if c.name == "VTIMEZONE"), [
            c.to_ical() for c in cal.subcomponents if c.name != "VTIMEZONE"
        ]

    assert parts(mine) == parts(theirs)
    assert len(mine.walk("VEVENT")) == len(ms) + len(ss) + sum(len(s.overrides) for s in ss if not s.cancelled)


def test_a_calendar_name_cannot_break_the_line() -> None:
    """icalendar refused (an assertion error: a 500) a name with a line break; it becomes a space."""
    body = build_calendar("One\nTwo\r\nBEGIN:VEVENT", [], [], host="h", now=NOW)
    assert b"X-WR-CALNAME:One Two BEGIN:VEVENT\r\n" in body
    assert Calendar.from_ical(body).walk("VEVENT") == []
