"""Use cases of sharing agreements: offer, accept, decline, end, list; trust marks.

Decisions are the domain's (:mod:`federation.sharing`, :mod:`federation.space_permissions`,
the policy engine); this module loads facts, asks, writes, records an audit event.

Time is read in one place, :func:`now` (tests replace it), so offer expiry (14 days) is
computed from stored timestamps at read time and enforced on accept, with no job to run.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from federation.permissions import Actor
from federation.policy import (
    EffectivePolicy,
    FlagConstraint,
    Mode,
    PolicyInputError,
    Source,
    SourceKind,
    governing_value,
    parse_constraints,
)
from federation.sharing import (
    ShareSides,
    ShareStatus,
    can_answer_share,
    can_end_share,
    can_manage_trust,
    can_view_shares,
    current_status,
    expires_at,
)
from federation.space_permissions import can_share_space
from services import audit
from services.errors import Conflict, Forbidden, NotFound, Unprocessable
from services.networks import repository as network_repository
from services.networks.service import require_network
from services.notifications import events
from services.persistence.models import Network, Share, Space, TrustedNetwork
from services.policies import loading
from services.policies import repository as policy_repository
from services.policies.loading import policy_of
from services.sharing import repository
from services.sharing.repository import ShareRow
from services.sharing.schemas import ShareAccept, ShareCreate, ShareList, ShareOut, TrustedList, TrustedOut
from services.spaces import access
from services.spaces import repository as space_repository

GUESTS_ALLOWED = "membership.guests_allowed"


def now() -> dt.datetime:
    """The current time (UTC). The one clock of this area: tests replace it."""
    return dt.datetime.now(dt.UTC)


# --- shaping ----------------------------------------------------------------------------------


def to_out(row: ShareRow, at: dt.datetime, network_id: uuid.UUID | None = None) -> ShareOut:
    """An agreement for the wire, its status computed at ``at``."""
    s = row.share
    direction: Any = None
    if network_id is not None:
        direction = "outgoing" if s.host_network_id == network_id else "incoming"
    return ShareOut(
        id=s.id,
        space_id=s.space_id,
        space_name=row.space_name,
        space_kind=row.space_kind,
        host_network=row.host_slug,
        guest_network=row.guest_slug,
        include_subspaces=s.include_subspaces,
        message=s.message,
        status=current_status(s.status, s.expires_at, at).value,
        constraints=dict(s.constraints),
        auto_accepted=s.auto_accepted,
        created_at=s.created_at,
        expires_at=s.expires_at,
        decided_at=s.decided_at,
        ended_at=s.ended_at,
        direction=direction,
    )


async def _out(session: AsyncSession, share: Share, at: dt.datetime) -> ShareOut:
    await session.flush()
    row = await repository.share_row(session, share.id)
    assert row is not None
    return to_out(row, at)


def _record(
    session: AsyncSession, actor: Actor, share: Share, action: str, network_id: uuid.UUID, **after: Any
) -> None:
    audit.record(
        session,
        actor_id=actor.account_id,
        action=action,
        target_type="share",
        target_id=share.id,
        network_id=network_id,
        after={
            "space_id": str(share.space_id),
            "host_network_id": str(share.host_network_id),
            "guest_network_id": str(share.guest_network_id),
            "status": share.status,
            **after,
        },
    )


# --- policy checks ----------------------------------------------------------------------------


def _guests_refused(policy: EffectivePolicy, space: Space) -> Unprocessable | None:
    """The 422 when ``membership.guests_allowed`` governs false for ``space``: names the rule
    and whoever set it (a template, an ancestor, or the space's own settings)."""
    if governing_value(policy, space.settings, GUESTS_ALLOWED) is not False:
        return None
    c = policy.enforced.get(GUESTS_ALLOWED)
    if isinstance(c, FlagConstraint) and c.value is False:
        source: Source | None = c.locks[0].source
        by = f"locked to false by {c.locks[0].source.label()}"
    else:
        source = None
        by = "set to false in the space's own settings"
    return Unprocessable(
        f"'{space.name}' cannot be shared: {GUESTS_ALLOWED} is {by}. "
        "Change that rule first, or share a space that allows guests.",
        code="guests_not_allowed",
        details={
            "parameter": GUESTS_ALLOWED,
            "value": False,
            "space_id": str(space.id),
            "space_name": space.name,
            "source": source.to_dict() if source else {"kind": "settings", "id": str(space.id), "name": space.name},
        },
    )


async def _check_subspaces(session: AsyncSession, space: Space, ancestors: list[Space]) -> None:
    """Every sub-space of a share with ``include_subspaces`` must allow guests (one query for
    the subtree, one for the templates)."""
    sub = await space_repository.subtree(session, space, None)
    if len(sub) <= 1:
        return
    everything = [*ancestors, *sub]
    attached = await policy_repository.attached_templates(session, space.network_id, [s.id for s in everything])
    resolver = loading.resolver_for(everything, attached)
    for s in sub:
        if s.id == space.id:
            continue
        refused = _guests_refused(resolver.policy(s.id), s)
        if refused is not None:
            refused.message = (
                f"The sub-space '{s.name}' does not allow guests, so the space cannot be shared with its "
                f"sub-spaces: {refused.message} Or share without include_subspaces."
            )
            raise refused


def _parse_guest_constraints(raw: dict[str, Any], guest: Network) -> Any:
    try:
        return parse_constraints(raw, Source.guest_network(guest.id, guest.name))
    except PolicyInputError as exc:
        first = exc.problems[0]
        more = len(exc.problems) - 1
        raise Unprocessable(
            f"The guest constraints are not valid: {first.message}" + (f" (and {more} more)." if more else "."),
            code="invalid_constraints",
            details={"field": "constraints", "parameter": first.parameter, **exc.to_dict()},
        ) from None


# --- offer ------------------------------------------------------------------------------------


async def offer(session: AsyncSession, actor: Actor, space_id: uuid.UUID, data: ShareCreate) -> ShareOut:
    """Offer a space (and optionally its sub-spaces) to another network: host network admins.
    Accepted at once when the guest network trusts the host."""
    ctx = await access.load(session, actor, space_id, lock=True)
    space = ctx.space
    if not can_share_space(ctx.who, ctx.facts):
        raise Forbidden(
            f"Only admins of the space's network ('{ctx.network_slug}') can share it with another network.",
            code="forbidden",
        )
    guest = await network_repository.get_by_slug(session, data.guest_network)
    if guest is None:
        raise Unprocessable(
            f"No network has the slug '{data.guest_network}'.",
            code="network_not_found",
            details={"field": "guest_network"},
        )
    if guest.id == space.network_id:
        raise Unprocessable(
            "A space cannot be shared with its own network: its members can already see it.",
            code="same_network",
            details={"field": "guest_network"},
        )
    refused = _guests_refused(await policy_of(session, space, ctx.ancestors), space)
    if refused is not None:
        raise refused
    if data.include_subspaces:
        await _check_subspaces(session, space, ctx.ancestors)
    at = now()
    existing = await repository.open_share(session, space.id, guest.id)
    if existing is not None:
        if current_status(existing.status, existing.expires_at, at) is ShareStatus.EXPIRED:
            existing.status = ShareStatus.EXPIRED.value  # the old offer lapsed; a new one replaces it
            await session.flush()
        else:
            raise Conflict(
                f"This space already has a {existing.status} agreement with '{guest.slug}' "
                f"(share {existing.id}); end it before offering again.",
                code="share_exists",
                details={"share_id": str(existing.id), "status": existing.status},
            )
    trusted = await repository.trusts(session, guest.id, space.network_id)
    share = Share(
        id=uuid.uuid4(),
        space_id=space.id,
        host_network_id=space.network_id,
        guest_network_id=guest.id,
        include_subspaces=data.include_subspaces,
        message=data.message.strip(),
        status=ShareStatus.ACTIVE.value if trusted else ShareStatus.PENDING.value,
        constraints={},
        auto_accepted=trusted,
        offered_by=actor.account_id,
        created_at=at,
        expires_at=expires_at(at),
        decided_at=at if trusted else None,
    )
    session.add(share)
    await session.flush()
    _record(
        session,
        actor,
        share,
        "share.offer",
        space.network_id,
        include_subspaces=data.include_subspaces,
        guest_network=guest.slug,
    )
    if trusted:
        _record(session, actor, share, "share.accept", guest.id, automatic=True, reason="host network is trusted")
    await events.share_offered(
        session, space_name=space.name, host_network_id=space.network_id, guest_network_id=guest.id, accepted=trusted
    )
    return await _out(session, share, at)


# --- answer -----------------------------------------------------------------------------------


async def _guest_side(
    session: AsyncSession, actor: Actor, slug: str, share_id: uuid.UUID, verb: str
) -> tuple[Network, Share]:
    network = await require_network(session, slug)
    share = await repository.get_share(session, share_id, lock=True)
    if share is None or network.id not in (share.guest_network_id, share.host_network_id):
        raise NotFound(f"Network '{slug}' has no sharing agreement with id {share_id}.", code="share_not_found")
    if share.guest_network_id != network.id:
        raise Forbidden(
            f"Network '{slug}' offered this agreement; only the guest network's admins can {verb} it.",
            code="forbidden",
        )
    if not can_answer_share(actor, ShareSides(share.host_network_id, share.guest_network_id)):
        raise Forbidden(f"Only admins of '{slug}' can {verb} offers made to it.", code="forbidden")
    return network, share


def _require_pending(share: Share, at: dt.datetime) -> None:
    status = current_status(share.status, share.expires_at, at)
    if status is ShareStatus.EXPIRED:
        raise Conflict(
            f"This offer expired on {share.expires_at.date().isoformat()} (offers last 14 days); "
            "ask the host network to offer it again.",
            code="share_expired",
        )
    if status is not ShareStatus.PENDING:
        raise Conflict(f"This agreement is {status.value}, not a pending offer.", code="share_not_pending")


async def accept(session: AsyncSession, actor: Actor, slug: str, share_id: uuid.UUID, data: ShareAccept) -> ShareOut:
    """Accept an offer (guest network admins), optionally with guest constraints for the guest
    network's own members: they must parse and must not contradict the host's enforced rules."""
    guest, share = await _guest_side(session, actor, slug, share_id, "accept")
    at = now()
    _require_pending(share, at)
    layer = _parse_guest_constraints(data.constraints, guest)
    space = await space_repository.get_space(session, share.space_id)
    assert space is not None  # the agreement's row is deleted with its space
    policy = await policy_of(session, space, await space_repository.ancestors(session, space))
    refused = _guests_refused(policy, space)
    if refused is not None:
        raise refused
    clashes = [
        c
        for c in policy.narrow(layer).conflicts()
        if c.mode is Mode.ENFORCE and any(s.kind is SourceKind.GUEST_NETWORK for s in c.sources)
    ]
    if clashes:
        first = clashes[0]
        raise Unprocessable(
            f"The guest constraints contradict the space's own rules: {first.parameter}: {first.message} "
            "(no value could satisfy both). Loosen that guest constraint.",
            code="constraint_conflict",
            details={"field": "constraints", "parameter": first.parameter, "conflicts": [c.to_dict() for c in clashes]},
        )
    share.status = ShareStatus.ACTIVE.value
    share.constraints = dict(data.constraints)
    share.decided_by = actor.account_id
    share.decided_at = at
    _record(session, actor, share, "share.accept", guest.id, constraints=dict(data.constraints))
    return await _out(session, share, at)


async def decline(session: AsyncSession, actor: Actor, slug: str, share_id: uuid.UUID) -> ShareOut:
    """Decline an offer (guest network admins)."""
    guest, share = await _guest_side(session, actor, slug, share_id, "decline")
    at = now()
    _require_pending(share, at)
    share.status = ShareStatus.DECLINED.value
    share.decided_by = actor.account_id
    share.decided_at = at
    _record(session, actor, share, "share.decline", guest.id)
    return await _out(session, share, at)


# --- end --------------------------------------------------------------------------------------


async def end(session: AsyncSession, actor: Actor, share_id: uuid.UUID) -> ShareOut:
    """End an agreement (either side's admins), or withdraw a pending offer. Guests lose access
    at once: the memberships the agreement admitted are deleted in this transaction (chat reads
    ``space_members``), their pending requests cancelled; messages stay with the host."""
    share = await repository.get_share(session, share_id, lock=True)
    if share is None or not can_end_share(actor, ShareSides(share.host_network_id, share.guest_network_id)):
        raise NotFound(f"No sharing agreement with id {share_id} is visible to you.", code="share_not_found")
    at = now()
    status = current_status(share.status, share.expires_at, at)
    if status not in (ShareStatus.PENDING, ShareStatus.ACTIVE):
        raise Conflict(f"This agreement is already {status.value}.", code="share_not_open")
    await space_repository.lock_space(session, share.space_id)  # serialise with joins to the space
    removed = await repository.end_guest_memberships(session, share.id)
    covered = await repository.covered_space_ids(session, share)
    cancelled = await repository.cancel_guest_requests(session, covered, share.guest_network_id, share.host_network_id)
    was = share.status
    share.status = ShareStatus.ENDED.value
    share.ended_by = actor.account_id
    share.ended_at = at
    side = share.host_network_id if actor.is_admin_of(share.host_network_id) else share.guest_network_id
    _record(
        session,
        actor,
        share,
        "share.end" if was == ShareStatus.ACTIVE.value else "share.withdraw",
        side,
        was=was,
        removed_memberships=len(removed),
        spaces_left=sorted({str(s) for s, _ in removed}),
        cancelled_requests=cancelled,
    )
    out = await _out(session, share, at)
    out.removed_memberships = len(removed)
    return out


# --- list -------------------------------------------------------------------------------------


async def list_shares(session: AsyncSession, actor: Actor, slug: str) -> ShareList:
    """Every agreement of a network, offered and received, with computed status (its admins)."""
    network = await require_network(session, slug)
    if not can_view_shares(actor, network.id):
        raise Forbidden(f"Only admins of '{slug}' can see its sharing agreements.", code="forbidden")
    at = now()
    rows = await repository.network_shares(session, network.id)
    return ShareList(network=slug, items=[to_out(r, at, network.id) for r in rows])


# --- trust ------------------------------------------------------------------------------------


async def _trust_pair(session: AsyncSession, actor: Actor, slug: str, host_slug: str) -> tuple[Network, Network]:
    network = await require_network(session, slug)
    if not can_manage_trust(actor, network.id):
        raise Forbidden(f"Only admins of '{slug}' can choose which networks it trusts.", code="forbidden")
    host = await network_repository.get_by_slug(session, host_slug)
    if host is None:
        raise NotFound(f"No network has the slug '{host_slug}'.", code="network_not_found")
    if host.id == network.id:
        raise Unprocessable("A network cannot mark itself as trusted.", code="same_network")
    return network, host


async def trust(session: AsyncSession, actor: Actor, slug: str, host_slug: str) -> tuple[TrustedOut, bool]:
    """Mark ``host_slug`` as trusted by ``slug``: its future offers are accepted at once.
    Returns (mark, created)."""
    network, host = await _trust_pair(session, actor, slug, host_slug)
    created = not await repository.trusts(session, network.id, host.id)
    if created:
        session.add(TrustedNetwork(network_id=network.id, trusted_network_id=host.id, created_by=actor.account_id))
        await session.flush()
        audit.record(
            session,
            actor_id=actor.account_id,
            action="share.trust",
            target_type="network",
            target_id=host.id,
            network_id=network.id,
            after={"trusted_network": host.slug},
        )
    since = next((c for s, _, c in await repository.trusted_list(session, network.id) if s == host.slug), now())
    return TrustedOut(network=network.slug, trusted_network=host.slug, name=host.name, since=since), created


async def untrust(session: AsyncSession, actor: Actor, slug: str, host_slug: str) -> None:
    """Drop the trust mark (offers already accepted stay active)."""
    network, host = await _trust_pair(session, actor, slug, host_slug)
    if not await repository.remove_trust(session, network.id, host.id):
        raise NotFound(f"'{slug}' does not trust '{host_slug}'.", code="not_trusted")
    audit.record(
        session,
        actor_id=actor.account_id,
        action="share.untrust",
        target_type="network",
        target_id=host.id,
        network_id=network.id,
        before={"trusted_network": host.slug},
    )


async def trusted(session: AsyncSession, actor: Actor, slug: str) -> TrustedList:
    """The networks ``slug`` trusts (its admins)."""
    network = await require_network(session, slug)
    if not can_manage_trust(actor, network.id):
        raise Forbidden(f"Only admins of '{slug}' can see which networks it trusts.", code="forbidden")
    rows = await repository.trusted_list(session, network.id)
    return TrustedList(
        network=slug, items=[TrustedOut(network=slug, trusted_network=s, name=n, since=c) for s, n, c in rows]
    )
