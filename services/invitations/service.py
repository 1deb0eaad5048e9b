"""Invitation use cases: invite by e-mail, list and withdraw, see your own, accept (by link or
signed in), and set up an account while accepting.

Who may be invited is decided by :func:`federation.invitations.eligibility`; what a link means
now by :func:`federation.invitations.link_problem`. Accepting makes sure the person holds an
invitation in the spaces area's own table and then joins through
:func:`services.spaces.membership.join`, so bans, member caps, guests and the audit trail work
exactly as for any other join, and nothing joins twice (the invitation row is locked, and a
second accept finds it used).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from federation.invitations import (
    Eligibility,
    LinkFacts,
    LinkProblem,
    can_revoke_invitation,
    eligibility,
    expires_at,
    link_problem,
    normalize_email,
)
from federation.networks import Role
from federation.notifications import Kind
from federation.permissions import Actor
from federation.sharing import covers
from federation.space_permissions import can_invite
from services import audit
from services.errors import AppError, Conflict, Forbidden, NotFound, Unprocessable
from services.invitations import repository, tokens
from services.invitations.schemas import (
    AcceptedOut,
    EmailInvitationCreate,
    EmailInvitationList,
    EmailInvitationOut,
    MyInvitation,
    MyInvitationList,
)
from services.mail import outbox
from services.notifications.service import channel_of, notify
from services.persistence.models import Account, Space, SpaceInvitation
from services.settings import Settings
from services.sharing import repository as sharing_repository
from services.spaces import access
from services.spaces import repository as spaces_repository
from services.spaces.membership import join
from services.spaces.schemas import JoinBody


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _email_problem(message: str) -> Unprocessable:
    return Unprocessable(message, code="invalid_email", details={"field": "email"})


async def _guest_networks(session: AsyncSession, space: Space, networks: list[uuid.UUID]) -> list[uuid.UUID]:
    """Those of ``networks`` the space is actively shared with (directly or through an ancestor)."""
    found = await sharing_repository.active_guest_shares(session, [space.id, *space.path], networks)
    return [s.guest_network_id for s in found if covers(s.space_id, s.include_subspaces, space.id, space.path)]


async def _eligibility(session: AsyncSession, space: Space, account: Account | None) -> Eligibility:
    networks = list(await repository.network_roles(session, account.id)) if account else []
    return eligibility(
        has_account=account is not None,
        account_networks=networks,
        home_network_id=space.network_id,
        guest_network_ids=await _guest_networks(session, space, networks) if networks else [],
    )


def _status(inv: SpaceInvitation, now: dt.datetime) -> str:
    return "expired" if inv.status == "pending" and inv.expires_at <= now else inv.status


def _out(inv: SpaceInvitation, delivery: str, now: dt.datetime) -> EmailInvitationOut:
    return EmailInvitationOut(
        id=inv.id,
        space_id=inv.space_id,
        space_name=inv.space_name,
        email=inv.email,
        status=_status(inv, now),  # type: ignore[arg-type]
        for_new_person=inv.for_new_person,
        delivery={"pending": "queued"}.get(delivery, delivery),  # type: ignore[arg-type]
        expires_at=inv.expires_at,
        created_at=inv.created_at,
    )


def _mail_text(inviter: str, space: Space, network_name: str, message: str, *, until: dt.datetime, new: bool) -> str:
    lines = [
        f"{inviter or 'A facilitator'} invites you to join “{space.name}”, an affinity space of {network_name}.",
    ]
    if space.description:
        lines += ["", space.description]
    if message:
        lines += ["", f"Their note: {message}"]
    lines += ["", "To accept, open this link (it works once):", tokens.PLACEHOLDER, ""]
    if new:
        lines.append(
            f"You do not have an account yet: the link lets you set a password (or sign in through "
            f"{network_name}'s own sign-in, if it has one). Accepting also makes you a member of {network_name}."
        )
    lines.append(f"The link expires on {until:%d %B %Y}. If you did not expect this, ignore this e-mail.")
    return "\n".join(lines)


async def invite_by_email(
    session: AsyncSession, settings: Settings, actor: Actor, space_id: uuid.UUID, data: EmailInvitationCreate
) -> EmailInvitationOut:
    """Invite an address to a space (the space's facilitators and the network's admins).

    Re-inviting an address with a pending invitation replaces it (the old link stops working),
    which is how an invitation is sent again.
    """
    ctx = await access.load(session, actor, space_id, lock=True)
    if not can_invite(ctx.who, ctx.facts):
        raise Forbidden("Only this space's facilitators and the network's admins can invite.", code="forbidden")
    space = ctx.space
    address = normalize_email(data.email)
    if address is None:
        raise _email_problem(f"{data.email.strip()[:80]!r} is not an e-mail address; check it for typos.")
    account = await repository.account_by_email(session, address)
    who = await _eligibility(session, space, account)
    if who is Eligibility.NOT_ELIGIBLE:
        raise Unprocessable(
            f"{address} has an account but is not a member of this space's network nor of a network it is "
            "shared with. Ask a network admin to add them to the network first, or share the space with their network.",
            code="not_eligible",
            details={"field": "email"},
        )
    if account is not None:
        theirs = await spaces_repository.memberships(session, account.id, [*space.path, space.id])
        if any(m.status == "banned" for m in theirs.values()):
            raise Conflict("That person is banned from this space or a space above it.", code="banned")
        row = theirs.get(space.id)
        if row is not None and row.status == "active":
            raise Conflict(f"{address} is already a member of this space.", code="already_member")
    now = _now()
    old = await repository.pending_for(session, space.id, address)
    if old is not None:
        old.status, old.decided_at = "revoked", now
        await session.flush()
    inv_id, nonce = uuid.uuid4(), tokens.new_nonce()
    until = expires_at(now, settings.invitation_days)
    inv = SpaceInvitation(
        id=inv_id,
        space_id=space.id,
        space_name=space.name,
        network_id=space.network_id,
        email=address,
        token_hash=tokens.token_hash(tokens.token(settings.secret_key, inv_id, nonce)),
        message=data.message,
        for_new_person=account is None,
        status="pending",
        invited_by=actor.account_id,
        expires_at=until,
    )
    session.add(inv)
    await session.flush()
    await session.refresh(inv)
    network_name, inviter, _ = await repository.names(session, inv)
    send_mail = True
    if account is not None:
        # A member hears about it as they chose; the link itself only goes by e-mail.
        await notify(
            session,
            account_id=account.id,
            kind=Kind.INVITATION,
            title=f"{inviter or 'Someone'} invites you to {space.name}",
            body=data.message,
            link="/",
            in_app_only=True,
        )
        send_mail = (await channel_of(session, account.id, Kind.INVITATION)).value == "email"
    if send_mail:
        mail = outbox.enqueue(
            session,
            to=address,
            kind=Kind.INVITATION.value,
            subject=f"You are invited to {space.name} ({network_name})",
            body=_mail_text(inviter, space, network_name, data.message, until=until, new=account is None),
            account_id=account.id if account else None,
            notify_account_id=actor.account_id,
        )
        mail.headers = {**mail.headers, tokens.HEADER: f"{inv_id.hex}.{nonce}", "_invitation_id": str(inv_id)}
    audit.record(
        session,
        actor_id=actor.account_id,
        action="space.invitation.email",
        target_type="space",
        target_id=space.id,
        network_id=space.network_id,
        after={"invitation_id": str(inv_id), "new_person": account is None},
    )
    return _out(inv, "pending" if send_mail else "none", now)


async def list_for_space(session: AsyncSession, actor: Actor, space_id: uuid.UUID) -> EmailInvitationList:
    """A space's invitations by e-mail (its facilitators and the network's admins)."""
    ctx = await access.load(session, actor, space_id)
    if not can_invite(ctx.who, ctx.facts):
        raise Forbidden(
            "Only this space's facilitators and the network's admins see its invitations.", code="forbidden"
        )
    rows = await repository.for_space(session, space_id)
    states = await repository.deliveries(session, [r.id for r in rows])
    now = _now()
    return EmailInvitationList(items=[_out(r, states.get(r.id, "none"), now) for r in rows])


async def revoke(session: AsyncSession, actor: Actor, space_id: uuid.UUID, invitation_id: uuid.UUID) -> None:
    """Withdraw a pending invitation: its link stops working."""
    ctx = await access.load(session, actor, space_id, lock=True)
    inv = await repository.by_id(session, invitation_id, lock=True)
    allowed = inv is not None and can_revoke_invitation(
        actor, network_id=ctx.space.network_id, invited_by=inv.invited_by, may_invite=can_invite(ctx.who, ctx.facts)
    )
    if inv is None or inv.space_id != space_id or not allowed:
        raise NotFound(
            f"This space has no invitation with id {invitation_id} that you can withdraw.", code="invitation_not_found"
        )
    if inv.status != "pending":
        raise Conflict(f"This invitation is already {inv.status}.", code="invitation_not_pending")
    inv.status, inv.decided_at = "revoked", _now()
    audit.record(
        session,
        actor_id=actor.account_id,
        action="space.invitation.revoke",
        target_type="space",
        target_id=space_id,
        network_id=ctx.space.network_id,
        after={"invitation_id": str(invitation_id)},
    )


# --- the invitee's side -----------------------------------------------------------------------


async def _verified_address(session: AsyncSession, account_id: uuid.UUID) -> str | None:
    account = await session.get(Account, account_id)
    return account.email.lower() if account is not None and account.email_verified and account.is_active else None


async def mine(session: AsyncSession, account_id: uuid.UUID) -> MyInvitationList:
    """Pending invitations for the caller's verified address (for the home page)."""
    address = await _verified_address(session, account_id)
    if address is None:
        return MyInvitationList(items=[])
    rows = await repository.mine(session, address, _now())
    return MyInvitationList(
        items=[
            MyInvitation(
                id=inv.id,
                space_id=inv.space_id,  # type: ignore[arg-type]  # the query joins the space
                space_name=inv.space_name,
                network_name=network,
                invited_by=inviter,
                message=inv.message,
                expires_at=inv.expires_at,
            )
            for inv, network, inviter in rows
        ]
    )


