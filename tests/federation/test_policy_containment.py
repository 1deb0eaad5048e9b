"""Constraints a space sets for its sub-spaces must lie inside its own effective constraint."""

from __future__ import annotations

from federation.policy import Mode, ViolationCode, check_containment, effective_policy
from tests.federation.builders import ancestor, layer, template

NET = template("ALAS baseline", 2)
SPACE = ancestor("Latinas Lead")
OWN = effective_policy(
    [
        layer(
            {
                "meetings.virtual_per_year": {"min": 3, "max": 8},
                "membership.join_mode": {"allowed": ["open", "request"]},
                "facilitators.training_required": {"locked": True, "value": True},
                "sessions.required_components": {"required": ["quote"]},
            },
            NET,
        )
    ]
)


def codes(raw: dict[str, object]) -> list[tuple[str, ViolationCode, str]]:
    result = check_containment(layer(raw, SPACE), OWN)
    return [(v.parameter, v.code, v.bound) for v in result.violations]


def test_tightening_is_fine_at_every_kind() -> None:
    assert (
        codes(
            {
                "meetings.virtual_per_year": {"min": 4, "max": 6},
                "membership.join_mode": {"allowed": ["request"]},
                "facilitators.training_required": {"locked": True, "value": True},
                "sessions.required_components": {"required": ["story"]},
                "chat.posting": {"allowed": ["facilitators"]},
            }
        )
        == []
    )


def test_loosening_is_refused_naming_the_ancestor_bound() -> None:
    result = check_containment(layer({"meetings.virtual_per_year": {"min": 2, "max": 9}}, SPACE), OWN)
    assert [(v.bound, v.value, v.limit, v.source, v.code) for v in result.violations] == [
        ("min", 2, 3, NET, ViolationCode.LOOSENS),
        ("max", 9, 8, NET, ViolationCode.LOOSENS),
    ]
    assert "minimum 2 for sub-spaces is below the minimum 3 (set by template 'ALAS baseline' v2)" in (
        result.violations[0].message
    )
    assert not result.ok


def test_empty_results_are_conflicts() -> None:
    assert codes({"meetings.virtual_per_year": {"min": 9}}) == [
        ("meetings.virtual_per_year", ViolationCode.CONFLICT, "max")
    ]
    assert codes({"meetings.virtual_per_year": {"max": 2}}) == [
        ("meetings.virtual_per_year", ViolationCode.CONFLICT, "min")
    ]
    assert codes({"membership.join_mode": {"allowed": ["invite"]}}) == [
        ("membership.join_mode", ViolationCode.CONFLICT, "allowed")
    ]
    assert codes({"facilitators.training_required": {"locked": True, "value": False}}) == [
        ("facilitators.training_required", ViolationCode.CONFLICT, "locked")
    ]


def test_extra_choices_loosen() -> None:
    result = check_containment(layer({"membership.join_mode": {"allowed": ["request", "invite"]}}, SPACE), OWN)
    (v,) = result.violations
    assert v.code is ViolationCode.LOOSENS and v.limit == ["open", "request"] and v.source == NET
    assert "allowing invite for sub-spaces" in v.message


def test_unconstrained_parameters_can_be_set_freely() -> None:
    assert codes({"chat.retention_days": {"max": 30}, "nesting.max_depth": {"max": 2}}) == []


def test_warn_mode_bounds_give_warnings() -> None:
    warn = template("Pilot", 1, Mode.WARN)
    policy = OWN.narrow(layer({"meetings.virtual_per_year": {"min": 5}}, warn))
    result = check_containment(layer({"meetings.virtual_per_year": {"min": 4}}, SPACE), policy)
    assert result.ok
    assert [(v.source, v.limit) for v in result.warnings] == [(warn, 5)]


def test_accepts_a_bare_constraint_set() -> None:
    result = check_containment(layer({"meetings.virtual_per_year": {"min": 1}}, SPACE).constraints, OWN)
    assert len(result.violations) == 1
