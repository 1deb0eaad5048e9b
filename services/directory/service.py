"""Directory use cases: the public directory (opt-in per network, no member data), its settings,
and the signed-in directory with descriptions, kind filter, search and join modes.

The public directory shows, per space the network marks public: name, kind, description, how to
join and the date of the next meeting. It never shows members, member counts or anything about
who belongs (identity-space membership is private), and a network that has not switched it on
answers exactly like one that does not exist.
"""

from __future__ import annotations

import datetime as dt
import uuid
from io import BytesIO

import segno
from sqlalchemy.ext.asyncio import AsyncSession

from federation.directory import (
    HOW_TO_JOIN,
    PublicProblem,
    can_manage_directory,
    join_label,
    offers_join,
    public_listing_problem,
)
from federation.permissions import Actor
from services import audit
from services.directory import repository
from services.directory.schemas import (
    DirectoryEntry,
    DirectoryList,
    DirectorySettings,
    DirectorySwitch,
    PublicDirectory,
    PublicListing,
    PublicSpace,
)
from services.errors import Forbidden, NotFound, Unprocessable
from services.meetings import repository as meetings_repository
from services.networks.service import require_network
from services.persistence.models import Network
from services.settings import Settings
from services.spaces import access
from services.spaces.service import directory as spaces_directory


def _not_public(slug: str) -> NotFound:
    return NotFound(f"Network '{slug}' has no public directory.", code="directory_not_found")


async def public_directory(session: AsyncSession, settings: Settings, slug: str) -> PublicDirectory:
    """The public directory of a network that opted in (anyone, no sign-in)."""
    try:
        network = await require_network(session, slug)
    except NotFound:
        raise _not_public(slug) from None
    row = await repository.settings_of(session, network.id)
    if row is None or not row.public:
        raise _not_public(slug)
    spaces = await repository.public_spaces(session, network.id)
    upcoming = await meetings_repository.next_starts(session, [s.id for s, _ in spaces], dt.datetime.now(dt.UTC))
    return PublicDirectory(
        network=network.slug,
        name=network.name,
        description=network.description,
        short_url=f"{settings.base_url}/d/{row.code}",
        spaces=[
            PublicSpace(
                name=s.name,
                kind=s.kind,  # type: ignore[arg-type]
                description=s.description,
                join=join_label(s.join_mode),
                how_to_join=words or HOW_TO_JOIN.get(s.join_mode, ""),
                next_meeting=upcoming[s.id].date() if s.id in upcoming else None,
            )
            for s, words in spaces
        ],
    )


async def slug_for_code(session: AsyncSession, code: str) -> str | None:
    """The network a short link points to (only while its directory is public)."""
    if not 4 <= len(code) <= 16:
        return None
    return await repository.by_code(session, code)


def qr_svg(url: str) -> bytes:
    """An SVG QR code of ``url`` for an orientation slide (segno; error correction M, dark on white)."""
    out = BytesIO()
    segno.make(url, error="m").save(out, kind="svg", scale=8, border=2, dark="#111", light="#fff", xmldecl=False)
    return out.getvalue()


def _settings_out(
    settings: Settings, network: Network, public: bool, code: str | None, ids: list[uuid.UUID]
) -> DirectorySettings:
    return DirectorySettings(
        public=public,
        short_url=f"{settings.base_url}/d/{code}" if code else None,
        page_url=f"{settings.base_url}/directory/{network.slug}" if code else None,
        qr_url=f"{settings.base_url}/directory/{network.slug}/qr.svg" if code else None,
        spaces=ids,
    )


async def _admin_network(session: AsyncSession, actor: Actor, slug: str) -> Network:
    network = await require_network(session, slug)
    if not can_manage_directory(actor, network.id):
        raise Forbidden(f"Only admins of network '{slug}' manage its public directory.", code="forbidden")
    return network


