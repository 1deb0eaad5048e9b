"""Use cases of the spaces area: create, read, change settings, move, hierarchy, policy view.

Membership use cases (join, leave, requests, invitations, facilitators, removal, bans) live in
:mod:`services.spaces.membership`. Every decision is the domain's (``federation``); this module
loads facts, asks, writes and records an audit event.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from federation.permissions import Actor
from federation.policy import (
    EffectivePolicy,
    Invariant,
    Source,
    SpaceState,
    Violation,
    check_invariants,
    governing_settings,
    to_json_value,
    validate_settings,
)
from federation.sharing import covers
from federation.space_permissions import (
    SpaceRole,
    can_create_space,
    can_manage_templates,
    can_move_out_of,
    can_read_policy,
    can_read_space,
    can_set_subspace_constraints,
    can_update_space_settings,
    can_view_members,
    space_actor,
)
from federation.spaces import (
    MemberRole,
    MembershipFacts,
    MemberStatus,
    SpaceNode,
    SpaceTree,
    check_placement,
    nesting_limit,
)
from services import audit
from services.errors import Forbidden, NotFound, Unprocessable
from services.networks.service import require_network
from services.persistence.models import Space, SpaceMember
from services.policies import loading
from services.policies import repository as policy_repository
from services.policies.repository import AttachedTemplate
from services.policies.violations import check_settings, check_subspace_constraints, policy_violation
from services.sharing import guests
from services.sharing import repository as sharing_repository
from services.sharing.repository import GuestShare
from services.spaces import access, repository
from services.spaces.access import SpaceContext
from services.spaces.schemas import (
    FacilitatorIn,
    HierarchyOut,
    PolicyOut,
    SpaceCreate,
    SpaceList,
    SpaceOut,
    SpacePatch,
    SpaceSummary,
)

JOIN_PARAM = "membership.join_mode"


# --- shaping ----------------------------------------------------------------------------------


def to_out(
    space: Space,
    network_slug: str,
    *,
    mine: SpaceMember | None = None,
    member_count: int | None = None,
    warnings: Sequence[Violation] = (),
) -> SpaceOut:
    """Shape a space for the wire."""
    return SpaceOut(
        id=space.id,
        network=network_slug,
        parent_id=space.parent_id,
        path=list(space.path),
        depth=space.depth,
        name=space.name,
        description=space.description,
        kind=space.kind,  # type: ignore[arg-type]
        join_mode=space.join_mode,  # type: ignore[arg-type]
        visibility=space.visibility,  # type: ignore[arg-type]
        settings=dict(space.settings),
        subspace_constraints=dict(space.subspace_constraints),
        created_at=space.created_at,
        updated_at=space.updated_at,
        my_role=mine.role if mine and mine.status == "active" else None,
        my_status=mine.status if mine and mine.status != "banned" else None,
        member_count=member_count,
        warnings=[w.to_dict() for w in warnings],
        archived_at=space.archived_at,
    )


def summary(space: Space, my_role: str | None) -> SpaceSummary:
    """A space without member information (directory and hierarchy rows)."""
    return SpaceSummary(
        id=space.id,
        parent_id=space.parent_id,
        depth=space.depth,
        name=space.name,
        description=space.description,
        kind=space.kind,  # type: ignore[arg-type]
        join_mode=space.join_mode,  # type: ignore[arg-type]
        visibility=space.visibility,  # type: ignore[arg-type]
        my_role=my_role,
    )


# --- create -----------------------------------------------------------------------------------


async def create_space(session: AsyncSession, actor: Actor, slug: str, data: SpaceCreate) -> SpaceOut:
    """Create a space at the network's root or under a parent of the same network.

    Check the input and the caller's right to create there, place it (depth), bound its
    settings (its policy, with a template an admin attaches at once), check its facilitators,
    then write it and record it. Nothing is written before every check has passed.
    """
    network = await require_network(session, slug)
    name = _required_name(data.name)
    parent_ctx = await _parent_for_create(session, actor, network.id, slug, data.parent_id)
    ancestors = [*parent_ctx.ancestors, parent_ctx.space] if parent_ctx else []
    space_id = uuid.uuid4()
    attached = await policy_repository.attached_templates(session, network.id, [a.id for a in ancestors])
    template = await _template_for_create(
        session, actor, network_id=network.id, slug=slug, space_id=space_id, template_id=data.template_id
    )
    policy = loading.space_policy(space_id, ancestors, [*attached, *template])
    if parent_ctx is not None:
        _check_placement(network.id, parent_ctx.space.id, ancestors, attached)
    settings = _initial_settings(data)
    result = check_settings(settings, policy)
    if settings[JOIN_PARAM] == "parent_members" and parent_ctx is None:
        raise Unprocessable(
            "A space at the root has no parent; 'parent_members' needs a parent space.",
            code="validation_error",
            details={"field": "join_mode"},
        )
    if data.subspace_constraints:
        check_subspace_constraints(data.subspace_constraints, space_id, name, policy)
    facilitators = _facilitator_list(data, actor)
    await _check_facilitators(
        session,
        facilitators,
        network_id=network.id,
        slug=slug,
        own=Source.space(space_id, name),
        policy=policy,
        settings=settings,
    )

    space = Space(
        id=space_id,
        network_id=network.id,
        parent_id=parent_ctx.space.id if parent_ctx else None,
        path=[a.id for a in ancestors],
        depth=len(ancestors),
        name=name,
        description=data.description.strip(),
        kind=data.kind,
        join_mode=str(settings[JOIN_PARAM]),
        visibility=data.visibility,
        settings=settings,
        subspace_constraints=dict(data.subspace_constraints),
        created_by=actor.account_id,
    )
    await repository.insert_space(session, space, [(f.account_id, f.trained) for f in facilitators])
    if template:
        await policy_repository.add_attachment(session, template[0].template_id, network.id, space_id, actor.account_id)
    audit.record(
        session,
        actor_id=actor.account_id,
        action="space.create",
        target_type="space",
        target_id=space_id,
        network_id=network.id,
        after={
            "name": name,
            "kind": data.kind,
            "parent_id": str(space.parent_id) if space.parent_id else None,
            "visibility": data.visibility,
            "settings": settings,
            "subspace_constraints": data.subspace_constraints,
            "facilitators": [str(f.account_id) for f in facilitators],
            "template_id": str(data.template_id) if data.template_id else None,
        },
    )
    mine = await repository.membership(session, space_id, actor.account_id)
    return to_out(space, slug, mine=mine, member_count=len(facilitators) if mine else None, warnings=result.warnings)


def _required_name(raw: str) -> str:
    name = raw.strip()
    if not name:
        raise Unprocessable("The name must not be blank.", code="validation_error", details={"field": "name"})
    return name


async def _parent_for_create(
    session: AsyncSession, actor: Actor, network_id: uuid.UUID, slug: str, parent_id: uuid.UUID | None
) -> SpaceContext | None:
    """The parent (locked, so its sub-spaces are created one at a time) once the caller may
    create a space there; None for the network's root, which only admins may use."""
    if parent_id is None:
        if not can_create_space(access.network_actor(actor, network_id), None):
            raise Forbidden(
                f"You cannot create spaces at the root of network '{slug}': network admins can, and "
                "facilitators of the parent space.",
                code="forbidden",
            )
        return None
    parent = await repository.get_space(session, parent_id)
    if parent is not None and parent.network_id != network_id:
        raise Unprocessable(
            "The parent space belongs to another network; a space and its parent share a home network "
            "(share the space with the other network instead).",
            code="parent_in_other_network",
            details={"field": "parent_id"},
        )
    try:
        parent_ctx = await access.load(session, actor, parent_id, lock=True)
    except NotFound:
        raise Unprocessable(
            f"No space with id {parent_id} is visible to you in network '{slug}'.",
            code="parent_not_found",
            details={"field": "parent_id"},
        ) from None
    if not can_create_space(parent_ctx.who, parent_ctx.facts):
        raise Forbidden(
            "You cannot create spaces under this space: network admins can, and facilitators of the parent space.",
            code="forbidden",
        )
    return parent_ctx


