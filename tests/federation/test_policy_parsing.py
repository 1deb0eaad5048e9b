"""Parsing constraint documents: every accepted shape and every rejected one."""

from __future__ import annotations

import pytest

from federation.policy import (
    CATALOGUE,
    ChoiceConstraint,
    FlagConstraint,
    Parameter,
    ParameterRegistry,
    ParamKind,
    PolicyInputError,
    ProblemCode,
    RangeConstraint,
    SetConstraint,
    parse_constraints,
)
from tests.federation.builders import template

T = template("ALAS baseline", 2)


def problems(raw: object) -> list[tuple[str | None, ProblemCode, str | None]]:
    with pytest.raises(PolicyInputError) as exc:
        parse_constraints(raw, T)
    return [(p.parameter, p.code, p.field) for p in exc.value.problems]


def test_catalogue_has_every_parameter_of_the_contract() -> None:
    assert set(CATALOGUE.names()) == {
        "meetings.virtual_per_year",
        "meetings.in_person_per_year",
        "meetings.cadence",
        "meetings.with_event_per_year",
        "facilitators.min_count",
        "facilitators.training_required",
        "facilitators.compensated",
        "sessions.required_components",
        "membership.join_mode",
        "membership.max_members",
        "membership.guests_allowed",
        "chat.retention_days",
        "chat.posting",
        "nesting.max_depth",
    }
    assert CATALOGUE["membership.join_mode"].choices == ("open", "parent_members", "request", "invite")
    assert CATALOGUE["chat.posting"].choices == ("members", "facilitators")
    listing = CATALOGUE.to_list()
    assert {p["name"] for p in listing} == set(CATALOGUE.names())
    assert all(p["description"] for p in listing)


def test_registry_is_extensible_and_rejects_bad_parameters() -> None:
    reg = ParameterRegistry(CATALOGUE)
    reg.register(Parameter("resources.max_links", ParamKind.INTEGER, 10, "Links per space."))
    layer = parse_constraints({"resources.max_links": {"max": 5}}, T, reg)
    assert layer.constraints["resources.max_links"] == RangeConstraint(None, None, 5, T)
    with pytest.raises(ValueError, match="already registered"):
        reg.register(Parameter("resources.max_links", ParamKind.INTEGER, 1, "dup"))
    with pytest.raises(ValueError, match="needs choices"):
        reg.register(Parameter("x.choice", ParamKind.CHOICE, "a", "no choices"))
    with pytest.raises(ValueError):
        reg.register(Parameter("x.bad_default", ParamKind.INTEGER, -1, "negative default"))
    with pytest.raises(ValueError, match="nullable"):
        reg.register(Parameter("x.flag", ParamKind.FLAG, None, "nullable flag", nullable=True))
    # the shared catalogue is untouched
    assert "resources.max_links" not in CATALOGUE


def test_parses_every_constraint_kind_with_its_source() -> None:
    layer = parse_constraints(
        {
            "meetings.virtual_per_year": {"min": 3},
            "meetings.in_person_per_year": {"min": 1, "max": 2},
            "facilitators.training_required": {"locked": True, "value": True},
            "membership.join_mode": {"allowed": ["open", "request", "open"]},
            "sessions.required_components": {"required": ["quote", "story", "reflection"]},
            "chat.retention_days": {"max": 365},
        },
        T,
    )
    c = layer.constraints
    assert layer.source == T
    assert c["meetings.virtual_per_year"] == RangeConstraint(3, T, None, None)
    assert c["meetings.in_person_per_year"] == RangeConstraint(1, T, 2, T)
    flag = c["facilitators.training_required"]
    assert isinstance(flag, FlagConstraint) and flag.value is True and flag.locks[0].source == T
    choice = c["membership.join_mode"]
    assert isinstance(choice, ChoiceConstraint)
    assert choice.allowed == {"open", "request"}
    assert choice.excluded_by == {"invite": T, "parent_members": T}
    req = c["sessions.required_components"]
    assert isinstance(req, SetConstraint) and req.required == {"quote", "story", "reflection"}
    assert c["chat.retention_days"] == RangeConstraint(None, None, 365, T)
    # round trip: the input form parses back to the same bounds
    again = parse_constraints(c.raw(), T)
    assert again.constraints.key() == c.key()


