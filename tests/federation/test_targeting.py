"""Template targeting, exemptions and the meeting cadence (pure, property-tested)."""

from __future__ import annotations

import itertools
import uuid
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from federation.compliance import (
    ComplianceSubject,
    Meeting,
    MeetingKind,
    cadence_gaps,
    cadence_periods,
    check_compliance,
    program_year,
)
from federation.policy import Source, effective_policy, parse_constraints
from federation.targeting import (
    EVERYTHING,
    SPACE_KINDS,
    Attachment,
    Exemption,
    SpaceShape,
    TargetError,
    binds,
    check_reason,
    make_target,
    unbound_templates,
)

KINDS = sorted(SPACE_KINDS)
shapes = st.builds(
    SpaceShape,
    space_id=st.uuids(),
    kind=st.sampled_from(KINDS),
    depth=st.integers(0, 8),
    has_children=st.booleans(),
)
targets = st.builds(
    make_target,
    kinds=st.none() | st.sets(st.sampled_from(KINDS), min_size=1),
    leaf_only=st.booleans(),
    min_depth=st.none() | st.integers(0, 3),
    max_depth=st.none() | st.integers(3, 8),
)


@given(shapes)
def test_the_default_target_binds_everything(space: SpaceShape) -> None:
    assert binds(EVERYTHING, space)


@given(targets, shapes)
def test_a_target_binds_exactly_what_it_says(target, space: SpaceShape) -> None:
    expected = (
        (target.kinds is None or space.kind in target.kinds)
        and not (target.leaf_only and space.has_children)
        and (target.min_depth is None or space.depth >= target.min_depth)
        and (target.max_depth is None or space.depth <= target.max_depth)
    )
    assert binds(target, space) is expected


@given(targets, shapes)
def test_leaf_only_never_binds_an_umbrella(target, space: SpaceShape) -> None:
    umbrella = SpaceShape(space.space_id, space.kind, space.depth, True)
    if target.leaf_only:
        assert not binds(target, umbrella)


@given(st.lists(st.uuids(), min_size=1, max_size=6, unique=True), st.integers(0, 5), st.booleans())
def test_an_exemption_covers_its_whole_subtree_and_nothing_above(path, cut, all_templates) -> None:
    cut = min(cut, len(path) - 1)
    template = uuid.uuid4()
    exemption = Exemption(uuid.uuid4(), path[cut], None if all_templates else template, "umbrella")
    attachments = [Attachment(template, None)]
    for depth, space_id in enumerate(path):
        shape = SpaceShape(space_id, "identity", depth, depth < len(path) - 1, tuple(path[:depth]))
        assert (template in unbound_templates(shape, attachments, [exemption])) is (depth >= cut)


def test_attachments_to_other_subtrees_are_not_considered() -> None:
    root, other = uuid.uuid4(), uuid.uuid4()
    template = uuid.uuid4()
    shape = SpaceShape(uuid.uuid4(), "identity", 1, False, (root,))
    leaf_only = make_target(None, True, None, None)
    assert unbound_templates(shape, [Attachment(template, other, leaf_only)], []) == frozenset()
    umbrella = SpaceShape(root, "identity", 0, True)
    assert unbound_templates(umbrella, [Attachment(template, root, leaf_only)], []) == {template}
    assert unbound_templates(shape, [Attachment(template, root, leaf_only)], []) == frozenset()


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ((["identity", "galaxy"], False, None, None), "kinds"),
        (([], False, None, None), "kinds"),
        ((None, False, -1, None), "min_depth"),
        ((None, False, None, 65), "max_depth"),
        ((None, False, 3, 2), "max_depth"),
    ],
)
def test_bad_targets_name_the_field(args, field) -> None:
    with pytest.raises(TargetError) as info:
        make_target(*args)
    assert info.value.field == field


def test_reasons() -> None:
    assert check_reason("  umbrella of the LEADER groups ") == "umbrella of the LEADER groups"
    for bad in ("", "   ", "x" * 501):
        with pytest.raises(TargetError):
            check_reason(bad)


# --- cadence ------------------------------------------------------------------------------------

YEAR = program_year(date(2026, 12, 1), 8)


def test_periods() -> None:
    assert [p[2] for p in cadence_periods(YEAR, "quarterly")] == [
        "Aug 2026 to Oct 2026",
        "Nov 2026 to Jan 2027",
        "Feb 2027 to Apr 2027",
        "May 2027 to Jul 2027",
    ]
    assert len(cadence_periods(YEAR, "monthly")) == 12


@given(st.sampled_from(["monthly", "quarterly"]), st.integers(1, 12), st.data())
def test_periods_partition_the_year(cadence, start_month, data) -> None:
    year = program_year(data.draw(st.dates(date(2020, 1, 1), date(2035, 12, 31))), start_month)
    periods = cadence_periods(year, cadence)
    assert periods[0][0] == year.start and periods[-1][1] == year.end
    assert all(a[1] == b[0] for a, b in itertools.pairwise(periods))


@given(st.sampled_from(["monthly", "quarterly"]), st.sets(st.integers(0, 364)))
def test_gaps_are_exactly_the_periods_without_a_meeting(cadence, offsets) -> None:
    days = [YEAR.start + timedelta(days=o) for o in offsets]
    gaps = cadence_gaps(days, YEAR, cadence)
    expected = [
        label for start, end, label in cadence_periods(YEAR, cadence) if not any(start <= d < end for d in days)
    ]
    assert gaps == expected


def test_monthly_cadence_is_checked() -> None:
    policy = effective_policy(
        [parse_constraints({"meetings.cadence": {"allowed": ["monthly"]}}, Source.template(uuid.uuid4(), "Monthly", 1))]
    )
    every_month = [Meeting(MeetingKind.VIRTUAL, date(2026 + (m + 7) // 12, (m + 7) % 12 + 1, 10)) for m in range(12)]
    subject = ComplianceSubject(uuid.uuid4(), "LEADER", {}, facilitators=1, meetings=every_month)
    assert check_compliance(subject, policy, YEAR).status == "compliant"
    without_december = [m for m in every_month if m.on.month != 12]
    subject = ComplianceSubject(uuid.uuid4(), "LEADER", {}, facilitators=1, meetings=without_december)
    result = check_compliance(subject, policy, YEAR)
    assert result.status == "non_compliant"
    assert [f.code for f in result.findings] == ["cadence_gap"]
    assert "Dec 2026" in result.findings[0].message and "Nov 2026" not in result.findings[0].message
