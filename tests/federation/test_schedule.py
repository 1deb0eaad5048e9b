"""Time zones and recurring series (pure): local-time expansion across DST, bounds, exceptions."""

from __future__ import annotations

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from federation.schedule import (
    MAX_SERIES_YEARS,
    ExceptionKind,
    OccurrenceException,
    ScheduleError,
    check_exception,
    expand,
    local_day,
    parse_series,
    reminder_window,
    time_zone,
)

LA = ZoneInfo("America/Los_Angeles")


def test_known_zone_and_unknown_zones_name_the_field() -> None:
    assert time_zone("America/Los_Angeles").key == "America/Los_Angeles"
    for bad in ("Mars/Olympus_Mons", "", "../etc/passwd", "/etc/localtime", "America/"):
        with pytest.raises(ScheduleError) as info:
            time_zone(bad, "time_zone")
        assert info.value.field == "time_zone"


def test_second_tuesday_at_4pm_pacific_stays_4pm_local_across_dst() -> None:
    rule = parse_series(
        "FREQ=MONTHLY;BYDAY=2TU;UNTIL=20270630T235959", dt.datetime(2026, 9, 8, 16, 0), "America/Los_Angeles"
    )
    local = [s.astimezone(LA) for s in rule.starts]
    assert len(local) == 10  # September 2026 .. June 2027
    assert all(t.hour == 16 and t.minute == 0 and t.weekday() == 1 and 8 <= t.day <= 14 for t in local)
    # Both sides of the November and March changes: the UTC instant moves, the local time does not.
    offsets = {t.utcoffset() for t in local}
    assert offsets == {dt.timedelta(hours=-7), dt.timedelta(hours=-8)}
    utc_hours = {s.hour for s in rule.starts}
    assert utc_hours == {23, 0}


def test_weekly_nine_am_across_the_spring_change() -> None:
    rule = parse_series("FREQ=WEEKLY;COUNT=3", dt.datetime(2027, 3, 7, 9, 0), "America/Los_Angeles")
    assert [s.astimezone(LA).hour for s in rule.starts] == [9, 9, 9]
    assert rule.starts[1] - rule.starts[0] == dt.timedelta(hours=167)  # one hour lost that week


def test_feb_30_never_occurs() -> None:
    with pytest.raises(ScheduleError) as info:
        parse_series("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30;COUNT=3", dt.datetime(2026, 1, 1, 9), "UTC")
    assert info.value.field == "rule"
    assert "never occurs" in info.value.message


def test_longer_than_five_years_refused() -> None:
    with pytest.raises(ScheduleError, match="at most 5 years"):
        parse_series("FREQ=MONTHLY;UNTIL=20330101", dt.datetime(2026, 1, 1, 9), "UTC")
    with pytest.raises(ScheduleError, match="past 5 years"):
        parse_series("FREQ=YEARLY;COUNT=7", dt.datetime(2026, 1, 1, 9), "UTC")
    with pytest.raises(ScheduleError, match="needs an end"):
        parse_series("FREQ=MONTHLY", dt.datetime(2026, 1, 1, 9), "UTC")


@pytest.mark.parametrize(
    "rule", ["FREQ=SOMETIMES", "BYDAY=2TU", "hello", "FREQ=DAILY;COUNT=2\nFREQ=DAILY", "DTSTART:2026"]
)
def test_malformed_rules_name_the_rule(rule: str) -> None:
    with pytest.raises(ScheduleError) as info:
        parse_series(rule, dt.datetime(2026, 1, 1, 9), "UTC")
    assert info.value.field == "rule"


def test_exceptions_skip_move_cancel() -> None:
    rule = parse_series("FREQ=MONTHLY;BYDAY=2TU;COUNT=4", dt.datetime(2026, 9, 8, 16), "America/Los_Angeles")
    s = rule.starts
    moved_to = dt.datetime(2026, 11, 12, 17, tzinfo=LA)
    occ = expand(
        uuid.uuid4(),
        rule,
        60,
        [
            OccurrenceException(s[0], ExceptionKind.SKIP),
            OccurrenceException(s[1], ExceptionKind.CANCEL),
            OccurrenceException(s[2], ExceptionKind.MOVE, moved_to, 90),
            OccurrenceException(s[3] + dt.timedelta(days=1), ExceptionKind.SKIP),  # not an occurrence: ignored
        ],
    )
    assert [o.cancelled for o in occ] == [True, True, False, False]
    assert occ[2].moved and occ[2].starts_at == moved_to and occ[2].duration_minutes == 90
    assert occ[2].original == s[2]
    assert check_exception(rule, s[3].astimezone(LA)) == s[3]
    with pytest.raises(ScheduleError):
        check_exception(rule, s[3] + dt.timedelta(hours=1))


