"""Use cases of calendar feeds.

A member's feed is reached by a secret URL (``/calendar/feeds/<token>.ics``) that calendar apps
poll without a session; the token is a random value stored only as its SHA-256, is not a
session credential (it reads that one calendar, nothing else) and can be reset, which ends the
old URL at once. The feed is computed on every request from current memberships, so a member
who leaves a space stops seeing its meetings, and an identity space's name only ever reaches its
members. A space's feed (``/api/v1/spaces/{id}/calendar.ics``) is for people in the space; anyone
else gets the same 404 as for a missing space.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from collections.abc import Sequence
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from federation.meetings import can_see_join_url
from federation.permissions import Actor
from federation.schedule import ExceptionKind
from services import audit
from services.calendar import repository
from services.calendar.ics import FeedMeeting, FeedOverride, FeedSeries, build_calendar
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
) -> bytes:
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
    return build_calendar(name, feed_meetings, feed_series, host=host, now=now)


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


async def member_feed(session: AsyncSession, token: str, *, base_url: str, now: dt.datetime) -> bytes:
    """GET /calendar/feeds/<token>.ics: every meeting of every space the token's owner belongs to."""
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
    return await _calendar(session, "Affinity meetings", spaces, host=_host(base_url), now=now, show_join_url=True)


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
    return await _calendar(session, ctx.space.name, spaces, host=_host(base_url), now=now, show_join_url=True)
