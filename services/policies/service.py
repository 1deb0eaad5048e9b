"""Use cases of the policies area: templates, versions with dry runs, attachments.

Check (permissions via ``federation``), then do (repository), then record (audit). A change
that would put spaces out of bounds is refused unless the admin explicitly marks them
non-compliant with a deadline; settings are never rewritten.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from federation.permissions import Actor
from federation.policy import (
    CATALOGUE,
    DryRunReport,
    Source,
    dryrun,
)
from federation.space_permissions import SpaceActor, can_manage_templates, can_read_templates, space_actor
from services import audit
from services.errors import Conflict, Forbidden, NotFound, Unprocessable
from services.networks.service import require_network
from services.persistence.models import (
    Network,
    PolicyTemplate,
    PolicyTemplateVersion,
    Space,
    SpaceNoncompliance,
)
from services.policies import loading, repository
from services.policies.repository import AttachedTemplate
from services.policies.schemas import (
    AttachmentOut,
    DryRunOut,
    Noncompliance,
    TemplateChangeOut,
    TemplateCreate,
    TemplateList,
    TemplateOut,
    TemplateUpdate,
    VersionOut,
)
from services.policies.violations import parse_or_422


def network_actor(actor: Actor, network_id: uuid.UUID) -> SpaceActor:
    """The caller's roles relative to a network (template and attachment checks)."""
    return space_actor(actor, home_network_id=network_id)


def _out(
    template: PolicyTemplate,
    network: Network,
    constraints: dict[str, Any],
    attached: Sequence[uuid.UUID | None],
    versions: Sequence[PolicyTemplateVersion] | None = None,
) -> TemplateOut:
    return TemplateOut(
        id=template.id,
        network=network.slug,
        name=template.name,
        description=template.description,
        mode=template.mode,  # type: ignore[arg-type]
        version=template.current_version,
        constraints=constraints,
        attached_to_network=None in attached,
        attached_to_spaces=[a for a in attached if a is not None],
        created_at=template.created_at,
        updated_at=template.updated_at,
        versions=None
        if versions is None
        else [VersionOut(version=v.version, created_at=v.created_at, created_by=v.created_by) for v in versions],
    )


async def _network_for_admin(session: AsyncSession, actor: Actor, slug: str) -> Network:
    network = await require_network(session, slug)
    if not can_manage_templates(network_actor(actor, network.id)):
        raise Forbidden("Only this network's admins can change its policy templates.", code="forbidden")
    return network


async def _require_template(
    session: AsyncSession, network: Network, template_id: uuid.UUID, *, lock: bool = False
) -> PolicyTemplate:
    template = await repository.get_template(session, network.id, template_id, lock=lock)
    if template is None:
        raise NotFound(
            f"Network '{network.slug}' has no policy template with id {template_id}.", code="template_not_found"
        )
    return template


async def create_template(session: AsyncSession, actor: Actor, slug: str, data: TemplateCreate) -> TemplateOut:
    """Create a template (version 1). It binds nothing until attached."""
    network = await _network_for_admin(session, actor, slug)
    name = data.name.strip()
    if not name:
        raise Unprocessable("The template name must not be blank.", code="validation_error", details={"field": "name"})
    template_id = uuid.uuid4()
    parse_or_422(data.constraints, Source.template(template_id, name, 1, data.mode), "template's constraints")
    if await repository.name_taken(session, network.id, name):
        raise Conflict(
            f"Network '{slug}' already has a template named '{name}'; choose another name or add a version.",
            code="template_name_taken",
            details={"field": "name"},
        )
    template = PolicyTemplate(
        id=template_id,
        network_id=network.id,
        name=name,
        description=data.description.strip(),
        mode=data.mode,
        current_version=1,
        created_by=actor.account_id,
    )
    session.add(template)
    await session.flush()
    session.add(
        PolicyTemplateVersion(
            template_id=template_id, version=1, constraints=data.constraints, created_by=actor.account_id
        )
    )
    await session.flush()
    await session.refresh(template)
    audit.record(
        session,
        actor_id=actor.account_id,
        action="policy.template.create",
        target_type="policy_template",
        target_id=template_id,
        network_id=network.id,
        after={"name": name, "mode": data.mode, "version": 1, "constraints": data.constraints},
    )
    return _out(template, network, data.constraints, [])