@dataclass(frozen=True)
class LinkView:
    """What a presented link means for the person holding it."""

    invitation: SpaceInvitation | None
    problem: LinkProblem | None
    network_name: str = ""
    inviter: str = ""
    provider_slug: str | None = None
    has_account: bool = False


async def inspect_link(session: AsyncSession, token: str, signed_in: Account | None) -> LinkView:
    """Read a link without using it (a GET: mail scanners may open links)."""
    inv = await repository.by_token_hash(session, tokens.token_hash(token)) if 20 < len(token) < 300 else None
    return await _view(session, inv, signed_in)


async def _view(session: AsyncSession, inv: SpaceInvitation | None, signed_in: Account | None) -> LinkView:
    if inv is None:
        return LinkView(None, LinkProblem.UNKNOWN)
    facts = LinkFacts(
        status=inv.status,
        expires_at=inv.expires_at,
        space_exists=await repository.space_exists(session, inv.space_id),
        invited_email=inv.email,
        signed_in_email=signed_in.email if signed_in is not None else None,
        accepted_by_signed_in=signed_in is not None and inv.account_id == signed_in.id,
    )
    network_name, inviter, slug = await repository.names(session, inv)
    has_account = await repository.account_by_email(session, inv.email) is not None
    return LinkView(inv, link_problem(facts, _now()), network_name, inviter, slug, has_account)