def test_local_day_follows_the_zone() -> None:
    late = dt.datetime(2026, 9, 1, 5, 30, tzinfo=dt.UTC)  # 22:30 on 31 August in Los Angeles
    assert local_day(late, LA) == dt.date(2026, 8, 31)


ZONES = ["America/Los_Angeles", "America/New_York", "Europe/Berlin", "Australia/Sydney", "UTC", "Asia/Kolkata"]


@settings(max_examples=60, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    day=st.dates(dt.date(2024, 1, 1), dt.date(2030, 12, 31)),
    hour=st.integers(6, 20),
    freq=st.sampled_from(["WEEKLY;COUNT=30", "MONTHLY;BYDAY=2TU;COUNT=24", "MONTHLY;COUNT=12"]),
)
def test_every_occurrence_keeps_its_wall_clock_time(zone: str, day: dt.date, hour: int, freq: str) -> None:
    start = dt.datetime(day.year, day.month, day.day, hour, 0)
    rule = parse_series(f"FREQ={freq}", start, zone)
    tz = ZoneInfo(zone)
    assert all(s.astimezone(tz).hour == hour for s in rule.starts)
    assert list(rule.starts) == sorted(rule.starts)
    assert rule.last - rule.starts[0] <= dt.timedelta(days=366 * MAX_SERIES_YEARS)


NEW_YORK = ZoneInfo("America/New_York")


def test_reminders_go_out_on_the_local_day_before_from_the_hour() -> None:
    # Friday 7 March 2031, New York (EST, UTC-5): before 09:00 local nothing is due
    assert reminder_window(dt.datetime(2031, 3, 7, 13, 59, tzinfo=dt.UTC), NEW_YORK, 9) is None
    start, end = reminder_window(dt.datetime(2031, 3, 7, 14, 0, tzinfo=dt.UTC), NEW_YORK, 9) or (None, None)
    assert (start, end) == (dt.datetime(2031, 3, 8, 5, tzinfo=dt.UTC), dt.datetime(2031, 3, 9, 5, tzinfo=dt.UTC))
    # still due later that day (a meeting added in the afternoon is reminded at the next run)
    assert reminder_window(dt.datetime(2031, 3, 8, 4, 59, tzinfo=dt.UTC), NEW_YORK, 9) == (start, end)
    # hour 0: from the first run of the day before
    assert reminder_window(dt.datetime(2031, 3, 7, 5, 0, tzinfo=dt.UTC), NEW_YORK, 0) == (start, end)


def test_the_day_before_follows_daylight_saving_changes() -> None:
    # Saturday 8 March 2031, 09:00 EST: Sunday 9 March is 23 hours long (clocks jump at 02:00)
    start, end = reminder_window(dt.datetime(2031, 3, 8, 14, 0, tzinfo=dt.UTC), NEW_YORK, 9) or (None, None)
    assert start == dt.datetime(2031, 3, 9, 5, tzinfo=dt.UTC) and end == dt.datetime(2031, 3, 10, 4, tzinfo=dt.UTC)
    # Saturday 1 November 2031, 09:00 EDT (13:00 UTC): Sunday 2 November is 25 hours long
    assert reminder_window(dt.datetime(2031, 11, 1, 12, 59, tzinfo=dt.UTC), NEW_YORK, 9) is None
    start, end = reminder_window(dt.datetime(2031, 11, 1, 13, 0, tzinfo=dt.UTC), NEW_YORK, 9) or (None, None)
    assert start == dt.datetime(2031, 11, 2, 4, tzinfo=dt.UTC) and end == dt.datetime(2031, 11, 3, 5, tzinfo=dt.UTC)
    assert end - start == dt.timedelta(hours=25)
    # Sunday 2 November 09:00 is now EST (14:00 UTC), not 13:00 UTC
    assert reminder_window(dt.datetime(2031, 11, 2, 13, 30, tzinfo=dt.UTC), NEW_YORK, 9) is None
    assert reminder_window(dt.datetime(2031, 11, 2, 14, 0, tzinfo=dt.UTC), NEW_YORK, 9) == (
        dt.datetime(2031, 11, 3, 5, tzinfo=dt.UTC),
        dt.datetime(2031, 11, 4, 5, tzinfo=dt.UTC),
    )
