"""Compliance of a space for a program year."""

from __future__ import annotations

from datetime import date

import pytest

from federation.compliance import (
    COMPENSATION_NOT_SHOWN,
    ComplianceReport,
    ComplianceStatus,
    ComplianceSubject,
    FindingCode,
    Meeting,
    MeetingKind,
    Severity,
    check_compliance,
    compliance_report,
    for_reader,
    program_year,
)
from federation.policy import UNCONSTRAINED, Mode, PolicyResolver, SpacePolicyInput, effective_policy
from tests.federation.builders import layer, sid, template

ALAS = effective_policy(
    [
        layer(
            {
                "meetings.virtual_per_year": {"min": 3},
                "meetings.in_person_per_year": {"min": 1},
                "facilitators.min_count": {"min": 2},
                "facilitators.training_required": {"locked": True, "value": True},
                "sessions.required_components": {"required": ["quote", "story", "reflection"]},
            },
            template("ALAS baseline"),
        )
    ]
)
SETTINGS = {
    "meetings.virtual_per_year": 3,
    "meetings.in_person_per_year": 1,
    "facilitators.min_count": 2,
    "facilitators.training_required": True,
    "sessions.required_components": ["quote", "story", "reflection"],
}
FULL = frozenset({"quote", "story", "reflection"})
YEAR = program_year(date(2025, 10, 1))


def meetings(virtual: int, in_person: int, components: frozenset[str] = FULL) -> list[Meeting]:
    out = [Meeting(MeetingKind.VIRTUAL, date(2025, 9, 1 + i), components, sid(f"v{i}")) for i in range(virtual)]
    out += [Meeting(MeetingKind.IN_PERSON, date(2026, 3, 1 + i), components, sid(f"p{i}")) for i in range(in_person)]
    return out


def subject(**kw: object) -> ComplianceSubject:
    base: dict[str, object] = {
        "space_id": sid("latinas"),
        "name": "Latinas Lead",
        "settings": SETTINGS,
        "facilitators": 2,
        "trained_facilitators": 2,
        "meetings": meetings(3, 1),
    }
    base.update(kw)
    return ComplianceSubject(**base)  # type: ignore[arg-type]


def codes(result: object) -> list[FindingCode]:
    return [f.code for f in result.findings]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("day", "start_month", "start", "end", "label"),
    [
        (date(2025, 10, 1), 8, date(2025, 8, 1), date(2026, 8, 1), "2025-26"),
        (date(2026, 7, 31), 8, date(2025, 8, 1), date(2026, 8, 1), "2025-26"),
        (date(2026, 8, 1), 8, date(2026, 8, 1), date(2027, 8, 1), "2026-27"),
        (date(2026, 2, 1), 1, date(2026, 1, 1), date(2027, 1, 1), "2026"),
        (date(2099, 12, 31), 9, date(2099, 9, 1), date(2100, 9, 1), "2099-00"),
    ],
)
def test_program_year(day: date, start_month: int, start: date, end: date, label: str) -> None:
    year = program_year(day, start_month)
    assert (year.start, year.end, year.label) == (start, end, label)
    assert year.contains(day) and not year.contains(end)
    assert year.to_dict() == {"label": label, "start": start.isoformat(), "end": end.isoformat()}


def test_program_year_rejects_bad_months() -> None:
    with pytest.raises(ValueError, match="1-12"):
        program_year(date(2025, 1, 1), 13)


def test_a_space_meeting_everything_is_compliant() -> None:
    result = check_compliance(subject(), ALAS, YEAR)
    assert result.status is ComplianceStatus.COMPLIANT and result.findings == ()
    assert result.to_dict()["status"] == "compliant"


def test_too_few_facilitators_and_trained_facilitators() -> None:
    result = check_compliance(subject(facilitators=1, trained_facilitators=1), ALAS, YEAR)
    assert result.status is ComplianceStatus.NON_COMPLIANT
    assert codes(result) == [FindingCode.TOO_FEW_FACILITATORS, FindingCode.TOO_FEW_TRAINED_FACILITATORS]
    trained_only = check_compliance(subject(trained_facilitators=1), ALAS, YEAR)
    assert codes(trained_only) == [FindingCode.TOO_FEW_TRAINED_FACILITATORS]
    # the space's own setting requires training even when no template does
    own = check_compliance(subject(trained_facilitators=0), UNCONSTRAINED, YEAR)
    assert codes(own) == [FindingCode.TOO_FEW_TRAINED_FACILITATORS]
    # no training requirement at all: untrained facilitators are fine
    relaxed = subject(trained_facilitators=0, settings={**SETTINGS, "facilitators.training_required": False})
    assert check_compliance(relaxed, UNCONSTRAINED, YEAR).status is ComplianceStatus.COMPLIANT


