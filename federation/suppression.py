"""Small-cell suppression for published figures. Pure.

Any figure below :data:`THRESHOLD` is shown as "fewer than 10" (*primary* suppression). That
alone is not enough: if a line publishes its total and hides exactly one of its cells, the
hidden cell is the total minus the others. *Complementary* suppression hides the smallest other
visible cell of such a line as well, so every line either hides its total or hides no cell or at
least two. (Two hidden cells of a line sum to a known figure, but neither can be told apart.)

A *line* is a set of cells and the total they add up to (or, for counts of distinct people, a
total no larger than their sum — hiding treats it the same way, to be safe).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

THRESHOLD = 10
HIDDEN = "fewer than 10"


@dataclass(frozen=True, slots=True)
class Figure:
    """A published figure: ``value`` None when suppressed (``display`` says so)."""

    value: int | None
    primary: bool = False
    """Hidden because it is small itself (not only to protect another cell)."""

    @property
    def suppressed(self) -> bool:
        """True when the figure is not shown."""
        return self.value is None

    @property
    def display(self) -> str:
        """The figure as shown: the number, or "fewer than 10"."""
        return HIDDEN if self.value is None else str(self.value)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {"value": self.value, "display": self.display, "suppressed": self.suppressed}


@dataclass(frozen=True, slots=True)
class Line:
    """One published line: its cells (by key) and total, after suppression."""

    cells: Mapping[str, Figure]
    total: Figure


def small(value: int) -> bool:
    """True when a figure must not be shown on its own."""
    return value < THRESHOLD


def suppress_line(cells: Mapping[str, int], total: int) -> Line:
    """Suppress one line: primary (below the threshold) then complementary, until no hidden
    cell can be recovered from the published total and the other cells."""
    hidden = {k for k, v in cells.items() if small(v)}
    primary = set(hidden)
    total_hidden = small(total)
    if not total_hidden and len(hidden) == 1:
        visible = sorted((v, k) for k, v in cells.items() if k not in hidden)
        if visible:
            hidden.add(visible[0][1])
        else:  # a line of one cell: its total would give it away
            total_hidden = True
    out = {k: Figure(None if k in hidden else v, k in primary) for k, v in cells.items()}
    return Line(out, Figure(None if total_hidden else total, small(total)))


def suppress_table(rows: Sequence[tuple[Mapping[str, int], int]]) -> list[Line]:
    """Suppress each line of a table independently (lines do not share totals)."""
    return [suppress_line(cells, total) for cells, total in rows]