class LinkRefused(AppError):
    """An invitation that cannot be used now; ``problem`` says why (pages explain each)."""

    status, code = 409, "invitation_unusable"

    def __init__(self, problem: LinkProblem, message: str) -> None:
        super().__init__(
            message, code=f"invitation_{problem.value}", status=404 if problem is LinkProblem.UNKNOWN else 409
        )
        self.problem = problem


_PROBLEM_TEXT = {
    LinkProblem.UNKNOWN: "This invitation does not exist.",
    LinkProblem.EXPIRED: "This invitation has expired.",
    LinkProblem.USED: "This invitation has already been used.",
    LinkProblem.REVOKED: "This invitation was withdrawn or turned down.",
    LinkProblem.SPACE_GONE: "The space this invitation was for no longer exists.",
    LinkProblem.OTHER_ADDRESS: "This invitation is for another e-mail address than the account you are signed in with.",
}


async def _accept(session: AsyncSession, inv: SpaceInvitation, account: Account) -> AcceptedOut:
    """Join ``account`` to the invitation's space (the invitation row is locked by the caller)."""
    assert inv.space_id is not None
    space = await session.get(Space, inv.space_id)
    if space is None:
        raise LinkRefused(LinkProblem.SPACE_GONE, _PROBLEM_TEXT[LinkProblem.SPACE_GONE])
    joined_network = False
    who = await _eligibility(session, space, account)
    if who is Eligibility.NOT_ELIGIBLE:
        if not inv.for_new_person:
            raise Forbidden(
                "Your account is not a member of this space's network (or of a network it is shared with) any more; "
                "ask the person who invited you to have you added to the network.",
                code="not_eligible",
            )
        # The invitation went to someone with no account: it is the network's decision to bring them in.
        await repository.add_network_member(session, space.network_id, account.id)
        joined_network = True
    await repository.ensure_space_invitation(session, space.id, account.id, inv.invited_by)
    roles = await repository.network_roles(session, account.id)
    actor = Actor(
        account_id=account.id,
        is_operator=account.is_operator,
        network_roles={n: Role(r) for n, r in roles.items()},
    )
    result = await join(session, actor, space.id, JoinBody())
    inv.status, inv.account_id, inv.decided_at = "accepted", account.id, _now()
    await session.flush()
    return AcceptedOut(space_id=space.id, outcome=result.outcome, joined_network=joined_network)  # type: ignore[arg-type]


