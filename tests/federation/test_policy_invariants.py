"""Invariants: a setting that describes the space's own state must be true of it."""

from __future__ import annotations

from federation.policy import (
    UNCONSTRAINED,
    Invariant,
    Mode,
    SpaceState,
    check_invariants,
    effective_policy,
)
from tests.federation.builders import ancestor, layer, template

OWN = ancestor("the space")
TWO = template("Two facilitators")


def test_nothing_counted_nothing_checked() -> None:
    assert check_invariants(UNCONSTRAINED, {"facilitators.min_count": 9}, SpaceState(), own=OWN) == ()


def test_facilitator_minimum_names_the_template_that_set_it() -> None:
    policy = effective_policy([layer({"facilitators.min_count": {"min": 2}}, TWO)])
    (v,) = check_invariants(policy, {}, SpaceState(facilitators=1), own=OWN)
    assert (v.parameter, v.value, v.bound, v.limit, v.source, v.explicit) == (
        Invariant.FACILITATOR_MINIMUM,
        1,
        "min",
        2,
        TWO,
        False,
    )
    assert v.message == (
        "1 facilitator(s) where facilitators.min_count needs 2 (set by template 'Two facilitators' v1)"
    )
    assert check_invariants(policy, {}, SpaceState(facilitators=2), own=OWN) == ()


def test_the_space_s_own_setting_is_named_when_it_governs() -> None:
    policy = effective_policy([layer({"facilitators.min_count": {"min": 2}}, TWO)])
    (v,) = check_invariants(policy, {"facilitators.min_count": 3}, SpaceState(facilitators=2), own=OWN)
    assert v.source == OWN and v.limit == 3 and "(set by its own setting)" in v.message


def test_member_cap_and_depth() -> None:
    capped = effective_policy([layer({"membership.max_members": {"max": 10}, "nesting.max_depth": {"max": 1}})])
    found = check_invariants(capped, {}, SpaceState(members=12, levels_below=2), own=OWN)
    assert [(v.parameter, v.value, v.bound, v.limit) for v in found] == [
        ("membership.max_members", 12, "max", 10),
        ("nesting.max_depth", 2, "max", 1),
    ]
    assert check_invariants(capped, {}, SpaceState(members=10, levels_below=1), own=OWN) == ()
    # The space's own (tighter) setting governs: 5 members over a cap of 4 it chose.
    (v,) = check_invariants(capped, {"membership.max_members": 4}, SpaceState(members=5), own=OWN)
    assert v.source == OWN and v.limit == 4


def test_warn_mode_reading() -> None:
    policy = effective_policy([layer({"facilitators.min_count": {"min": 3}}, template("Soon", 1, Mode.WARN))])
    assert check_invariants(policy, {}, SpaceState(facilitators=2), own=OWN) == ()
    (v,) = check_invariants(policy, {}, SpaceState(facilitators=2), own=OWN, mode=Mode.WARN)
    assert v.limit == 3 and v.source.mode is Mode.WARN