async def _template_for_create(
    session: AsyncSession,
    actor: Actor,
    *,
    network_id: uuid.UUID,
    slug: str,
    space_id: uuid.UUID,
    template_id: uuid.UUID | None,
) -> list[AttachedTemplate]:
    """The template an admin attaches to the new space at once, as it will bind it ([] for none)."""
    if template_id is None:
        return []
    if not can_manage_templates(access.network_actor(actor, network_id)):
        raise Forbidden("Only network admins can attach a template to a space.", code="forbidden")
    template = await policy_repository.get_template(session, network_id, template_id)
    if template is None:
        raise Unprocessable(
            f"Network '{slug}' has no policy template with id {template_id}.",
            code="template_not_found",
            details={"field": "template_id"},
        )
    constraints = await policy_repository.current_constraints(session, template)
    return [
        AttachedTemplate(space_id, template.id, template.name, template.mode, template.current_version, constraints)
    ]


def _check_placement(
    network_id: uuid.UUID, parent_id: uuid.UUID, ancestors: list[Space], attached: list[AttachedTemplate]
) -> None:
    """Every ancestor's nesting.max_depth (its governing value) must allow one more level."""
    resolver = loading.resolver_for(ancestors, attached)
    limits = {a.id: nesting_limit(resolver.policy(a.id), a.settings) for a in ancestors}
    tree = SpaceTree(SpaceNode(a.id, a.network_id, a.parent_id, a.name) for a in ancestors)
    problems = check_placement(tree, network_id=network_id, parent_id=parent_id, nesting_limits=limits)
    if problems:
        raise Unprocessable(
            f"The space cannot be placed there: {problems[0].message}.",
            code=problems[0].code.value,
            details={"problems": [p.to_dict() for p in problems]},
        )