async def accept_link(session: AsyncSession, token: str, account: Account) -> AcceptedOut:
    """Accept through the link, signed in as ``account`` (its address must be the invited one)."""
    inv = await repository.by_token_hash(session, tokens.token_hash(token), lock=True) if len(token) < 300 else None
    view = await _view(session, inv, account)
    if view.problem is not None:
        raise LinkRefused(view.problem, _PROBLEM_TEXT[view.problem])
    assert inv is not None
    return await _accept(session, inv, account)


async def accept_as_new_person(
    session: AsyncSession, token: str, *, display_name: str, password_hash: str
) -> tuple[Account, AcceptedOut]:
    """Create the invitee's account (the link proves the address) and accept."""
    inv = await repository.by_token_hash(session, tokens.token_hash(token), lock=True) if len(token) < 300 else None
    view = await _view(session, inv, None)
    if view.problem is not None:
        raise LinkRefused(view.problem, _PROBLEM_TEXT[view.problem])
    assert inv is not None
    if view.has_account:
        raise Conflict(
            f"There is already an account for {inv.email}: sign in, then accept the invitation.", code="account_exists"
        )
    account = Account(
        id=uuid.uuid4(),
        email=inv.email,
        email_verified=True,  # they followed a link sent to this address
        display_name=display_name,
        password_hash=password_hash,
    )
    session.add(account)
    await session.flush()
    return account, await _accept(session, inv, account)


async def accept_mine(session: AsyncSession, actor: Actor, invitation_id: uuid.UUID) -> AcceptedOut:
    """Accept one of your pending invitations from the home page (verified address, no link needed)."""
    account = await session.get(Account, actor.account_id)
    inv = await repository.by_id(session, invitation_id, lock=True)
    address = await _verified_address(session, actor.account_id)
    if inv is None or account is None or address is None or inv.email.lower() != address:
        raise NotFound(f"You have no invitation with id {invitation_id}.", code="invitation_not_found")
    view = await _view(session, inv, account)
    if view.problem is not None:
        raise LinkRefused(view.problem, _PROBLEM_TEXT[view.problem])
    return await _accept(session, inv, account)


async def decline_mine(session: AsyncSession, actor: Actor, invitation_id: uuid.UUID) -> None:
    """Turn down one of your pending invitations."""
    inv = await repository.by_id(session, invitation_id, lock=True)
    address = await _verified_address(session, actor.account_id)
    if inv is None or address is None or inv.email.lower() != address:
        raise NotFound(f"You have no invitation with id {invitation_id}.", code="invitation_not_found")
    if inv.status != "pending":
        raise Conflict(f"This invitation is already {inv.status}.", code="invitation_not_pending")
    inv.status, inv.account_id, inv.decided_at = "declined", actor.account_id, _now()
