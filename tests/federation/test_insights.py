"""Yearly figures per kind from plain facts (pure)."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from federation.compliance import program_year
from federation.insights import ALL, Membership, SpaceYear, figures, year_before

UTC = dt.UTC
Y1, Y2 = program_year(dt.date(2025, 9, 1)), program_year(dt.date(2026, 9, 1))


def t(y: int, m: int, d: int = 1) -> dt.datetime:
    return dt.datetime(y, m, d, tzinfo=UTC)


def test_members_new_kept_and_activity() -> None:
    kind_of = {"a": "identity", "b": "identity", "c": "role"}
    created = dict.fromkeys(kind_of, t(2024, 1))
    memberships = [
        Membership("p1", "a", t(2024, 3), None),  # member both years, joined before
        Membership("p2", "a", t(2025, 10), t(2026, 2)),  # left during year 1
        Membership("p3", "b", t(2026, 9), None),  # new in year 2
        Membership("p1", "c", t(2026, 9), None),  # p1 new to role spaces in year 2, not new overall
    ]
    space_years = [
        SpaceYear("a", Y1.start, meetings_held=3, attendance=20),
        SpaceYear("c", Y2.start, chat_messages=5),
    ]
    out = figures(
        [Y1, Y2],
        ["identity", "role"],
        kind_of=kind_of,
        created=created,
        memberships=memberships,
        space_years=space_years,
        required={"a": 4, "b": 4, "c": 1},
        zone=UTC,
    )
    assert out["members"][Y1.start] == {"identity": 2, "role": 0, ALL: 2}
    assert out["members"][Y2.start] == {"identity": 2, "role": 1, ALL: 2}
    assert out["new_members"][Y1.start] == {"identity": 1, "role": 0, ALL: 1}
    assert out["new_members"][Y2.start] == {"identity": 1, "role": 1, ALL: 1}
    assert out["retained_members"][Y2.start] == {"identity": 1, "role": 0, ALL: 1}
    assert out["retained_members"][Y1.start] == {"identity": 1, "role": 0, ALL: 1}  # p1 was there the year before
    assert out["meetings_held"][Y1.start] == {"identity": 3, "role": 0, ALL: 3}
    assert out["attendance"][Y1.start][ALL] == 20
    assert out["active_spaces"][Y1.start] == {"identity": 1, "role": 0, ALL: 1}
    assert out["active_spaces"][Y2.start] == {"identity": 0, "role": 1, ALL: 1}
    assert out["meetings_required"][Y2.start] == {"identity": 8, "role": 1, ALL: 9}


_moments = st.integers(0, 8 * 365).map(lambda d: t(2023, 1) + dt.timedelta(days=d, hours=7))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["p1", "p2", "p3", "p4"]), st.sampled_from(["a", "b", "c"]), _moments, _moments | st.none()
        ),
        max_size=25,
    )
)
def test_people_counts_match_a_plain_recount(rows) -> None:
    """The bit-mask counting equals counting people with sets, year by year."""
    kind_of = {"a": "identity", "b": "identity", "c": "role"}
    created = dict.fromkeys(kind_of, t(2020, 1))
    memberships = [Membership(p, s, a, None if b is None else max(a, b) + dt.timedelta(days=1)) for p, s, a, b in rows]
    out = figures(
        [Y1, Y2],
        ["identity", "role"],
        kind_of=kind_of,
        created=created,
        memberships=memberships,
        space_years=[],
        required={},
        zone=UTC,
    )

    def span(y):
        return t(y.start.year, y.start.month, y.start.day), t(y.end.year, y.end.month, y.end.day)

    def people(y, kind):
        start, end = span(y)
        return {
            m.account
            for m in memberships
            if (kind == ALL or kind_of[m.space] == kind) and m.start < end and (m.end is None or m.end > start)
        }

    for y, before in ((Y1, year_before(Y1)), (Y2, Y1)):
        for kind in ("identity", "role", ALL):
            now = people(y, kind)
            assert out["members"][y.start][kind] == len(now)
            assert out["retained_members"][y.start][kind] == len(now & people(before, kind))
            start, end = span(y)
            firsts = {}
            for m in memberships:
                if kind == ALL or kind_of[m.space] == kind:
                    firsts[m.account] = min(firsts.get(m.account, m.start), m.start)
            assert out["new_members"][y.start][kind] == sum(1 for p in now if start <= firsts[p] < end)
