"""Compliance of spaces for a program year: computed, never stored.

For each space: are its settings inside its effective policy, does it have its facilitators
(trained ones, if training is required), does its schedule for the program year hold enough
virtual and in-person meetings, and does every meeting's agenda include the required
components? Each finding is a ``violation`` (enforce-mode: non-compliant), a ``warning``
(warn-mode) or an ``audit`` note (audit-mode: recorded, status unaffected).

Requirements use *governing* values (the space's setting pulled inside its bounds), so a
space whose stored setting is below a tightened minimum is measured against the minimum.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from federation.policy import (
    CATALOGUE,
    ConstraintSet,
    EffectivePolicy,
    Mode,
    ParameterRegistry,
    PolicyResolver,
    SettingValue,
    Source,
    clamp_value,
    validate_settings,
)

DEFAULT_START_MONTH = 8  # August: the school year


class MeetingKind(StrEnum):
    """Where a meeting happens."""

    VIRTUAL = "virtual"
    IN_PERSON = "in_person"


@dataclass(frozen=True, slots=True)
class Meeting:
    """A scheduled (or held) meeting of a space; cancelled meetings are left out by the caller."""

    kind: MeetingKind
    on: date
    components: frozenset[str] = frozenset()
    id: uuid.UUID | None = None
    with_event: bool = False
    """Held with one of the network's events (a convening, a conference)."""


@dataclass(frozen=True, slots=True)
class ProgramYear:
    """A program year: ``start`` inclusive, ``end`` exclusive."""

    start: date
    end: date

    @property
    def label(self) -> str:
        """``2025-26`` (or ``2025`` for a calendar year)."""
        if self.start.month == 1:
            return str(self.start.year)
        return f"{self.start.year}-{self.end.year % 100:02d}"

    def contains(self, day: date) -> bool:
        """True when ``day`` falls in this program year."""
        return self.start <= day < self.end

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {"label": self.label, "start": self.start.isoformat(), "end": self.end.isoformat()}


def program_year(on: date, start_month: int = DEFAULT_START_MONTH) -> ProgramYear:
    """The program year containing ``on``, for years starting on the 1st of ``start_month``."""
    if not 1 <= start_month <= 12:
        raise ValueError(f"start_month must be 1-12, not {start_month}")
    year = on.year if on.month >= start_month else on.year - 1
    return ProgramYear(date(year, start_month, 1), date(year + 1, start_month, 1))


class Severity(StrEnum):
    """How much a finding counts."""

    VIOLATION = "violation"
    WARNING = "warning"
    AUDIT = "audit"


_SEVERITY = {Mode.ENFORCE: Severity.VIOLATION, Mode.WARN: Severity.WARNING, Mode.AUDIT: Severity.AUDIT}


class FindingCode(StrEnum):
    """What a compliance finding is about."""

    SETTINGS_INVALID = "settings_invalid"
    SETTINGS_OUT_OF_BOUNDS = "settings_out_of_bounds"
    POLICY_CONFLICT = "policy_conflict"
    TOO_FEW_FACILITATORS = "too_few_facilitators"
    TOO_FEW_TRAINED_FACILITATORS = "too_few_trained_facilitators"
    TOO_FEW_VIRTUAL_MEETINGS = "too_few_virtual_meetings"
    TOO_FEW_IN_PERSON_MEETINGS = "too_few_in_person_meetings"
    AGENDA_MISSING_COMPONENTS = "agenda_missing_components"
    CADENCE_GAP = "cadence_gap"
    TOO_FEW_EVENT_MEETINGS = "too_few_event_meetings"
    TOO_FEW_COMPENSATED_FACILITATORS = "too_few_compensated_facilitators"


@dataclass(frozen=True, slots=True)
class Finding:
    """One reason a space is not (fully) compliant."""

    code: FindingCode
    severity: Severity
    message: str
    parameter: str | None = None
    source: Source | None = None
    meeting_id: uuid.UUID | None = None

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        out: dict[str, object] = {"code": str(self.code), "severity": str(self.severity), "message": self.message}
        if self.parameter is not None:
            out["parameter"] = self.parameter
        if self.source is not None:
            out["source"] = self.source.to_dict()
        if self.meeting_id is not None:
            out["meeting_id"] = str(self.meeting_id)
        return out


