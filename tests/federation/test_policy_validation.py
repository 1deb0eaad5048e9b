"""Settings against an effective policy: violations, warnings, audit, input problems, defaults."""

from __future__ import annotations

from federation.policy import (
    CATALOGUE,
    UNCONSTRAINED,
    Mode,
    ProblemCode,
    ViolationCode,
    effective_policy,
    effective_settings,
    effective_value,
    governing_settings,
    governing_value,
    validate_settings,
)
from tests.federation.builders import ancestor, layer, template

NET = template("ALAS baseline", 2)
GROUP = ancestor("Latinas Lead")
ALAS = effective_policy(
    [
        layer(
            {
                "meetings.virtual_per_year": {"min": 3},
                "meetings.in_person_per_year": {"min": 1},
                "facilitators.min_count": {"min": 2},
                "facilitators.training_required": {"locked": True, "value": True},
                "sessions.required_components": {"required": ["quote", "story", "reflection"]},
                "membership.join_mode": {"allowed": ["open", "request"]},
                "chat.retention_days": {"max": 365},
            },
            NET,
        ),
        layer({"meetings.virtual_per_year": {"max": 6}}, GROUP),
    ]
)
GOOD = {
    "meetings.virtual_per_year": 4,
    "meetings.in_person_per_year": 1,
    "facilitators.min_count": 2,
    "facilitators.training_required": True,
    "sessions.required_components": ["quote", "story", "reflection", "music"],
    "membership.join_mode": "request",
    "chat.retention_days": 180,
}


def test_settings_inside_every_bound_pass() -> None:
    result = validate_settings(GOOD, ALAS)
    assert result.ok
    assert result.violations == result.warnings == result.audit == ()
    assert result.problems == ()
    assert result.values["sessions.required_components"] == frozenset({"quote", "story", "reflection", "music"})
    assert result.message() == "settings are within policy"


def test_each_violation_names_parameter_value_bound_and_source() -> None:
    settings = {**GOOD, "meetings.virtual_per_year": 7, "membership.join_mode": "invite"}
    result = validate_settings(settings, ALAS)
    assert not result.ok
    got = sorted(((v.parameter, v.value, v.bound, v.limit, v.source) for v in result.violations), key=str)
    assert got == [
        ("meetings.virtual_per_year", 7, "max", 6, GROUP),
        ("membership.join_mode", "invite", "allowed", ["open", "request"], NET),
    ]
    msg = next(v for v in result.violations if v.parameter == "meetings.virtual_per_year").message
    assert msg == "meetings.virtual_per_year = 7 is above the maximum 6 (set by ancestor space 'Latinas Lead')"
    assert result.message().endswith("(and 1 more)")
    detail = result.to_dict()
    assert isinstance(detail["violations"], list) and len(detail["violations"]) == 2


def test_below_min_and_missing_required_and_wrong_lock() -> None:
    settings = {
        **GOOD,
        "meetings.virtual_per_year": 2,
        "facilitators.training_required": False,
        "sessions.required_components": ["quote"],
    }
    result = validate_settings(settings, ALAS)
    by_param = {v.parameter: v for v in result.violations}
    assert by_param["meetings.virtual_per_year"].bound == "min"
    assert by_param["meetings.virtual_per_year"].source == NET
    assert by_param["facilitators.training_required"].bound == "locked"
    assert by_param["facilitators.training_required"].limit is True
    assert by_param["sessions.required_components"].limit == ["reflection", "story"]
    assert "lacks required reflection, story" in by_param["sessions.required_components"].message


