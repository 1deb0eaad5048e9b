"""Use cases of targeting: set what an attachment binds, exempt a sub-tree (audited), and the
compliance report that honours both.

The rules (does an attachment bind a space; is a space inside an exempt sub-tree) are in
``federation.targeting``; here stored rows become its inputs, and spaces that share the same set
of unbinding attachments are checked under one policy resolver without those attachments.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from federation.compliance import (
    ComplianceReport,
    ComplianceSubject,
    ProgramYear,
    SpaceCompliance,
    check_compliance,
)
from federation.permissions import Actor
from federation.space_permissions import can_manage_templates
from federation.targeting import SpaceShape, TargetError, check_reason, make_target, unbound_attachments
from services import audit
from services.errors import Conflict, Forbidden, NotFound, Unprocessable
from services.networks.service import require_network
from services.persistence.models import Network, PolicyExemption, PolicyTemplate, Space
from services.policies import loading
from services.policies.repository import AttachedTemplate
from services.spaces.access import network_actor
from services.targeting import repository
from services.targeting.schemas import ExemptionCreate, ExemptionList, ExemptionOut, TargetOut, TargetSet


def _invalid(exc: TargetError) -> Unprocessable:
    return Unprocessable(exc.message, code="validation_error", details={"field": exc.field})


async def _admin_network(session: AsyncSession, actor: Actor, slug: str) -> Network:
    network = await require_network(session, slug)
    if not can_manage_templates(network_actor(actor, network.id)):
        raise Forbidden("Only this network's admins can target templates or exempt spaces.", code="forbidden")
    return network


async def set_target(
    session: AsyncSession, actor: Actor, slug: str, template_id: uuid.UUID, data: TargetSet
) -> TargetOut:
    """PUT /networks/{slug}/templates/{template_id}/target."""
    network = await _admin_network(session, actor, slug)
    try:
        target = make_target(data.kinds, data.leaf_only, data.min_depth, data.max_depth)
    except TargetError as exc:
        raise _invalid(exc) from None
    row = await repository.attachment(session, network.id, template_id, data.space_id)
    if row is None:
        where = "the network" if data.space_id is None else f"space {data.space_id}"
        raise NotFound(
            f"Template {template_id} is not attached to {where}; attach it first.", code="attachment_not_found"
        )
    before = row.target
    row.target = None if target.is_everything else target.to_dict()
    await session.flush()
    audit.record(
        session,
        actor_id=actor.account_id,
        action="template.target",
        target_type="policy_template",
        target_id=template_id,
        network_id=network.id,
        before={"space_id": str(data.space_id) if data.space_id else None, "target": before},
        after={"space_id": str(data.space_id) if data.space_id else None, "target": row.target},
    )
    return TargetOut(
        template_id=template_id,
        space_id=data.space_id,
        kinds=sorted(target.kinds) if target.kinds is not None else None,
        leaf_only=target.leaf_only,
        min_depth=target.min_depth,
        max_depth=target.max_depth,
    )


def _exemption_out(row: PolicyExemption, space_name: str) -> ExemptionOut:
    return ExemptionOut(
        id=row.id,
        space_id=row.space_id,
        space_name=space_name,
        template_id=row.template_id,
        reason=row.reason,
        created_by=row.created_by,
        created_at=row.created_at,
    )


async def list_exemptions(session: AsyncSession, actor: Actor, slug: str) -> ExemptionList:
    """GET /networks/{slug}/exemptions."""
    network = await _admin_network(session, actor, slug)
    rows = await repository.exemption_rows(session, network.id)
    return ExemptionList(network=network.slug, items=[_exemption_out(e, name) for e, name in rows])


async def create_exemption(session: AsyncSession, actor: Actor, slug: str, data: ExemptionCreate) -> ExemptionOut:
    """POST /networks/{slug}/exemptions: a sub-tree out of one template (or all), with a reason."""
    network = await _admin_network(session, actor, slug)
    try:
        reason = check_reason(data.reason)
    except TargetError as exc:
        raise _invalid(exc) from None
    space = await session.get(Space, data.space_id)
    if space is None or space.network_id != network.id:
        raise Unprocessable(
            f"Network {slug} has no space {data.space_id}.", code="space_not_found", details={"field": "space_id"}
        )
    if data.template_id is not None:
        template = await session.get(PolicyTemplate, data.template_id)
        if template is None or template.network_id != network.id:
            raise Unprocessable(
                f"Network {slug} has no template {data.template_id}.",
                code="template_not_found",
                details={"field": "template_id"},
            )
    if await repository.find_exemption(session, data.space_id, data.template_id) is not None:
        raise Conflict("This sub-tree is already exempt from that template.", code="already_exempt")
    row = PolicyExemption(
        id=uuid.uuid4(),
        network_id=network.id,
        space_id=data.space_id,
        template_id=data.template_id,
        reason=reason,
        created_by=actor.account_id,
    )
    session.add(row)
    await session.flush()
    await session.refresh(row)
    audit.record(
        session,
        actor_id=actor.account_id,
        action="exemption.create",
        target_type="space",
        target_id=data.space_id,
        network_id=network.id,
        after={
            "exemption_id": str(row.id),
            "template_id": str(data.template_id) if data.template_id else None,
            "reason": reason,
        },
    )
    return _exemption_out(row, space.name)


async def delete_exemption(session: AsyncSession, actor: Actor, slug: str, exemption_id: uuid.UUID) -> None:
    """DELETE /networks/{slug}/exemptions/{id}: the sub-tree is measured against the template again."""
    network = await _admin_network(session, actor, slug)
    row = await repository.get_exemption(session, network.id, exemption_id)
    if row is None:
        raise NotFound(f"Network {slug} has no exemption {exemption_id}.", code="exemption_not_found")
    before = {
        "space_id": str(row.space_id),
        "template_id": str(row.template_id) if row.template_id else None,
        "reason": row.reason,
    }
    await session.delete(row)
    await session.flush()
    audit.record(
        session,
        actor_id=actor.account_id,
        action="exemption.delete",
        target_type="space",
        target_id=before["space_id"] or "",
        network_id=network.id,
        before=before,
    )


def shapes(spaces: Sequence[Space]) -> dict[uuid.UUID, SpaceShape]:
    """Each space's place in the tree, for ``federation.targeting``."""
    parents = {s.parent_id for s in spaces if s.parent_id is not None}
    return {s.id: SpaceShape(s.id, s.kind, s.depth, s.id in parents, tuple(s.path)) for s in spaces}