def _initial_settings(data: SpaceCreate) -> dict[str, Any]:
    """The settings as given, with ``join_mode`` folded in (default: by request)."""
    settings = dict(data.settings)
    if data.join_mode is not None:
        if JOIN_PARAM in settings and settings[JOIN_PARAM] != data.join_mode:
            raise Unprocessable(
                f"join_mode '{data.join_mode}' and settings.{JOIN_PARAM} {settings[JOIN_PARAM]!r} disagree; give one.",
                code="validation_error",
                details={"field": "join_mode"},
            )
        settings[JOIN_PARAM] = data.join_mode
    settings.setdefault(JOIN_PARAM, "request")
    return settings


def _facilitator_list(data: SpaceCreate, actor: Actor) -> list[FacilitatorIn]:
    if data.facilitators is None:
        return [FacilitatorIn(account_id=actor.account_id)]
    out: dict[uuid.UUID, FacilitatorIn] = {}
    for item in data.facilitators:
        f = item if isinstance(item, FacilitatorIn) else FacilitatorIn(account_id=item)
        out[f.account_id] = f
    return list(out.values())


async def _check_facilitators(
    session: AsyncSession,
    facilitators: list[FacilitatorIn],
    *,
    network_id: uuid.UUID,
    slug: str,
    own: Source,
    policy: EffectivePolicy,
    settings: dict[str, Any],
) -> None:
    """As many facilitators as the policy needs, all from the space's own network."""
    short = check_invariants(policy, settings, SpaceState(facilitators=len(facilitators)), own=own)
    if short:
        raise policy_violation(short, "Creating the space", hint="List them in 'facilitators'.")
    ids = [f.account_id for f in facilitators]
    in_network = await repository.network_members(session, network_id, ids)
    outsiders = [str(i) for i in ids if i not in in_network]
    if outsiders:
        raise Unprocessable(
            f"Facilitators must belong to network '{slug}'; {', '.join(outsiders)} do not.",
            code="facilitator_not_in_network",
            details={"field": "facilitators", "accounts": outsiders},
        )