class ComplianceStatus(StrEnum):
    """Overall status of a space."""

    COMPLIANT = "compliant"
    WARNING = "warning"  # only warn-mode findings
    NON_COMPLIANT = "non_compliant"


@dataclass(frozen=True, slots=True)
class ComplianceSubject:
    """The facts about one space a compliance check needs.

    ``meetings`` None means the space's meetings are not tracked (yet): meeting counts and
    agendas are not checked. ``deadline`` is set when an admin applied a template and marked
    the space non-compliant until then.
    """

    space_id: uuid.UUID
    name: str
    settings: Mapping[str, object]
    facilitators: int
    trained_facilitators: int = 0
    compensated_facilitators: int = 0
    """Active facilitators the network records as compensated (sensitive: see
    :func:`for_reader`)."""
    meetings: Sequence[Meeting] | None = None
    deadline: date | None = None


@dataclass(frozen=True, slots=True)
class SpaceCompliance:
    """A space's status with every finding; ``overdue`` when its deadline has passed."""

    space_id: uuid.UUID
    name: str
    status: ComplianceStatus
    findings: tuple[Finding, ...]
    deadline: date | None = None
    overdue: bool = False

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (one row of the compliance report)."""
        return {
            "space_id": str(self.space_id),
            "name": self.name,
            "status": str(self.status),
            "deadline": self.deadline.isoformat() if self.deadline else None,
            "overdue": self.overdue,
            "findings": [f.to_dict() for f in self.findings],
        }


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_CADENCE_MONTHS = {"monthly": 1, "quarterly": 3}


def cadence_periods(year: ProgramYear, cadence: str) -> list[tuple[date, date, str]]:
    """The periods a cadence asks for a meeting in: each calendar month of the program year
    (``monthly``) or each three-month quarter counted from its start (``quarterly``), as
    (start, end exclusive, label)."""
    step = _CADENCE_MONTHS[cadence]
    out: list[tuple[date, date, str]] = []
    start = year.start
    while start < year.end:
        months = start.month - 1 + step
        end = min(date(start.year + months // 12, months % 12 + 1, 1), year.end)
        last = end - timedelta(days=1)  # program years start on the 1st, so periods end on the 1st
        label = f"{_MONTHS[start.month - 1]} {start.year}"
        if step > 1:
            label += f" to {_MONTHS[last.month - 1]} {last.year}"
        out.append((start, end, label))
        start = end
    return out


def cadence_gaps(days: Iterable[date], year: ProgramYear, cadence: str) -> list[str]:
    """Labels of the cadence's periods in ``year`` with none of ``days`` (meeting days)."""
    have = sorted(d for d in days if year.start <= d < year.end)
    gaps: list[str] = []
    index = 0
    for start, end, label in cadence_periods(year, cadence):
        while index < len(have) and have[index] < start:
            index += 1
        if index >= len(have) or have[index] >= end:
            gaps.append(label)
    return gaps


