"""Resource library use cases for a space's and a network's library.

Every decision comes from :mod:`federation.resources` (which builds on
:func:`federation.space_permissions.can_read_chat`); this module loads the facts, asks, and then
reads or writes through the repository. A library the caller may not read is the same 404 as a
space that does not exist, for the list, a resource's metadata and its file alike.

Files: the request body is spooled to local disk as it arrives (hashed and measured; one chunk
in memory), sniffed, and only then moved into the store under its SHA-256. Oversized,
disallowed or cut-off uploads are removed before anything is recorded. Titles and file names
are never logged (privacy: issue 11).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from federation.permissions import Actor
from federation.resources import (
    ALLOWED_UPLOAD_TYPES,
    ResourceInputError,
    can_add_space_resource,
    can_change_space_resource,
    can_manage_network_library,
    can_pin_space_resource,
    can_read_network_library,
    can_read_space_resources,
    check_note,
    check_tags,
    check_title,
    check_url,
    safe_file_name,
)
from federation.space_permissions import chat_posting_for
from services import audit
from services.errors import AppError, Forbidden, NotFound, Unprocessable
from services.networks import repository as networks
from services.persistence.models import Resource
from services.persistence.session import on_commit
from services.resources import repository
from services.resources.repository import Owner
from services.resources.schemas import FileInfo, LinkCreate, ResourceOut, ResourcePage, ResourcePatch
from services.resources.sniff import sniff
from services.spaces import access
from services.spaces.governing import Posting, posting_rules
from services.storage import BlobStore, UploadTooLarge, key_for, spool

log = logging.getLogger("affinity.resources")


@dataclass(frozen=True, slots=True)
class Library:
    """One library as the caller may use it (every flag decided by ``federation.resources``)."""

    owner: Owner
    account_id: uuid.UUID | None
    may_add: bool
    may_pin: bool
    may_change_any: bool
    may_change_own: bool
    public_only: bool
    path: str
    """URL path of this library under /api/v1 (for download links)."""
    missing: Callable[[], AppError]
    network_id: uuid.UUID
    network_slug: str | None = None

    def may_change(self, resource: Resource) -> bool:
        """Edit or delete this resource."""
        own = self.account_id is not None and resource.added_by == self.account_id
        return self.may_change_any or (own and self.may_change_own)


async def space_library(session: AsyncSession, actor: Actor, space_id: uuid.UUID) -> Library:
    """A space's library for ``actor``; 404 ``space_not_found`` unless they may read its chat."""
    ctx = await access.load(session, actor, space_id)
    if not can_read_space_resources(ctx.who, ctx.facts):
        raise access.not_found(space_id)
    # Adding follows chat posting, which reads the *governing* chat.posting (one path for it).
    rule = (await posting_rules(session, [space_id])).get(space_id, Posting(members=False))
    chat_posting = chat_posting_for(
        ctx.who,
        "members" if rule.members else "facilitators",
        guest_restricted=any(s.guest_network_id in rule.restricted_guests for s in ctx.guest_shares),
    )
    posting = replace(ctx.facts, chat_posting=chat_posting)
    return Library(
        owner=Owner(space_id=space_id),
        account_id=actor.account_id,
        may_add=can_add_space_resource(ctx.who, posting),
        may_pin=can_pin_space_resource(ctx.who, ctx.facts),
        may_change_any=can_change_space_resource(ctx.who, ctx.facts, is_author=False),
        may_change_own=can_change_space_resource(ctx.who, ctx.facts, is_author=True),
        public_only=False,
        path=f"/api/v1/spaces/{space_id}/resources",
        missing=lambda: NotFound("This space's library has no such resource.", code="resource_not_found"),
        network_id=ctx.space.network_id,
    )


