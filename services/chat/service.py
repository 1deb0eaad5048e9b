"""Chat use cases: read history, send, edit, delete, mute, read markers.

HTTP handlers call the ``*_message``/``mute``/``mark_read`` functions with the request's session
(they never commit; events leave after commit through ``on_commit``). The websocket path reaches
the same :func:`revise`, :func:`remove` and :func:`move_read_marker` through
:class:`services.chat.adapters.SqlMessageStore`, which opens and commits its own session, so there
is one implementation of each rule. Decisions are :mod:`federation.space_permissions`'.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from federation.permissions import Actor
from federation.space_permissions import can_moderate_chat
from realtime.gateway import Gateway
from realtime.interfaces import Rights, StoredMessage
from services import audit
from services.accounts import repository as accounts_repository
from services.auth.principal import Principal
from services.chat import access as chat_access
from services.chat import repository
from services.chat.schemas import MessageCreate, MessageEdit, MessageOut, MessagePage, MuteList, MuteOut, ReadMarker
from services.errors import BadRequest, Conflict, Forbidden, NotFound, Unprocessable
from services.persistence.session import on_commit
from services.spaces import access
from services.spaces.governing import Posting, posting_rules


def to_out(message: StoredMessage) -> MessageOut:
    """The wire shape of a stored message."""
    return MessageOut(
        space=message.space_id,
        seq=message.seq,
        id=message.id,
        author=message.author_id,
        body=message.body,
        sent_at=message.sent_at,
        key=message.key,
        deleted=message.deleted,
        version=message.version,
        edited_at=message.edited_at,
        author_name=message.author_name,
    )


async def _rights(session: AsyncSession, account: uuid.UUID, space: uuid.UUID, *, posting: bool = True) -> Rights:
    """The caller's rights in the room; refuse non-members (deny by default). Without
    ``posting`` the governing posting rule is not computed (a few queries), so ``post`` is only
    meaningful with it: readers need ``read`` alone."""
    rule = await posting_rules(session, [space]) if posting else {space: Posting(members=True)}
    rights = (await chat_access.rights(session, account, [space], rule)).get(space)
    if rights is None or not rights.read:
        raise Forbidden("Only active members of this space can use its chat.", code="not_a_member")
    return rights


async def list_messages(
    session: AsyncSession, principal: Principal, space: uuid.UUID, *, after: int, limit: int, before: int | None = None
) -> MessagePage:
    """History after ``after`` ascending; with ``before``, the newest ``limit`` messages below it
    (still ascending), so a client scrolls up page by page."""
    rights = await _rights(session, principal.account_id, space, posting=False)
    muted = rights.reason == "muted"  # without the posting rule, only a mute refuses posting
    if before is not None:
        if before <= after + 1:
            raise Unprocessable("'before' must be greater than 'after' + 1: the window is empty.", code="bad_window")
        messages, head = await repository.page_before(session, space, before, limit, after)
        return MessagePage(items=[to_out(m) for m in messages], head=head, muted=muted)
    messages, head = await repository.history(session, space, after, limit)
    return MessagePage(items=[to_out(m) for m in messages], head=head, muted=muted)


async def post_message(
    session: AsyncSession, gateway: Gateway, principal: Principal, space: uuid.UUID, data: MessageCreate
) -> tuple[MessageOut, bool]:
    """Send like the websocket does; the message is published only after the request commits."""
    if not data.body.strip():
        raise Unprocessable("A message needs some text.", code="empty_body")
    posting = await posting_rules(session, [space])
    rule = posting.get(space, Posting(members=True))
    async with session.begin_nested():
        result = await repository.append(
            session,
            space,
            principal.account_id,
            data.key,
            data.body,
            members_may_post=rule.members,
            restricted_guests=rule.restricted_guests,
        )
    if result is None:
        rights = (await chat_access.rights(session, principal.account_id, [space], posting)).get(space)
        if rights is not None and rights.read:
            if rights.reason == "muted":
                raise Forbidden("A facilitator muted you in this space: you can read but not post.", code="muted")
            raise Forbidden("Only facilitators may post in this space.", code="posting_restricted")
        raise Forbidden("Only active members of this space can post in it.", code="not_a_member")
    message, created = result
    if created:

        async def publish() -> None:
            gateway.announce(message)

        on_commit(session, publish)
    return to_out(message), created


async def revise(session: AsyncSession, account: uuid.UUID, space: uuid.UUID, seq: int, body: str) -> int:
    """Edit ``account``'s own message ``seq`` (the author, while still allowed to post); return
    the room version the edit made. The caller commits and then announces it."""
    if seq < 1:
        raise BadRequest("seq starts at 1.", code="bad_seq")
    if not body.strip():
        raise Unprocessable("A message needs some text.", code="empty_body")
    rights = await _rights(session, account, space)
    found = await repository.find(session, space, seq)
    if found is None:
        raise NotFound(f"This space has no message {seq}.", code="message_not_found")
    author, deleted = found
    if author != account:
        raise Forbidden("Only its author may edit a message.", code="not_author")
    if deleted:
        raise Conflict("This message was deleted; it cannot be edited.", code="message_deleted")
    if not rights.post:
        if rights.reason == "muted":
            raise Forbidden("A facilitator muted you in this space: you cannot edit messages.", code="muted")
        raise Forbidden("Only facilitators may post (and edit) in this space.", code="posting_restricted")
    return await repository.edit(session, space, seq, body, dt.datetime.now(dt.UTC))


async def remove(session: AsyncSession, account: uuid.UUID, space: uuid.UUID, seq: int) -> int | None:
    """Tombstone message ``seq``: its author (still a member) or a facilitator (audited). Return
    the room version the deletion made, or None when it was already deleted."""
    if seq < 1:
        raise BadRequest("seq starts at 1.", code="bad_seq")
    rights = await _rights(session, account, space, posting=False)
    found = await repository.find(session, space, seq)
    if found is None:
        raise NotFound(f"This space has no message {seq}.", code="message_not_found")
    author, deleted = found
    if author != account and not rights.moderate:
        raise Forbidden("Only the author or a facilitator may delete this message.", code="forbidden")
    if deleted:
        return None
    version = await repository.tombstone(session, space, seq, dt.datetime.now(dt.UTC))
    if author != account:
        audit.record(
            session,
            actor_id=account,
            action="chat.message.delete",
            target_type="space",
            target_id=space,
            before={"seq": seq, "author": author},
        )
    return version


async def edit_message(
    session: AsyncSession, gateway: Gateway, principal: Principal, space: uuid.UUID, *, seq: int, data: MessageEdit
) -> MessageOut:
    """Edit over HTTP; the ``edited`` frame leaves after commit."""
    version = await revise(session, principal.account_id, space, seq, data.body)

    async def publish() -> None:
        gateway.announce_edited(space, version)

    on_commit(session, publish)
    edited = await repository.one(session, space, seq)
    assert edited is not None  # locked by revise() in this transaction
    return to_out(edited)


async def delete_message(
    session: AsyncSession, gateway: Gateway, principal: Principal, space: uuid.UUID, seq: int
) -> None:
    """Delete over HTTP; the ``deleted`` frame leaves after commit."""
    version = await remove(session, principal.account_id, space, seq)
    if version is None:
        return

    async def publish() -> None:
        gateway.announce_deleted(space, seq, version)

    on_commit(session, publish)


# --- mutes ------------------------------------------------------------------------------------


async def _moderator(session: AsyncSession, actor: Actor, space_id: uuid.UUID) -> access.SpaceContext:
    ctx = await access.load(session, actor, space_id)
    if not can_moderate_chat(ctx.who, ctx.facts):
        raise Forbidden("Only this space's facilitators can mute people in its chat.", code="forbidden")
    return ctx


async def list_mutes(session: AsyncSession, actor: Actor, space_id: uuid.UUID) -> MuteList:
    """The mutes set in this space (facilitators)."""
    await _moderator(session, actor, space_id)
    rows = await repository.mutes(session, space_id)
    return MuteList(items=[MuteOut(account_id=a, display_name=n, muted_by=b, since=c) for a, n, b, c in rows])


async def mute(session: AsyncSession, actor: Actor, space_id: uuid.UUID, account_id: uuid.UUID) -> bool:
    """Mute an active member (not a facilitator, not yourself) here and in every sub-space; it
    takes effect on the next send, live sockets included (every send checks it in its statement)."""
    await _moderator(session, actor, space_id)
    if account_id == actor.account_id:
        raise Unprocessable("You cannot mute yourself.", code="cannot_mute_self")
    target = (await chat_access.rights(session, account_id, [space_id], {space_id: Posting(members=True)})).get(
        space_id
    )
    if target is None or not target.read:
        raise NotFound("This space has no active member with that id.", code="member_not_found")
    if target.moderate:
        raise Unprocessable(
            "Facilitators cannot be muted; remove them as facilitator first.", code="cannot_mute_facilitator"
        )
    created = await repository.mute(session, space_id, account_id, actor.account_id)
    if created:
        audit.record(
            session,
            actor_id=actor.account_id,
            action="chat.mute",
            target_type="space",
            target_id=space_id,
            after={"account": str(account_id)},
        )
    return created


async def unmute(session: AsyncSession, actor: Actor, space_id: uuid.UUID, account_id: uuid.UUID) -> None:
    """Lift a mute set in this space (a mute set in a space above stays in force)."""
    await _moderator(session, actor, space_id)
    if not await repository.unmute(session, space_id, account_id):
        raise NotFound("That account is not muted in this space.", code="mute_not_found")
    audit.record(
        session,
        actor_id=actor.account_id,
        action="chat.unmute",
        target_type="space",
        target_id=space_id,
        before={"account": str(account_id)},
    )


# --- read markers -----------------------------------------------------------------------------


async def move_read_marker(session: AsyncSession, account: uuid.UUID, space: uuid.UUID, seq: int) -> int:
    """Move the caller's read marker forward (members only); return where it stands."""
    if seq < 0:
        raise BadRequest("seq is 0 or more.", code="bad_seq")
    await _rights(session, account, space, posting=False)
    return await repository.mark_read(session, account, space, seq)


async def mark_read(session: AsyncSession, principal: Principal, space: uuid.UUID, seq: int) -> ReadMarker:
    """HTTP: mark the room read up to ``seq``; return the marker and what is still unread."""
    marker = await move_read_marker(session, principal.account_id, space, seq)
    _, unread = (await accounts_repository.unread_counts(session, principal.account_id, [space]))[space]
    return ReadMarker(space=space, seq=marker, unread=unread)
