"""Property-based tests of the policy algebra (hypothesis).

* intersection only tightens, and exactly: a value satisfies a ⊓ b iff it satisfies a and b;
* intersection is commutative, associative and idempotent on the resulting bounds;
* along any tree, a value valid for a space is valid for every ancestor;
* the memoised resolver agrees with intersecting the path directly;
* warn/audit layers never change what is enforced.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from federation.policy import (
    CATALOGUE,
    ChoiceConstraint,
    ConstraintSet,
    EffectivePolicy,
    FlagConstraint,
    Mode,
    PolicyLayer,
    PolicyResolver,
    RangeConstraint,
    SetConstraint,
    SettingValue,
    Source,
    SpacePolicyInput,
    check_containment,
    effective_policy,
    governing_value,
    parse_constraints,
    validate_settings,
)
from tests.federation.builders import ancestor, sid, template

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

COMPONENTS = ["quote", "story", "reflection", "music"]
SOURCES = [template("A"), template("B", 2), ancestor("C"), ancestor("D")]
PARAMS = [
    "meetings.virtual_per_year",
    "membership.max_members",
    "chat.retention_days",
    "membership.join_mode",
    "facilitators.training_required",
    "sessions.required_components",
]


@st.composite
def int_range(draw: st.DrawFn, lo: int, hi: int, only_max: bool = False) -> dict[str, int]:
    a = draw(st.integers(lo, hi))
    if only_max:
        return {"max": a}
    shape = draw(st.sampled_from(["min", "max", "both"]))
    if shape == "min":
        return {"min": a}
    if shape == "max":
        return {"max": a}
    b = draw(st.integers(a, hi))
    return {"min": a, "max": b}


SPECS: dict[str, st.SearchStrategy[Any]] = {
    "meetings.virtual_per_year": int_range(0, 8),
    "membership.max_members": int_range(1, 8),
    "chat.retention_days": int_range(1, 8, only_max=True),
    "membership.join_mode": st.lists(
        st.sampled_from(CATALOGUE["membership.join_mode"].choices), min_size=1, unique=True
    ).map(lambda xs: {"allowed": xs}),
    "facilitators.training_required": st.booleans().map(lambda b: {"locked": True, "value": b}),
    "sessions.required_components": st.lists(st.sampled_from(COMPONENTS), unique=True).map(lambda xs: {"required": xs}),
}

VALUES: dict[str, st.SearchStrategy[Any]] = {
    "meetings.virtual_per_year": st.integers(0, 10),
    "membership.max_members": st.none() | st.integers(1, 10),
    "chat.retention_days": st.none() | st.integers(1, 10),
    "membership.join_mode": st.sampled_from(CATALOGUE["membership.join_mode"].choices),
    "facilitators.training_required": st.booleans(),
    "sessions.required_components": st.frozensets(st.sampled_from(COMPONENTS)),
}


@st.composite
def raw_constraints(draw: st.DrawFn) -> dict[str, object]:
    names = draw(st.lists(st.sampled_from(PARAMS), unique=True))
    return {name: draw(SPECS[name]) for name in names}


@st.composite
def layers(draw: st.DrawFn, modes: tuple[Mode, ...] = (Mode.ENFORCE,)) -> PolicyLayer:
    base = draw(st.sampled_from(SOURCES))
    mode = draw(st.sampled_from(modes))
    source = Source(base.kind, base.id, base.name, base.version, mode)
    return parse_constraints(draw(raw_constraints()), source)


constraint_sets = layers().map(lambda layer: layer.constraints)
value_maps = st.fixed_dictionaries({name: VALUES[name] for name in PARAMS})


def admits(cs: ConstraintSet, values: dict[str, SettingValue]) -> bool:
    """True when every constrained parameter's value satisfies its constraint."""
    return all(not c.check(values[name]) and c.conflict() is None for name, c in cs.items())


@FAST
@given(constraint_sets, constraint_sets, value_maps)
def test_intersection_only_tightens_and_exactly(
    a: ConstraintSet, b: ConstraintSet, values: dict[str, SettingValue]
) -> None:
    both = a.intersect(b)
    assert admits(both, values) == (admits(a, values) and admits(b, values))


@FAST
@given(constraint_sets, constraint_sets)
def test_intersection_bounds_never_loosen(a: ConstraintSet, b: ConstraintSet) -> None:
    both = a.intersect(b)
    assert set(both) == set(a) | set(b)
    for side in (a, b):
        for name, mine in side.items():
            merged = both[name]
            assert merged.intersect(mine).key() == merged.key()  # absorbing: already at least as tight
            if isinstance(mine, RangeConstraint):
                assert isinstance(merged, RangeConstraint)
                assert mine.min is None or (merged.min is not None and merged.min >= mine.min)
                assert mine.max is None or (merged.max is not None and merged.max <= mine.max)
            elif isinstance(mine, ChoiceConstraint):
                assert isinstance(merged, ChoiceConstraint) and merged.allowed <= mine.allowed
            elif isinstance(mine, SetConstraint):
                assert isinstance(merged, SetConstraint) and merged.required >= mine.required
            else:
                assert isinstance(merged, FlagConstraint)
                assert {lock.value for lock in merged.locks} >= {lock.value for lock in mine.locks}


@FAST
@given(constraint_sets, constraint_sets)
def test_intersection_is_commutative(a: ConstraintSet, b: ConstraintSet) -> None:
    assert a.intersect(b).key() == b.intersect(a).key()