def test_unset_parameters_follow_the_bounds_instead_of_breaking_them() -> None:
    # Nothing chosen, nothing to refuse: the network's structure governs what the space left open.
    result = validate_settings({}, ALAS)
    assert result.ok and result.violations == ()
    governing = governing_settings(ALAS, {})
    assert governing["facilitators.training_required"] is True  # locked
    assert governing["chat.retention_days"] == 365  # "keep forever" pulled under the maximum
    assert governing["meetings.virtual_per_year"] >= 3
    required = ALAS.enforced.get("sessions.required_components")
    assert required is not None and governing["sessions.required_components"] >= required.required
    # An explicit choice outside the bounds is still refused, naming the value.
    bad = validate_settings({"chat.retention_days": 400}, ALAS)
    (v,) = bad.violations
    assert v.explicit and v.parameter == "chat.retention_days" and v.value == 400


def test_warn_mode_reports_what_it_would_do_to_unset_parameters() -> None:
    pilot = template("Pilot", 1, Mode.WARN)
    policy = effective_policy([layer({"chat.posting": {"allowed": ["facilitators"]}}, pilot)])
    result = validate_settings({}, policy)
    assert result.ok
    (w,) = result.warnings
    assert (w.parameter, w.value, w.explicit) == ("chat.posting", "members", False)
    assert "(the default)" in w.message


def test_unknown_parameters_and_wrong_types_are_input_problems() -> None:
    result = validate_settings(
        {
            **GOOD,
            "meetings.per_year": 3,
            "meetings.virtual_per_year": "4",
            "membership.join_mode": "closed",
            "facilitators.training_required": 1,
            "membership.max_members": -5,
            "sessions.required_components": "quote",
        },
        ALAS,
    )
    assert not result.ok
    codes = {(p.parameter, p.code) for p in result.problems}
    assert codes == {
        ("meetings.per_year", ProblemCode.UNKNOWN_PARAMETER),
        ("meetings.virtual_per_year", ProblemCode.WRONG_TYPE),
        ("membership.join_mode", ProblemCode.WRONG_TYPE),
        ("facilitators.training_required", ProblemCode.WRONG_TYPE),
        ("membership.max_members", ProblemCode.WRONG_TYPE),
        ("sessions.required_components", ProblemCode.WRONG_TYPE),
    }
    # a parameter with a bad value is not also reported as out of bounds
    assert result.violations == ()


def test_nullable_parameters_accept_null_as_unlimited() -> None:
    result = validate_settings({"membership.max_members": None, "nesting.max_depth": None}, UNCONSTRAINED)
    assert result.ok and result.values == {"membership.max_members": None, "nesting.max_depth": None}
    capped = effective_policy([layer({"membership.max_members": {"max": 40}}, NET)])
    (v,) = validate_settings({"membership.max_members": None}, capped).violations
    assert v.bound == "max" and v.value is None
    assert validate_settings({"membership.max_members": 40}, capped).ok
    at_least = effective_policy([layer({"membership.max_members": {"min": 10}}, NET)])
    assert validate_settings({"membership.max_members": None}, at_least).ok


def test_parameters_limits_bound_checks_but_not_input_checks() -> None:
    result = validate_settings({"chat.posting": "facilitators", "bogus": 1}, ALAS, parameters={"chat.posting"})
    assert result.violations == ()
    assert [p.parameter for p in result.problems] == ["bogus"]


def test_warn_and_audit_modes_do_not_block() -> None:
    warn = template("Pilot", 1, Mode.WARN)
    audit = template("Watch", 1, Mode.AUDIT)
    policy = effective_policy(
        [
            layer({"meetings.virtual_per_year": {"min": 2}}, NET),
            layer({"meetings.virtual_per_year": {"min": 3}}, warn),
            layer({"meetings.virtual_per_year": {"min": 4}, "chat.posting": {"allowed": ["facilitators"]}}, audit),
        ]
    )
    only_warned = validate_settings({"meetings.virtual_per_year": 2}, policy)
    assert only_warned.ok
    assert [(v.source, v.limit) for v in only_warned.warnings] == [(warn, 3)]
    assert {(v.parameter, v.source) for v in only_warned.audit} == {
        ("meetings.virtual_per_year", audit),
        ("chat.posting", audit),
    }
    blocked = validate_settings({"meetings.virtual_per_year": 1}, policy)
    assert not blocked.ok
    assert [(v.source, v.limit) for v in blocked.violations] == [(NET, 2)]
    assert [(v.source, v.limit) for v in blocked.warnings] == [(warn, 3)]
    clean = validate_settings({"meetings.virtual_per_year": 5, "chat.posting": "facilitators"}, policy)
    assert clean.ok and not clean.warnings and not clean.audit