async def network_library(session: AsyncSession, actor: Actor | None, slug: str) -> Library:
    """A network's library; callers who are not members of the network see public resources only."""
    network = await networks.get_by_slug(session, slug)
    if network is None:
        raise NotFound(f"No network has the slug '{slug}'.", code="network_not_found")
    who = access.network_actor(actor, network.id) if actor is not None else None
    manage = who is not None and can_manage_network_library(who)
    return Library(
        owner=Owner(network_id=network.id),
        account_id=actor.account_id if actor else None,
        may_add=manage,
        may_pin=manage,
        may_change_any=manage,
        may_change_own=manage,
        public_only=not can_read_network_library(who, public=False),
        path=f"/api/v1/networks/{slug}/resources",
        missing=lambda: NotFound("This network's library has no such resource.", code="resource_not_found"),
        network_id=network.id,
        network_slug=slug,
    )


def _out(lib: Library, r: Resource, name: str | None) -> ResourceOut:
    file = None
    if r.kind == "file":
        file = FileInfo(
            name=r.file_name or "file",
            content_type=r.content_type or "application/octet-stream",
            size=r.size or 0,
            download_url=f"{lib.path}/{r.id}/file",
        )
    return ResourceOut(
        id=r.id,
        kind="file" if r.kind == "file" else "link",
        title=r.title,
        note=r.note,
        tags=list(r.tags),
        added_by=r.added_by,
        added_by_name=name,
        created_at=r.created_at,
        updated_at=r.updated_at,
        pinned=r.pinned_at is not None,
        pinned_at=r.pinned_at,
        space=r.space_id,
        network=lib.network_slug,
        url=r.url,
        file=file,
        public=r.public,
        can_change=lib.may_change(r),
    )


def _bad(exc: ResourceInputError) -> Unprocessable:
    return Unprocessable(str(exc), code=exc.code)


async def list_page(
    session: AsyncSession, lib: Library, *, sort: str, tag: str | None, page: int, limit: int, max_upload: int
) -> ResourcePage:
    """A page of the library, pinned first."""
    tag_filter = None
    if tag:
        try:
            found = check_tags([tag])
        except ResourceInputError as exc:
            raise _bad(exc) from None
        tag_filter = found[0] if found else None
    rows, total = await repository.page(
        session,
        lib.owner,
        sort=sort,
        tag=tag_filter,
        public_only=lib.public_only,
        offset=(page - 1) * limit,
        limit=limit,
    )
    return ResourcePage(
        items=[_out(lib, r, n) for r, n in rows],
        total=total,
        page=page,
        limit=limit,
        can_add=lib.may_add,
        can_pin=lib.may_pin,
        max_upload_bytes=max_upload,
    )


async def _find(
    session: AsyncSession, lib: Library, resource_id: uuid.UUID, *, lock: bool = False
) -> tuple[Resource, str | None]:
    found = await repository.get(session, lib.owner, resource_id, lock=lock)
    if found is None or (lib.public_only and not found[0].public):
        raise lib.missing()
    return found


async def read(session: AsyncSession, lib: Library, resource_id: uuid.UUID) -> ResourceOut:
    """One resource's metadata."""
    r, name = await _find(session, lib, resource_id)
    return _out(lib, r, name)


async def add_link(session: AsyncSession, lib: Library, data: LinkCreate) -> ResourceOut:
    """Share a link (http/https only)."""
    if not lib.may_add:
        raise Forbidden("You may not add to this library.", code="forbidden")
    if data.public and lib.owner.network_id is None:
        raise Unprocessable("Only network resources can be public.", code="bad_public")
    try:
        title, url, note, tags = (
            check_title(data.title),
            check_url(data.url),
            check_note(data.note),
            check_tags(data.tags),
        )
    except ResourceInputError as exc:
        raise _bad(exc) from None
    r = await repository.add(
        session,
        Resource(
            id=uuid.uuid4(),
            space_id=lib.owner.space_id,
            network_id=lib.owner.network_id,
            kind="link",
            title=title,
            url=url,
            note=note,
            tags=tags,
            public=data.public,
            added_by=lib.account_id,
        ),
    )
    log.info("resource added", extra={"resource_id": str(r.id), "kind": "link"})
    return _out(lib, r, await repository.display_name(session, lib.account_id) if lib.account_id else None)


