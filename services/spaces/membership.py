"""Membership use cases: join, leave, requests, invitations, facilitators, removal and bans.

Invariants hold under concurrent requests because each use case locks the space's row
(SELECT ... FOR UPDATE) before counting facilitators or members.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from federation.permissions import Actor
from federation.policy import EffectivePolicy, Source, SpaceState, check_invariants, governing_value
from federation.space_permissions import (
    SpaceRole,
    can_approve_requests,
    can_invite,
    can_leave,
    can_manage_facilitators,
    can_remove_member,
    can_see_to_join,
    can_view_members,
)
from federation.spaces import (
    FacilitatorCode,
    JoinAttempt,
    JoinOutcome,
    JoinRefusal,
    Membership,
    SpaceNode,
    SpaceTree,
    check_facilitator_removal,
    decide_approval,
    decide_join,
    facilitator_requirements,
    join_limits,
    plan_cascade,
)
from services import audit
from services.errors import Conflict, Forbidden, NotFound, Unprocessable
from services.notifications import events
from services.persistence.models import Space, SpaceJoinRequest, SpaceMember
from services.policies import loading
from services.policies import repository as policy_repository
from services.policies.loading import now, policy_of
from services.policies.violations import policy_violation
from services.sharing import guests
from services.spaces import access, repository
from services.spaces.access import SpaceContext
from services.spaces.schemas import (
    FacilitatorSet,
    InvitationCreate,
    JoinBody,
    JoinOut,
    MemberList,
    MemberOut,
    RemovalOut,
    RequestList,
    RequestOut,
)

GUESTS_ALLOWED = "membership.guests_allowed"

_REFUSAL_STATUS = {
    JoinRefusal.BANNED: (403, "banned"),
    JoinRefusal.NOT_VISIBLE: (403, "not_in_network"),
    JoinRefusal.INVITE_ONLY: (403, "invite_only"),
    JoinRefusal.PARENT_MEMBERSHIP_REQUIRED: (403, "parent_membership_required"),
    JoinRefusal.SPACE_FULL: (409, "space_full"),
}


def request_out(r: SpaceJoinRequest) -> RequestOut:
    """Shape a request or invitation."""
    return RequestOut(
        id=r.id,
        space_id=r.space_id,
        account_id=r.account_id,
        kind=r.kind,  # type: ignore[arg-type]
        status=r.status,  # type: ignore[arg-type]
        message=r.message,
        created_at=r.created_at,
        decided_at=r.decided_at,
    )


def _record(
    session: AsyncSession, actor: Actor, space: Space, action: str, account_id: uuid.UUID, **after: object
) -> None:
    audit.record(
        session,
        actor_id=actor.account_id,
        action=action,
        target_type="space",
        target_id=space.id,
        network_id=space.network_id,
        after={"account_id": str(account_id), **after},
    )


# --- join / requests / invitations ------------------------------------------------------------


async def join(session: AsyncSession, actor: Actor, space_id: uuid.UUID, data: JoinBody) -> JoinOut:
    """Join (open, parent_members, with an invitation) or file a request (request mode)."""
    ctx = await access.load(session, actor, space_id, lock=True)
    space = ctx.space
    policy = await policy_of(session, space, ctx.ancestors)
    if ctx.guest_shares:  # a guest: their network's guest constraints narrow the rules (e.g. join mode)
        policy = policy.narrow(*guests.guest_layers(ctx.guest_shares))
        if governing_value(policy, space.settings, GUESTS_ALLOWED) is False:
            raise Forbidden(
                f"You cannot join: this space does not take guests from other networks ({GUESTS_ALLOWED} is false).",
                code="guests_not_allowed",
            )
    mode, cap = join_limits(policy, space.settings)
    member = ctx.membership
    attempt = JoinAttempt(
        join_mode=mode,
        member_count=await repository.count_active(session, space.id),
        max_members=cap,
        can_see=can_see_to_join(ctx.who, ctx.facts),
        is_member=member is not None and member.status == "active",
        is_banned=ctx.banned,
        has_invite=ctx.invited,
        is_parent_member=ctx.who.has(SpaceRole.PARENT_MEMBER),
    )
    decision = decide_join(attempt)
    if decision.outcome is JoinOutcome.ALREADY_MEMBER:
        return JoinOut(space_id=space.id, outcome="already_member")
    if decision.outcome is JoinOutcome.REFUSED:
        assert decision.reason is not None
        status, code = _REFUSAL_STATUS[decision.reason]
        raise (Conflict if status == 409 else Forbidden)(f"You cannot join: {decision.message}.", code=code)
    pending = await repository.pending_for(session, space.id, actor.account_id)
    if decision.outcome is JoinOutcome.REQUESTED:
        if pending is not None:
            return JoinOut(space_id=space.id, outcome="requested", request=request_out(pending))
        request = await _new_request(session, actor, space, actor.account_id, kind="request", message=data.message)
        return JoinOut(space_id=space.id, outcome="requested", request=request_out(request))
    if member is None:
        member = SpaceMember(space_id=space.id, account_id=actor.account_id, role="member", status="active")
        session.add(member)
    else:
        member.status, member.role = "active", "member"
    await session.flush()
    share_id = await guests.admit_guest(session, space, member) if ctx.guest_shares else None
    via = "invitation" if ctx.invited else mode.value
    if pending is not None:
        pending.status = "accepted" if pending.kind == "invitation" else "approved"
        pending.decided_at = now()
        pending.decided_by = actor.account_id
    await session.flush()
    extra = {"share_id": str(share_id)} if share_id else {}
    _record(session, actor, space, "space.member.join", actor.account_id, via=via, **extra)
    return JoinOut(space_id=space.id, outcome="joined")


async def _request(session: AsyncSession, ctx: SpaceContext, request_id: uuid.UUID) -> SpaceJoinRequest:
    r = await repository.get_request(session, ctx.space.id, request_id)
    if r is None:
        raise NotFound(f"This space has no request or invitation with id {request_id}.", code="request_not_found")
    return r


async def read_request(session: AsyncSession, actor: Actor, space_id: uuid.UUID, request_id: uuid.UUID) -> RequestOut:
    """The requester (or invitee) sees the state of their request; facilitators see any."""
    ctx = await access.load(session, actor, space_id, must_see=False)
    r = await repository.get_request(session, space_id, request_id)
    if r is None or not (r.account_id == actor.account_id or can_approve_requests(ctx.who, ctx.facts)):
        raise NotFound(f"No request with id {request_id} is visible to you.", code="request_not_found")
    return request_out(r)


async def list_requests(session: AsyncSession, actor: Actor, space_id: uuid.UUID, status: str | None) -> RequestList:
    """Requests and invitations of a space (facilitators)."""
    ctx = await access.load(session, actor, space_id)
    if not can_approve_requests(ctx.who, ctx.facts):
        raise Forbidden("Only this space's facilitators can see its join requests.", code="forbidden")
    return RequestList(items=[request_out(r) for r in await repository.list_requests(session, space_id, status)])


async def decide_request(
    session: AsyncSession, actor: Actor, space_id: uuid.UUID, request_id: uuid.UUID, *, approve: bool
) -> RequestOut:
    """Approve or decline a pending request (facilitators); decline also lets the requester
    withdraw their request and an invitee turn down an invitation."""
    ctx = await access.load(session, actor, space_id, lock=True, must_see=False)
    r = await repository.get_request(session, space_id, request_id)
    own = r is not None and r.account_id == actor.account_id
    facilitator = can_approve_requests(ctx.who, ctx.facts)
    if r is None or not (own or facilitator):
        raise NotFound(f"No request with id {request_id} is visible to you.", code="request_not_found")
    if r.status != "pending":
        raise Conflict(f"This {r.kind} is already {r.status}.", code="request_not_pending")
    space = ctx.space
    if approve:
        if r.kind != "request" or not facilitator:
            raise Forbidden(
                "Only facilitators approve join requests (an invitee joins with POST /join).", code="forbidden"
            )
        policy = await policy_of(session, space, ctx.ancestors)
        _, cap = join_limits(policy, space.settings)
        theirs = await repository.memberships(session, r.account_id, [*space.path, space.id])
        decision = decide_approval(
            await repository.count_active(session, space.id),
            cap,
            is_banned=any(m.status == "banned" for m in theirs.values()),
        )
        if decision.outcome is JoinOutcome.REFUSED:
            assert decision.reason is not None
            status, code = _REFUSAL_STATUS[decision.reason]
            raise (Conflict if status == 409 else Forbidden)(f"Cannot approve: {decision.message}.", code=code)
        row = theirs.get(space.id)
        if row is None:
            row = SpaceMember(space_id=space.id, account_id=r.account_id, role="member", status="active")
            session.add(row)
        else:
            row.status, row.role = "active", "member"
        await session.flush()
        await guests.admit_guest(session, space, row)  # a guest through a share: own standing, tied to it
        r.status = "approved"
    else:
        r.status = (
            "declined" if (facilitator and r.kind == "request") or (own and r.kind == "invitation") else "cancelled"
        )
    r.decided_at = now()
    r.decided_by = actor.account_id
    await session.flush()
    await session.refresh(r)
    _record(session, actor, space, f"space.request.{r.status}", r.account_id, request_id=str(r.id), kind=r.kind)
    if r.kind == "request" and r.status in {"approved", "declined"}:
        await events.request_decided(session, space, r.account_id, approved=r.status == "approved")
    return request_out(r)


async def invite(session: AsyncSession, actor: Actor, space_id: uuid.UUID, data: InvitationCreate) -> RequestOut:
    """Invite an account (facilitators, network admins). The invitee joins with POST /join."""
    ctx = await access.load(session, actor, space_id, lock=True)
    if not can_invite(ctx.who, ctx.facts):
        raise Forbidden("Only this space's facilitators and the network's admins can invite.", code="forbidden")
    space = ctx.space
    if not await repository.account_exists(session, data.account_id):
        raise NotFound(f"No active account has id {data.account_id}.", code="account_not_found")
    theirs = await repository.memberships(session, data.account_id, [*space.path, space.id])
    if any(m.status == "banned" for m in theirs.values()):
        raise Conflict("That account is banned from this space or a space above it; lift the ban first.", code="banned")
    row = theirs.get(space.id)
    if row is not None and row.status == "active":
        raise Conflict("That account is already a member of this space.", code="already_member")
    pending = await repository.pending_for(session, space.id, data.account_id)
    if pending is not None:
        if pending.kind == "invitation":
            return request_out(pending)
        pending.status, pending.decided_at, pending.decided_by = "approved", now(), actor.account_id
        await session.flush()
    invitation = await _new_request(session, actor, space, data.account_id, kind="invitation", message=data.message)
    return request_out(invitation)


async def _new_request(
    session: AsyncSession, actor: Actor, space: Space, account_id: uuid.UUID, *, kind: str, message: str
) -> SpaceJoinRequest:
    """A pending join request (from ``account_id``) or invitation (to it), stored and audited."""
    row = SpaceJoinRequest(
        id=uuid.uuid4(),
        space_id=space.id,
        account_id=account_id,
        kind=kind,
        status="pending",
        message=message,
        created_by=actor.account_id,
    )
    session.add(row)
    await session.flush()
    await session.refresh(row)
    action = "space.member.request" if kind == "request" else "space.member.invite"
    _record(session, actor, space, action, account_id, request_id=str(row.id))
    if kind == "request":
        await events.join_requested(session, space, account_id, message)
    return row


# --- members ----------------------------------------------------------------------------------


async def members(session: AsyncSession, actor: Actor, space_id: uuid.UUID) -> MemberList:
    """The member list: the space's own members and facilitators only."""
    ctx = await access.load(session, actor, space_id)
    if not can_view_members(ctx.who, ctx.facts):
        # The same answer as for a space that does not exist: membership of an identity space is
        # sensitive, so a non-member cannot even tell whether there is a list to be refused.
        raise access.not_found(space_id)
    rows = await repository.member_list(session, space_id)
    return MemberList(
        space_id=space_id,
        items=[
            MemberOut(
                account_id=m.account_id,
                display_name=m.display_name,
                role=m.role,
                trained=m.trained,
                joined_at=m.joined_at,
            )
            for m in rows
        ],
    )


