"""Which value of a parameter actually governs a space.

A space's *effective value* is its explicit setting or the parameter's default. Its
*governing value* is that value pulled inside the space's enforced constraint. The engine
refuses writes that leave bounds, but a template tightened later can leave a stored setting
(or an untouched default) outside; rules that act on a value (how deep sub-spaces may nest,
how many facilitators a space needs, who may post) use the governing value, so a
non-compliant space is treated by the strictest reading until it is fixed.
"""

from __future__ import annotations

from collections.abc import Mapping

from federation.policy.constraints import ChoiceConstraint, Constraint, FlagConstraint, RangeConstraint
from federation.policy.effective import EffectivePolicy
from federation.policy.parameters import CATALOGUE, Parameter, ParameterRegistry, SettingValue
from federation.policy.sources import Mode

_MISSING = object()


def effective_value(settings: Mapping[str, object], name: str, registry: ParameterRegistry = CATALOGUE) -> SettingValue:
    """The explicit setting of ``name`` (normalised), or its default when unset or invalid."""
    param = registry[name]
    raw = settings.get(name, _MISSING)
    if raw is _MISSING:
        return param.default
    try:
        return param.normalise(raw)
    except ValueError:
        return param.default


def effective_settings(
    settings: Mapping[str, object], registry: ParameterRegistry = CATALOGUE
) -> dict[str, SettingValue]:
    """Every parameter's effective value (explicit setting or default)."""
    return {p.name: effective_value(settings, p.name, registry) for p in registry}


def governing_value(
    policy: EffectivePolicy,
    settings: Mapping[str, object],
    name: str,
    registry: ParameterRegistry = CATALOGUE,
    mode: Mode = Mode.ENFORCE,
) -> SettingValue:
    """The effective value of ``name`` pulled inside the policy's ``mode`` constraint.

    Integers are clamped into [min, max] (unlimited counts as above any max); a choice that is
    not allowed falls back to the most restrictive allowed choice; a locked flag takes its
    locked value; a set gains its required members.
    """
    value = effective_value(settings, name, registry)
    c = policy.layer(mode).get(name)
    if c is None:
        return value
    return clamp_value(c, value, registry[name])


def governing_settings(
    policy: EffectivePolicy, settings: Mapping[str, object], registry: ParameterRegistry = CATALOGUE
) -> dict[str, SettingValue]:
    """Every parameter's governing value: what actually applies to the space."""
    return {p.name: governing_value(policy, settings, p.name, registry) for p in registry}


def clamp_value(c: Constraint, value: SettingValue, param: Parameter) -> SettingValue:
    """``value`` (already normalised) pulled inside constraint ``c`` of ``param``; see
    :func:`governing_value`."""
    if isinstance(c, RangeConstraint):
        if c.min is not None and isinstance(value, int) and value < c.min:
            value = c.min
        if c.max is not None and (value is None or (isinstance(value, int) and value > c.max)):
            value = c.max
        return value
    if isinstance(c, ChoiceConstraint):
        if value in c.allowed:
            return value
        allowed = [x for x in param.choices if x in c.allowed]
        return allowed[-1] if allowed else param.choices[-1]
    if isinstance(c, FlagConstraint):
        return c.value
    have = value if isinstance(value, frozenset) else frozenset()
    return have | c.required
