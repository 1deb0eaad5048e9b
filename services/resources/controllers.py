"""HTTP: the resource libraries of spaces (/spaces/{id}/resources) and networks
(/networks/{slug}/resources). Thin: parse, call the service, shape the response."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any
from urllib.parse import quote, unquote

from litestar import Controller, Request, Router, delete, get, patch, post, put
from litestar.datastructures import State
from litestar.exceptions import ClientException, InternalServerException
from litestar.params import HeaderParameter, Parameter
from litestar.response import Stream
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from federation.permissions import Actor
from services.auth.guards import load_actor
from services.auth.principal import Principal
from services.errors import AppError
from services.resources import service
from services.resources.schemas import LinkCreate, ResourceOut, ResourcePage, ResourcePatch, Sort
from services.resources.service import Download, FileMeta, Library
from services.settings import Settings
from services.storage import BlobStore, open_store

SortParam = Annotated[Sort, Parameter(description="newest (default), oldest or title; pinned come first")]
TagParam = Annotated[str | None, Parameter(max_length=40, description="only resources with this tag")]
PageParam = Annotated[int, Parameter(ge=1, le=100_000, description="page number, from 1")]
LimitParam = Annotated[int, Parameter(ge=1, le=100, description="resources per page (1-100)")]
# Upload metadata travels in headers, percent-encoded UTF-8 (JavaScript's encodeURIComponent), not
# in the query string: URLs end up in proxy and server access logs, and titles and file names
# must not (issue 11, privacy).
FileNameHeader = Annotated[
    str,
    HeaderParameter(
        name="X-File-Name",
        min_length=1,
        max_length=3000,
        description="the file's name, percent-encoded (made safe: last path part only)",
    ),
]
TitleHeader = Annotated[
    str | None,
    HeaderParameter(name="X-Title", max_length=3000, description="title, percent-encoded (default: file name)"),
]
NoteHeader = Annotated[
    str | None, HeaderParameter(name="X-Note", max_length=16000, description="note, percent-encoded")
]
TagsHeader = Annotated[
    str | None, HeaderParameter(name="X-Tags", max_length=2000, description="comma-separated tags, percent-encoded")
]
PublicHeader = Annotated[
    str | None,
    HeaderParameter(name="X-Public", pattern="^(true|false)$", description="network libraries: true or false"),
]


def _meta(name: str, title: str | None, note: str | None, tags: str | None, public: str | None = None) -> FileMeta:
    """Upload metadata from the percent-encoded headers."""
    return FileMeta(
        title=unquote(title) if title is not None else None,
        file_name=unquote(name),
        note=unquote(note or ""),
        tags=tuple(t for t in (unquote(tags).split(",") if tags else ()) if t.strip()),
        public=public == "true",
    )


SlugParam = Annotated[str, Parameter(description="The network's slug", max_length=80)]


def blob_store(state: State) -> BlobStore:
    """The app's file store, opened on first use from the settings (local disk or S3)."""
    store: BlobStore | None = getattr(state, "blob_store", None)
    if store is None:
        store = open_store(state.settings)
        state.blob_store = store
    return store


def _limit(state: State) -> int:
    settings: Settings = state.settings
    return settings.upload_max_mib * 1024 * 1024


async def _body(request: Request[Any, Any, Any]) -> AsyncIterator[bytes]:
    """The request body as it arrives; a client that goes away mid-upload is a 400, not a 500."""
    try:
        async for chunk in request.stream():
            yield chunk
    except InternalServerException:
        raise AppError(
            "The upload was cut off before the whole file arrived; nothing was stored.", code="upload_incomplete"
        ) from None


async def _upload(
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    state: State,
    lib: Library,
    meta: FileMeta,
) -> ResourceOut:
    try:
        declared = request.content_length
    except ClientException:
        raise AppError("The Content-Length header is not a number.", code="bad_content_length") from None
    return await service.add_file(
        db_session, blob_store(state), lib, meta, _body(request), limit=_limit(state), declared_length=declared
    )


async def _send(state: State, item: Download) -> Stream:
    """A download: always an attachment, with a content type from the allowlist and no sniffing,
    so a browser never renders an upload as a page of this site."""
    store = blob_store(state)
    if not await store.exists(item.key):
        raise AppError("This file's content is missing from storage; ask an admin.", code="file_missing", status=404)
    ascii_name = item.file_name.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return Stream(
        store.read(item.key),
        media_type=item.content_type,  # Litestar adds charset=utf-8 to text/plain
        headers={
            "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(item.file_name)}",
            "Content-Length": str(item.size),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, no-store",
        },
    )