async def set_facilitator(
    session: AsyncSession, actor: Actor, space_id: uuid.UUID, account_id: uuid.UUID, data: FacilitatorSet
) -> tuple[MemberOut, bool]:
    """Make an account a facilitator of the space (or update its trained mark)."""
    ctx = await access.load(session, actor, space_id, lock=True)
    if not can_manage_facilitators(ctx.who, ctx.facts):
        raise Forbidden(
            "Only this space's facilitators and the network's admins can add facilitators.", code="forbidden"
        )
    space = ctx.space
    if not await repository.account_exists(session, account_id):
        raise NotFound(f"No active account has id {account_id}.", code="account_not_found")
    theirs = await repository.memberships(session, account_id, [*space.path, space.id])
    if any(m.status == "banned" for m in theirs.values()):
        raise Conflict("That account is banned from this space or a space above it.", code="banned")
    row = theirs.get(space.id)
    if (row is None or row.status != "active") and await repository.network_role(
        session, space.network_id, account_id
    ) is None:
        raise Unprocessable(
            "Facilitators come from the space's own community: that account is neither a member of this space "
            "nor of its network.",
            code="facilitator_not_in_network",
        )
    before = {"role": row.role, "status": row.status, "trained": row.trained} if row else None
    created = row is None or row.role != "facilitator" or row.status != "active"
    if row is None:
        row = SpaceMember(
            space_id=space.id, account_id=account_id, role="facilitator", status="active", trained=data.trained
        )
        session.add(row)
    else:
        row.role, row.status, row.trained = "facilitator", "active", data.trained
    await session.flush()
    await session.refresh(row)
    audit.record(
        session,
        actor_id=actor.account_id,
        action="space.facilitator.add",
        target_type="space",
        target_id=space.id,
        network_id=space.network_id,
        before=before,
        after={"account_id": str(account_id), "role": "facilitator", "trained": data.trained},
    )
    name = await repository.display_name(session, account_id)
    return MemberOut(
        account_id=account_id, display_name=name, role="facilitator", trained=row.trained, joined_at=row.created_at
    ), created


