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
    agenda_violations,
    bad_components,
    can_list_meetings,
    can_record_attendance,
    can_schedule_meeting,
    can_see_join_url,
    normalise_components,
    required_components,
)
from federation.permissions import Actor
from federation.policy import Source
from federation.schedule import ScheduleError, place, time_zone, zone_abbreviation
from services import audit
from services.errors import Conflict, Forbidden, NotFound, Unprocessable
from services.meetings import events, occurrences, repository
from services.meetings.schemas import AttendanceSet, MeetingCreate, MeetingList, MeetingOut, MeetingPatch
from services.persistence.models import Meeting, Network
from services.policies.loading import policy_of
from services.policies.violations import policy_violation
from services.spaces import access
from services.spaces import repository as spaces_repository
from services.spaces.access import SpaceContext

_FIELDS = (
    "kind",
    "title",
    "starts_at",
    "duration_minutes",
    "components",
    "location",
    "join_url",
    "notes",
    "time_zone",
    "event_id",
)


def to_out(m: Meeting, *, show_join_url: bool, network_zone: str = "UTC") -> MeetingOut:
    """Shape a meeting for the wire (``join_url`` only for people in the space); times are shown
    in the meeting's own zone, else the network's."""
    zone_name = m.time_zone or network_zone
    zone = time_zone(zone_name)
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
        time_zone=zone_name,
        starts_at_local=m.starts_at.astimezone(zone).isoformat(),
        zone_abbreviation=zone_abbreviation(m.starts_at, zone),
        sequence=m.sequence,
        event_id=m.event_id,
        attendance_count=m.attendance_count,
    )


async def network_zone(session: AsyncSession, network_id: uuid.UUID) -> str:
    """The network's IANA zone (UTC if the row is gone)."""
    network = await session.get(Network, network_id)
    return network.time_zone if network is not None else "UTC"


def checked_zone(name: str, field: str = "time_zone") -> str:
    """``name`` if it is an IANA zone; else a 422 naming ``field``."""
    try:
        return time_zone(name, field).key
    except ScheduleError as exc:
        raise invalid(exc.message, exc.field) from None


def _json(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, list):
        return list(value)
    return value


def _snapshot(m: Meeting) -> dict[str, Any]:
    """The audit form of a meeting (JSON-ready)."""
    return {f: _json(getattr(m, f)) for f in (*_FIELDS, "cancelled_at")}


async def load(session: AsyncSession, actor: Actor, space_id: uuid.UUID, *, manage: bool) -> SpaceContext:
    """The space, if the actor may see its meetings (else the missing-space 404); with
    ``manage``, a 403 unless they may schedule."""
    ctx = await access.load(session, actor, space_id)
    if not can_list_meetings(ctx.who, ctx.facts):
        # Same answer as a missing space: an identity space's schedule is membership information.
        raise access.not_found(space_id)
    if manage and not can_schedule_meeting(ctx.who, ctx.facts):
        raise Forbidden(
            "Only this space's facilitators and the network's admins can schedule or change its meetings.",
            code="forbidden",
        )
    if manage:
        access.refuse_if_archived(ctx.space)  # read-only while archived
    return ctx


def invalid(message: str, field: str, **details: Any) -> Unprocessable:
    """A 422 ``validation_error`` naming ``field``."""
    return Unprocessable(message, code="validation_error", details={"field": field, **details})


def in_zone(starts_at: dt.datetime, zone: str | None) -> dt.datetime:
    """A wall-clock ``starts_at`` without offset read in ``zone`` (when the body names one);
    with an offset it stands as given. Without either, :func:`check_fields` refuses it."""
    if starts_at.tzinfo is None and zone is not None:
        return place(starts_at, time_zone(zone))
    return starts_at


def check_fields(kind: str, starts_at: dt.datetime, location: str | None, join_url: str | None) -> None:
    """The 422s a meeting's own fields can earn (offset, years, kind against location/join_url)."""
    if starts_at.tzinfo is None or starts_at.utcoffset() is None:
        raise invalid("starts_at needs a timezone offset, e.g. 2026-09-15T17:30:00-07:00 or ...Z for UTC.", "starts_at")
    if not dt.datetime(2000, 1, 1, tzinfo=dt.UTC) <= starts_at < dt.datetime(2100, 1, 1, tzinfo=dt.UTC):
        raise invalid("starts_at must be between the years 2000 and 2099.", "starts_at")
    if kind == "virtual" and location:
        raise invalid("A virtual meeting has no location; give join_url instead (or make it in_person).", "location")
    if kind == "in_person" and join_url:
        raise invalid("An in-person meeting has no join_url; give location instead (or make it virtual).", "join_url")
    if join_url and not join_url.startswith(("https://", "http://")):
        raise invalid("join_url must be an http(s) link.", "join_url")