# --- read -------------------------------------------------------------------------------------


async def read_space(session: AsyncSession, actor: Actor, space_id: uuid.UUID) -> SpaceOut:
    """A space as its viewer may see it (404 when hidden)."""
    ctx = await access.load(session, actor, space_id)
    count = ctx.member_count if can_view_members(ctx.who, ctx.facts) else None
    return to_out(ctx.space, ctx.network_slug, mine=ctx.membership, member_count=count)


async def read_policy(session: AsyncSession, actor: Actor, space_id: uuid.UUID) -> PolicyOut:
    """Effective constraints of a space, each bound with the template or ancestor that set it."""
    ctx = await access.load(session, actor, space_id)
    if not can_read_policy(ctx.who, ctx.facts):
        raise access.not_found(space_id)
    policy = await loading.policy_of(session, ctx.space, ctx.ancestors)
    if ctx.guest_shares:  # a guest sees the bounds that apply to them: their network's guest constraints too
        policy = policy.narrow(*guests.guest_layers(ctx.guest_shares))
    body = policy.to_dict()
    marks = await policy_repository.marks_of(session, space_id)
    return PolicyOut(
        space_id=space_id,
        constraints=body["constraints"],  # type: ignore[arg-type]
        conflicts=body["conflicts"],  # type: ignore[arg-type]
        settings={k: to_json_value(v) for k, v in governing_settings(policy, ctx.space.settings).items()},
        subspace_constraints=dict(ctx.space.subspace_constraints),
        noncompliance=[
            {
                "template_id": str(m.template_id),
                "version": m.version,
                "deadline": m.deadline.isoformat(),
                "violations": m.violations,
            }
            for m in marks
        ],
        warn=body.get("warn"),  # type: ignore[arg-type]
        audit=body.get("audit"),  # type: ignore[arg-type]
    )


async def hierarchy(session: AsyncSession, actor: Actor, space_id: uuid.UUID, max_depth: int | None) -> HierarchyOut:
    """The visible subtree: one query for the subtree with the caller's rows. An unlisted space
    (and everything below it) is shown only to those it is visible to."""
    ctx = await access.load(session, actor, space_id)
    root = ctx.space
    rows = await repository.subtree_with_roles(session, root, actor.account_id, max_depth)
    facts: dict[uuid.UUID, MembershipFacts] = {
        s.id: MembershipFacts(MemberRole(r), MemberStatus(st)) for s, r, st in rows if r is not None and st is not None
    }
    facts.update({sid: MembershipFacts(MemberRole(m.role), MemberStatus(m.status)) for sid, m in ctx.mine.items()})
    banned = {sid for sid, f in facts.items() if f.status is MemberStatus.BANNED}
    shares: list[GuestShare] = []
    if actor.role_in(root.network_id) is None and actor.network_roles:  # a guest: which agreements reach where
        ids = [*root.path, *(s.id for s, _, _ in rows)]
        shares = await sharing_repository.active_guest_shares(session, ids, list(actor.network_roles))
    shown: set[uuid.UUID] = set()
    items: list[SpaceSummary] = []
    for space, role, status in rows:
        if space.id != root.id and space.parent_id not in shown:
            continue  # below a hidden space
        who = space_actor(
            actor,
            home_network_id=space.network_id,
            guest_network_ids={
                g.guest_network_id for g in shares if covers(g.space_id, g.include_subspaces, space.id, space.path)
            },
            membership=facts.get(space.id),
            parent_membership=facts.get(space.parent_id) if space.parent_id else None,
            banned_above=any(a in banned for a in space.path),
        )
        if space.id != root.id and not can_read_space(who, access.facts_of(space)):
            continue
        shown.add(space.id)
        items.append(summary(space, role if status == "active" else None))
    return HierarchyOut(root=root.id, max_depth=max_depth, items=items)