async def remove_facilitator(session: AsyncSession, actor: Actor, space_id: uuid.UUID, account_id: uuid.UUID) -> None:
    """Stop an account facilitating (it stays a member); refused below facilitators.min_count."""
    ctx = await access.load(session, actor, space_id, lock=True)
    if not can_manage_facilitators(ctx.who, ctx.facts):
        raise Forbidden(
            "Only this space's facilitators and the network's admins can remove facilitators.", code="forbidden"
        )
    space = ctx.space
    facilitators = {m.account_id: m for m in await repository.active_facilitators(session, space.id)}
    policy = await policy_of(session, space, ctx.ancestors)
    minimum, _ = facilitator_requirements(policy, space.settings)
    problem = check_facilitator_removal(list(facilitators), account_id, minimum)
    if problem is not None:
        if problem.code is FacilitatorCode.NOT_A_FACILITATOR:
            raise NotFound("That account is not a facilitator of this space.", code="not_a_facilitator")
        raise _short_of_facilitators(policy, space, problem.remaining, "Removing this facilitator")
    row = facilitators[account_id]
    row.role = "member"
    await session.flush()
    audit.record(
        session,
        actor_id=actor.account_id,
        action="space.facilitator.remove",
        target_type="space",
        target_id=space.id,
        network_id=space.network_id,
        before={"account_id": str(account_id), "role": "facilitator"},
        after={"account_id": str(account_id), "role": "member"},
    )


