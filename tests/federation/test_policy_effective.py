"""Intersection along a path: tightest bound wins, with the source that set it; conflicts."""

from __future__ import annotations

import uuid

import pytest

from federation.policy import (
    UNCONSTRAINED,
    ChoiceConstraint,
    FlagConstraint,
    Mode,
    RangeConstraint,
    SetConstraint,
    Source,
    SourceKind,
    effective_policy,
    path_layers,
)
from tests.federation.builders import ancestor, layer, template

NET = template("ALAS network", 3)
DISTRICT = ancestor("Latinx Leaders")
GROUP = ancestor("Latinas Lead")


def test_min_takes_max_of_mins_and_max_takes_min_of_maxes_with_their_sources() -> None:
    policy = effective_policy(
        [
            layer({"meetings.virtual_per_year": {"min": 3, "max": 10}}, NET),
            layer({"meetings.virtual_per_year": {"min": 4}}, DISTRICT),
            layer({"meetings.virtual_per_year": {"max": 6, "min": 2}}, GROUP),
        ]
    )
    c = policy.enforced["meetings.virtual_per_year"]
    assert c == RangeConstraint(4, DISTRICT, 6, GROUP)


def test_tie_keeps_the_outer_source() -> None:
    policy = effective_policy(
        [layer({"meetings.virtual_per_year": {"min": 3}}, NET), layer({"meetings.virtual_per_year": {"min": 3}}, GROUP)]
    )
    c = policy.enforced["meetings.virtual_per_year"]
    assert isinstance(c, RangeConstraint) and c.min_source == NET


def test_choice_intersection_remembers_who_excluded_each_choice() -> None:
    policy = effective_policy(
        [
            layer({"membership.join_mode": {"allowed": ["open", "request", "invite"]}}, NET),
            layer({"membership.join_mode": {"allowed": ["request", "invite", "parent_members"]}}, GROUP),
        ]
    )
    c = policy.enforced["membership.join_mode"]
    assert isinstance(c, ChoiceConstraint)
    assert c.allowed == {"request", "invite"}
    assert c.excluded_by == {"parent_members": NET, "open": GROUP}


def test_required_sets_add_up_and_remember_sources() -> None:
    policy = effective_policy(
        [
            layer({"sessions.required_components": {"required": ["quote", "story"]}}, NET),
            layer({"sessions.required_components": {"required": ["story", "reflection"]}}, GROUP),
        ]
    )
    c = policy.enforced["sessions.required_components"]
    assert isinstance(c, SetConstraint)
    assert c.required_by == {"quote": NET, "story": NET, "reflection": GROUP}
    assert c.conflict() is None


def test_same_lock_twice_is_fine_and_keeps_the_first_source() -> None:
    policy = effective_policy(
        [
            layer({"facilitators.training_required": {"locked": True, "value": True}}, NET),
            layer({"facilitators.training_required": {"locked": True, "value": True}}, GROUP),
        ]
    )
    c = policy.enforced["facilitators.training_required"]
    assert isinstance(c, FlagConstraint) and len(c.locks) == 1 and c.locks[0].source == NET
    assert policy.conflicts() == ()


@pytest.mark.parametrize(
    ("outer", "inner", "bound", "words"),
    [
        (
            {"meetings.virtual_per_year": {"max": 2}},
            {"meetings.virtual_per_year": {"min": 3}},
            "min",
            "above the maximum",
        ),
        (
            {"membership.join_mode": {"allowed": ["open"]}},
            {"membership.join_mode": {"allowed": ["invite"]}},
            "allowed",
            "no choice is allowed",
        ),
        (
            {"facilitators.training_required": {"locked": True, "value": True}},
            {"facilitators.training_required": {"locked": True, "value": False}},
            "locked",
            "locks it to true but",
        ),
    ],
)
def test_empty_intersections_are_conflicts_naming_both_sources(
    outer: dict[str, object], inner: dict[str, object], bound: str, words: str
) -> None:
    policy = effective_policy([layer(outer, NET), layer(inner, GROUP)])
    (conflict,) = policy.conflicts()
    assert conflict.bound == bound
    assert conflict.mode is Mode.ENFORCE
    assert set(conflict.sources) == {NET, GROUP}
    assert words in conflict.message
    assert "template 'ALAS network' v3" in conflict.message and "ancestor space 'Latinas Lead'" in conflict.message
    assert conflict.to_dict()["sources"] == [s.to_dict() for s in conflict.sources]