@dataclass(frozen=True, slots=True)
class FileMeta:
    """What the uploader says about a file (the X-File-Name, X-Title, X-Note, X-Tags, X-Public headers)."""

    title: str | None
    file_name: str
    note: str = ""
    tags: tuple[str, ...] = ()
    public: bool = False


def _limit_text(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MiB" if limit % (1024 * 1024) == 0 else f"{limit} bytes"


def too_large(limit: int) -> AppError:
    """413 naming the limit."""
    return AppError(
        f"Files may be at most {_limit_text(limit)}; this one is larger. Share a link to it instead.",
        code="file_too_large",
        status=413,
        details={"max_bytes": limit},
    )


async def add_file(
    session: AsyncSession,
    store: BlobStore,
    lib: Library,
    meta: FileMeta,
    body: AsyncIterator[bytes],
    *,
    limit: int,
    declared_length: int | None,
) -> ResourceOut:
    """Upload a file: check rights and metadata first (nothing is read from a refused caller),
    spool the body, sniff its type, then record it and move it into the store."""
    if not lib.may_add:
        raise Forbidden("You may not add to this library.", code="forbidden")
    if meta.public and lib.owner.network_id is None:
        raise Unprocessable("Only network resources can be public.", code="bad_public")
    file_name = safe_file_name(meta.file_name)
    try:
        title = check_title(meta.title if meta.title is not None else file_name)
        note, tags = check_note(meta.note), check_tags(list(meta.tags))
    except ResourceInputError as exc:
        raise _bad(exc) from None
    if declared_length is not None and declared_length > limit:
        raise too_large(limit)
    try:
        spooled = await spool(body, store.spool_dir, limit)
    except UploadTooLarge:
        raise too_large(limit) from None
    try:
        if spooled.size == 0:
            raise Unprocessable("The file is empty.", code="empty_file")
        content_type = sniff(spooled.head, spooled.path)
        if content_type is None:
            allowed = ", ".join(ALLOWED_UPLOAD_TYPES.values())
            raise AppError(
                f"This kind of file cannot be uploaded. Allowed: {allowed}. "
                "Share audio, video and other files as links.",
                code="unsupported_file_type",
                status=415,
                details={"allowed": sorted(ALLOWED_UPLOAD_TYPES)},
            )
        await repository.lock_blob(session, spooled.sha256)
        await repository.upsert_blob(session, spooled.sha256, spooled.size, content_type)
        r = await repository.add(
            session,
            _file_resource(
                lib,
                title=title,
                note=note,
                tags=tags,
                public=meta.public,
                sha=spooled.sha256,
                name=file_name,
                ctype=content_type,
                size=spooled.size,
            ),
        )
        # Last step before commit: move the bytes in while holding the blob's lock.
        key = key_for(spooled.sha256)
        if await store.exists(key):
            spooled.discard()
        else:
            await store.put_file(key, spooled.path)
    finally:
        spooled.discard()
    log.info("resource added", extra={"resource_id": str(r.id), "kind": "file", "bytes": spooled.size})
    return _out(lib, r, await repository.display_name(session, lib.account_id) if lib.account_id else None)


def _file_resource(
    lib: Library, *, title: str, note: str, tags: list[str], public: bool, sha: str, name: str, ctype: str, size: int
) -> Resource:
    return Resource(
        id=uuid.uuid4(),
        space_id=lib.owner.space_id,
        network_id=lib.owner.network_id,
        kind="file",
        title=title,
        note=note,
        tags=tags,
        public=public,
        blob_sha256=sha,
        file_name=name,
        content_type=ctype,
        size=size,
        added_by=lib.account_id,
    )


async def update(session: AsyncSession, lib: Library, resource_id: uuid.UUID, data: ResourcePatch) -> ResourceOut:
    """Edit title, note, tags, a link's URL, a network resource's ``public``: author or facilitator."""
    r, name = await _find(session, lib, resource_id, lock=True)
    if not lib.may_change(r):
        raise Forbidden("Only whoever added this resource or a facilitator may change it.", code="forbidden")
    try:
        if data.title is not msgspec.UNSET:
            r.title = check_title(data.title)
        if data.note is not msgspec.UNSET:
            r.note = check_note(data.note)
        if data.tags is not msgspec.UNSET:
            r.tags = check_tags(data.tags)
        if data.url is not msgspec.UNSET:
            if r.kind != "link":
                raise ResourceInputError("bad_url", "Only links have a URL; upload a new file to replace a file.")
            r.url = check_url(data.url)
    except ResourceInputError as exc:
        raise _bad(exc) from None
    if data.public is not msgspec.UNSET:
        if lib.owner.network_id is None:
            raise Unprocessable("Only network resources can be public.", code="bad_public")
        r.public = data.public
    r.updated_at = dt.datetime.now(dt.UTC)
    await session.flush()
    await _audit_other(session, lib, r, "resource.update")
    return _out(lib, r, name)


async def set_pinned(session: AsyncSession, lib: Library, resource_id: uuid.UUID, pinned: bool) -> ResourceOut:
    """Pin or unpin: facilitators (network admins for a network library)."""
    r, name = await _find(session, lib, resource_id, lock=True)
    if not lib.may_pin:
        raise Forbidden("Only facilitators may pin resources.", code="forbidden")
    if pinned and r.pinned_at is None:
        r.pinned_at, r.pinned_by = dt.datetime.now(dt.UTC), lib.account_id
    elif not pinned:
        r.pinned_at, r.pinned_by = None, None
    await session.flush()
    return _out(lib, r, name)


async def remove(
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    store: BlobStore,
    lib: Library,
    resource_id: uuid.UUID,
) -> None:
    """Delete a resource; its stored file goes once no resource references it (after commit)."""
    r, _ = await _find(session, lib, resource_id, lock=True)
    if not lib.may_change(r):
        raise Forbidden("Only whoever added this resource or a facilitator may delete it.", code="forbidden")
    sha = r.blob_sha256
    await _audit_other(session, lib, r, "resource.delete")
    if sha is not None:
        await repository.lock_blob(session, sha)
    await repository.remove(session, r)
    if sha is not None and await repository.drop_blob_if_unused(session, sha):

        async def collect() -> None:
            await collect_blob(sessions, store, sha)

        on_commit(session, collect)


async def collect_blob(sessions: async_sessionmaker[AsyncSession], store: BlobStore, sha256: str) -> bool:
    """Delete a blob's bytes if no blob row exists for it, under the blob's lock (an upload of the
    same content takes the same lock, so it either sees the bytes gone or keeps them)."""
    async with sessions() as session, session.begin():
        await repository.lock_blob(session, sha256)
        if await repository.blob_recorded(session, sha256):
            return False
        await store.delete(key_for(sha256))
        return True


async def _audit_other(session: AsyncSession, lib: Library, r: Resource, action: str) -> None:
    """Moderation (changing someone else's resource) is audited, by id only (no titles)."""
    if r.added_by == lib.account_id:
        return
    audit.record(
        session,
        actor_id=lib.account_id,
        action=action,
        target_type="resource",
        target_id=r.id,
        network_id=lib.network_id,
        before={"space": r.space_id, "added_by": r.added_by},
    )


@dataclass(frozen=True, slots=True)
class Download:
    """What a file download sends."""

    key: str
    file_name: str
    content_type: str
    size: int


async def download(session: AsyncSession, lib: Library, resource_id: uuid.UUID) -> Download:
    """The stored file of a file resource (404 for a link)."""
    r, _ = await _find(session, lib, resource_id)
    if r.kind != "file" or r.blob_sha256 is None:
        raise NotFound("This resource is a link, not a file.", code="not_a_file")
    return Download(
        key_for(r.blob_sha256), r.file_name or "file", r.content_type or "application/octet-stream", r.size or 0
    )
