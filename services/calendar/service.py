"""Use cases of calendar feeds.

A member's feed is reached by a secret URL (``/calendar/feeds/<token>.ics``) that calendar apps
poll without a session; the token is a random value stored only as its SHA-256, is not a
session credential (it reads that one calendar, nothing else) and can be reset, which ends the
old URL at once. The feed is computed on every request from current memberships, so a member
who leaves a space stops seeing its meetings (what is reused is only the written calendar, keyed
by a digest of everything in it, and a weak ETag from the same digest answers 304 to a calendar
app whose copy is current), and an identity space's name only ever reaches its
members. A space's feed (``/api/v1/spaces/{id}/calendar.ics``) is for people in the space; anyone
else gets the same 404 as for a missing space.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from federation.meetings import can_see_join_url
from federation.permissions import Actor
from federation.schedule import ExceptionKind
from services import audit
from services.calendar import repository
from services.calendar.ics import FeedMeeting, FeedOverride, FeedSeries, build_calendar, fingerprint
from services.calendar.schemas import FeedCreated, FeedStatus
from services.chat import access as chat_access
from services.chat import repository as chat_repository
from services.errors import NotFound
from services.meetings import occurrences
from services.meetings import repository as meetings_repository
from services.meetings.service import network_zone
from services.persistence.models import MeetingSeriesException
from services.spaces import access

TOKEN_PREFIX = "acf_"  # noqa: S105 - a marker on feed tokens, not a secret
HISTORY = dt.timedelta(days=365)
"""How far back a feed reaches: recent past meetings stay visible, old ones drop off."""


@dataclass(frozen=True, slots=True)
class FeedBody:
    """A feed as served: its (weak) ETag, and its bytes, or None when the caller's copy (its
    If-None-Match) is current: answer 304."""

    etag: str
    body: bytes | None


class FeedCache:
    """Feed bytes by fingerprint, least recently used first out, at most ``limit`` bytes in all.

    Safe by construction: the key is a digest of everything the feed says (computed from the
    rows read on this request), so a changed meeting, series, exception, membership or space
    name is a different key, never a stale hit. What a hit saves is writing the calendar; the
    rows are still read on every request. Per process; nothing in it is logged.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._entries: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0

    def get(self, key: str) -> bytes | None:
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
        return found

    def put(self, key: str, body: bytes) -> None:
        if len(body) > self.limit or key in self._entries:
            return
        self._entries[key] = body
        self._size += len(body)
        while self._size > self.limit:
            _, dropped = self._entries.popitem(last=False)
            self._size -= len(dropped)

    def clear(self) -> None:
        self._entries.clear()
        self._size = 0


FEED_CACHE = FeedCache(32 * 1024 * 1024)


def _matches(if_none_match: str | None, etag: str) -> bool:
    """Whether If-None-Match names ``etag`` (weak comparison, RFC 9110 13.1.2) or is ``*``."""
    if not if_none_match:
        return False
    opaque = etag.removeprefix("W/")
    for part in if_none_match.split(","):
        candidate = part.strip()
        if candidate == "*" or candidate.removeprefix("W/") == opaque:
            return True
    return False


def _bytes(found: FeedBody) -> bytes:
    if found.body is None:  # only ever None when asked with If-None-Match
        raise RuntimeError("a feed asked for without If-None-Match has a body")
    return found.body


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def feed_url(base_url: str, token: str) -> str:
    """The subscription URL for a token."""
    return f"{base_url}/calendar/feeds/{token}.ics"


async def status(session: AsyncSession, actor: Actor) -> FeedStatus:
    """GET /me/calendar-feed."""
    row = await repository.feed_of(session, actor.account_id)
    return FeedStatus(active=row is not None, created_at=row.created_at if row else None)