async def list_templates(session: AsyncSession, actor: Actor, slug: str) -> TemplateList:
    """Every template of the network (two queries)."""
    network = await require_network(session, slug)
    if not can_read_templates(network_actor(actor, network.id)):
        raise Forbidden("Only members of this network can read its policy templates.", code="forbidden")
    rows = await repository.list_templates(session, network.id)
    attached = await repository.attachments_of(session, [t.id for t, _ in rows])
    return TemplateList(items=[_out(t, network, c, attached[t.id]) for t, c in rows])


async def read_template(session: AsyncSession, actor: Actor, slug: str, template_id: uuid.UUID) -> TemplateOut:
    """One template with its version history."""
    network = await require_network(session, slug)
    if not can_read_templates(network_actor(actor, network.id)):
        raise Forbidden("Only members of this network can read its policy templates.", code="forbidden")
    template = await _require_template(session, network, template_id)
    constraints = await repository.current_constraints(session, template)
    attached = await repository.attachments_of(session, [template.id])
    return _out(template, network, constraints, attached[template.id], await repository.versions(session, template.id))


# --- dry runs ---------------------------------------------------------------------------------


def _report_out(
    report: DryRunReport, version: int, mode: str, *, applied: bool, marked: int = 0, deadline: dt.date | None = None
) -> DryRunOut:
    body = report.to_dict()
    return DryRunOut(
        template_id=report.template.id,
        version=version,
        mode=mode,  # type: ignore[arg-type]
        checked=report.checked,
        out_of_bounds=len(report.blocking),
        spaces=list(body["spaces"]),  # type: ignore[call-overload]
        applied=applied,
        marked_noncompliant=marked,
        deadline=deadline,
    )


def _refuse_or_mark(
    session: AsyncSession,
    actor: Actor,
    report: DryRunReport,
    version: int,
    *,
    choice: Noncompliance | None,
    what: str,
) -> int:
    """Refuse a change that breaks spaces unless ``choice`` marks them; returns how many were marked."""
    blocking = report.blocking
    if not blocking:
        return 0
    if choice is None:
        names = ", ".join(f"'{e.name}'" for e in blocking[:5]) + (" ..." if len(blocking) > 5 else "")
        raise Conflict(
            f"{what} would put {len(blocking)} space(s) out of bounds ({names}). Nothing was changed. "
            "Run it with ?dry_run=true to see why, then either adjust the constraints or repeat the request "
            'with "mark_noncompliant": {"deadline": "YYYY-MM-DD"} to apply it and mark those spaces.',
            code="breaks_spaces",
            details=report.to_dict(),
        )
    if choice.deadline <= dt.datetime.now(dt.UTC).date():
        raise Unprocessable(
            f"The deadline {choice.deadline.isoformat()} is not in the future; give spaces time to comply.",
            code="validation_error",
            details={"field": "mark_noncompliant.deadline"},
        )
    for entry in blocking:
        session.add(
            SpaceNoncompliance(
                id=uuid.uuid4(),
                space_id=entry.space_id,
                template_id=report.template.id,
                version=version,
                deadline=choice.deadline,
                violations=[v.to_dict() for v in entry.violations] + [c.to_dict() for c in entry.conflicts],
                created_by=actor.account_id,
            )
        )
    return len(blocking)