def test_modes_keep_separate_cumulative_layers() -> None:
    warn = template("Pilot", 1, Mode.WARN)
    audit = template("Watch", 1, Mode.AUDIT)
    policy = effective_policy(
        [
            layer({"meetings.virtual_per_year": {"min": 2}}, NET),
            layer({"meetings.virtual_per_year": {"min": 3}}, warn),
            layer({"meetings.virtual_per_year": {"min": 4}, "chat.posting": {"allowed": ["facilitators"]}}, audit),
        ]
    )
    assert policy.enforced["meetings.virtual_per_year"] == RangeConstraint(2, NET)
    assert policy.with_warn["meetings.virtual_per_year"] == RangeConstraint(3, warn)
    assert policy.with_audit["meetings.virtual_per_year"] == RangeConstraint(4, audit)
    assert "chat.posting" not in policy.enforced and "chat.posting" not in policy.with_warn
    assert [m for m, _ in policy.distinct_layers()] == [Mode.ENFORCE, Mode.WARN, Mode.AUDIT]
    body = policy.to_dict()
    assert set(body) == {"constraints", "warn", "audit", "conflicts"}


def test_enforce_only_policy_shares_one_set_for_every_mode() -> None:
    policy = effective_policy([layer({"meetings.virtual_per_year": {"min": 2}}, NET)])
    assert policy.enforced is policy.with_warn is policy.with_audit
    assert set(policy.to_dict()) == {"constraints", "conflicts"}


def test_a_warn_conflict_is_reported_in_warn_mode() -> None:
    warn = template("Pilot", 1, Mode.WARN)
    policy = effective_policy(
        [layer({"meetings.virtual_per_year": {"max": 2}}, NET), layer({"meetings.virtual_per_year": {"min": 3}}, warn)]
    )
    (conflict,) = policy.conflicts()
    assert conflict.mode is Mode.WARN


def test_narrowing_with_nothing_returns_the_same_policy() -> None:
    policy = effective_policy([layer({"meetings.virtual_per_year": {"min": 2}}, NET)])
    assert policy.narrow() is policy
    assert policy.narrow(layer({}, GROUP)) is policy
    assert policy.narrow(layer({"meetings.virtual_per_year": {"min": 1}}, GROUP)).enforced is policy.enforced
    assert effective_policy([]) is UNCONSTRAINED


def test_policy_to_dict_names_sources_per_bound() -> None:
    policy = effective_policy(
        [
            layer({"meetings.virtual_per_year": {"min": 3}, "membership.join_mode": {"allowed": ["open"]}}, NET),
            layer({"meetings.virtual_per_year": {"max": 5}}, GROUP),
        ]
    )
    body = policy.to_dict()["constraints"]
    assert isinstance(body, dict)
    assert body["meetings.virtual_per_year"] == {
        "min": 3,
        "max": 5,
        "sources": {"min": NET.to_dict(), "max": GROUP.to_dict()},
    }
    assert body["membership.join_mode"]["allowed"] == ["open"]
    assert body["membership.join_mode"]["excluded_by"]["invite"] == NET.to_dict()


def test_path_layers_orders_network_then_ancestors_then_own_templates() -> None:
    net = layer({"meetings.virtual_per_year": {"min": 1}}, NET)
    t_root = layer({"meetings.virtual_per_year": {"min": 2}}, template("Root tpl"))
    sub_root = layer({"meetings.virtual_per_year": {"min": 3}}, DISTRICT)
    own = layer({"meetings.virtual_per_year": {"min": 4}}, template("Own"))
    layers = path_layers([net], [([t_root], sub_root), ([], None)], [own])
    assert layers == [net, t_root, sub_root, own]


def test_sources_have_readable_labels_and_json() -> None:
    nid = uuid.uuid4()
    assert Source.network(nid, "ALAS").label() == "network 'ALAS'"
    assert Source.guest_network(nid, "Kent").label() == "guest network 'Kent'"
    assert template("Pilot", 2, "warn").label() == "warn-mode template 'Pilot' v2"
    assert Source.network(nid, "ALAS").to_dict() == {"kind": "network", "id": str(nid), "name": "ALAS"}
    assert Source.space(nid, "X").kind is SourceKind.SPACE
    assert template("Pilot", 2, "audit").to_dict()["mode"] == "audit"


def test_intersecting_different_kinds_is_a_programming_error() -> None:
    a = layer({"meetings.virtual_per_year": {"min": 1}}).constraints["meetings.virtual_per_year"]
    b = layer({"membership.join_mode": {"allowed": ["open"]}}).constraints["membership.join_mode"]
    with pytest.raises(TypeError):
        a.intersect(b)
    with pytest.raises(TypeError):
        b.intersect(a)
