"""Use cases of the compliance area: the per-space compliance report of a network.

Compliance is computed, not stored (``federation.compliance`` decides). It reads what the
areas below it own: spaces and their facilitators, the policy (templates, attachments,
non-compliance marks) and the meetings of the program year, so it stands above all three.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from federation.compliance import ComplianceSubject, program_year
from federation.facilitation import can_view_compensation
from federation.permissions import Actor
from federation.schedule import local_day, time_zone
from federation.space_permissions import can_view_compliance
from services.compliance.schemas import ComplianceOut
from services.errors import BadRequest, Forbidden
from services.facilitation import repository as facilitation_repository
from services.meetings import repository as meetings_repository
from services.networks.service import require_network
from services.policies import repository as policy_repository
from services.spaces.access import network_actor
from services.targeting import service as targeting


async def compliance(
    session: AsyncSession, actor: Actor, slug: str, *, start_month: int, today: dt.date, now: dt.datetime | None = None
) -> ComplianceOut:
    """Per-space compliance of a network for the program year containing ``today`` (six queries:
    the meetings of every space in one, the compensated facilitators of every space in one).

    Who is compensated is for the network's admins only: anyone else reading the report sees
    a compensation shortfall without counts (``federation.compliance.for_reader``)."""
    network = await require_network(session, slug)
    if not can_view_compliance(network_actor(actor, network.id)):
        raise Forbidden("Only this network's admins can see its compliance report.", code="forbidden")
    if not 1 <= start_month <= 12:
        raise BadRequest("program_year_start_month must be 1-12.")
    if now is not None:  # the day, and so the program year, follows the network's time zone
        today = local_day(now, time_zone(network.time_zone))
    spaces = await policy_repository.network_spaces(session, network.id)
    attached = await policy_repository.attached_templates(session, network.id, None)
    counts = await policy_repository.facilitator_counts(session, network.id)
    compensated = await facilitation_repository.compensated_counts(session, network.id)
    deadlines: dict[uuid.UUID, dt.date] = {}
    for mark in await policy_repository.open_marks(session, network.id):
        deadlines.setdefault(mark.space_id, mark.deadline)
    year = program_year(today, start_month)
    meetings = await meetings_repository.network_meetings(session, network.id, year.start, year.end)
    subjects = [
        ComplianceSubject(
            space_id=s.id,
            name=s.name,
            settings=s.settings,
            facilitators=counts.get(s.id, (0, 0))[0],
            trained_facilitators=counts.get(s.id, (0, 0))[1],
            compensated_facilitators=compensated.get(s.id, 0),
            meetings=meetings.get(s.id, ()),
            deadline=deadlines.get(s.id),
        )
        for s in spaces
    ]
    # Targets and exemptions (services.targeting) decide which attachments measure which space.
    report = await targeting.targeted_report(session, network.id, spaces, attached, subjects, year=year, today=today)
    report = report.for_reader(sees_compensation=can_view_compensation(actor, network.id))
    body = report.to_dict()
    return ComplianceOut(
        network=network.slug,
        year=dict(body["year"]),  # type: ignore[call-overload]
        counts=report.counts(),
        spaces=list(body["spaces"]),  # type: ignore[call-overload]
        meetings_tracked=True,
    )