async def change_template(
    session: AsyncSession,
    actor: Actor,
    slug: str,
    template_id: uuid.UUID,
    data: TemplateUpdate,
    *,
    dry_run: bool,
) -> DryRunOut | TemplateChangeOut:
    """A new version of a template: a dry run, or applied (refused if it breaks spaces unmarked)."""
    network = await _network_for_admin(session, actor, slug)
    template = await _require_template(session, network, template_id, lock=not dry_run)
    name = (data.name or template.name).strip()
    if not name:
        raise Unprocessable("The template name must not be blank.", code="validation_error", details={"field": "name"})
    mode = data.mode or template.mode
    version = template.current_version + 1
    layer = parse_or_422(
        data.constraints, Source.template(template.id, name, version, mode), "new version's constraints"
    )
    if name.lower() != template.name.lower() and await repository.name_taken(
        session, network.id, name, other_than=template.id
    ):
        raise Conflict(f"Network '{slug}' already has a template named '{name}'.", code="template_name_taken")
    spaces = await repository.network_spaces(session, network.id)
    attached = await repository.attached_templates(session, network.id, None)
    targets = [a.space_id for a in attached if a.template_id == template.id]
    resolver = loading.resolver_for(spaces, attached, replace=layer)
    counts = await repository.facilitator_counts(session, network.id)
    report = dryrun.dry_run(layer, loading.dry_run_subjects(spaces, targets, counts), resolver=resolver)
    if dry_run:
        return _report_out(report, version, mode, applied=False)
    marked = _refuse_or_mark(
        session, actor, report, version, choice=data.mark_noncompliant, what=f"Version {version} of '{name}'"
    )
    before = {"version": template.current_version, "mode": template.mode, "name": template.name}
    session.add(
        PolicyTemplateVersion(
            template_id=template.id, version=version, constraints=data.constraints, created_by=actor.account_id
        )
    )
    await session.flush()
    template.current_version = version
    template.mode = mode
    template.name = name
    if data.description is not None:
        template.description = data.description.strip()
    await session.flush()
    await session.refresh(template)
    audit.record(
        session,
        actor_id=actor.account_id,
        action="policy.template.version",
        target_type="policy_template",
        target_id=template.id,
        network_id=network.id,
        before=before,
        after={
            "version": version,
            "mode": mode,
            "name": name,
            "constraints": data.constraints,
            "marked_noncompliant": [str(e.space_id) for e in report.blocking] if marked else [],
            "deadline": data.mark_noncompliant.deadline.isoformat() if marked and data.mark_noncompliant else None,
        },
    )
    deadline = data.mark_noncompliant.deadline if marked and data.mark_noncompliant else None
    return TemplateChangeOut(
        template=_out(template, network, data.constraints, targets),
        report=_report_out(report, version, mode, applied=True, marked=marked, deadline=deadline),
    )


async def attach(
    session: AsyncSession,
    actor: Actor,
    *,
    network: Network,
    template_id: uuid.UUID,
    space: Space | None,
    choice: Noncompliance | None,
    dry_run: bool,
) -> AttachmentOut:
    """Attach a template to the network (``space`` None) or to a space and its subtree."""
    if not can_manage_templates(network_actor(actor, network.id)):
        raise Forbidden("Only this network's admins can attach its policy templates.", code="forbidden")
    template = await _require_template(session, network, template_id, lock=not dry_run)
    existing = await repository.get_attachment(session, template.id, space.id if space else None)
    constraints = await repository.current_constraints(session, template)
    spaces = await repository.network_spaces(session, network.id)
    attached = await repository.attached_templates(session, network.id, None)
    new = AttachedTemplate(
        space.id if space else None, template.id, template.name, template.mode, template.current_version, constraints
    )
    resolver = loading.resolver_for(spaces, attached, extra=() if existing else [new])
    counts = await repository.facilitator_counts(session, network.id)
    subjects = loading.dry_run_subjects(spaces, [new.space_id], counts)
    report = dryrun.dry_run(loading.template_layer(new), subjects, resolver=resolver)
    if dry_run or existing is not None:
        out = _report_out(report, template.current_version, template.mode, applied=existing is not None)
        return AttachmentOut(template.id, network.slug, space.id if space else None, created=False, report=out)
    target = f"'{space.name}'" if space else f"network '{network.slug}'"
    marked = _refuse_or_mark(
        session, actor, report, template.current_version, choice=choice, what=f"Attaching '{template.name}' to {target}"
    )
    await repository.add_attachment(session, template.id, network.id, space.id if space else None, actor.account_id)
    audit.record(
        session,
        actor_id=actor.account_id,
        action="policy.template.attach",
        target_type="space" if space else "network",
        target_id=space.id if space else network.id,
        network_id=network.id,
        after={
            "template_id": str(template.id),
            "version": template.current_version,
            "marked_noncompliant": [str(e.space_id) for e in report.blocking] if marked else [],
        },
    )
    deadline = choice.deadline if marked and choice else None
    out = _report_out(report, template.current_version, template.mode, applied=True, marked=marked, deadline=deadline)
    return AttachmentOut(template.id, network.slug, space.id if space else None, created=True, report=out)