def _governing(cs: ConstraintSet, values: Mapping[str, SettingValue], name: str, registry: ParameterRegistry) -> object:
    param = registry[name]
    value = values.get(name, param.default)
    c = cs.get(name)
    return value if c is None else clamp_value(c, value, param)


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def check_compliance(
    subject: ComplianceSubject,
    policy: EffectivePolicy,
    year: ProgramYear,
    *,
    today: date | None = None,
    registry: ParameterRegistry = CATALOGUE,
) -> SpaceCompliance:
    """Compliance of one space for ``year`` under ``policy`` (its effective policy)."""
    findings: list[Finding] = []
    result = validate_settings(subject.settings, policy, registry=registry)
    for p in result.problems:
        findings.append(Finding(_SETTINGS_INVALID, _VIOLATION, p.message, p.parameter))
    for severity, violations in ((_VIOLATION, result.violations), (_WARNING, result.warnings), (_AUDIT, result.audit)):
        for v in violations:
            findings.append(Finding(_OUT_OF_BOUNDS, severity, v.message, v.parameter, v.source))
    for conflict in policy.conflicts():
        findings.append(
            Finding(
                _POLICY_CONFLICT,
                _SEVERITY[conflict.mode],
                f"{conflict.parameter}: {conflict.message}",
                conflict.parameter,
                conflict.sources[0],
            )
        )

    values = result.values
    meetings = subject.meetings
    start, end = year.start, year.end
    in_year: list[Meeting] = [] if meetings is None else [m for m in meetings if start <= m.on < end]
    virtual = sum(1 for m in in_year if m.kind is _VIRTUAL)
    counts = {_VIRTUAL: virtual, _IN_PERSON: len(in_year) - virtual}
    # Stricter modes are checked first; a shortfall is reported once, in the strongest mode
    # that demands it. Keys: (code, index of the meeting or -1).
    reported: set[tuple[FindingCode, int]] = set()
    for mode, cs in policy.distinct_layers():
        severity = _SEVERITY[mode]
        new: list[tuple[FindingCode, int, str, str, uuid.UUID | None]] = []
        need = _count(_governing(cs, values, "facilitators.min_count", registry))
        if subject.facilitators < need:
            new.append(
                (
                    _FEW_FACILITATORS,
                    -1,
                    f"{subject.facilitators} facilitator(s); {need} required (facilitators.min_count)",
                    "facilitators.min_count",
                    None,
                )
            )
        if subject.trained_facilitators < need and (
            _governing(cs, values, "facilitators.training_required", registry) is True
        ):
            new.append(
                (
                    _FEW_TRAINED,
                    -1,
                    f"{subject.trained_facilitators} trained facilitator(s); {need} required "
                    "(facilitators.training_required)",
                    "facilitators.training_required",
                    None,
                )
            )
        if subject.compensated_facilitators < need and (
            _governing(cs, values, "facilitators.compensated", registry) is True
        ):
            new.append(
                (
                    _FEW_COMPENSATED,
                    -1,
                    f"{subject.compensated_facilitators} facilitator(s) recorded as compensated; {need} required "
                    "(facilitators.compensated)",
                    "facilitators.compensated",
                    None,
                )
            )
        if meetings is not None:
            for kind, name, code, words in _MEETING_COUNTS:
                need = _count(_governing(cs, values, name, registry))
                have = counts[kind]
                if have < need:
                    new.append(
                        (
                            code,
                            -1,
                            f"{have} {words} meeting(s) scheduled in {year.label}; {need} required ({name})",
                            name,
                            None,
                        )
                    )
            need = _count(_governing(cs, values, "meetings.with_event_per_year", registry))
            have = sum(1 for m in in_year if m.with_event)
            if have < need:
                new.append(
                    (
                        _FEW_EVENT_MEETINGS,
                        -1,
                        f"{have} meeting(s) held with a network event in {year.label}; {need} required "
                        "(meetings.with_event_per_year)",
                        "meetings.with_event_per_year",
                        None,
                    )
                )
            cadence = _governing(cs, values, "meetings.cadence", registry)
            if cadence in _CADENCE_MONTHS:
                gaps = cadence_gaps([m.on for m in in_year], year, str(cadence))
                if gaps:
                    new.append(
                        (
                            _CADENCE_GAP,
                            -1,
                            f"no meeting scheduled in {', '.join(gaps)}; a {cadence} cadence is required "
                            "(meetings.cadence)",
                            "meetings.cadence",
                            None,
                        )
                    )
            required = _governing(cs, values, "sessions.required_components", registry)
            if isinstance(required, frozenset) and required:
                for index, m in enumerate(in_year):
                    missing = required - m.components
                    if missing:
                        new.append(
                            (
                                _MISSING_COMPONENTS,
                                index,
                                f"the {_KIND_WORDS[m.kind]} meeting on {m.on.isoformat()} lacks "
                                f"{', '.join(sorted(missing))} (sessions.required_components)",
                                "sessions.required_components",
                                m.id,
                            )
                        )
        for code, index, message, parameter, meeting_id in new:
            key = (code, index)
            if key not in reported:
                reported.add(key)
                findings.append(Finding(code, severity, message, parameter, None, meeting_id))

    severities = {f.severity for f in findings}
    if _VIOLATION in severities:
        status = _NON_COMPLIANT
    elif _WARNING in severities:
        status = _WARNING_STATUS
    else:
        status = _COMPLIANT
    deadline = subject.deadline
    overdue = status is _NON_COMPLIANT and deadline is not None and today is not None and today > deadline
    return SpaceCompliance(subject.space_id, subject.name, status, tuple(findings), deadline, overdue)


