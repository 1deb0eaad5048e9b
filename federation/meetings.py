"""Meetings of a space: who may schedule and see them, and what an agenda must hold. Pure.

A meeting's agenda is a list of component slugs. The governing value of
``sessions.required_components`` (the space's own setting plus every member its templates and
ancestors require) names the components every agenda must include; a missing one is reported
with the template or ancestor that requires it (or the space itself, for its own setting).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from zoneinfo import ZoneInfo

from federation.permissions import Actor, can_manage_network
from federation.policy import EffectivePolicy, SetConstraint, Source, Violation, ViolationCode, governing_value
from federation.schedule import place
from federation.space_permissions import SpaceActor, SpaceFacts, SpaceRole

REQUIRED_PARAM = "sessions.required_components"
MIN_DURATION, MAX_DURATION = 5, 1440
MAX_COMPONENTS = 20
COMPONENT_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
"""A component is a short slug: lower-case letters, digits, ``-`` or ``_``, at most 40 characters."""

_R = SpaceRole


def can_list_meetings(actor: SpaceActor, space: SpaceFacts) -> bool:
    """See a space's meetings: its members, guests and facilitators, operators and the home
    network's admins (who oversee schedules for compliance)."""
    del space
    return actor.has(_R.FACILITATOR, _R.MEMBER, _R.GUEST, _R.OPERATOR, _R.NETWORK_ADMIN)


def can_see_join_url(actor: SpaceActor, space: SpaceFacts) -> bool:
    """The link to join a virtual meeting: people in the room only (not admins from outside)."""
    del space
    return actor.has(_R.FACILITATOR, _R.MEMBER, _R.GUEST)


def can_schedule_meeting(actor: SpaceActor, space: SpaceFacts) -> bool:
    """Schedule, change or cancel a meeting: the space's facilitators, network admins, operators."""
    del space
    return actor.has(_R.FACILITATOR, _R.OPERATOR, _R.NETWORK_ADMIN)


def can_manage_events(actor: Actor, network_id: uuid.UUID) -> bool:
    """Create or cancel a network's events (a convening, a conference): its admins, operators."""
    return can_manage_network(actor, network_id)


def can_see_events(actor: Actor, network_id: uuid.UUID) -> bool:
    """A network's events (titles, dates, places): its members of any role, and operators."""
    return actor.is_operator or actor.role_in(network_id) is not None


def can_record_attendance(actor: SpaceActor, space: SpaceFacts) -> bool:
    """Record how many attended a meeting: the space's facilitators, network admins, operators."""
    return can_schedule_meeting(actor, space)


def can_check_in(actor: SpaceActor, space: SpaceFacts) -> bool:
    """Check oneself in to a meeting: the people in the room (facilitators, members, guests).
    Admins and operators oversee attendance but did not attend as members."""
    del space
    return actor.has(_R.FACILITATOR, _R.MEMBER, _R.GUEST)


def can_see_attendance(actor: SpaceActor, space: SpaceFacts) -> bool:
    """The attendance figures of a meeting (recorded count, number of self check-ins): whoever
    records attendance. Members see only whether they themselves checked in; nobody sees who."""
    return can_record_attendance(actor, space)


CHECK_IN_OPENS_BEFORE = dt.timedelta(minutes=15)
"""Self check-in opens this long before a meeting starts."""


class CheckInState(StrEnum):
    """Where ``now`` stands against a meeting's check-in window."""

    NOT_YET = "not_yet"
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class CheckInWindow:
    """When members may check themselves in: from :data:`CHECK_IN_OPENS_BEFORE` before the start
    until the end of the meeting's day in the network's zone (local midnight), or the meeting's
    end if that is later (a meeting that runs past midnight)."""

    opens: dt.datetime
    closes: dt.datetime

    def state(self, now: dt.datetime) -> CheckInState:
        """``now`` before the window, in it (opens <= now < closes), or after it."""
        if now < self.opens:
            return CheckInState.NOT_YET
        return CheckInState.OPEN if now < self.closes else CheckInState.CLOSED


def check_in_window(starts_at: dt.datetime, duration_minutes: int, network_zone: ZoneInfo) -> CheckInWindow:
    """The check-in window of a meeting starting at ``starts_at`` (aware) for ``duration_minutes``."""
    local = starts_at.astimezone(network_zone)
    next_day = local.date() + dt.timedelta(days=1)
    # Local midnight ending the day (a clock change at midnight is resolved as RFC 5545 says).
    midnight = place(dt.datetime(next_day.year, next_day.month, next_day.day), network_zone)
    ends = starts_at + dt.timedelta(minutes=duration_minutes)
    return CheckInWindow(starts_at - CHECK_IN_OPENS_BEFORE, max(midnight, ends))


def effective_attendance(recorded: int | None, checked_in: int) -> int:
    """A meeting's attendance figure: the facilitator's count when one was recorded (it may
    include people who did not check in), else the number of self check-ins."""
    return recorded if recorded is not None else checked_in


def bad_components(components: Iterable[str]) -> list[str]:
    """Components that are not short slugs."""
    return [c for c in components if not COMPONENT_PATTERN.fullmatch(c)]


def normalise_components(components: Iterable[str]) -> list[str]:
    """Trimmed, lower-cased, duplicates dropped, order kept."""
    return list(dict.fromkeys(c.strip().lower() for c in components if c.strip()))


@dataclass(frozen=True, slots=True)
class MissingComponent:
    """A required component an agenda lacks; ``source`` None: the space's own setting requires it."""

    component: str
    source: Source | None

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "component": self.component,
            "required_by": self.source.to_dict() if self.source else {"kind": "space_settings"},
        }

    def label(self) -> str:
        """Who requires it, in words."""
        return self.source.label() if self.source else "the space's own settings"


def required_components(policy: EffectivePolicy, settings: Mapping[str, object]) -> frozenset[str]:
    """The governing value of ``sessions.required_components`` (enforced bounds)."""
    value = governing_value(policy, settings, REQUIRED_PARAM)
    return value if isinstance(value, frozenset) else frozenset()


def missing_components(
    policy: EffectivePolicy, settings: Mapping[str, object], components: Iterable[str]
) -> list[MissingComponent]:
    """Required components absent from ``components``, each with who requires it (sorted)."""
    have = frozenset(components)
    constraint = policy.enforced.get(REQUIRED_PARAM)
    sources = constraint.required_by if isinstance(constraint, SetConstraint) else {}
    return [MissingComponent(c, sources.get(c)) for c in sorted(required_components(policy, settings) - have)]


def agenda_violations(
    policy: EffectivePolicy, settings: Mapping[str, object], components: Iterable[str], *, own: Source
) -> tuple[Violation, ...]:
    """The agenda's missing required components as policy violations, one per source that requires
    them (``own``, the space itself as ``Source.space(id, name)``, when its own setting does), for
    :func:`services.policies.violations.policy_violation` like every other policy refusal."""
    agenda = list(components)
    by_source: dict[Source | None, list[str]] = {}
    for m in missing_components(policy, settings, agenda):
        by_source.setdefault(m.source, []).append(m.component)
    out = []
    for source, lacking in by_source.items():
        label = source.label() if source else "the space's own settings"
        out.append(
            Violation(
                REQUIRED_PARAM,
                agenda,
                "required",
                lacking,
                source or own,
                f"the agenda lacks {', '.join(lacking)} (required by {label})",
                code=ViolationCode.MISSING_COMPONENTS,
            )
        )
    return tuple(out)
