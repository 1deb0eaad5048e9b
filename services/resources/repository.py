"""All SQL of the resource libraries (space and network) and their blobs."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, exists, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.persistence.models import Account, Resource, ResourceBlob


@dataclass(frozen=True, slots=True)
class Owner:
    """Whose library: exactly one of a space or a network."""

    space_id: uuid.UUID | None = None
    network_id: uuid.UUID | None = None

    def clause(self) -> Any:
        """The WHERE clause selecting this library's resources."""
        if self.space_id is not None:
            return Resource.space_id == self.space_id
        return Resource.network_id == self.network_id


_ORDER = {
    "newest": (Resource.created_at.desc(), Resource.id.desc()),
    "oldest": (Resource.created_at.asc(), Resource.id.asc()),
    "title": (func.lower(Resource.title).asc(), Resource.id.asc()),
}


async def page(
    session: AsyncSession,
    owner: Owner,
    *,
    sort: str,
    tag: str | None,
    public_only: bool,
    offset: int,
    limit: int,
) -> tuple[list[tuple[Resource, str | None]], int]:
    """A page of the library (pinned first, most recently pinned first, then ``sort``) with each
    adder's display name, and the total count; two statements."""
    where = [owner.clause()]
    if tag:
        where.append(Resource.tags.contains([tag]))
    if public_only:
        where.append(Resource.public.is_(True))
    total = await session.scalar(select(func.count()).select_from(Resource).where(*where))
    rows = await session.execute(
        select(Resource, Account.display_name)
        .outerjoin(Account, Account.id == Resource.added_by)
        .where(*where)
        .order_by(Resource.pinned_at.desc().nulls_last(), *_ORDER[sort])
        .offset(offset)
        .limit(limit)
    )
    return [(r, name) for r, name in rows], int(total or 0)


async def get(
    session: AsyncSession, owner: Owner, resource_id: uuid.UUID, *, lock: bool = False
) -> tuple[Resource, str | None] | None:
    """One resource of this library with its adder's name (None when it is not in this library)."""
    stmt = (
        select(Resource, Account.display_name)
        .outerjoin(Account, Account.id == Resource.added_by)
        .where(owner.clause(), Resource.id == resource_id)
    )
    if lock:
        stmt = stmt.with_for_update(of=Resource)
    row = (await session.execute(stmt)).first()
    return None if row is None else (row[0], row[1])


async def display_name(session: AsyncSession, account_id: uuid.UUID) -> str | None:
    """An account's display name."""
    name: str | None = await session.scalar(select(Account.display_name).where(Account.id == account_id))
    return name


async def add(session: AsyncSession, resource: Resource) -> Resource:
    """Insert a resource (flushed, so constraint errors surface here)."""
    session.add(resource)
    await session.flush()
    return resource


async def lock_blob(session: AsyncSession, sha256: str) -> None:
    """Serialise work on one blob (storing it, deciding it is unused, deleting it) until the
    transaction ends, so a deletion never removes bytes a concurrent upload just referenced."""
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 11))"), {"k": "blob:" + sha256})


async def upsert_blob(session: AsyncSession, sha256: str, size: int, content_type: str) -> None:
    """Record a blob (already recorded: nothing changes)."""
    await session.execute(
        insert(ResourceBlob)
        .values(sha256=sha256, size=size, content_type=content_type)
        .on_conflict_do_nothing(index_elements=["sha256"])
    )


async def blob_recorded(session: AsyncSession, sha256: str) -> bool:
    """Whether a blob row exists."""
    return bool(await session.scalar(select(exists().where(ResourceBlob.sha256 == sha256))))


async def drop_blob_if_unused(session: AsyncSession, sha256: str) -> bool:
    """Delete the blob row when no resource references it; True when it was deleted."""
    in_use = await session.scalar(select(exists().where(Resource.blob_sha256 == sha256)))
    if in_use:
        return False
    result = await session.execute(delete(ResourceBlob).where(ResourceBlob.sha256 == sha256))
    return bool(getattr(result, "rowcount", 0))


async def remove(session: AsyncSession, resource: Resource) -> None:
    """Delete a resource row."""
    await session.delete(resource)
    await session.flush()