async def detach(
    session: AsyncSession, actor: Actor, *, network: Network, template_id: uuid.UUID, space: Space | None
) -> None:
    """Detach a template (loosening is always safe: nothing can fall out of bounds)."""
    if not can_manage_templates(network_actor(actor, network.id)):
        raise Forbidden("Only this network's admins can detach its policy templates.", code="forbidden")
    template = await _require_template(session, network, template_id)
    existing = await repository.get_attachment(session, template.id, space.id if space else None)
    if existing is None:
        where = f"space {space.id}" if space else f"network '{network.slug}'"
        raise NotFound(f"Template '{template.name}' is not attached to {where}.", code="attachment_not_found")
    await repository.delete_attachment(session, existing.id)
    audit.record(
        session,
        actor_id=actor.account_id,
        action="policy.template.detach",
        target_type="space" if space else "network",
        target_id=space.id if space else network.id,
        network_id=network.id,
        before={"template_id": str(template.id), "version": template.current_version},
    )


async def attach_to_network(
    session: AsyncSession,
    actor: Actor,
    slug: str,
    template_id: uuid.UUID,
    *,
    choice: Noncompliance | None,
    dry_run: bool,
) -> AttachmentOut:
    """PUT /networks/{slug}/templates/{id}/attach."""
    network = await require_network(session, slug)
    return await attach(
        session, actor, network=network, template_id=template_id, space=None, choice=choice, dry_run=dry_run
    )


async def detach_from_network(session: AsyncSession, actor: Actor, slug: str, template_id: uuid.UUID) -> None:
    """DELETE /networks/{slug}/templates/{id}/attach."""
    network = await require_network(session, slug)
    await detach(session, actor, network=network, template_id=template_id, space=None)


async def _space_and_network(session: AsyncSession, actor: Actor, space_id: uuid.UUID) -> tuple[Space, Network]:
    found = await repository.space_and_network(session, space_id)
    if found is None or not can_manage_templates(network_actor(actor, found[0].network_id)):
        # Non-admins learn nothing about a space from this endpoint.
        raise NotFound(f"No space with id {space_id} is visible to you.", code="space_not_found")
    return found


async def attach_to_space(
    session: AsyncSession,
    actor: Actor,
    space_id: uuid.UUID,
    template_id: uuid.UUID,
    *,
    choice: Noncompliance | None,
    dry_run: bool,
) -> AttachmentOut:
    """PUT /spaces/{id}/templates/{template_id}: the template binds the space and its subtree."""
    space, network = await _space_and_network(session, actor, space_id)
    if await repository.get_template(session, network.id, template_id) is None:
        other = await repository.get_template_any_network(session, template_id)
        if other is not None:
            raise Unprocessable(
                "That template belongs to another network; a space follows its own network's templates.",
                code="template_in_other_network",
            )
    return await attach(
        session, actor, network=network, template_id=template_id, space=space, choice=choice, dry_run=dry_run
    )


async def detach_from_space(session: AsyncSession, actor: Actor, space_id: uuid.UUID, template_id: uuid.UUID) -> None:
    """DELETE /spaces/{id}/templates/{template_id}."""
    space, network = await _space_and_network(session, actor, space_id)
    await detach(session, actor, network=network, template_id=template_id, space=space)


# --- catalogue --------------------------------------------------------------------------------


def parameter_catalogue() -> list[dict[str, object]]:
    """The policy parameters, for clients building forms."""
    return CATALOGUE.to_list()
