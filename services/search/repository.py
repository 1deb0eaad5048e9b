"""The search SQL: one statement ranks chat messages and resources of the given spaces (and
network libraries) against a ``websearch_to_tsquery`` query, then highlights only the page.

``websearch_to_tsquery`` accepts any text (quotes, ``or``, ``-``, stray punctuation) without
raising, so odd input can never become a 500. The expressions match the indexes created by
migration 0012 (``ix_messages_search``, ``ix_resources_search``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.ext.asyncio import AsyncSession

_UUIDS = ARRAY(UUID(as_uuid=True))

START, STOP = "\ue000", "\ue001"
"""Highlight markers (private-use characters): the service escapes the text, then turns them
into <mark> tags, so a message's own markup can never reach a page unescaped."""

_SEARCH_SQL = """
WITH q AS (SELECT websearch_to_tsquery('english'::regconfig, :q) AS query),
hits AS (
    (SELECT 'message' AS kind, m.space_id, NULL::uuid AS network_id, m.seq, NULL::uuid AS resource_id,
            m.author_id, m.sent_at AS at, ts_rank(m.search_vector, q.query) AS rank
     FROM messages m, q
     WHERE m.space_id = ANY(:spaces) AND m.deleted_at IS NULL
       AND m.search_vector @@ q.query)
    UNION ALL
    (SELECT 'resource', r.space_id, r.network_id, NULL, r.id, r.added_by, r.created_at, ts_rank(r.search, q.query)
     FROM resources r, q
     WHERE (r.space_id = ANY(:spaces) OR r.network_id = ANY(:networks)) AND r.search @@ q.query)
    ORDER BY rank DESC, at DESC
    LIMIT :limit OFFSET :offset
)
SELECT h.kind, h.space_id, n.slug, h.seq, h.resource_id, h.author_id, a.display_name, h.at, h.rank,
       r.title, r.url, r.kind AS resource_kind,
       ts_headline('english'::regconfig,
                   CASE WHEN h.kind = 'message' THEN m.body
                        ELSE r.title || ' — ' || coalesce(nullif(r.note, ''), coalesce(r.file_name, r.url, '')) END,
                   q.query,
                   'StartSel={START}, StopSel={STOP}, MaxWords=30, MinWords=10, MaxFragments=2, '
                   'FragmentDelimiter=" … "')
FROM hits h CROSS JOIN q
LEFT JOIN messages m ON h.kind = 'message' AND m.space_id = h.space_id AND m.seq = h.seq
LEFT JOIN resources r ON h.kind = 'resource' AND r.id = h.resource_id
LEFT JOIN networks n ON n.id = h.network_id
LEFT JOIN accounts a ON a.id = h.author_id
ORDER BY h.rank DESC, h.at DESC
"""
# Only the two constant markers are put into the text; every value is a bind parameter.
_SEARCH = text(_SEARCH_SQL.replace("{START}", START).replace("{STOP}", STOP)).bindparams(
    bindparam("spaces", type_=_UUIDS), bindparam("networks", type_=_UUIDS)
)


@dataclass(frozen=True, slots=True)
class Row:
    """One raw hit."""

    kind: str
    space_id: uuid.UUID | None
    network_slug: str | None
    seq: int | None
    resource_id: uuid.UUID | None
    author_id: uuid.UUID | None
    author_name: str | None
    at: dt.datetime
    rank: float
    title: str | None
    url: str | None
    resource_kind: str | None
    headline: str


async def search(
    session: AsyncSession,
    query: str,
    spaces: list[uuid.UUID],
    networks: list[uuid.UUID],
    *,
    offset: int,
    limit: int,
) -> list[Row]:
    """Hits for ``query`` in these spaces' chats and libraries and these networks' libraries."""
    if not spaces and not networks:
        return []
    result = await session.execute(
        _SEARCH, {"q": query, "spaces": spaces, "networks": networks, "offset": offset, "limit": limit}
    )
    return [Row(*r) for r in result]