def test_settings_out_of_bounds_and_invalid() -> None:
    result = check_compliance(subject(settings={**SETTINGS, "meetings.virtual_per_year": 2, "bogus": 1}), ALAS, YEAR)
    assert FindingCode.SETTINGS_OUT_OF_BOUNDS in codes(result) and FindingCode.SETTINGS_INVALID in codes(result)
    oob = next(f for f in result.findings if f.code is FindingCode.SETTINGS_OUT_OF_BOUNDS)
    assert oob.parameter == "meetings.virtual_per_year" and oob.source == template("ALAS baseline")


def test_meeting_counts_use_the_governing_value_and_only_this_year() -> None:
    last_year = Meeting(MeetingKind.VIRTUAL, date(2025, 7, 31), FULL)
    result = check_compliance(subject(meetings=[*meetings(2, 0), last_year]), ALAS, YEAR)
    assert codes(result) == [FindingCode.TOO_FEW_VIRTUAL_MEETINGS, FindingCode.TOO_FEW_IN_PERSON_MEETINGS]
    assert "2 virtual meeting(s) scheduled in 2025-26; 3 required" in result.findings[0].message
    # a space that set a higher target than the minimum is held to its own target
    ambitious = check_compliance(subject(settings={**SETTINGS, "meetings.virtual_per_year": 5}), ALAS, YEAR)
    assert codes(ambitious) == [FindingCode.TOO_FEW_VIRTUAL_MEETINGS]
    # a setting below a tightened minimum is measured against the minimum (and reported)
    low = check_compliance(
        subject(settings={**SETTINGS, "meetings.virtual_per_year": 1}, meetings=meetings(1, 1)), ALAS, YEAR
    )
    assert codes(low) == [FindingCode.SETTINGS_OUT_OF_BOUNDS, FindingCode.TOO_FEW_VIRTUAL_MEETINGS]


def test_meetings_not_tracked_are_not_checked() -> None:
    assert check_compliance(subject(meetings=None), ALAS, YEAR).status is ComplianceStatus.COMPLIANT


def test_agendas_must_include_required_components() -> None:
    ms = meetings(3, 1)
    ms[1] = Meeting(MeetingKind.VIRTUAL, date(2025, 9, 20), frozenset({"quote"}), sid("short"))
    result = check_compliance(subject(meetings=ms), ALAS, YEAR)
    (finding,) = result.findings
    assert finding.code is FindingCode.AGENDA_MISSING_COMPONENTS and finding.meeting_id == sid("short")
    assert "lacks reflection, story" in finding.message
    assert finding.to_dict()["meeting_id"] == str(sid("short"))


def test_warn_mode_findings_give_warning_status_and_audit_findings_do_not_count() -> None:
    warn = ALAS.narrow(layer({"meetings.virtual_per_year": {"min": 4}}, template("Pilot", 1, Mode.WARN)))
    result = check_compliance(subject(), warn, YEAR)
    assert result.status is ComplianceStatus.WARNING
    assert {f.severity for f in result.findings} == {Severity.WARNING}
    assert FindingCode.TOO_FEW_VIRTUAL_MEETINGS in codes(result)
    audit = ALAS.narrow(layer({"facilitators.min_count": {"min": 3}}, template("Watch", 1, Mode.AUDIT)))
    result = check_compliance(subject(), audit, YEAR)
    assert result.status is ComplianceStatus.COMPLIANT
    assert {f.severity for f in result.findings} == {Severity.AUDIT}


def test_a_shortfall_is_reported_once_in_its_strongest_mode() -> None:
    warn = ALAS.narrow(layer({"meetings.virtual_per_year": {"min": 4}}, template("Pilot", 1, Mode.WARN)))
    result = check_compliance(subject(meetings=meetings(1, 1)), warn, YEAR)
    virtual = [f for f in result.findings if f.code is FindingCode.TOO_FEW_VIRTUAL_MEETINGS]
    assert [f.severity for f in virtual] == [Severity.VIOLATION]


def test_policy_conflicts_make_a_space_non_compliant() -> None:
    policy = ALAS.narrow(layer({"meetings.virtual_per_year": {"max": 2}}, template("Other")))
    result = check_compliance(subject(), policy, YEAR)
    assert FindingCode.POLICY_CONFLICT in codes(result)
    assert result.status is ComplianceStatus.NON_COMPLIANT


