"""Wire types of insights. Every figure is a :class:`FigureOut`: a number, or suppressed and
shown as "fewer than 10"."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec

YearLabel = Annotated[str, msgspec.Meta(pattern=r"^\d{4}(-\d{2})?$", description="e.g. 2026-27")]
StaffCount = Annotated[int, msgspec.Meta(le=10_000_000)]


class FigureOut(msgspec.Struct):
    """One published figure: ``value`` null when suppressed."""

    value: int | None
    display: str
    suppressed: bool


class YearOut(msgspec.Struct):
    """A program year."""

    label: str
    start: dt.date
    end: dt.date


class MetricRow(msgspec.Struct):
    """One metric for one year: a figure per space kind and for the whole network."""

    year: str
    by_kind: dict[str, FigureOut]
    total: FigureOut


class MetricOut(msgspec.Struct):
    """A metric over the years."""

    name: str
    label: str
    rows: list[MetricRow]


class StaffRow(msgspec.Struct):
    """The network's own staff totals for a year (as its admins entered them)."""

    year: str
    staff_total: FigureOut
    staff_retained: FigureOut


class InsightsOut(msgspec.Struct):
    """Body of GET /networks/{slug}/insights: figures per program year and space kind, with
    small-cell suppression (below 10: "fewer than 10", plus complementary suppression so no
    hidden figure can be worked out from a total). Spaces appear only aggregated by kind."""

    network: str
    time_zone: str
    years: list[YearOut]
    kinds: list[str]
    metrics: list[MetricOut]
    staff: list[StaffRow]
    threshold: int
    notes: list[str]


class StaffSet(msgspec.Struct, forbid_unknown_fields=True):
    """Body of PUT /networks/{slug}/insights/staff: the network's own yearly totals, e.g. Kent's
    "number of BIPOC staff" and "number retained annually"."""

    year: YearLabel
    staff_total: StaffCount
    staff_retained: StaffCount