def test_a_violation_is_not_repeated_as_a_warning() -> None:
    warn = template("Pilot", 1, Mode.WARN)
    policy = effective_policy(
        [
            layer({"chat.posting": {"allowed": ["facilitators"]}}, NET),
            layer({"meetings.virtual_per_year": {"min": 3}}, warn),
        ]
    )
    result = validate_settings({"chat.posting": "members"}, policy)
    assert len(result.violations) == 1 and [v.parameter for v in result.warnings] == ["meetings.virtual_per_year"]


def test_conflicting_policy_refuses_every_value() -> None:
    policy = effective_policy(
        [layer({"meetings.virtual_per_year": {"max": 2}}, NET), layer({"meetings.virtual_per_year": {"min": 3}}, GROUP)]
    )
    for value in (0, 2, 3, 10):
        assert not validate_settings({"meetings.virtual_per_year": value}, policy).ok
    flags = effective_policy(
        [
            layer({"facilitators.training_required": {"locked": True, "value": True}}, NET),
            layer({"facilitators.training_required": {"locked": True, "value": False}}, GROUP),
        ]
    )
    for flag in (True, False):
        assert not validate_settings({"facilitators.training_required": flag}, flags).ok


def test_violation_codes_and_json() -> None:
    (v,) = validate_settings({"chat.retention_days": 400}, ALAS, parameters={"chat.retention_days"}).violations
    assert v.code is ViolationCode.OUT_OF_BOUNDS
    assert v.to_dict() == {
        "code": "out_of_bounds",
        "parameter": "chat.retention_days",
        "value": 400,
        "explicit": True,
        "bound": "max",
        "limit": 365,
        "source": NET.to_dict(),
        "message": "chat.retention_days = 400 is above the maximum 365 (set by template 'ALAS baseline' v2)",
    }


def test_effective_and_governing_values() -> None:
    assert effective_value({}, "facilitators.min_count") == 1
    assert effective_value({"facilitators.min_count": 3}, "facilitators.min_count") == 3
    assert effective_value({"facilitators.min_count": "x"}, "facilitators.min_count") == 1
    assert effective_settings({})["membership.join_mode"] == "open"
    assert set(effective_settings({})) == set(CATALOGUE.names())
    # clamped into bounds
    assert governing_value(ALAS, {}, "meetings.virtual_per_year") == 3
    assert governing_value(ALAS, {"meetings.virtual_per_year": 9}, "meetings.virtual_per_year") == 6
    assert governing_value(ALAS, {}, "chat.retention_days") == 365
    assert governing_value(ALAS, {}, "facilitators.training_required") is True
    assert governing_value(
        ALAS, {"sessions.required_components": ["music"]}, "sessions.required_components"
    ) == frozenset(
        {
            "music",
            "quote",
            "story",
            "reflection",
        }
    )
    # a join mode the policy no longer allows falls back to the most restrictive allowed one
    assert governing_value(ALAS, {"membership.join_mode": "invite"}, "membership.join_mode") == "request"
    assert governing_value(ALAS, {"membership.join_mode": "open"}, "membership.join_mode") == "open"
    assert governing_value(UNCONSTRAINED, {}, "nesting.max_depth") is None
    warn = template("Pilot", 1, Mode.WARN)
    policy = ALAS.narrow(layer({"meetings.virtual_per_year": {"min": 5}}, warn))
    assert governing_value(policy, {}, "meetings.virtual_per_year") == 3
    assert governing_value(policy, {}, "meetings.virtual_per_year", mode=Mode.WARN) == 5
