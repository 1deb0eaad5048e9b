"""Use cases of the policies area: templates, versions with dry runs, attachments, compliance.

Check (permissions via ``federation``), then do (repository), then record (audit). A change
that would put spaces out of bounds is refused unless the admin explicitly marks them
non-compliant with a deadline; settings are never rewritten.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from federation.compliance import ComplianceSubject, compliance_report, program_year
from federation.permissions import Actor
from federation.policy import (
    CATALOGUE,
    DryRunEntry,
    DryRunReport,
    Mode,
    PolicyInputError,
    PolicyLayer,
    PolicyResolver,
    Source,
    SourceKind,
    Violation,
    check_containment,
    governing_value,
    parse_constraints,
    validate_settings,
)
from federation.space_permissions import can_manage_templates, can_read_templates, can_view_compliance
from services import audit
from services.errors import BadRequest, Conflict, Forbidden, NotFound, Unprocessable
from services.meetings import repository as meetings_repository
from services.networks.service import require_network
from services.persistence.models import (
    Network,
    PolicyAttachment,
    PolicyTemplate,
    PolicyTemplateVersion,
    Space,
    SpaceNoncompliance,
)
from services.policies import loading, repository
from services.policies.repository import AttachedTemplate
from services.policies.schemas import (
    AttachmentOut,
    ComplianceOut,
    DryRunOut,
    Noncompliance,
    TemplateChangeOut,
    TemplateCreate,
    TemplateList,
    TemplateOut,
    TemplateUpdate,
    VersionOut,
)
from services.spaces import repository as spaces_repository
from services.spaces.access import network_actor, visible_ids


def parse_or_422(raw: dict[str, Any], source: Source, what: str) -> PolicyLayer:
    """Parse a constraints document; a 422 listing every problem when it is not valid."""
    try:
        return parse_constraints(raw, source)
    except PolicyInputError as exc:
        first = exc.problems[0].message if exc.problems else "invalid constraints"
        more = f" (and {len(exc.problems) - 1} more)" if len(exc.problems) > 1 else ""
        raise Unprocessable(
            f"The {what} are not valid: {first}{more}.", code="invalid_constraints", details=exc.to_dict()
        ) from None


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
    attached = await _visible_attachments(
        session, actor, network, await repository.attachments_of(session, [t.id for t, _ in rows])
    )
    return TemplateList(items=[_out(t, network, c, attached[t.id]) for t, c in rows])


async def _visible_attachments(
    session: AsyncSession, actor: Actor, network: Network, attached: dict[uuid.UUID, list[uuid.UUID | None]]
) -> dict[uuid.UUID, list[uuid.UUID | None]]:
    """Attachments as the caller may see them: a space it may not see (an unlisted identity space)
    is left out, as its own route would answer 404. Admins see every space: no query."""
    if can_manage_templates(network_actor(actor, network.id)):
        return attached
    seen = await visible_ids(session, actor, [s for spaces in attached.values() for s in spaces if s is not None])
    return {t: [s for s in spaces if s is None or s in seen] for t, spaces in attached.items()}


async def read_template(session: AsyncSession, actor: Actor, slug: str, template_id: uuid.UUID) -> TemplateOut:
    """One template with its version history."""
    network = await require_network(session, slug)
    if not can_read_templates(network_actor(actor, network.id)):
        raise Forbidden("Only members of this network can read its policy templates.", code="forbidden")
    template = await _require_template(session, network, template_id)
    constraints = await repository.current_constraints(session, template)
    attached = await _visible_attachments(
        session, actor, network, await repository.attachments_of(session, [template.id])
    )
    return _out(template, network, constraints, attached[template.id], await repository.versions(session, template.id))


# --- dry runs ---------------------------------------------------------------------------------


def _touches(source: Source, template_id: uuid.UUID) -> bool:
    return source.kind is SourceKind.TEMPLATE and source.id == template_id


def evaluate_change(
    *,
    spaces: Sequence[Space],
    resolver: PolicyResolver,
    subjects: Iterable[uuid.UUID],
    template_source: Source,
    facilitator_counts: dict[uuid.UUID, int],
) -> DryRunReport:
    """Every subject space that the template (as in ``resolver``) puts out of bounds, and why.

    A space is listed when a finding names the template: its settings break one of the
    template's bounds, a bound it sets for its sub-spaces is looser than the template's, the
    template makes a parameter unsatisfiable, or the space has fewer facilitators than the
    template now requires. Findings caused only by other sources are not this change's doing.
    """
    by_id = {s.id: s for s in spaces}
    entries: list[DryRunEntry] = []
    checked = 0
    tid = template_source.id
    for sid in subjects:
        checked += 1
        space = by_id[sid]
        policy = resolver.policy(sid)
        result = validate_settings(space.settings, policy)
        violations = [v for v in result.violations if _touches(v.source, tid)]
        warnings = [v for v in (*result.warnings, *result.audit) if _touches(v.source, tid)]
        sub = loading.subspace_layer(space.id, space.name, space.subspace_constraints)
        if sub is not None:
            contained = check_containment(sub, policy)
            violations.extend(v for v in contained.violations if _touches(v.source, tid))
            warnings.extend(v for v in contained.warnings if _touches(v.source, tid))
        for mode, cs in policy.distinct_layers():
            c = cs.get("facilitators.min_count")
            need = governing_value(policy, space.settings, "facilitators.min_count", mode=mode)
            have = facilitator_counts.get(sid, 0)
            src = getattr(c, "min_source", None)
            if isinstance(need, int) and have < need and isinstance(src, Source) and _touches(src, tid):
                finding = Violation(
                    "facilitators.min_count",
                    have,
                    "min",
                    need,
                    src,
                    f"the space has {have} facilitator(s); facilitators.min_count needs {need} (set by {src.label()})",
                    explicit=False,
                )
                (violations if mode is Mode.ENFORCE else warnings).append(finding)
                break
        conflicts = tuple(
            c for c in policy.conflicts() if c.mode is not Mode.AUDIT and any(_touches(s, tid) for s in c.sources)
        )
        if violations or warnings or conflicts:
            entries.append(DryRunEntry(sid, space.name, tuple(violations), tuple(warnings), conflicts))
    return DryRunReport(template_source, checked, tuple(entries))


def _subjects(spaces: Sequence[Space], targets: Iterable[uuid.UUID | None]) -> list[uuid.UUID]:
    """Spaces a template attached at ``targets`` applies to (None: the whole network)."""
    targets = list(targets)
    if None in targets:
        return [s.id for s in spaces]
    roots = {t for t in targets if t is not None}
    return [s.id for s in spaces if s.id in roots or any(a in roots for a in s.path)]


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


async def _facilitator_counts(session: AsyncSession, network_id: uuid.UUID) -> dict[uuid.UUID, int]:
    return {sid: total for sid, (total, _) in (await spaces_repository.facilitator_counts(session, network_id)).items()}


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
    counts = await _facilitator_counts(session, network.id)
    report = evaluate_change(
        spaces=spaces,
        resolver=resolver,
        subjects=_subjects(spaces, targets),
        template_source=layer.source,
        facilitator_counts=counts,
    )
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
    counts = await _facilitator_counts(session, network.id)
    source = loading.template_layer(new).source
    report = evaluate_change(
        spaces=spaces,
        resolver=resolver,
        subjects=_subjects(spaces, [new.space_id]),
        template_source=source,
        facilitator_counts=counts,
    )
    if dry_run or existing is not None:
        out = _report_out(report, template.current_version, template.mode, applied=existing is not None)
        return AttachmentOut(template.id, network.slug, space.id if space else None, created=False, report=out)
    target = f"'{space.name}'" if space else f"network '{network.slug}'"
    marked = _refuse_or_mark(
        session, actor, report, template.current_version, choice=choice, what=f"Attaching '{template.name}' to {target}"
    )
    session.add(
        PolicyAttachment(
            id=uuid.uuid4(),
            template_id=template.id,
            network_id=network.id,
            space_id=space.id if space else None,
            created_by=actor.account_id,
        )
    )
    await session.flush()
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
    space = await spaces_repository.get_space(session, space_id)
    network = await session.get(Network, space.network_id) if space else None
    if space is None or network is None or not can_manage_templates(network_actor(actor, space.network_id)):
        # Non-admins learn nothing about a space from this endpoint.
        raise NotFound(f"No space with id {space_id} is visible to you.", code="space_not_found")
    return space, network


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
        # Said only to someone who may read that network's templates; anyone else gets the
        # answer for a template that does not exist (a uuid's existence is not theirs to learn).
        if other is not None and can_read_templates(network_actor(actor, other.network_id)):
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


# --- compliance -------------------------------------------------------------------------------


async def compliance(
    session: AsyncSession, actor: Actor, slug: str, *, start_month: int, today: dt.date
) -> ComplianceOut:
    """Per-space compliance of a network for the program year containing ``today`` (five queries:
    the meetings of every space in one)."""
    network = await require_network(session, slug)
    if not can_view_compliance(network_actor(actor, network.id)):
        raise Forbidden("Only this network's admins can see its compliance report.", code="forbidden")
    if not 1 <= start_month <= 12:
        raise BadRequest("program_year_start_month must be 1-12.")
    spaces = await repository.network_spaces(session, network.id)
    attached = await repository.attached_templates(session, network.id, None)
    counts = await spaces_repository.facilitator_counts(session, network.id)
    deadlines: dict[uuid.UUID, dt.date] = {}
    for mark in await repository.open_marks(session, network.id):
        deadlines.setdefault(mark.space_id, mark.deadline)
    resolver = loading.resolver_for(spaces, attached)
    year = program_year(today, start_month)
    meetings = await meetings_repository.network_meetings(session, network.id, year.start, year.end)
    subjects = [
        ComplianceSubject(
            space_id=s.id,
            name=s.name,
            settings=s.settings,
            facilitators=counts.get(s.id, (0, 0))[0],
            trained_facilitators=counts.get(s.id, (0, 0))[1],
            meetings=meetings.get(s.id, ()),
            deadline=deadlines.get(s.id),
        )
        for s in spaces
    ]
    report = compliance_report(resolver, subjects, year, today=today)
    body = report.to_dict()
    return ComplianceOut(
        network=network.slug,
        year=dict(body["year"]),  # type: ignore[call-overload]
        counts=report.counts(),
        spaces=list(body["spaces"]),  # type: ignore[call-overload]
        meetings_tracked=True,
    )


def parameter_catalogue() -> list[dict[str, object]]:
    """The policy parameters, for clients building forms."""
    return CATALOGUE.to_list()
