"""Dry run of a new template version and the memoised resolver over a tree."""

from __future__ import annotations

import pytest

from federation.policy import (
    DryRunSubject,
    Mode,
    PolicyLayer,
    PolicyResolver,
    RangeConstraint,
    SpacePolicyInput,
    ViolationCode,
    applies_to,
    dry_run,
    effective_policy,
    path_layers,
    replace_template,
)
from tests.federation.builders import ancestor, layer, sid, template

V1 = template("ALAS baseline", 1)
V2 = template("ALAS baseline", 2)
OTHER = template("Kent rules", 1)


def subject(
    name: str, settings: dict[str, object], *extra: PolicyLayer, sub: dict[str, object] | None = None
) -> DryRunSubject:
    layers = [layer({"meetings.virtual_per_year": {"min": 2}}, V1), *extra]
    return DryRunSubject(
        sid(name),
        name,
        settings,
        layers,
        layer(sub, ancestor(name)) if sub is not None else None,
    )


def test_lists_exactly_the_spaces_the_new_version_breaks() -> None:
    new = layer({"meetings.virtual_per_year": {"min": 3}}, V2)
    report = dry_run(
        new,
        [
            subject("fine", {"meetings.virtual_per_year": 4}),
            subject("two", {"meetings.virtual_per_year": 2}),
            subject("default", {}),
        ],
    )
    assert report.checked == 3
    # "default" never chose a value: the new minimum governs it (it now plans 3), it is not broken.
    assert [e.name for e in report.spaces] == ["two"]
    assert [e.name for e in report.blocking] == ["two"]
    (v,) = report.spaces[0].violations
    assert (v.parameter, v.value, v.bound, v.limit, v.source) == ("meetings.virtual_per_year", 2, "min", 3, V2)
    body = report.to_dict()
    assert body["out_of_bounds"] == 1 and body["template"] == V2.to_dict()


def test_the_old_version_is_replaced_not_added() -> None:
    # v1 required at least 2; v2 loosens to at least 1: nothing breaks any more
    new = layer({"meetings.virtual_per_year": {"min": 1}}, V2)
    report = dry_run(new, [subject("one", {"meetings.virtual_per_year": 1})])
    assert report.spaces == ()


def test_a_newly_attached_template_is_added() -> None:
    new = layer({"chat.posting": {"allowed": ["facilitators"]}}, OTHER)
    report = dry_run(new, [subject("chatty", {"meetings.virtual_per_year": 2, "chat.posting": "members"})])
    (entry,) = report.spaces
    assert entry.violations[0].source == OTHER


def test_conflicts_with_other_layers_are_reported() -> None:
    other = layer({"meetings.virtual_per_year": {"max": 2}}, OTHER)
    new = layer({"meetings.virtual_per_year": {"min": 3}}, V2)
    (entry,) = dry_run(new, [subject("capped", {"meetings.virtual_per_year": 2}, other)]).spaces
    assert entry.blocking
    (conflict,) = entry.conflicts
    assert set(conflict.sources) == {V2, OTHER}


def test_warn_mode_versions_only_warn() -> None:
    new = layer({"meetings.virtual_per_year": {"min": 3}}, template("ALAS baseline", 2, Mode.WARN))
    (entry,) = dry_run(new, [subject("two", {"meetings.virtual_per_year": 2})]).spaces
    assert not entry.blocking and entry.violations == () and len(entry.warnings) == 1
    assert dry_run(new, [subject("two", {"meetings.virtual_per_year": 2})]).blocking == ()


def test_subspace_constraints_that_would_loosen_are_reported() -> None:
    new = layer({"meetings.virtual_per_year": {"min": 3}}, V2)
    (entry,) = dry_run(
        new, [subject("parent", {"meetings.virtual_per_year": 4}, sub={"meetings.virtual_per_year": {"min": 2}})]
    ).spaces
    (v,) = entry.violations
    assert v.code is ViolationCode.LOOSENS and v.source == V2


def test_replace_template_keeps_positions() -> None:
    a = layer({}, OTHER)
    old = layer({}, V1)
    new = layer({}, V2)
    assert replace_template([a, old, a], new) == [a, new, a]
    assert replace_template([a], new) == [a, new]


def _tree() -> tuple[PolicyResolver, dict[str, PolicyLayer]]:
    net = layer({"meetings.virtual_per_year": {"min": 1, "max": 10}}, template("Net"))
    root_t = layer({"meetings.virtual_per_year": {"min": 2}}, template("Root"))
    root_sub = layer({"meetings.virtual_per_year": {"max": 8}}, ancestor("root"))
    mid_sub = layer({"meetings.virtual_per_year": {"min": 3}}, ancestor("mid"))
    leaf_t = layer({"meetings.virtual_per_year": {"max": 6}}, template("Leaf"))
    spaces = [
        SpacePolicyInput(sid("root"), None, (root_t,), root_sub),
        SpacePolicyInput(sid("mid"), sid("root"), (), mid_sub),
        SpacePolicyInput(sid("leaf"), sid("mid"), (leaf_t,), None),
        SpacePolicyInput(sid("other-root"), None),
    ]
    return PolicyResolver([net], spaces), {
        "net": net,
        "root_t": root_t,
        "root_sub": root_sub,
        "mid_sub": mid_sub,
        "leaf_t": leaf_t,
    }


