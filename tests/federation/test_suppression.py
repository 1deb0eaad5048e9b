"""Small-cell suppression (pure, property-tested): nothing below 10 is shown, and no hidden cell
can be worked out from a published total and the other published cells."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from federation.suppression import HIDDEN, THRESHOLD, suppress_line

KINDS = ["identity", "role", "topic", "cohort"]
lines = st.dictionaries(st.sampled_from(KINDS), st.integers(0, 60), min_size=1, max_size=4)


@given(lines)
def test_nothing_below_the_threshold_is_shown(cells) -> None:
    line = suppress_line(cells, sum(cells.values()))
    for key, figure in line.cells.items():
        assert figure.suppressed or figure.value == cells[key] >= THRESHOLD
        assert figure.display == (HIDDEN if figure.suppressed else str(cells[key]))
    assert line.total.suppressed or line.total.value == sum(cells.values()) >= THRESHOLD


@given(lines)
def test_no_hidden_cell_is_recoverable_from_the_total(cells) -> None:
    total = sum(cells.values())
    line = suppress_line(cells, total)
    hidden = [k for k, f in line.cells.items() if f.suppressed]
    if not line.total.suppressed:
        # With the total published, a reader knows the sum of the hidden cells; one hidden cell
        # alone would be exactly that sum.
        assert len(hidden) != 1
        known = sum(f.value or 0 for f in line.cells.values())
        assert known + sum(cells[k] for k in hidden) == line.total.value


@given(lines)
def test_distinct_people_totals_are_treated_as_safely(cells) -> None:
    # A count of distinct people is at most the sum (someone may be in two kinds).
    total = max(cells.values())
    line = suppress_line(cells, total)
    hidden = [k for k, f in line.cells.items() if f.suppressed]
    assert line.total.suppressed or len(hidden) != 1


@given(lines)
def test_only_as_much_is_hidden_as_needed(cells) -> None:
    line = suppress_line(cells, sum(cells.values()))
    primary = [k for k, v in cells.items() if v < THRESHOLD]
    hidden = [k for k, f in line.cells.items() if f.suppressed]
    assert set(primary) <= set(hidden)
    assert len(hidden) <= max(len(primary), 2 if primary else 0)


def test_examples() -> None:
    line = suppress_line({"identity": 4, "role": 30, "topic": 12}, 46)
    assert [line.cells[k].display for k in ("identity", "role", "topic")] == [HIDDEN, "30", HIDDEN]
    assert line.total.display == "46"
    line = suppress_line({"identity": 4, "role": 3}, 7)
    assert all(f.suppressed for f in line.cells.values()) and line.total.suppressed
    line = suppress_line({"identity": 4}, 40)  # one cell: its total would give it away
    assert line.total.suppressed