def test_empty_document_is_an_empty_layer() -> None:
    assert len(parse_constraints({}, T).constraints) == 0


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ([], [(None, ProblemCode.NOT_AN_OBJECT, None)]),
        ({"meetings.per_year": {"min": 1}}, [("meetings.per_year", ProblemCode.UNKNOWN_PARAMETER, None)]),
        ({"meetings.virtual_per_year": 3}, [("meetings.virtual_per_year", ProblemCode.NOT_AN_OBJECT, None)]),
        ({"meetings.virtual_per_year": {}}, [("meetings.virtual_per_year", ProblemCode.EMPTY_CONSTRAINT, None)]),
        (
            {"meetings.virtual_per_year": {"allowed": ["3"]}},
            [("meetings.virtual_per_year", ProblemCode.UNSUPPORTED_BOUND, "allowed")],
        ),
        (
            {"meetings.virtual_per_year": {"min": "3"}},
            [("meetings.virtual_per_year", ProblemCode.WRONG_TYPE, "min")],
        ),
        (
            {"meetings.virtual_per_year": {"min": True}},
            [("meetings.virtual_per_year", ProblemCode.WRONG_TYPE, "min")],
        ),
        (
            {"meetings.virtual_per_year": {"min": 2.5}},
            [("meetings.virtual_per_year", ProblemCode.WRONG_TYPE, "min")],
        ),
        (
            {"meetings.virtual_per_year": {"min": -1}},
            [("meetings.virtual_per_year", ProblemCode.OUT_OF_DOMAIN, "min")],
        ),
        (
            {"meetings.virtual_per_year": {"min": 5, "max": 2}},
            [("meetings.virtual_per_year", ProblemCode.MIN_GREATER_THAN_MAX, "min")],
        ),
        ({"chat.retention_days": {"min": 30}}, [("chat.retention_days", ProblemCode.UNSUPPORTED_BOUND, "min")]),
        ({"chat.retention_days": {"max": 0}}, [("chat.retention_days", ProblemCode.OUT_OF_DOMAIN, "max")]),
        ({"membership.join_mode": {"allowed": []}}, [("membership.join_mode", ProblemCode.EMPTY_ALLOWED, "allowed")]),
        (
            {"membership.join_mode": {"allowed": ["open", "closed"]}},
            [("membership.join_mode", ProblemCode.UNKNOWN_CHOICE, "allowed")],
        ),
        ({"membership.join_mode": {"allowed": "open"}}, [("membership.join_mode", ProblemCode.WRONG_TYPE, "allowed")]),
        ({"membership.join_mode": {"allowed": [1]}}, [("membership.join_mode", ProblemCode.WRONG_TYPE, "allowed")]),
        (
            {"facilitators.training_required": {"locked": True}},
            [("facilitators.training_required", ProblemCode.MISSING_VALUE, "value")],
        ),
        (
            {"facilitators.training_required": {"locked": False, "value": True}},
            [("facilitators.training_required", ProblemCode.WRONG_TYPE, "locked")],
        ),
        (
            {"facilitators.training_required": {"locked": True, "value": "yes"}},
            [("facilitators.training_required", ProblemCode.WRONG_TYPE, "value")],
        ),
        (
            {"facilitators.training_required": {"min": 1}},
            [("facilitators.training_required", ProblemCode.UNSUPPORTED_BOUND, "min")],
        ),
        (
            {"sessions.required_components": {"required": [""]}},
            [("sessions.required_components", ProblemCode.WRONG_TYPE, "required")],
        ),
        (
            {"sessions.required_components": {"required": ["x" * 101]}},
            [("sessions.required_components", ProblemCode.WRONG_TYPE, "required")],
        ),
    ],
)
def test_rejects_bad_constraints(raw: object, expected: list[tuple[str | None, ProblemCode, str | None]]) -> None:
    assert problems(raw) == expected


def test_every_problem_is_reported_at_once() -> None:
    found = problems(
        {
            "nope": {"min": 1},
            "meetings.virtual_per_year": {"min": 5, "max": 2},
            "membership.join_mode": {"allowed": []},
            "chat.posting": {"allowed": ["members"]},
        }
    )
    assert [code for _, code, _ in found] == [
        ProblemCode.UNKNOWN_PARAMETER,
        ProblemCode.MIN_GREATER_THAN_MAX,
        ProblemCode.EMPTY_ALLOWED,
    ]


def test_problems_serialise_for_a_422() -> None:
    with pytest.raises(PolicyInputError) as exc:
        parse_constraints({"meetings.virtual_per_year": {"min": 5, "max": 2}}, T)
    assert exc.value.to_dict() == {
        "problems": [
            {
                "code": "min_greater_than_max",
                "message": "meetings.virtual_per_year: min 5 is greater than max 2",
                "parameter": "meetings.virtual_per_year",
                "field": "min",
            }
        ]
    }
    assert "min 5 is greater than max 2" in str(exc.value)