def _short_of_facilitators(policy: EffectivePolicy, space: Space, remaining: int, what: str) -> Unprocessable:
    """The 422 for a change that would leave ``space`` with ``remaining`` facilitators, below its minimum."""
    broken = check_invariants(
        policy, space.settings, SpaceState(facilitators=remaining), own=Source.space(space.id, space.name)
    )
    return policy_violation(broken, what, hint="Add another facilitator first.")


# --- leave / remove / ban ---------------------------------------------------------------------


async def _cascade(
    session: AsyncSession,
    actor: Actor,
    space: Space,
    account_id: uuid.UUID,
    *,
    refuse_shortfall: bool,
) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
    """End the account's membership of ``space`` and of every space below it (except own
    standing). Locks every space where it facilitates, then checks facilitator minimums."""
    below = await repository.memberships_below(session, account_id, space.id)
    own = await repository.membership(session, space.id, account_id)
    rows = [r for r in [own, *below] if r is not None and r.status == "active"]
    if not rows:
        return [], []
    sub = await repository.subtree(session, space, None)
    tree = SpaceTree(SpaceNode(s.id, s.network_id, s.parent_id if s.id != space.id else None, s.name) for s in sub)
    held = [Membership(r.space_id, r.own_standing and r.space_id != space.id, r.role == "facilitator") for r in rows]
    plan = plan_cascade(tree, space.id, held)
    facilitating = sorted(m.space_id for m in held if m.is_facilitator and m.space_id in plan.remove)
    if facilitating and refuse_shortfall:
        for sid in facilitating:  # fixed order: no deadlocks between concurrent cascades
            await repository.lock_space(session, sid)
        ups = await repository.ancestors(session, space)
        everything = [*ups, *sub]
        attached = await policy_repository.attached_templates(session, space.network_id, [s.id for s in everything])
        resolver = loading.resolver_for(everything, attached)
        by_id = {s.id: s for s in sub}
        counts = {sid: len(await repository.active_facilitators(session, sid)) for sid in facilitating}
        minimums = {sid: facilitator_requirements(resolver.policy(sid), by_id[sid].settings)[0] for sid in facilitating}
        plan = plan_cascade(tree, space.id, held, facilitator_counts=counts, facilitator_minimums=minimums)
        if plan.shortfalls:
            s = plan.shortfalls[0]
            policy = resolver.policy(s.space_id)
            short = by_id[s.space_id]
            raise _short_of_facilitators(policy, short, s.remaining, f"Taking a facilitator from '{short.name}'")
    await repository.remove_memberships(session, account_id, [sid for sid in plan.remove if sid != space.id])
    return list(plan.remove), list(plan.kept)