async def read_settings(session: AsyncSession, settings: Settings, actor: Actor, slug: str) -> DirectorySettings:
    """The public directory's state (network admins)."""
    network = await _admin_network(session, actor, slug)
    row = await repository.settings_of(session, network.id)
    ids = await repository.public_ids(session, network.id)
    return _settings_out(settings, network, bool(row and row.public), row.code if row else None, ids)


async def switch(
    session: AsyncSession, settings: Settings, actor: Actor, slug: str, data: DirectorySwitch
) -> DirectorySettings:
    """Turn the public directory on or off (network admins); the short link stays the same."""
    network = await _admin_network(session, actor, slug)
    row = await repository.ensure_settings(session, network.id)
    row.public = data.public
    await session.flush()
    audit.record(
        session,
        actor_id=actor.account_id,
        action="directory.switch",
        target_type="network",
        target_id=network.id,
        network_id=network.id,
        after={"public": data.public},
    )
    return _settings_out(settings, network, row.public, row.code, await repository.public_ids(session, network.id))


async def list_publicly(session: AsyncSession, actor: Actor, space_id: uuid.UUID, data: PublicListing) -> None:
    """Put a space into its network's public directory (network admins)."""
    ctx = await access.load(session, actor, space_id, lock=True)
    if not can_manage_directory(actor, ctx.space.network_id):
        raise Forbidden("Only the network's admins choose what its public directory shows.", code="forbidden")
    problem = public_listing_problem(visibility=ctx.space.visibility, archived=ctx.space.archived_at is not None)
    if problem is PublicProblem.UNLISTED:
        raise Unprocessable(
            "An unlisted space cannot be in the public directory; make it listed first.",
            code="space_unlisted",
            details={"field": "visibility"},
        )
    await repository.set_public(session, ctx.space, data.how_to_join.strip())
    audit.record(
        session,
        actor_id=actor.account_id,
        action="directory.list",
        target_type="space",
        target_id=space_id,
        network_id=ctx.space.network_id,
        after={"public": True},
    )


async def unlist_publicly(session: AsyncSession, actor: Actor, space_id: uuid.UUID) -> None:
    """Take a space out of the public directory (network admins)."""
    ctx = await access.load(session, actor, space_id, lock=True)
    if not can_manage_directory(actor, ctx.space.network_id):
        raise Forbidden("Only the network's admins choose what its public directory shows.", code="forbidden")
    if not await repository.unset_public(session, space_id):
        raise NotFound("This space is not in the public directory.", code="not_public")
    audit.record(
        session,
        actor_id=actor.account_id,
        action="directory.unlist",
        target_type="space",
        target_id=space_id,
        network_id=ctx.space.network_id,
        after={"public": False},
    )


async def signed_in_directory(
    session: AsyncSession, actor: Actor, slug: str, *, kind: str | None, query: str | None
) -> DirectoryList:
    """The network's directory for its members: what the spaces area lets the caller see,
    filtered by kind and by words in the name or description, with join modes in words and the
    button that will work (none for invitation-only spaces)."""
    listing = await spaces_directory(session, actor, slug)
    network = await require_network(session, slug)
    public = set(await repository.public_ids(session, network.id))
    archived = await repository.archived_ids(session, network.id)
    words = [w for w in (query or "").lower().split() if w][:10]
    items = []
    for s in listing.items:
        if s.id in archived or (kind is not None and s.kind != kind):
            continue
        text = f"{s.name} {s.description}".lower()
        if any(w not in text for w in words):
            continue
        items.append(
            DirectoryEntry(
                id=s.id,
                parent_id=s.parent_id,
                name=s.name,
                kind=s.kind,
                description=s.description,
                join_mode=s.join_mode,
                join=join_label(s.join_mode),
                join_button=offers_join(s.join_mode, is_member=s.my_role is not None),
                my_role=s.my_role,
                public=s.id in public,
            )
        )
    return DirectoryList(network=listing.network, items=items)
