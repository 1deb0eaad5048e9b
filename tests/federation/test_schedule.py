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