async def leave(session: AsyncSession, actor: Actor, space_id: uuid.UUID) -> RemovalOut:
    """Leave a space and every space below it (except memberships held on own standing)."""
    ctx = await access.load(session, actor, space_id, lock=True)
    if not can_leave(ctx.who, ctx.facts):
        raise Conflict("You are not a member of this space.", code="not_a_member")
    removed, kept = await _cascade(session, actor, ctx.space, actor.account_id, refuse_shortfall=True)
    await repository.remove_memberships(session, actor.account_id, [ctx.space.id])
    await repository.cancel_pending(session, actor.account_id, removed)
    _record(session, actor, ctx.space, "space.member.leave", actor.account_id, removed_from=[str(i) for i in removed])
    return RemovalOut(space_id=space_id, account_id=actor.account_id, removed_from=removed, kept=kept)


async def remove_member(session: AsyncSession, actor: Actor, space_id: uuid.UUID, account_id: uuid.UUID) -> RemovalOut:
    """Remove a member from a space and every space below it; refused if it breaks a facilitator minimum."""
    ctx = await access.load(session, actor, space_id, lock=True)
    if not can_remove_member(ctx.who, ctx.facts):
        raise Forbidden("Only this space's facilitators and the network's admins can remove members.", code="forbidden")
    row = await repository.membership(session, space_id, account_id)
    if row is None or row.status != "active":
        raise NotFound("That account is not a member of this space.", code="not_a_member")
    removed, kept = await _cascade(session, actor, ctx.space, account_id, refuse_shortfall=True)
    await repository.remove_memberships(session, account_id, [space_id])
    await repository.cancel_pending(session, account_id, removed)
    _record(session, actor, ctx.space, "space.member.remove", account_id, removed_from=[str(i) for i in removed])
    return RemovalOut(space_id=space_id, account_id=account_id, removed_from=removed, kept=kept)


async def ban(session: AsyncSession, actor: Actor, space_id: uuid.UUID, account_id: uuid.UUID) -> RemovalOut:
    """Ban an account: it leaves the space and everything below (except own standing) and cannot
    rejoin any of them. A ban proceeds even if a facilitator minimum breaks (the space then
    shows as non-compliant): safety first."""
    ctx = await access.load(session, actor, space_id, lock=True)
    if not can_remove_member(ctx.who, ctx.facts):
        raise Forbidden("Only this space's facilitators and the network's admins can ban.", code="forbidden")
    if account_id == actor.account_id:
        raise Unprocessable("You cannot ban yourself; leave the space instead.", code="validation_error")
    if not await repository.account_exists(session, account_id):
        raise NotFound(f"No active account has id {account_id}.", code="account_not_found")
    removed, kept = await _cascade(session, actor, ctx.space, account_id, refuse_shortfall=False)
    row = await repository.membership(session, space_id, account_id)
    if row is None:
        session.add(SpaceMember(space_id=space_id, account_id=account_id, role="member", status="banned"))
    else:
        row.status, row.role = "banned", "member"
    sub = await repository.subtree(session, ctx.space, None)
    await repository.cancel_pending(session, account_id, [s.id for s in sub])
    await session.flush()
    _record(session, actor, ctx.space, "space.member.ban", account_id, removed_from=[str(i) for i in removed])
    return RemovalOut(space_id=space_id, account_id=account_id, removed_from=removed, kept=kept, banned=True)


async def unban(session: AsyncSession, actor: Actor, space_id: uuid.UUID, account_id: uuid.UUID) -> None:
    """Lift a ban (the account may then join again; nothing is restored automatically)."""
    ctx = await access.load(session, actor, space_id, lock=True)
    if not can_remove_member(ctx.who, ctx.facts):
        raise Forbidden("Only this space's facilitators and the network's admins can lift bans.", code="forbidden")
    row = await repository.membership(session, space_id, account_id)
    if row is None or row.status != "banned":
        raise NotFound("That account is not banned from this space.", code="not_banned")
    await repository.remove_memberships(session, account_id, [space_id])
    _record(session, actor, ctx.space, "space.member.unban", account_id)


def ids(spaces: Sequence[Space]) -> list[uuid.UUID]:
    """Ids of spaces."""
    return [s.id for s in spaces]