def test_deadline_and_overdue() -> None:
    late = subject(facilitators=1, deadline=date(2025, 11, 1))
    assert check_compliance(late, ALAS, YEAR, today=date(2025, 10, 1)).overdue is False
    result = check_compliance(late, ALAS, YEAR, today=date(2025, 11, 2))
    assert result.overdue and result.to_dict()["deadline"] == "2025-11-01"
    assert check_compliance(subject(deadline=date(2025, 11, 1)), ALAS, YEAR, today=date(2026, 1, 1)).overdue is False


def test_report_over_a_network_uses_each_spaces_policy() -> None:
    net = layer({"facilitators.min_count": {"min": 1}}, template("Net"))
    root_sub = layer({"facilitators.min_count": {"min": 2}}, template("Root rules"))
    resolver = PolicyResolver(
        [net], [SpacePolicyInput(sid("root"), None, (), root_sub), SpacePolicyInput(sid("child"), sid("root"))]
    )
    report = compliance_report(
        resolver,
        [
            ComplianceSubject(sid("root"), "Root", {}, facilitators=1),
            ComplianceSubject(sid("child"), "Child", {}, facilitators=1),
        ],
        YEAR,
    )
    assert [s.status for s in report.spaces] == [ComplianceStatus.COMPLIANT, ComplianceStatus.NON_COMPLIANT]
    assert report.counts() == {"compliant": 1, "warning": 0, "non_compliant": 1}
    body = report.to_dict()
    assert body["year"] == YEAR.to_dict() and len(body["spaces"]) == 2  # type: ignore[arg-type]


NAESP = ALAS.narrow(layer({"facilitators.compensated": {"locked": True, "value": True}}, template("NAESP")))


def test_compensated_facilitators_required_by_a_template() -> None:
    # two facilitators, both trained, one paid: short of facilitators.min_count (2)
    result = check_compliance(subject(compensated_facilitators=1), NAESP, YEAR)
    assert result.status is ComplianceStatus.NON_COMPLIANT
    assert codes(result) == [FindingCode.TOO_FEW_COMPENSATED_FACILITATORS]
    (finding,) = result.findings
    assert finding.severity is Severity.VIOLATION and finding.parameter == "facilitators.compensated"
    assert finding.message.startswith("1 facilitator(s) recorded as compensated; 2 required")
    assert check_compliance(subject(compensated_facilitators=2), NAESP, YEAR).status is ComplianceStatus.COMPLIANT
    # without the requirement (ALAS, or the flag off), nobody needs to be paid
    assert check_compliance(subject(compensated_facilitators=0), ALAS, YEAR).findings == ()
    # a warn-mode template that asks for it: a warning, in the mode of the layer that demands it
    warn = ALAS.narrow(
        layer({"facilitators.compensated": {"locked": True, "value": True}}, template("Pilot", 1, Mode.WARN))
    )
    result = check_compliance(subject(compensated_facilitators=0), warn, YEAR)
    assert result.status is ComplianceStatus.WARNING
    paid = [f for f in result.findings if f.parameter == "facilitators.compensated"]
    assert {f.severity for f in result.findings} == {Severity.WARNING}
    assert FindingCode.TOO_FEW_COMPENSATED_FACILITATORS in [f.code for f in paid]


def test_a_reader_who_may_not_see_compensation_learns_no_count() -> None:
    space = check_compliance(subject(facilitators=3, compensated_facilitators=1), NAESP, YEAR)
    admin = for_reader(space, sees_compensation=True)
    assert admin is space and "1 facilitator(s) recorded as compensated" in admin.findings[0].message
    other = for_reader(space, sees_compensation=False)
    (finding,) = other.findings
    assert finding.message == COMPENSATION_NOT_SHOWN and not any(ch.isdigit() for ch in finding.message)
    assert (finding.code, finding.severity, finding.parameter) == (
        FindingCode.TOO_FEW_COMPENSATED_FACILITATORS,
        Severity.VIOLATION,
        "facilitators.compensated",
    )
    assert other.status is space.status  # the status says as much with or without the detail
    # the other findings pass through untouched, and a report is shaped the same way
    both = check_compliance(subject(facilitators=1, trained_facilitators=1, compensated_facilitators=0), NAESP, YEAR)
    shown = for_reader(both, sees_compensation=False)
    assert [f.message for f in shown.findings][:2] == [f.message for f in both.findings][:2]
    report = ComplianceReport(YEAR, (space, both))
    assert report.for_reader(sees_compensation=True) is report
    assert report.for_reader(sees_compensation=False).spaces == (other, shown)