async def directory(session: AsyncSession, actor: Actor, slug: str) -> SpaceList:
    """The network's directory: spaces the caller may see, without member information (one query)."""
    network = await require_network(session, slug)
    net = access.network_actor(actor, network.id)
    if not net.has(*_DIRECTORY_ROLES):
        raise Forbidden(f"The directory of '{slug}' is for members of that network.", code="forbidden")
    rows = await repository.directory(session, network.id, actor.account_id)
    items = []
    for space, role, status in rows:
        who = space_actor(
            actor,
            home_network_id=network.id,
            membership=MembershipFacts(MemberRole(role), MemberStatus(status)) if role and status else None,
        )
        if can_read_space(who, access.facts_of(space)):
            items.append(summary(space, role if status == "active" else None))
    return SpaceList(network=slug, items=items)


_DIRECTORY_ROLES = (SpaceRole.OPERATOR, SpaceRole.NETWORK_ADMIN, SpaceRole.NETWORK_MEMBER)


# --- update / move ----------------------------------------------------------------------------


async def update_space(session: AsyncSession, actor: Actor, space_id: uuid.UUID, data: SpacePatch) -> SpaceOut:
    """Change a space: name, description, visibility, settings (within policy), sub-space
    constraints (inside its own policy, and every sub-space must still fit), or its parent."""
    ctx = await access.load(session, actor, space_id, lock=True)
    space = ctx.space
    if not can_update_space_settings(ctx.who, ctx.facts):
        raise Forbidden("Only this space's facilitators and the network's admins can change it.", code="forbidden")
    if data.subspace_constraints is not msgspec.UNSET and not can_set_subspace_constraints(ctx.who, ctx.facts):
        raise Forbidden("You cannot set constraints for this space's sub-spaces.", code="forbidden")
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}

    moving = data.parent_id is not msgspec.UNSET and data.parent_id != space.parent_id
    network_spaces: list[Space] | None = None
    attached_all: list[AttachedTemplate] | None = None
    ancestors = ctx.ancestors
    if moving:
        network_spaces = await policy_repository.network_spaces(session, space.network_id)
        attached_all = await policy_repository.attached_templates(session, space.network_id, None)
        ancestors = await _check_move(
            session,
            actor,
            ctx,
            parent_id=data.parent_id,  # type: ignore[arg-type]
            spaces=network_spaces,
            attached=attached_all,
        )

    new_settings, changed = _patched_settings(space, data)
    if moving:
        assert network_spaces is not None and attached_all is not None
        resolver = loading.resolver_for(_with_path(network_spaces, space, ancestors), attached_all)
        policy = resolver.policy(space.id)
        checked = None  # a move checks every parameter: the new ancestors' bounds all apply
    else:
        policy = await loading.policy_of(session, space, ancestors)
        checked = changed
    result = check_settings(new_settings, policy, checked) if (changed or moving) else None

    if new_settings.get(JOIN_PARAM) == "parent_members" and not ancestors:
        raise Unprocessable("A space at the root has no parent; 'parent_members' needs one.", code="validation_error")
    await _check_invariants(session, space, policy, new_settings, changed)

    if data.subspace_constraints is not msgspec.UNSET:
        check_subspace_constraints(data.subspace_constraints, space.id, space.name, policy)
        await _check_descendants(session, space, ancestors, dict(data.subspace_constraints), new_settings)
        before["subspace_constraints"] = space.subspace_constraints
        after["subspace_constraints"] = data.subspace_constraints
        space.subspace_constraints = dict(data.subspace_constraints)

    if changed:
        before["settings"] = dict(space.settings)
        after["settings"] = new_settings
        space.settings = new_settings
        space.join_mode = str(new_settings[JOIN_PARAM])
    _apply_fields(space, data, before, after)
    if moving:
        before["parent_id"] = str(space.parent_id) if space.parent_id else None
        after["parent_id"] = str(data.parent_id) if data.parent_id else None
        await repository.move_subtree(session, space, [a.id for a in ancestors])
    await session.flush()  # updated_at comes back with RETURNING (eager_defaults)
    if after:
        audit.record(
            session,
            actor_id=actor.account_id,
            action="space.move" if moving else "space.update",
            target_type="space",
            target_id=space.id,
            network_id=space.network_id,
            before=before,
            after=after,
        )
    count = ctx.member_count if can_view_members(ctx.who, ctx.facts) else None
    return to_out(
        space, ctx.network_slug, mine=ctx.membership, member_count=count, warnings=result.warnings if result else ()
    )