@FAST
@given(constraint_sets, constraint_sets, constraint_sets)
def test_intersection_is_associative(a: ConstraintSet, b: ConstraintSet, c: ConstraintSet) -> None:
    assert a.intersect(b).intersect(c).key() == a.intersect(b.intersect(c)).key()


@FAST
@given(constraint_sets)
def test_intersection_is_idempotent(a: ConstraintSet) -> None:
    assert a.intersect(a).key() == a.key()
    assert a.intersect(a) is a


@FAST
@given(raw_constraints())
def test_input_form_round_trips(raw: dict[str, object]) -> None:
    parsed = parse_constraints(raw, SOURCES[0]).constraints
    assert parse_constraints(parsed.raw(), SOURCES[0]).constraints.key() == parsed.key()


@st.composite
def trees(draw: st.DrawFn) -> tuple[list[PolicyLayer], list[SpacePolicyInput]]:
    """A random forest of up to 12 spaces, each with 0-2 templates and optional sub-space constraints."""
    n = draw(st.integers(1, 12))
    spaces: list[SpacePolicyInput] = []
    for i in range(n):
        parent = draw(st.none() | st.integers(0, i - 1)) if i else None
        templates = tuple(draw(st.lists(layers(), max_size=2)))
        sub = draw(st.none() | layers())
        spaces.append(SpacePolicyInput(sid(f"s{i}"), None if parent is None else sid(f"s{parent}"), templates, sub))
    network = draw(st.lists(layers(), max_size=2))
    return network, spaces


def _path(spaces: dict[Any, SpacePolicyInput], space_id: Any) -> list[SpacePolicyInput]:
    out = [spaces[space_id]]
    while out[-1].parent_id is not None:
        out.append(spaces[out[-1].parent_id])
    out.reverse()
    return out


@FAST
@given(trees(), value_maps)
def test_a_value_valid_for_a_space_is_valid_for_every_ancestor(
    tree: tuple[list[PolicyLayer], list[SpacePolicyInput]], values: dict[str, SettingValue]
) -> None:
    network, spaces = tree
    resolver = PolicyResolver(network, spaces)
    by_id = {s.space_id: s for s in spaces}
    for space in spaces:
        policy = resolver.policy(space.space_id)
        # a random value map, and the space's own governing values (valid unless the policy conflicts)
        clamped = {name: governing_value(policy, values, name) for name in PARAMS}
        for candidate in (values, clamped):
            if not validate_settings(candidate, policy).ok or policy.conflicts():
                continue
            for up in _path(by_id, space.space_id)[:-1]:
                assert validate_settings(candidate, resolver.policy(up.space_id)).ok
                assert validate_settings(candidate, resolver.subspace_policy(up.space_id)).ok
            assert validate_settings(candidate, resolver.network_policy).ok


@FAST
@given(trees())
def test_resolver_agrees_with_intersecting_the_path(tree: tuple[list[PolicyLayer], list[SpacePolicyInput]]) -> None:
    network, spaces = tree
    resolver = PolicyResolver(network, spaces)
    by_id = {s.space_id: s for s in spaces}
    for space in reversed(spaces):  # children first, so memoisation starts from the leaves
        path = _path(by_id, space.space_id)
        flat: list[PolicyLayer] = list(network)
        for up in path[:-1]:
            flat.extend(up.templates)
            if up.subspace_constraints is not None:
                flat.append(up.subspace_constraints)
        flat.extend(space.templates)
        direct: EffectivePolicy = effective_policy(flat)
        assert resolver.policy(space.space_id).enforced.key() == direct.enforced.key()


@FAST
@given(st.lists(layers((Mode.ENFORCE, Mode.WARN, Mode.AUDIT)), max_size=6), value_maps)
def test_warn_and_audit_layers_never_change_what_is_enforced(
    all_layers: list[PolicyLayer], values: dict[str, SettingValue]
) -> None:
    policy = effective_policy(all_layers)
    enforced_only = effective_policy([x for x in all_layers if x.mode is Mode.ENFORCE])
    assert policy.enforced.key() == enforced_only.enforced.key()
    # every blocking finding comes from an enforce-mode source; warnings from warn-mode ones
    result = validate_settings(values, policy)
    assert all(v.source.mode is Mode.ENFORCE for v in result.violations)
    assert all(v.source.mode is not Mode.AUDIT for v in result.warnings)
    assert validate_settings(values, enforced_only).ok == result.ok


@FAST
@given(st.lists(layers(), min_size=1, max_size=5), st.randoms(use_true_random=False), value_maps)
def test_validity_does_not_depend_on_layer_order(
    all_layers: list[PolicyLayer], rnd: Any, values: dict[str, SettingValue]
) -> None:
    shuffled = list(all_layers)
    rnd.shuffle(shuffled)
    a = validate_settings(values, effective_policy(all_layers))
    b = validate_settings(values, effective_policy(shuffled))
    assert a.ok == b.ok
    # which source is named (and so how set members are grouped) may differ on ties; what is
    # broken may not
    assert {(v.parameter, v.bound) for v in a.violations} == {(v.parameter, v.bound) for v in b.violations}


@FAST
@given(layers(), layers())
def test_contained_subspace_constraints_never_empty_a_parameter(own: PolicyLayer, proposed: PolicyLayer) -> None:
    policy = effective_policy([own])
    result = check_containment(proposed, policy)
    narrowed = policy.narrow(proposed)
    new_conflicts = {c.parameter for c in narrowed.conflicts()} - {c.parameter for c in policy.conflicts()}
    if result.ok:
        assert not new_conflicts
    else:
        # every refusal names a bound of the space's own policy, with its source
        for v in result.violations:
            assert v.source == own.source and v.parameter in own.constraints
