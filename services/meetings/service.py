"""Use cases of the meetings area: schedule, list, change and cancel a space's meetings.

Check (who may, via ``federation.meetings``; the agenda against the space's governing
``sessions.required_components``), then do (repository), then record (audit). A space the
caller may not see, or whose meetings they may not see, is the same 404 as a missing space.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from federation.meetings import (
    REQUIRED_PARAM,
    MissingComponent,
    bad_components,
    can_list_meetings,
    can_schedule_meeting,
    can_see_join_url,
    missing_components,
    normalise_components,
    required_components,
)
from federation.permissions import Actor
from services import audit
from services.errors import Conflict, Forbidden, NotFound, Unprocessable
from services.meetings import repository
from services.meetings.schemas import MeetingCreate, MeetingList, MeetingOut, MeetingPatch
from services.persistence.models import Meeting
from services.policies.loading import policy_of
from services.spaces import access
from services.spaces.access import SpaceContext

_FIELDS = ("kind", "title", "starts_at", "duration_minutes", "components", "location", "join_url", "notes")


def to_out(m: Meeting, *, show_join_url: bool) -> MeetingOut:
    """Shape a meeting for the wire (``join_url`` only for people in the space)."""
    return MeetingOut(
        id=m.id,
        space_id=m.space_id,
        kind=m.kind,  # type: ignore[arg-type]
        title=m.title,
        starts_at=m.starts_at,
        ends_at=m.starts_at + dt.timedelta(minutes=m.duration_minutes),
        duration_minutes=m.duration_minutes,
        components=list(m.components),
        location=m.location,
        join_url=m.join_url if show_join_url else None,
        notes=m.notes,
        created_by=m.created_by,
        created_at=m.created_at,
        updated_at=m.updated_at,
        cancelled_at=m.cancelled_at,
    )


def _json(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, list):
        return list(value)
    return value


def _snapshot(m: Meeting) -> dict[str, Any]:
    """The audit form of a meeting (JSON-ready)."""
    return {f: _json(getattr(m, f)) for f in (*_FIELDS, "cancelled_at")}


async def _load(session: AsyncSession, actor: Actor, space_id: uuid.UUID, *, manage: bool) -> SpaceContext:
    ctx = await access.load(session, actor, space_id)
    if not can_list_meetings(ctx.who, ctx.facts):
        # Same answer as a missing space: an identity space's schedule is membership information.
        raise access.not_found(space_id)
    if manage and not can_schedule_meeting(ctx.who, ctx.facts):
        raise Forbidden(
            "Only this space's facilitators and the network's admins can schedule or change its meetings.",
            code="forbidden",
        )
    return ctx


def _invalid(message: str, field: str, **details: Any) -> Unprocessable:
    return Unprocessable(message, code="validation_error", details={"field": field, **details})


def _check_fields(kind: str, starts_at: dt.datetime, location: str | None, join_url: str | None) -> None:
    if starts_at.tzinfo is None or starts_at.utcoffset() is None:
        raise _invalid(
            "starts_at needs a timezone offset, e.g. 2026-09-15T17:30:00-07:00 or ...Z for UTC.", "starts_at"
        )
    if not dt.datetime(2000, 1, 1, tzinfo=dt.UTC) <= starts_at < dt.datetime(2100, 1, 1, tzinfo=dt.UTC):
        raise _invalid("starts_at must be between the years 2000 and 2099.", "starts_at")
    if kind == "virtual" and location:
        raise _invalid("A virtual meeting has no location; give join_url instead (or make it in_person).", "location")
    if kind == "in_person" and join_url:
        raise _invalid("An in-person meeting has no join_url; give location instead (or make it virtual).", "join_url")
    if join_url and not join_url.startswith(("https://", "http://")):
        raise _invalid("join_url must be an http(s) link.", "join_url")


def _check_components(raw: list[str]) -> list[str]:
    components = normalise_components(raw)
    bad = bad_components(components)
    if bad:
        raise _invalid(
            f"Agenda components are short slugs (lower-case letters, digits, '-' or '_', up to 40 characters); "
            f"not: {', '.join(repr(b) for b in bad)}.",
            "components",
            invalid=bad,
        )
    return components


def agenda_violation(components: list[str], missing: list[MissingComponent]) -> Unprocessable:
    """The 422 for an agenda that lacks required components: names each and who requires it."""
    by_source: dict[str, list[MissingComponent]] = {}
    for m in missing:
        by_source.setdefault(m.label(), []).append(m)
    words = "; ".join(f"{', '.join(m.component for m in ms)} (required by {label})" for label, ms in by_source.items())
    violations = [
        {
            "code": "missing_components",
            "parameter": REQUIRED_PARAM,
            "value": components,
            "bound": "required",
            "limit": [m.component for m in ms],
            "source": ms[0].to_dict()["required_by"],
            "message": f"the agenda lacks {', '.join(m.component for m in ms)} (required by {label})",
        }
        for label, ms in by_source.items()
    ]
    return Unprocessable(
        f"The meeting's agenda lacks required session components: {words}. Add them to components.",
        code="policy_violation",
        details={
            "problems": [],
            "violations": violations,
            "warnings": [],
            "audit": [],
            "missing": [m.to_dict() for m in missing],
        },
    )


async def _check_agenda(session: AsyncSession, ctx: SpaceContext, components: list[str]) -> None:
    policy = await policy_of(session, ctx.space, ctx.ancestors)
    missing = missing_components(policy, ctx.space.settings, components)
    if missing:
        raise agenda_violation(components, missing)


async def schedule(session: AsyncSession, actor: Actor, space_id: uuid.UUID, data: MeetingCreate) -> MeetingOut:
    """POST /spaces/{id}/meetings."""
    ctx = await _load(session, actor, space_id, manage=True)
    title = data.title.strip()
    if not title:
        raise _invalid("The title must not be blank.", "title")
    location = (data.location or "").strip() or None
    join_url = (data.join_url or "").strip() or None
    _check_fields(data.kind, data.starts_at, location, join_url)
    components = _check_components(data.components)
    await _check_agenda(session, ctx, components)
    meeting = Meeting(
        id=uuid.uuid4(),
        space_id=space_id,
        kind=data.kind,
        title=title,
        starts_at=data.starts_at,
        duration_minutes=data.duration_minutes,
        location=location,
        join_url=join_url,
        components=components,
        notes=data.notes.strip(),
        created_by=actor.account_id,
    )
    session.add(meeting)
    await session.flush()
    await session.refresh(meeting)
    audit.record(
        session,
        actor_id=actor.account_id,
        action="meeting.create",
        target_type="meeting",
        target_id=meeting.id,
        network_id=ctx.space.network_id,
        after={"space_id": str(space_id), **_snapshot(meeting)},
    )
    return to_out(meeting, show_join_url=can_see_join_url(ctx.who, ctx.facts))


async def list_meetings(
    session: AsyncSession,
    actor: Actor,
    space_id: uuid.UUID,
    *,
    since: dt.datetime | None,
    until: dt.datetime | None,
    include_cancelled: bool,
    now: dt.datetime,
) -> MeetingList:
    """GET /spaces/{id}/meetings: by default the upcoming ones (not cancelled)."""
    for name, value in (("from", since), ("to", until)):
        if value is not None and value.tzinfo is None:
            raise _invalid(f"'{name}' needs a timezone offset (e.g. ...Z for UTC).", name)
    if since is not None and until is not None and until <= since:
        raise _invalid("'to' must be after 'from'.", "to")
    ctx = await _load(session, actor, space_id, manage=False)
    if since is None and until is None:
        since = now
    rows = await repository.list_for_space(
        session, space_id, since=since, until=until, include_cancelled=include_cancelled
    )
    policy = await policy_of(session, ctx.space, ctx.ancestors)
    show = can_see_join_url(ctx.who, ctx.facts)
    return MeetingList(
        space_id=space_id,
        items=[to_out(m, show_join_url=show) for m in rows],
        required_components=sorted(required_components(policy, ctx.space.settings)),
        can_schedule=can_schedule_meeting(ctx.who, ctx.facts),
    )


async def _require(session: AsyncSession, space_id: uuid.UUID, meeting_id: uuid.UUID) -> Meeting:
    meeting = await repository.get(session, space_id, meeting_id, lock=True)
    if meeting is None:
        raise NotFound(f"Space {space_id} has no meeting with id {meeting_id}.", code="meeting_not_found")
    return meeting


async def update(
    session: AsyncSession, actor: Actor, space_id: uuid.UUID, meeting_id: uuid.UUID, data: MeetingPatch
) -> MeetingOut:
    """PATCH /spaces/{id}/meetings/{mid}: the result must still be valid and within policy."""
    ctx = await _load(session, actor, space_id, manage=True)
    meeting = await _require(session, space_id, meeting_id)
    if meeting.cancelled_at is not None:
        raise Conflict("This meeting was cancelled; schedule a new one instead.", code="meeting_cancelled")
    given = {f: getattr(data, f) for f in _FIELDS if getattr(data, f) is not msgspec.UNSET}
    if not given:
        return to_out(meeting, show_join_url=can_see_join_url(ctx.who, ctx.facts))
    kind = given.get("kind", meeting.kind)
    title = given["title"].strip() if "title" in given else meeting.title
    if not title:
        raise _invalid("The title must not be blank.", "title")
    location = (given["location"] or "").strip() or None if "location" in given else meeting.location
    join_url = (given["join_url"] or "").strip() or None if "join_url" in given else meeting.join_url
    if kind != meeting.kind:
        # Switching kind drops the other kind's field unless the body sets it (then it is checked).
        if kind == "virtual" and "location" not in given:
            location = None
        if kind == "in_person" and "join_url" not in given:
            join_url = None
    starts_at = given.get("starts_at", meeting.starts_at)
    _check_fields(kind, starts_at, location, join_url)
    components = _check_components(given["components"]) if "components" in given else list(meeting.components)
    await _check_agenda(session, ctx, components)
    before = _snapshot(meeting)
    meeting.kind = kind
    meeting.title = title
    meeting.starts_at = starts_at
    meeting.duration_minutes = given.get("duration_minutes", meeting.duration_minutes)
    meeting.location = location
    meeting.join_url = join_url
    meeting.components = components
    if "notes" in given:
        meeting.notes = given["notes"].strip()
    await session.flush()
    await session.refresh(meeting)
    audit.record(
        session,
        actor_id=actor.account_id,
        action="meeting.update",
        target_type="meeting",
        target_id=meeting.id,
        network_id=ctx.space.network_id,
        before=before,
        after={"space_id": str(space_id), **_snapshot(meeting)},
    )
    return to_out(meeting, show_join_url=can_see_join_url(ctx.who, ctx.facts))


async def cancel(
    session: AsyncSession, actor: Actor, space_id: uuid.UUID, meeting_id: uuid.UUID, *, now: dt.datetime
) -> MeetingOut:
    """DELETE /spaces/{id}/meetings/{mid}: marks it cancelled (the row stays); idempotent."""
    ctx = await _load(session, actor, space_id, manage=True)
    meeting = await _require(session, space_id, meeting_id)
    if meeting.cancelled_at is None:
        meeting.cancelled_at = now
        await session.flush()
        await session.refresh(meeting)
        audit.record(
            session,
            actor_id=actor.account_id,
            action="meeting.cancel",
            target_type="meeting",
            target_id=meeting.id,
            network_id=ctx.space.network_id,
            before={"cancelled_at": None},
            after={"space_id": str(space_id), "cancelled_at": _json(meeting.cancelled_at), "title": meeting.title},
        )
    return to_out(meeting, show_join_url=can_see_join_url(ctx.who, ctx.facts))