def test_resolver_matches_intersection_along_the_path() -> None:
    resolver, ls = _tree()
    leaf = resolver.policy(sid("leaf"))
    direct = effective_policy(
        path_layers(
            [ls["net"]],
            [((ls["root_t"],), ls["root_sub"]), ((), ls["mid_sub"])],
            [ls["leaf_t"]],
        )
    )
    assert leaf.enforced.key() == direct.enforced.key()
    c = leaf.enforced["meetings.virtual_per_year"]
    assert c == RangeConstraint(3, ancestor("mid"), 6, template("Leaf"))
    # a space's own sub-space constraints do not apply to itself
    root = resolver.policy(sid("root")).enforced["meetings.virtual_per_year"]
    assert isinstance(root, RangeConstraint) and (root.min, root.max) == (2, 10)
    sub = resolver.subspace_policy(sid("root")).enforced["meetings.virtual_per_year"]
    assert isinstance(sub, RangeConstraint) and (sub.min, sub.max) == (2, 8)
    other = resolver.policy(sid("other-root")).enforced["meetings.virtual_per_year"]
    assert isinstance(other, RangeConstraint) and (other.min, other.max) == (1, 10)
    assert resolver.policy(sid("leaf")) is leaf  # memoised
    net_bound = ls["net"].constraints["meetings.virtual_per_year"]
    assert resolver.network_policy.enforced["meetings.virtual_per_year"] == net_bound


def test_resolver_reports_unknown_spaces_and_cycles() -> None:
    resolver, _ = _tree()
    with pytest.raises(KeyError):
        resolver.policy(sid("nowhere"))
    looped = PolicyResolver([], [SpacePolicyInput(sid("a"), sid("b")), SpacePolicyInput(sid("b"), sid("a"))])
    with pytest.raises(ValueError, match="cycle"):
        looped.policy(sid("a"))


def test_findings_of_other_sources_are_not_the_change_s_doing() -> None:
    # Already below another template's minimum: v2 changes nothing about that.
    other = layer({"meetings.in_person_per_year": {"min": 2}}, OTHER)
    new = layer({"meetings.virtual_per_year": {"min": 2}}, V2)
    report = dry_run(
        new, [subject("behind", {"meetings.virtual_per_year": 2, "meetings.in_person_per_year": 1}, other)]
    )
    assert report.spaces == ()


def test_a_facilitator_minimum_the_new_version_raises_is_reported() -> None:
    new = layer({"meetings.virtual_per_year": {"min": 2}, "facilitators.min_count": {"min": 3}}, V2)
    base = subject("two-facilitators", {"meetings.virtual_per_year": 2})
    counted = DryRunSubject(base.space_id, base.name, base.settings, base.layers, facilitators=2)
    (entry,) = dry_run(new, [counted]).spaces
    (v,) = entry.violations
    assert (v.parameter, v.value, v.bound, v.limit, v.source) == ("facilitators.min_count", 2, "min", 3, V2)
    assert "needs 3" in v.message and "ALAS baseline" in v.message
    # Enough facilitators, or not counted: nothing to report.
    enough = DryRunSubject(base.space_id, base.name, base.settings, base.layers, facilitators=3)
    assert dry_run(new, [enough]).spaces == () and dry_run(new, [base]).spaces == ()
    # In warn mode the same shortfall only warns.
    warn = layer({"facilitators.min_count": {"min": 3}}, template("ALAS baseline", 2, Mode.WARN))
    (entry,) = dry_run(warn, [counted]).spaces
    assert entry.violations == () and not entry.blocking
    assert any(w.value == 2 and w.limit == 3 for w in entry.warnings)  # the count (the default 1 warns too)


def test_a_shortfall_the_space_s_own_setting_causes_is_not_blamed_on_the_template() -> None:
    # The space asks for 4 facilitators and has 2; v2's minimum of 3 is not what it falls short of.
    new = layer({"meetings.virtual_per_year": {"min": 2}, "facilitators.min_count": {"min": 3}}, V2)
    s = subject("strict", {"meetings.virtual_per_year": 2, "facilitators.min_count": 4})
    counted = DryRunSubject(s.space_id, s.name, s.settings, s.layers, facilitators=2)
    assert dry_run(new, [counted]).spaces == ()


def test_a_resolver_gives_the_same_report_as_the_layers() -> None:
    net = layer({"meetings.virtual_per_year": {"min": 1}}, template("Net"))
    new = layer({"meetings.virtual_per_year": {"min": 3}}, V2)
    parent_sub = layer({"meetings.virtual_per_year": {"max": 8}}, ancestor("parent"))
    resolver = PolicyResolver(
        [net],
        [
            SpacePolicyInput(sid("parent"), None, (new,), parent_sub),
            SpacePolicyInput(sid("child"), sid("parent"), ()),
        ],
    )
    settings = {"meetings.virtual_per_year": 2}
    by_resolver = dry_run(
        new,
        [DryRunSubject(sid("parent"), "parent", settings), DryRunSubject(sid("child"), "child", settings)],
        resolver=resolver,
    )
    by_layers = dry_run(
        new,
        [
            DryRunSubject(sid("parent"), "parent", settings, [net, layer({}, V1)]),
            DryRunSubject(sid("child"), "child", settings, [net, layer({}, V1), parent_sub]),
        ],
    )
    assert [e.to_dict() for e in by_resolver.spaces] == [e.to_dict() for e in by_layers.spaces]
    assert [e.name for e in by_resolver.blocking] == ["parent", "child"]


def test_applies_to_the_targets_and_everything_beneath() -> None:
    root, mid, leaf, other = sid("root"), sid("mid"), sid("leaf"), sid("other")
    assert applies_to({mid}, mid, [root]) and applies_to({mid}, leaf, [root, mid])
    assert not applies_to({mid}, root, []) and not applies_to({mid}, other, [])
    assert applies_to({None}, other, []) and not applies_to(set(), root, [])