def _sessions(state: State) -> async_sessionmaker[AsyncSession]:
    maker: async_sessionmaker[AsyncSession] = state.sessionmaker
    return maker


class SpaceResourceController(Controller):
    """A space's library: visible exactly to those who may read the space's chat."""

    path = "/spaces/{space_id:uuid}/resources"
    tags = ["resources"]

    @get("/", summary="The space's library, pinned first (those who may read the chat)")
    async def list_resources(
        self,
        *,
        db_session: AsyncSession,
        actor: Actor,
        state: State,
        space_id: uuid.UUID,
        sort: SortParam = "newest",
        tag: TagParam = None,
        page: PageParam = 1,
        limit: LimitParam = 50,
    ) -> ResourcePage:
        lib = await service.space_library(db_session, actor, space_id)
        return await service.list_page(
            db_session, lib, sort=sort, tag=tag, page=page, limit=limit, max_upload=_limit(state)
        )

    @post("/", summary="Share a link (those who may post in the chat)", status_code=201)
    async def add_link(
        self, *, db_session: AsyncSession, actor: Actor, space_id: uuid.UUID, data: LinkCreate
    ) -> ResourceOut:
        return await service.add_link(db_session, await service.space_library(db_session, actor, space_id), data)

    @post(
        "/files",
        summary="Upload a file: raw bytes as the body, metadata in X-File-Name/X-Title/X-Note/X-Tags headers",
        status_code=201,
        request_max_body_size=None,  # the service enforces the configured limit while streaming
    )
    async def upload(
        self,
        *,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        actor: Actor,
        state: State,
        space_id: uuid.UUID,
        name: FileNameHeader,
        title: TitleHeader = None,
        note: NoteHeader = None,
        tags: TagsHeader = None,
    ) -> ResourceOut:
        lib = await service.space_library(db_session, actor, space_id)
        return await _upload(request, db_session, state, lib, _meta(name, title, note, tags))

    @get("/{resource_id:uuid}", summary="One resource's metadata")
    async def read(
        self, *, db_session: AsyncSession, actor: Actor, space_id: uuid.UUID, resource_id: uuid.UUID
    ) -> ResourceOut:
        return await service.read(db_session, await service.space_library(db_session, actor, space_id), resource_id)

    @patch("/{resource_id:uuid}", summary="Edit a resource (whoever added it, or a facilitator)")
    async def update(
        self,
        *,
        db_session: AsyncSession,
        actor: Actor,
        space_id: uuid.UUID,
        resource_id: uuid.UUID,
        data: ResourcePatch,
    ) -> ResourceOut:
        lib = await service.space_library(db_session, actor, space_id)
        return await service.update(db_session, lib, resource_id, data)

    @delete("/{resource_id:uuid}", summary="Delete a resource (whoever added it, or a facilitator)")
    async def remove(
        self, *, db_session: AsyncSession, actor: Actor, state: State, space_id: uuid.UUID, resource_id: uuid.UUID
    ) -> None:
        lib = await service.space_library(db_session, actor, space_id)
        await service.remove(db_session, _sessions(state), blob_store(state), lib, resource_id)

    @put("/{resource_id:uuid}/pin", summary="Pin (facilitators)", status_code=200)
    async def pin(
        self, *, db_session: AsyncSession, actor: Actor, space_id: uuid.UUID, resource_id: uuid.UUID
    ) -> ResourceOut:
        lib = await service.space_library(db_session, actor, space_id)
        return await service.set_pinned(db_session, lib, resource_id, True)

    @delete("/{resource_id:uuid}/pin", summary="Unpin (facilitators)", status_code=200)
    async def unpin(
        self, *, db_session: AsyncSession, actor: Actor, space_id: uuid.UUID, resource_id: uuid.UUID
    ) -> ResourceOut:
        lib = await service.space_library(db_session, actor, space_id)
        return await service.set_pinned(db_session, lib, resource_id, False)

    @get("/{resource_id:uuid}/file", summary="Download a file (always as an attachment)")
    async def download(
        self, *, db_session: AsyncSession, actor: Actor, state: State, space_id: uuid.UUID, resource_id: uuid.UUID
    ) -> Stream:
        lib = await service.space_library(db_session, actor, space_id)
        return await _send(state, await service.download(db_session, lib, resource_id))