def _patched_settings(space: Space, data: SpacePatch) -> tuple[dict[str, Any], list[str]]:
    """The settings after the PATCH (``null`` removes a setting; ``join_mode`` folds in) and the
    parameters it names."""
    new_settings = dict(space.settings)
    changed: list[str] = []
    if data.settings is not msgspec.UNSET:
        for key, value in data.settings.items():
            if value is None:
                new_settings.pop(key, None)
            else:
                new_settings[key] = value
            changed.append(key)
    if data.join_mode is not msgspec.UNSET:
        if JOIN_PARAM in changed and new_settings.get(JOIN_PARAM) != data.join_mode:
            raise Unprocessable(
                f"join_mode and settings.{JOIN_PARAM} disagree; give one.",
                code="validation_error",
                details={"field": "join_mode"},
            )
        new_settings[JOIN_PARAM] = data.join_mode
        changed.append(JOIN_PARAM)
    new_settings.setdefault(JOIN_PARAM, space.join_mode)
    return new_settings, changed


def _apply_fields(space: Space, data: SpacePatch, before: dict[str, Any], after: dict[str, Any]) -> None:
    """Name, description and visibility as the PATCH gives them (recording what changed)."""
    for field in ("name", "description", "visibility"):
        value = getattr(data, field)
        if value is not msgspec.UNSET:
            value = value.strip() if isinstance(value, str) and field != "visibility" else value
            if field == "name" and not value:
                raise Unprocessable("The name must not be blank.", code="validation_error", details={"field": "name"})
            if getattr(space, field) != value:
                before[field] = getattr(space, field)
                after[field] = value
                setattr(space, field, value)


def _with_path(spaces: list[Space], moved: Space, new_ancestors: list[Space]) -> list[Space]:
    """Spaces as the resolver should see them after the move (the moved space under its new parent)."""
    parent_id = new_ancestors[-1].id if new_ancestors else None
    out = []
    for s in spaces:
        if s.id == moved.id:
            clone = Space(
                id=s.id,
                network_id=s.network_id,
                parent_id=parent_id,
                name=s.name,
                settings=s.settings,
                subspace_constraints=s.subspace_constraints,
                path=[a.id for a in new_ancestors],
            )
            out.append(clone)
        else:
            out.append(s)
    return out