def check_components(raw: list[str]) -> list[str]:
    """Normalised agenda components, or a 422 naming the ones that are not slugs."""
    components = normalise_components(raw)
    bad = bad_components(components)
    if bad:
        raise invalid(
            f"Agenda components are short slugs (lower-case letters, digits, '-' or '_', up to 40 characters); "
            f"not: {', '.join(repr(b) for b in bad)}.",
            "components",
            invalid=bad,
        )
    return components


async def check_agenda(session: AsyncSession, ctx: SpaceContext, components: list[str]) -> None:
    """A 422 ``policy_violation`` naming each required component the agenda lacks, and who requires it."""
    policy = await policy_of(session, ctx.space, ctx.ancestors)
    found = agenda_violations(policy, ctx.space.settings, components, own=Source.space(ctx.space.id, ctx.space.name))
    if found:
        missing = [(c, v.source) for v in found for c in (v.limit if isinstance(v.limit, list) else [])]
        raise policy_violation(
            found,
            "The meeting's agenda",
            hint=f"Add the missing components to components: {', '.join(sorted(str(c) for c, _ in missing))}.",
            # Kept for clients of the first version of this answer: component by component.
            extra={"missing": [{"component": c, "required_by": source.to_dict()} for c, source in missing]},
        )


async def schedule(session: AsyncSession, actor: Actor, space_id: uuid.UUID, data: MeetingCreate) -> MeetingOut:
    """POST /spaces/{id}/meetings."""
    ctx = await load(session, actor, space_id, manage=True)
    title = data.title.strip()
    if not title:
        raise invalid("The title must not be blank.", "title")
    location = (data.location or "").strip() or None
    join_url = (data.join_url or "").strip() or None
    own_zone = checked_zone(data.time_zone) if data.time_zone else None
    starts_at = in_zone(data.starts_at, own_zone)
    check_fields(data.kind, starts_at, location, join_url)
    components = check_components(data.components)
    await check_agenda(session, ctx, components)
    zone = await network_zone(session, ctx.space.network_id)
    if data.event_id is not None:
        await events.check_meeting_event(session, data.event_id, ctx.space.network_id, starts_at, zone)
    meeting = Meeting(
        id=uuid.uuid4(),
        space_id=space_id,
        kind=data.kind,
        title=title,
        starts_at=starts_at,
        duration_minutes=data.duration_minutes,
        location=location,
        join_url=join_url,
        components=components,
        notes=data.notes.strip(),
        created_by=actor.account_id,
        time_zone=own_zone,
        sequence=0,
        event_id=data.event_id,
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
    return to_out(meeting, show_join_url=can_see_join_url(ctx.who, ctx.facts), network_zone=zone)


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
            raise invalid(f"'{name}' needs a timezone offset (e.g. ...Z for UTC).", name)
    if since is not None and until is not None and until <= since:
        raise invalid("'to' must be after 'from'.", "to")
    ctx = await load(session, actor, space_id, manage=False)
    if since is None and until is None:
        since = now
    rows = await repository.list_for_space(
        session, space_id, since=since, until=until, include_cancelled=include_cancelled
    )
    policy = await policy_of(session, ctx.space, ctx.ancestors)
    show = can_see_join_url(ctx.who, ctx.facts)
    zone = await network_zone(session, ctx.space.network_id)
    found = await occurrences.between(session, space_id, since=since, until=until, include_cancelled=include_cancelled)
    return MeetingList(
        space_id=space_id,
        items=[to_out(m, show_join_url=show, network_zone=zone) for m in rows],
        required_components=sorted(required_components(policy, ctx.space.settings)),
        can_schedule=can_schedule_meeting(ctx.who, ctx.facts),
        occurrences=found,
        time_zone=zone,
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
    ctx = await load(session, actor, space_id, manage=True)
    meeting = await _require(session, space_id, meeting_id)
    if meeting.cancelled_at is not None:
        raise Conflict("This meeting was cancelled; schedule a new one instead.", code="meeting_cancelled")
    given = {f: getattr(data, f) for f in _FIELDS if getattr(data, f) is not msgspec.UNSET}
    zone = await network_zone(session, ctx.space.network_id)
    if not given:
        return to_out(meeting, show_join_url=can_see_join_url(ctx.who, ctx.facts), network_zone=zone)
    kind = given.get("kind", meeting.kind)
    title = given["title"].strip() if "title" in given else meeting.title
    if not title:
        raise invalid("The title must not be blank.", "title")
    location = (given["location"] or "").strip() or None if "location" in given else meeting.location
    join_url = (given["join_url"] or "").strip() or None if "join_url" in given else meeting.join_url
    if kind != meeting.kind:
        # Switching kind drops the other kind's field unless the body sets it (then it is checked).
        if kind == "virtual" and "location" not in given:
            location = None
        if kind == "in_person" and "join_url" not in given:
            join_url = None
    new_zone = checked_zone(given["time_zone"]) if "time_zone" in given else meeting.time_zone
    starts_at = in_zone(given["starts_at"], new_zone) if "starts_at" in given else meeting.starts_at
    check_fields(kind, starts_at, location, join_url)
    components = check_components(given["components"]) if "components" in given else list(meeting.components)
    await check_agenda(session, ctx, components)
    event_id = given.get("event_id", meeting.event_id)
    if event_id is not None and ("event_id" in given or "starts_at" in given):
        await events.check_meeting_event(session, event_id, ctx.space.network_id, starts_at, zone)
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
    meeting.time_zone = new_zone
    meeting.event_id = event_id
    meeting.sequence += 1  # calendars replace an event only when its SEQUENCE grows
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
    return to_out(meeting, show_join_url=can_see_join_url(ctx.who, ctx.facts), network_zone=zone)


async def cancel(
    session: AsyncSession, actor: Actor, space_id: uuid.UUID, meeting_id: uuid.UUID, *, now: dt.datetime
) -> MeetingOut:
    """DELETE /spaces/{id}/meetings/{mid}: marks it cancelled (the row stays); idempotent."""
    ctx = await load(session, actor, space_id, manage=True)
    meeting = await _require(session, space_id, meeting_id)
    if meeting.cancelled_at is None:
        meeting.cancelled_at = now
        meeting.sequence += 1
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
    zone = await network_zone(session, ctx.space.network_id)
    return to_out(meeting, show_join_url=can_see_join_url(ctx.who, ctx.facts), network_zone=zone)


async def record_attendance(
    session: AsyncSession,
    actor: Actor,
    space_id: uuid.UUID,
    meeting_id: uuid.UUID,
    data: AttendanceSet,
    *,
    now: dt.datetime,
) -> MeetingOut:
    """PUT /spaces/{id}/meetings/{mid}/attendance: how many attended (facilitators, admins)."""
    ctx = await load(session, actor, space_id, manage=False)
    if not can_record_attendance(ctx.who, ctx.facts):
        raise Forbidden("Only this space's facilitators and the network's admins record attendance.", code="forbidden")
    meeting = await _require(session, space_id, meeting_id)
    if meeting.cancelled_at is not None:
        raise Conflict("This meeting was cancelled; nobody attended it.", code="meeting_cancelled")
    await check_count(session, space_id, data.count, meeting.starts_at, now)
    before = {"attendance_count": meeting.attendance_count}
    meeting.attendance_count = data.count
    await session.flush()
    await session.refresh(meeting)
    audit.record(
        session,
        actor_id=actor.account_id,
        action="meeting.attendance",
        target_type="meeting",
        target_id=meeting.id,
        network_id=ctx.space.network_id,
        before=before,
        after={"space_id": str(space_id), "attendance_count": data.count},
    )
    zone = await network_zone(session, ctx.space.network_id)
    return to_out(meeting, show_join_url=can_see_join_url(ctx.who, ctx.facts), network_zone=zone)


async def check_count(
    session: AsyncSession, space_id: uuid.UUID, count: int, starts_at: dt.datetime, now: dt.datetime
) -> None:
    """A 422 naming ``count`` when it exceeds the space's members, or the meeting is still ahead."""
    if starts_at > now:
        raise invalid("This meeting has not started yet; record attendance once it has.", "count")
    members = await spaces_repository.count_active(session, space_id)
    if count > members:
        raise invalid(
            f"{count} attended is more than the space's {members} member(s); check the count.", "count", members=members
        )