async def _maybe_actor(request: Request[Any, Any, Any], db_session: AsyncSession) -> Actor | None:
    """The caller on public routes: None when signed out."""
    principal = request.scope.get("user")
    return await load_actor(db_session, principal) if isinstance(principal, Principal) else None


class NetworkResourceController(Controller):
    """A network's library: members read it, admins manage it, public resources are open to all."""

    path = "/networks/{slug:str}/resources"
    tags = ["resources"]

    @get("/", summary="The network's library (members; public resources for anyone)", opt={"public": True})
    async def list_resources(
        self,
        *,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        state: State,
        slug: SlugParam,
        sort: SortParam = "newest",
        tag: TagParam = None,
        page: PageParam = 1,
        limit: LimitParam = 50,
    ) -> ResourcePage:
        lib = await service.network_library(db_session, await _maybe_actor(request, db_session), slug)
        return await service.list_page(
            db_session, lib, sort=sort, tag=tag, page=page, limit=limit, max_upload=_limit(state)
        )

    @post("/", summary="Share a link (network admins)", status_code=201)
    async def add_link(
        self, *, db_session: AsyncSession, actor: Actor, slug: SlugParam, data: LinkCreate
    ) -> ResourceOut:
        return await service.add_link(db_session, await service.network_library(db_session, actor, slug), data)

    @post(
        "/files",
        summary="Upload a file (network admins); raw bytes as the body",
        status_code=201,
        request_max_body_size=None,
    )
    async def upload(
        self,
        *,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        actor: Actor,
        state: State,
        slug: SlugParam,
        name: FileNameHeader,
        title: TitleHeader = None,
        note: NoteHeader = None,
        tags: TagsHeader = None,
        public: PublicHeader = None,
    ) -> ResourceOut:
        lib = await service.network_library(db_session, actor, slug)
        return await _upload(request, db_session, state, lib, _meta(name, title, note, tags, public))

    @get("/{resource_id:uuid}", summary="One resource's metadata", opt={"public": True})
    async def read(
        self, *, request: Request[Any, Any, Any], db_session: AsyncSession, slug: SlugParam, resource_id: uuid.UUID
    ) -> ResourceOut:
        lib = await service.network_library(db_session, await _maybe_actor(request, db_session), slug)
        return await service.read(db_session, lib, resource_id)

    @patch("/{resource_id:uuid}", summary="Edit, or make public/private (network admins)")
    async def update(
        self, *, db_session: AsyncSession, actor: Actor, slug: SlugParam, resource_id: uuid.UUID, data: ResourcePatch
    ) -> ResourceOut:
        lib = await service.network_library(db_session, actor, slug)
        return await service.update(db_session, lib, resource_id, data)

    @delete("/{resource_id:uuid}", summary="Delete (network admins)")
    async def remove(
        self, *, db_session: AsyncSession, actor: Actor, state: State, slug: SlugParam, resource_id: uuid.UUID
    ) -> None:
        lib = await service.network_library(db_session, actor, slug)
        await service.remove(db_session, _sessions(state), blob_store(state), lib, resource_id)

    @put("/{resource_id:uuid}/pin", summary="Pin (network admins)", status_code=200)
    async def pin(
        self, *, db_session: AsyncSession, actor: Actor, slug: SlugParam, resource_id: uuid.UUID
    ) -> ResourceOut:
        lib = await service.network_library(db_session, actor, slug)
        return await service.set_pinned(db_session, lib, resource_id, True)

    @delete("/{resource_id:uuid}/pin", summary="Unpin (network admins)", status_code=200)
    async def unpin(
        self, *, db_session: AsyncSession, actor: Actor, slug: SlugParam, resource_id: uuid.UUID
    ) -> ResourceOut:
        lib = await service.network_library(db_session, actor, slug)
        return await service.set_pinned(db_session, lib, resource_id, False)

    @get(
        "/{resource_id:uuid}/file",
        summary="Download a file (members; anyone for a public resource)",
        opt={"public": True},
    )
    async def download(
        self,
        *,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        state: State,
        slug: SlugParam,
        resource_id: uuid.UUID,
    ) -> Stream:
        lib = await service.network_library(db_session, await _maybe_actor(request, db_session), slug)
        return await _send(state, await service.download(db_session, lib, resource_id))


resources_router = Router(path="/", route_handlers=[SpaceResourceController, NetworkResourceController])
