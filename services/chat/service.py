"""Chat use cases for HTTP clients: read history, send, delete (author or facilitator)."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from realtime.gateway import Gateway
from realtime.interfaces import StoredMessage
from services import audit
from services.auth.principal import Principal
from services.chat import access, repository
from services.chat.schemas import MessageCreate, MessageOut, MessagePage
from services.errors import BadRequest, Forbidden, NotFound, Unprocessable
from services.persistence.session import on_commit
from services.spaces.governing import members_may_post


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
    )


async def _require_reader(session: AsyncSession, principal: Principal, space: uuid.UUID) -> bool:
    """The caller's right to moderate; refuse whoever may not read (deny by default). The same
    answer for a space that does not exist, so chat never tells whether a hidden space exists."""
    rights = (await access.rights(session, principal.account_id, [space], {})).get(space)
    if rights is None or not rights.read:
        raise Forbidden("Only active members of this space can use its chat.", code="not_a_member")
    return rights.moderate


async def list_messages(
    session: AsyncSession, principal: Principal, space: uuid.UUID, after: int, limit: int
) -> MessagePage:
    """History after ``after``, ascending."""
    await _require_reader(session, principal, space)
    messages, head = await repository.history(session, space, after, limit)
    return MessagePage(items=[to_out(m) for m in messages], head=head)


async def post_message(
    session: AsyncSession, gateway: Gateway, principal: Principal, space: uuid.UUID, data: MessageCreate
) -> tuple[MessageOut, bool]:
    """Send like the websocket does; the message is published only after the request commits."""
    if not data.body.strip():
        raise Unprocessable("A message needs some text.", code="empty_body")
    posting = await members_may_post(session, [space])
    async with session.begin_nested():
        result = await repository.append(
            session, space, principal.account_id, data.key, data.body, members_may_post=posting.get(space, True)
        )
    if result is None:
        rights = (await access.rights(session, principal.account_id, [space], posting)).get(space)
        if rights is not None and rights.read:
            raise Forbidden("Only facilitators may post in this space.", code="posting_restricted")
        raise Forbidden("Only active members of this space can post in it.", code="not_a_member")
    message, created = result
    if created:

        async def publish() -> None:
            gateway.announce(message)

        on_commit(session, publish)
    return to_out(message), created


async def delete_message(
    session: AsyncSession, gateway: Gateway, principal: Principal, space: uuid.UUID, seq: int
) -> None:
    """Tombstone a message: its author (still a member) or a facilitator of the space."""
    if seq < 1:
        raise BadRequest("seq starts at 1.", code="bad_seq")
    moderate = await _require_reader(session, principal, space)
    found = await repository.find(session, space, seq)
    if found is None:
        raise NotFound(f"This space has no message {seq}.", code="message_not_found")
    author, deleted = found
    if author != principal.account_id and not moderate:
        raise Forbidden("Only the author or a facilitator may delete this message.", code="forbidden")
    if deleted:
        return
    version = await repository.tombstone(session, space, seq, dt.datetime.now(dt.UTC))
    if author != principal.account_id:
        audit.record(
            session,
            actor_id=principal.account_id,
            action="chat.message.delete",
            target_type="space",
            target_id=space,
            before={"seq": seq, "author": author},
        )

    async def publish() -> None:
        gateway.announce_deleted(space, seq, version)

    on_commit(session, publish)
