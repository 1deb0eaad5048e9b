"""HTTP: chat history, send and delete under /api/v1; the /ws websocket route."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Response, asgi, delete, get, patch, post, put
from litestar.datastructures import State
from litestar.params import Parameter
from litestar.types import Receive, Scope, Send
from sqlalchemy.ext.asyncio import AsyncSession

from federation.permissions import Actor
from federation.wire import INT64_MAX, Count
from realtime.gateway import Gateway
from services.auth.principal import Principal
from services.auth.resolve import READ_ONLY
from services.chat import service
from services.chat.schemas import MessageCreate, MessageEdit, MessageOut, MessagePage, MuteList, ReadIn, ReadMarker
from services.errors import AppError


def _gateway(state: State) -> Gateway:
    chat = getattr(state, "chat", None)
    if chat is None:
        raise AppError("Chat is starting; try again in a moment.", code="unavailable", status=503)
    gateway: Gateway = chat.gateway
    return gateway


class MessageController(Controller):
    """A space's chat history for HTTP clients (the websocket /ws is the real-time path)."""

    path = "/spaces/{space_id:uuid}/messages"
    tags = ["chat"]

    @get("/", summary="Chat history, ascending by seq (members)", opt={READ_ONLY: True})
    async def list_messages(
        self,
        *,
        db_session: AsyncSession,
        principal: Principal,
        space_id: uuid.UUID,
        after: Annotated[Count, Parameter(ge=0, le=INT64_MAX, description="return messages with seq > after")] = 0,
        limit: Annotated[int, Parameter(ge=1, le=500, description="at most this many (1-500)")] = 100,
        before: Annotated[
            int | None,
            Parameter(ge=1, le=INT64_MAX, description="the newest `limit` messages with seq < before (scrolling up)"),
        ] = None,
    ) -> MessagePage:
        return await service.list_messages(db_session, principal, space_id, after=after, limit=limit, before=before)

    @post("/", summary="Send a message (members; facilitators only when chat.posting is 'facilitators')")
    async def send(
        self, db_session: AsyncSession, principal: Principal, state: State, space_id: uuid.UUID, data: MessageCreate
    ) -> Response[MessageOut]:
        out, created = await service.post_message(db_session, _gateway(state), principal, space_id, data)
        return Response(out, status_code=201 if created else 200)

    @delete("/{seq:int}", summary="Delete a message (its author or a facilitator); leaves a tombstone")
    async def remove(
        self,
        db_session: AsyncSession,
        principal: Principal,
        state: State,
        space_id: uuid.UUID,
        seq: Annotated[Count, Parameter(ge=0, le=INT64_MAX)],
    ) -> None:
        await service.delete_message(db_session, _gateway(state), principal, space_id, seq)

    @patch("/{seq:int}", summary="Edit your own message (its author); subscribers get an 'edited' frame")
    async def edit(
        self,
        *,
        db_session: AsyncSession,
        principal: Principal,
        state: State,
        space_id: uuid.UUID,
        seq: Annotated[Count, Parameter(ge=0, le=INT64_MAX)],
        data: MessageEdit,
    ) -> MessageOut:
        return await service.edit_message(db_session, _gateway(state), principal, space_id, seq=seq, data=data)


class ChatMemberController(Controller):
    """Mutes (facilitators) and the caller's read marker, per space."""

    path = "/spaces/{space_id:uuid}"
    tags = ["chat"]

    @get("/mutes", summary="Members muted in this space's chat (facilitators)")
    async def list_mutes(self, db_session: AsyncSession, actor: Actor, space_id: uuid.UUID) -> MuteList:
        return await service.list_mutes(db_session, actor, space_id)

    @put(
        "/mutes/{account_id:uuid}",
        summary="Mute a member: they read but cannot post here or in sub-spaces (facilitators)",
    )
    async def mute(
        self, db_session: AsyncSession, actor: Actor, space_id: uuid.UUID, account_id: uuid.UUID
    ) -> Response[None]:
        created = await service.mute(db_session, actor, space_id, account_id)
        return Response(None, status_code=201 if created else 200)

    @delete("/mutes/{account_id:uuid}", summary="Lift a mute set in this space (facilitators)")
    async def unmute(self, db_session: AsyncSession, actor: Actor, space_id: uuid.UUID, account_id: uuid.UUID) -> None:
        await service.unmute(db_session, actor, space_id, account_id)

    @put("/read", summary="Mark the chat read up to a seq (members); returns what is still unread")
    async def mark_read(
        self, db_session: AsyncSession, principal: Principal, space_id: uuid.UUID, data: ReadIn
    ) -> ReadMarker:
        return await service.mark_read(db_session, principal, space_id, data.seq)


async def serve_websocket(state: State, scope: Any, receive: Any, send: Any) -> None:
    """Hand a ``/ws`` connection to the chat gateway (protocol: docs/realtime.md).

    The app calls this before its middleware (``services.app.AffinityApp``), so the gateway
    authenticates the handshake itself (``ChatAuthenticator.from_scope``)."""
    chat = getattr(state, "chat", None)
    if chat is None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1013})  # try again later
        return
    await chat.gateway(scope, receive, send)


@asgi("/ws", opt={"public": True}, include_in_schema=False, copy_scope=False)
async def websocket_gateway(scope: Scope, receive: Receive, send: Send) -> None:
    """The chat websocket as a Litestar route: answers plain HTTP requests to /ws (426)."""
    raw: Any = scope
    await serve_websocket(raw["app"].state, raw, receive, send)