async def targeted_report(
    session: AsyncSession,
    network_id: uuid.UUID,
    spaces: Sequence[Space],
    attached: Sequence[AttachedTemplate],
    subjects: Sequence[ComplianceSubject],
    *,
    year: ProgramYear,
    today: dt.date,
) -> ComplianceReport:
    """The compliance report with targets and exemptions applied: a space is measured only
    against the attachments that bind it (two queries; one resolver per distinct set of
    unbinding attachments, usually one or two)."""
    attachments = await repository.attachments(session, network_id)
    exemptions = await repository.exemptions(session, network_id)
    groups: dict[frozenset[tuple[uuid.UUID, uuid.UUID | None]], list[ComplianceSubject]]
    if not exemptions and all(a.target.is_everything for a in attachments):
        groups = {frozenset(): list(subjects)}
    else:
        by_id = shapes(spaces)
        groups = {}
        for subject in subjects:
            key = unbound_attachments(by_id[subject.space_id], attachments, exemptions)
            groups.setdefault(key, []).append(subject)
    results: dict[uuid.UUID, SpaceCompliance] = {}
    for key, group in groups.items():
        kept = [a for a in attached if (a.template_id, a.space_id) not in key]
        resolver = loading.resolver_for(spaces, kept)
        for subject in group:
            results[subject.space_id] = check_compliance(subject, resolver.policy(subject.space_id), year, today=today)
    return ComplianceReport(year, tuple(results[s.space_id] for s in subjects))