async def reset(session: AsyncSession, actor: Actor, *, base_url: str) -> FeedCreated:
    """POST /me/calendar-feed: a new secret URL; any earlier one stops working."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    created = await repository.replace_feed(session, actor.account_id, _hash(token))
    audit.record(
        session,
        actor_id=actor.account_id,
        action="calendar_feed.reset",
        target_type="account",
        target_id=actor.account_id,
        after={"created_at": created.isoformat()},
    )
    return FeedCreated(url=feed_url(base_url, token), created_at=created)


async def revoke(session: AsyncSession, actor: Actor) -> None:
    """DELETE /me/calendar-feed: the secret URL stops working (idempotent)."""
    if await repository.delete_feed(session, actor.account_id):
        audit.record(
            session,
            actor_id=actor.account_id,
            action="calendar_feed.revoke",
            target_type="account",
            target_id=actor.account_id,
        )


def _not_found() -> NotFound:
    return NotFound("No calendar feed has this address; make a new one from your account page.", code="feed_not_found")


async def _calendar(
    session: AsyncSession,
    name: str,
    spaces: Sequence[tuple[uuid.UUID, str, str]],
    *,
    host: str,
    now: dt.datetime,
    show_join_url: bool,
    if_none_match: str | None = None,
) -> FeedBody:
    ids = [s[0] for s in spaces]
    names = {s[0]: s[1] for s in spaces}
    zones = {s[0]: s[2] for s in spaces}
    since = now - HISTORY
    meetings = await repository.meetings_since(session, ids, since)
    series = (
        await meetings_repository.series_for_spaces(session, ids, since=since, until=None, include_cancelled=True)
        if ids
        else []
    )
    exceptions = await meetings_repository.exceptions_of(session, [s.id for s in series])
    feed_meetings = [
        FeedMeeting(
            id=m.id,
            space_name=names[m.space_id],
            title=m.title,
            starts_at=m.starts_at,
            duration_minutes=m.duration_minutes,
            zone=m.time_zone or zones[m.space_id],
            sequence=m.sequence,
            cancelled=m.cancelled_at is not None,
            location=m.location,
            join_url=m.join_url if show_join_url else None,
            updated_at=m.updated_at,
        )
        for m in meetings
    ]
    feed_series = []
    for s in series:
        rule = occurrences.rule_of(s)
        starts = set(rule.starts)
        feed_series.append(
            FeedSeries(
                id=s.id,
                space_name=names[s.space_id],
                title=s.title,
                rule=rule,
                duration_minutes=s.duration_minutes,
                sequence=s.sequence,
                cancelled=s.cancelled_at is not None,
                location=s.location,
                join_url=s.join_url if show_join_url else None,
                updated_at=s.updated_at,
                overrides=tuple(
                    _override(e, s.duration_minutes) for e in exceptions[s.id] if e.original_start in starts
                ),
            )
        )
    tag = fingerprint(name, feed_meetings, feed_series, host=host)
    etag = f'W/"{tag}"'  # weak: the same events, but DTSTAMP says when these bytes were written
    if _matches(if_none_match, etag):
        return FeedBody(etag, None)
    body = FEED_CACHE.get(tag)
    if body is None:
        body = build_calendar(name, feed_meetings, feed_series, host=host, now=now)
        FEED_CACHE.put(tag, body)
    return FeedBody(etag, body)


def _override(e: MeetingSeriesException, duration: int) -> FeedOverride:
    moved = e.kind == ExceptionKind.MOVE and e.starts_at is not None
    return FeedOverride(
        original=e.original_start,
        cancelled=not moved,
        starts_at=e.starts_at if moved and e.starts_at else e.original_start,
        duration_minutes=e.duration_minutes or duration,
        revision=e.revision,
    )


def _host(base_url: str) -> str:
    return urlsplit(base_url).hostname or "affinity.local"


async def member_feed_body(
    session: AsyncSession, token: str, *, base_url: str, now: dt.datetime, if_none_match: str | None = None
) -> FeedBody:
    """GET /calendar/feeds/<token>.ics: every meeting of every space the token's owner belongs
    to, with its ETag (no body when ``if_none_match`` names it)."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        raise _not_found()
    account_id = await repository.account_for(session, _hash(token))
    if account_id is None:
        raise _not_found()
    rows = await repository.member_spaces(session, account_id)
    # Only the rooms the owner is still in (an ended share, leaving the home network or a ban
    # above take them out; their rows stay): the same predicate as the space's own feed.
    facts = await chat_repository.room_facts(session, [(account_id, space_id) for space_id, *_ in rows])
    inside = {f.space_id for f in facts if can_see_join_url(chat_access.actor_of(f), chat_access.space_facts(f, None))}
    spaces = [row for row in rows if row[0] in inside]
    return await _calendar(
        session,
        "Affinity meetings",
        spaces,
        host=_host(base_url),
        now=now,
        show_join_url=True,
        if_none_match=if_none_match,
    )


async def member_feed(session: AsyncSession, token: str, *, base_url: str, now: dt.datetime) -> bytes:
    """The member's feed as bytes (see :func:`member_feed_body`)."""
    found = await member_feed_body(session, token, base_url=base_url, now=now)
    return _bytes(found)


async def space_feed(
    session: AsyncSession, actor: Actor, space_id: uuid.UUID, *, base_url: str, now: dt.datetime
) -> bytes:
    """GET /spaces/{id}/calendar.ics: the space's meetings, for people in the space only."""
    ctx = await access.load(session, actor, space_id)
    if not can_see_join_url(ctx.who, ctx.facts):
        # Same answer as a missing space: an identity space's name is membership information.
        raise access.not_found(space_id)
    zone = await network_zone(session, ctx.space.network_id)
    spaces = [(ctx.space.id, ctx.space.name, zone)]
    found = await _calendar(session, ctx.space.name, spaces, host=_host(base_url), now=now, show_join_url=True)
    return _bytes(found)
