"""The self check-in window (``federation.meetings.check_in_window``). Pure."""

from __future__ import annotations

import datetime as dt

from federation.meetings import CheckInState, check_in_window, effective_attendance
from federation.schedule import time_zone


def test_the_window() -> None:
    """From 15 minutes before the start to local midnight ending the meeting's day (network zone),
    or the meeting's end when it runs past midnight."""
    la = time_zone("America/Los_Angeles")
    start = dt.datetime(2026, 10, 13, 16, tzinfo=la)
    w = check_in_window(start, 60, la)
    assert w.opens == dt.datetime(2026, 10, 13, 15, 45, tzinfo=la)
    assert w.closes == dt.datetime(2026, 10, 14, 0, 0, tzinfo=la)
    assert w.state(w.opens - dt.timedelta(seconds=1)) is CheckInState.NOT_YET
    assert w.state(w.opens) is CheckInState.OPEN
    assert w.state(w.closes) is CheckInState.CLOSED
    late = check_in_window(dt.datetime(2026, 10, 13, 23, 30, tzinfo=la), 120, la)
    assert late.closes == dt.datetime(2026, 10, 14, 1, 30, tzinfo=la)
    # The day is the network's: 6 pm Pacific is already the next day in UTC.
    utc_day = check_in_window(dt.datetime(2026, 10, 13, 18, tzinfo=la), 60, time_zone("UTC"))
    assert utc_day.closes == dt.datetime(2026, 10, 15, 0, 0, tzinfo=dt.UTC)


def test_across_a_clock_change() -> None:
    """On the day clocks fall back (1 Nov 2026 in Los Angeles) the window still ends at local midnight."""
    la = time_zone("America/Los_Angeles")
    w = check_in_window(dt.datetime(2026, 10, 31, 20, tzinfo=la), 60, la)
    assert w.closes == dt.datetime(2026, 11, 1, 0, 0, tzinfo=la)
    w = check_in_window(dt.datetime(2026, 11, 1, 9, tzinfo=la), 60, la)
    assert w.closes - w.opens == dt.timedelta(hours=15, minutes=15)


def test_the_figure_is_the_recorded_count_else_the_check_ins() -> None:
    assert effective_attendance(12, 9) == 12
    assert effective_attendance(0, 9) == 0
    assert effective_attendance(None, 9) == 9
    assert effective_attendance(None, 0) == 0
