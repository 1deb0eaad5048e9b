"""Build RFC 5545 calendars from meetings and series, with ``icalendar``.

Identity of events is stable so calendar apps update rather than duplicate: a single meeting is
``meeting-<id>@<host>``, a series ``series-<id>@<host>`` with one RRULE, and a changed occurrence
of a series is an override with the series' UID and a RECURRENCE-ID (its rule-given start). Every
change raises SEQUENCE (the meeting's or series' own counter; an override adds its revision), and
cancellations stay in the feed as STATUS:CANCELLED so subscribers see them. Times are written
with their IANA TZID and the matching VTIMEZONE, so a 4 pm Pacific series reads 4 pm Pacific in
every client, across daylight-saving changes.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vRecur

from federation.schedule import SeriesRule

PRODID = "-//Affinity Federation//Calendar feeds//EN"


@dataclass(frozen=True, slots=True)
class FeedMeeting:
    """A single meeting as a feed needs it."""

    id: uuid.UUID
    space_name: str
    title: str
    starts_at: dt.datetime
    duration_minutes: int
    zone: str
    sequence: int
    cancelled: bool
    location: str | None = None
    join_url: str | None = None
    updated_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class FeedOverride:
    """A changed occurrence of a series: cancelled (skip/cancel) or moved."""

    original: dt.datetime
    cancelled: bool
    starts_at: dt.datetime
    duration_minutes: int
    revision: int


@dataclass(frozen=True, slots=True)
class FeedSeries:
    """A recurring meeting as a feed needs it."""

    id: uuid.UUID
    space_name: str
    title: str
    rule: SeriesRule
    duration_minutes: int
    sequence: int
    cancelled: bool
    location: str | None = None
    join_url: str | None = None
    updated_at: dt.datetime | None = None
    overrides: tuple[FeedOverride, ...] = field(default_factory=tuple)


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
    """The stored rule with UNTIL restated as the last start in UTC (RFC 5545: with a TZID'd
    DTSTART, UNTIL must be UTC), so every client ends the series exactly where we do."""
    recur: vRecur = vRecur.from_ical(rule.rule)
    if "UNTIL" in recur:
        recur["UNTIL"] = [rule.last.astimezone(dt.UTC)]
    return recur


def build_calendar(
    name: str,
    meetings: Iterable[FeedMeeting],
    series: Iterable[FeedSeries],
    *,
    host: str,
    now: dt.datetime,
) -> bytes:
    """The calendar as RFC 5545 bytes (CRLF line endings, folded lines)."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    first: dt.date | None = None
    last: dt.date | None = None

    def span(instant: dt.datetime) -> None:
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
            # An override outranks the master's version of its instance: SEQUENCE above it.
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
        # VTIMEZONE definitions covering the span the events use (not 1970-2038: smaller feeds).
        cal.add_missing_timezones(first_date=first - dt.timedelta(days=1), last_date=last + dt.timedelta(days=2))
    out: bytes = cal.to_ical()
    return out
