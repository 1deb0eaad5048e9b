"""Search use case: decide what the caller may read (through the domain), then search only that."""

from __future__ import annotations

import html
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from federation.permissions import Actor
from federation.resources import can_read_network_library
from services.search import repository
from services.search.readable import readable_spaces
from services.search.schemas import SearchHit, SearchPage
from services.spaces import access


def _snippet(headline: str) -> tuple[str, str]:
    """(plain, safe HTML with <mark>) from a headline carrying the private-use markers."""
    plain = headline.replace(repository.START, "").replace(repository.STOP, "")
    marked = html.escape(headline).replace(repository.START, "<mark>").replace(repository.STOP, "</mark>")
    return plain, marked


async def search(
    session: AsyncSession, actor: Actor, q: str, *, space: uuid.UUID | None, page: int, limit: int
) -> SearchPage:
    """Ranked, highlighted hits among the messages and resources the caller may read.

    With ``space``: that space only, and the same 404 as a missing space when the caller may not
    read its chat. Without: every space they may read plus their networks' libraries.
    """
    spaces = await readable_spaces(session, actor, space)
    if space is not None and not spaces:
        raise access.not_found(space)
    networks = (
        []
        if space is not None
        else [n for n in actor.network_roles if can_read_network_library(access.network_actor(actor, n), public=False)]
    )
    rows = await repository.search(session, q, spaces, networks, offset=(page - 1) * limit, limit=limit + 1)
    items = []
    for r in rows[:limit]:
        plain, marked = _snippet(r.headline or "")
        url = None
        if r.kind == "resource" and r.resource_id is not None:
            base = f"/api/v1/spaces/{r.space_id}" if r.space_id else f"/api/v1/networks/{r.network_slug}"
            url = r.url if r.resource_kind == "link" else f"{base}/resources/{r.resource_id}/file"
        items.append(
            SearchHit(
                kind="message" if r.kind == "message" else "resource",
                rank=float(r.rank),
                snippet=plain,
                snippet_html=marked,
                at=r.at,
                space=r.space_id,
                network=r.network_slug,
                seq=r.seq,
                resource=r.resource_id,
                title=r.title,
                author=r.author_id,
                author_name=r.author_name,
                url=url,
            )
        )
    return SearchPage(query=q, items=items, page=page, limit=limit, has_more=len(rows) > limit)