# Enum members used per space, cached: Enum class attribute access is a descriptor call in
# Python 3.11, and a network report checks thousands of spaces.
_VIOLATION, _WARNING, _AUDIT = Severity.VIOLATION, Severity.WARNING, Severity.AUDIT
_VIRTUAL, _IN_PERSON = MeetingKind.VIRTUAL, MeetingKind.IN_PERSON
_KIND_WORDS = {_VIRTUAL: "virtual", _IN_PERSON: "in-person"}
_SETTINGS_INVALID = FindingCode.SETTINGS_INVALID
_OUT_OF_BOUNDS = FindingCode.SETTINGS_OUT_OF_BOUNDS
_POLICY_CONFLICT = FindingCode.POLICY_CONFLICT
_FEW_FACILITATORS = FindingCode.TOO_FEW_FACILITATORS
_FEW_TRAINED = FindingCode.TOO_FEW_TRAINED_FACILITATORS
_MISSING_COMPONENTS = FindingCode.AGENDA_MISSING_COMPONENTS
_CADENCE_GAP = FindingCode.CADENCE_GAP
_FEW_EVENT_MEETINGS = FindingCode.TOO_FEW_EVENT_MEETINGS
_FEW_COMPENSATED = FindingCode.TOO_FEW_COMPENSATED_FACILITATORS
_MEETING_COUNTS = (
    (_VIRTUAL, "meetings.virtual_per_year", FindingCode.TOO_FEW_VIRTUAL_MEETINGS, "virtual"),
    (_IN_PERSON, "meetings.in_person_per_year", FindingCode.TOO_FEW_IN_PERSON_MEETINGS, "in-person"),
)
_NON_COMPLIANT, _WARNING_STATUS, _COMPLIANT = (
    ComplianceStatus.NON_COMPLIANT,
    ComplianceStatus.WARNING,
    ComplianceStatus.COMPLIANT,
)


COMPENSATION_NOT_SHOWN = (
    "compensation of facilitators is not recorded as required (facilitators.compensated); ask the network's admins"
)
"""What a reader who may not see compensation (``federation.facilitation.can_view_compensation``)
learns of a compensation shortfall: that the requirement is not shown as met, never how many or
who are compensated."""


def for_reader(space: SpaceCompliance, *, sees_compensation: bool) -> SpaceCompliance:
    """``space`` as a reader sees it. Who is paid is for the network's admins only, so for anyone
    else a compensation finding keeps its code, severity and parameter (the status is unchanged:
    the space is non-compliant either way) but its message names no count; the message is
    all a finding carries about the facts."""
    if sees_compensation or not any(f.code is _FEW_COMPENSATED for f in space.findings):
        return space
    findings = tuple(
        Finding(f.code, f.severity, COMPENSATION_NOT_SHOWN, f.parameter, f.source, f.meeting_id)
        if f.code is _FEW_COMPENSATED
        else f
        for f in space.findings
    )
    return SpaceCompliance(space.space_id, space.name, space.status, findings, space.deadline, space.overdue)


@dataclass(frozen=True, slots=True)
class ComplianceReport:
    """A network's compliance for one program year."""

    year: ProgramYear
    spaces: tuple[SpaceCompliance, ...]

    def counts(self) -> dict[str, int]:
        """Spaces per status (every status present, zero included)."""
        counter = Counter(s.status for s in self.spaces)
        return {str(status): counter.get(status, 0) for status in ComplianceStatus}

    def for_reader(self, *, sees_compensation: bool) -> ComplianceReport:
        """The report as a reader may see it: see :func:`for_reader`."""
        if sees_compensation:
            return self
        return ComplianceReport(self.year, tuple(for_reader(s, sees_compensation=False) for s in self.spaces))

    def to_dict(self) -> dict[str, object]:
        """The ``GET /networks/{slug}/compliance`` body."""
        return {"year": self.year.to_dict(), "counts": self.counts(), "spaces": [s.to_dict() for s in self.spaces]}


def compliance_report(
    resolver: PolicyResolver,
    subjects: Iterable[ComplianceSubject],
    year: ProgramYear,
    *,
    today: date | None = None,
    registry: ParameterRegistry = CATALOGUE,
) -> ComplianceReport:
    """Compliance of every subject, each under its effective policy from ``resolver``."""
    return ComplianceReport(
        year,
        tuple(check_compliance(s, resolver.policy(s.space_id), year, today=today, registry=registry) for s in subjects),
    )