async def _check_move(
    session: AsyncSession,
    actor: Actor,
    ctx: SpaceContext,
    *,
    parent_id: uuid.UUID | None,
    spaces: list[Space],
    attached: list[AttachedTemplate],
) -> list[Space]:
    """Refuse a move out from under a parent the caller has no authority over, cycles, other
    networks, depth beyond any ancestor's nesting.max_depth; return the new ancestors (root first)."""
    space = ctx.space
    if parent_id is None:
        if not can_create_space(access.network_actor(actor, space.network_id), None):
            raise Forbidden("Only network admins can move a space to the root.", code="forbidden")
        return []
    if space.parent_id is not None:
        # Leaving a parent sheds the bounds it sets for its sub-spaces (and those of the templates
        # attached to it): only who governs that parent may take a space out from under it.
        old_parent = await access.load(session, actor, space.parent_id, must_see=False)
        if not can_move_out_of(old_parent.who, old_parent.facts):
            raise Forbidden(
                "You cannot move this space out from under its current parent: only that parent's "
                "facilitators and the network's admins can, because the parent's bounds would no longer apply.",
                code="forbidden",
                details={"rule": "move_needs_authority_over_old_parent", "field": "parent_id"},
            )
    other = await repository.get_space(session, parent_id)
    if other is not None and other.network_id != space.network_id:
        raise Unprocessable(
            "The new parent belongs to another network; a space and its parent share a home network.",
            code="parent_in_other_network",
            details={"field": "parent_id"},
        )
    try:
        parent_ctx = await access.load(session, actor, parent_id)
    except NotFound:
        raise Unprocessable(
            f"No space with id {parent_id} is visible to you.", code="parent_not_found", details={"field": "parent_id"}
        ) from None
    if not can_create_space(parent_ctx.who, parent_ctx.facts):
        raise Forbidden("You cannot move spaces under that parent.", code="forbidden")
    resolver = loading.resolver_for(spaces, attached)
    tree = SpaceTree(SpaceNode(s.id, s.network_id, s.parent_id, s.name) for s in spaces)
    above = {*parent_ctx.space.path, parent_id}
    limits = {s.id: nesting_limit(resolver.policy(s.id), s.settings) for s in spaces if s.id in above}
    problems = check_placement(
        tree, network_id=space.network_id, parent_id=parent_id, nesting_limits=limits, space_id=space.id
    )
    if problems:
        raise Unprocessable(
            f"The space cannot be moved there: {problems[0].message}.",
            code=problems[0].code.value,
            details={"problems": [p.to_dict() for p in problems]},
        )
    return [*parent_ctx.ancestors, parent_ctx.space]


async def _check_invariants(
    session: AsyncSession, space: Space, policy: EffectivePolicy, settings: dict[str, Any], changed: list[str]
) -> None:
    """Changed settings that describe the space's own state must hold for it now (only the
    facts those settings speak about are counted)."""
    state = SpaceState(
        facilitators=len(await repository.active_facilitators(session, space.id))
        if Invariant.FACILITATOR_MINIMUM in changed
        else None,
        members=await repository.count_active(session, space.id) if Invariant.MEMBER_CAP in changed else None,
        levels_below=await repository.levels_below(session, space) if Invariant.NESTING_DEPTH in changed else None,
    )
    broken = check_invariants(policy, settings, state, own=Source.space(space.id, space.name))
    if broken:
        raise policy_violation(broken, hint="Change the space first (facilitators, members or sub-spaces).")


async def _check_descendants(
    session: AsyncSession, space: Space, ancestors: list[Space], constraints: dict[str, Any], settings: dict[str, Any]
) -> None:
    """Tightening the constraints for sub-spaces must not put any existing sub-space out of bounds."""
    below = await repository.subtree(session, space, None)
    if len(below) <= 1:
        return
    changed = Space(
        id=space.id,
        network_id=space.network_id,
        parent_id=space.parent_id,
        name=space.name,
        settings=settings,
        subspace_constraints=constraints,
        path=space.path,
    )
    everything = [*ancestors, changed, *[s for s in below if s.id != space.id]]
    attached = await policy_repository.attached_templates(session, space.network_id, [s.id for s in everything])
    resolver = loading.resolver_for(everything, attached)
    findings: list[Violation] = []
    where: list[tuple[uuid.UUID, str]] = []
    for s in below:
        if s.id == space.id:
            continue
        for v in validate_settings(s.settings, resolver.policy(s.id)).violations:
            if v.source.id == space.id:
                findings.append(v)
                where.append((s.id, s.name))
    if findings:
        raise policy_violation(
            findings,
            f"The constraints for sub-spaces would put {len(set(where))} sub-space(s) out of bounds "
            f"('{where[0][1]}'); that",
            spaces=where,
            hint="Change those sub-spaces first.",
        )
