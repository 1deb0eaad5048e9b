"""Time zones and recurring meetings: pure rules, no I/O.

A network has an IANA time zone; a meeting's *day* (for compliance and the program year) is its
date in that zone. A recurring series is an RFC 5545 rule (``FREQ=MONTHLY;BYDAY=2TU;UNTIL=...``)
expanded with ``dateutil.rrule`` in **local** time: the rule runs over naive wall-clock times and
each occurrence is then placed in the series' zone, so a 9:00 meeting stays at 9:00 local across
daylight-saving changes (its UTC instant moves instead).

A series must end (``COUNT`` or ``UNTIL``) within :data:`MAX_SERIES_YEARS` of its first start and
must occur at least once. Expansion is always bounded by that horizon, so a rule that never
matches (the 30th of February) cannot make the expansion loop for millennia.

Exceptions change one occurrence, named by its original start: ``skip`` (a planned gap, e.g.
winter break) and ``cancel`` (called off) both remove it; ``move`` gives it a new start (and
optionally a new length). Both kinds of removal show as a cancelled instance in calendar feeds.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrule, rrulestr

MAX_SERIES_YEARS = 5
MAX_OCCURRENCES = 400
"""More than weekly for five years is not a meeting series; the bound keeps feeds small."""
UTC = dt.UTC


class ScheduleError(ValueError):
    """Input that cannot be a schedule; ``field`` names the offending input for a 422."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def time_zone(name: str, field: str = "time_zone") -> ZoneInfo:
    """The IANA zone called ``name``; :class:`ScheduleError` naming ``field`` if none exists."""
    cleaned = name.strip()
    # ZoneInfo also accepts file-system-like keys; only plain Area/Location names are zones here.
    if not cleaned or len(cleaned) > 64 or cleaned.startswith(("/", ".")) or ".." in cleaned:
        raise ScheduleError(field, f"{name!r} is not an IANA time zone such as America/Los_Angeles.")
    try:
        return ZoneInfo(cleaned)
    except (ZoneInfoNotFoundError, ValueError, IsADirectoryError, UnicodeError):
        raise ScheduleError(field, f"{name!r} is not an IANA time zone such as America/Los_Angeles.") from None


def local_day(instant: dt.datetime, zone: dt.tzinfo) -> dt.date:
    """The calendar date of ``instant`` (aware) in ``zone``."""
    return instant.astimezone(zone).date()


def zone_abbreviation(instant: dt.datetime, zone: dt.tzinfo) -> str:
    """The zone's short name at ``instant`` (``PDT``, ``PST``, ``CET``), for display."""
    return instant.astimezone(zone).tzname() or ""


def place(local: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """A naive wall-clock time in ``zone`` as an aware UTC instant.

    A time inside a spring-forward gap (2:30 on the night clocks jump) is taken with the offset
    before the jump, as RFC 5545 says, and normalised by the round trip through UTC.
    """
    return local.replace(tzinfo=zone, fold=0).astimezone(UTC)


def reminder_window(now: dt.datetime, zone: ZoneInfo, hour: int) -> tuple[dt.datetime, dt.datetime] | None:
    """The meetings whose day-before reminder is due at ``now`` (aware), for a network in ``zone``:
    from ``hour`` o'clock local on, those starting on the next local day, as the UTC instants
    [its midnight, the following midnight). Before ``hour`` local, None (nothing is due yet).

    The local day is 23 or 25 hours long on a daylight-saving change; the window follows it, so
    a meeting late on such a day is still "tomorrow". ``hour`` 0 reminds at the first run of the
    day before.
    """
    local = now.astimezone(zone)
    if local.hour < hour:
        return None
    tomorrow = local.date() + dt.timedelta(days=1)
    start = place(dt.datetime.combine(tomorrow, dt.time()), zone)
    end = place(dt.datetime.combine(tomorrow + dt.timedelta(days=1), dt.time()), zone)
    return start, end


class ExceptionKind(StrEnum):
    """What an exception does to one occurrence."""

    SKIP = "skip"
    CANCEL = "cancel"
    MOVE = "move"


@dataclass(frozen=True, slots=True)
class OccurrenceException:
    """A change to the occurrence originally starting at ``original`` (aware UTC)."""

    original: dt.datetime
    kind: ExceptionKind
    starts_at: dt.datetime | None = None
    duration_minutes: int | None = None
    revision: int = 0


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One instance of a series: ``original`` is its rule-given start (the RECURRENCE-ID),
    ``starts_at`` where it actually is; ``cancelled`` for skipped or cancelled ones."""

    series_id: uuid.UUID | None
    original: dt.datetime
    starts_at: dt.datetime
    duration_minutes: int
    cancelled: bool = False
    moved: bool = False
    exception: OccurrenceException | None = None


@dataclass(frozen=True, slots=True)
class SeriesRule:
    """A checked rule: the RRULE text without DTSTART, the first start as local wall-clock time,
    its zone, and every rule-given start (aware UTC, at most :data:`MAX_OCCURRENCES`)."""

    rule: str
    start_local: dt.datetime
    zone: ZoneInfo
    starts: tuple[dt.datetime, ...]

    @property
    def last(self) -> dt.datetime:
        """The last rule-given start."""
        return self.starts[-1]


def _add_years(day: dt.datetime, years: int) -> dt.datetime:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _normalise_rule(rule: str) -> str:
    text = rule.strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    return text.strip().upper()


@lru_cache(maxsize=8192)
def parse_series(rule: str, start_local: dt.datetime, zone_name: str) -> SeriesRule:
    """Check and expand a series rule; raise :class:`ScheduleError` naming the bad field.

    Cached: the result is immutable and depends only on the arguments, and feeds, compliance
    and insights expand the same stored series again and again.

    ``start_local`` is the first meeting's wall-clock time in ``zone_name`` (naive; an aware value
    is converted to the zone first). The rule must be a single RFC 5545 RRULE with ``COUNT`` or
    ``UNTIL``, must occur at least once, and must end within five years of ``start_local``.
    """
    zone = time_zone(zone_name)
    if start_local.tzinfo is not None:
        start_local = start_local.astimezone(zone)
    start_local = start_local.replace(tzinfo=None, microsecond=0)
    if not dt.datetime(2000, 1, 1) <= start_local < dt.datetime(2095, 1, 1):
        raise ScheduleError("starts_at", "A series must start between the years 2000 and 2094.")
    text = _normalise_rule(rule)
    if not text or len(text) > 500 or "\n" in text or "DTSTART" in text or "RRULE:" in text:
        raise ScheduleError(
            "rule", "Give one RFC 5545 rule without DTSTART, e.g. FREQ=MONTHLY;BYDAY=2TU;UNTIL=20270630."
        )
    try:
        parsed = rrulestr(text, dtstart=start_local, ignoretz=True)
    except (ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:
        raise ScheduleError(
            "rule", f"The rule {rule!r} is not RFC 5545 (e.g. FREQ=MONTHLY;BYDAY=2TU;COUNT=10): {exc}."
        ) from None
    if not isinstance(parsed, rrule):
        raise ScheduleError("rule", "Give one rule, not a set of rules.")
    horizon = _add_years(start_local, MAX_SERIES_YEARS)
    # dateutil exposes no public accessor for a parsed rule's COUNT and UNTIL.
    count: int | None = getattr(parsed, "_count", None)
    until: dt.datetime | None = getattr(parsed, "_until", None)
    if count is None and until is None:
        raise ScheduleError(
            "rule",
            f"A series needs an end: add UNTIL=YYYYMMDD or COUNT=n (at most {MAX_SERIES_YEARS} years from its start).",
        )
    if until is not None and until > horizon:
        raise ScheduleError(
            "rule",
            f"A series may last at most {MAX_SERIES_YEARS} years; UNTIL {until.date()} is after {horizon.date()}.",
        )
    # Always expand up to the horizon only: an impossible rule then ends quickly instead of
    # searching every year to 9999.
    bounded = parsed.replace(count=None, until=min(until or horizon, horizon))
    starts: list[dt.datetime] = []
    for local in bounded:
        starts.append(place(local, zone))
        if count is not None and len(starts) == count:
            break
        if len(starts) > MAX_OCCURRENCES:
            raise ScheduleError("rule", f"A series may have at most {MAX_OCCURRENCES} occurrences.")
    if not starts:
        raise ScheduleError("rule", f"The rule {rule!r} never occurs (is it a date such as 30 February?).")
    if count is not None and len(starts) < count:
        raise ScheduleError(
            "rule", f"COUNT={count} would run past {MAX_SERIES_YEARS} years from the first meeting; use fewer."
        )
    return SeriesRule(text, start_local, zone, tuple(starts))


def expand(
    series_id: uuid.UUID | None,
    rule: SeriesRule,
    duration_minutes: int,
    exceptions: Iterable[OccurrenceException] = (),
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> list[Occurrence]:
    """The series' occurrences with exceptions applied, by actual start; cancelled ones included
    (flagged). ``since``/``until`` (aware) keep those whose actual start is in [since, until).
    Exceptions naming a start the rule does not give are ignored (the rule changed since)."""
    by_original: Mapping[dt.datetime, OccurrenceException] = {e.original.astimezone(UTC): e for e in exceptions}
    out: list[Occurrence] = []
    for start in rule.starts:
        exc = by_original.get(start)
        occ = Occurrence(series_id, start, start, duration_minutes)
        if exc is not None:
            if exc.kind is ExceptionKind.MOVE and exc.starts_at is not None:
                occ = Occurrence(
                    series_id,
                    start,
                    exc.starts_at.astimezone(UTC),
                    exc.duration_minutes or duration_minutes,
                    moved=True,
                    exception=exc,
                )
            else:
                occ = Occurrence(series_id, start, start, duration_minutes, cancelled=True, exception=exc)
        if since is not None and occ.starts_at < since:
            continue
        if until is not None and occ.starts_at >= until:
            continue
        out.append(occ)
    out.sort(key=lambda o: o.starts_at)
    return out


def check_exception(rule: SeriesRule, original: dt.datetime, field: str = "occurrence") -> dt.datetime:
    """``original`` normalised to UTC if it is one of the rule's starts; else :class:`ScheduleError`."""
    if original.tzinfo is None:
        raise ScheduleError(field, "Give the occurrence's start with its offset, e.g. 2026-10-13T16:00:00-07:00.")
    wanted = original.astimezone(UTC)
    if wanted not in set(rule.starts):
        raise ScheduleError(field, f"The series has no occurrence starting at {original.isoformat()}.")
    return wanted
