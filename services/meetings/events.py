"""Use cases of network events (an in-person convening, a conference): create, list, cancel,
and the check that a meeting held "with" an event belongs to it.

Who may: ``federation.meetings.can_manage_events`` / ``can_see_events``. A meeting names an
event of its own network; its day (in the network's zone) must fall on one of the event's days.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.meetings import can_manage_events, can_see_events
from federation.permissions import Actor
from federation.schedule import local_day, time_zone
from services import audit
from services.errors import Forbidden, NotFound, Unprocessable
from services.meetings.schemas import EventCreate, EventList, EventOut
from services.networks.service import require_network
from services.persistence.models import Network, NetworkEvent

MAX_EVENT_DAYS = 14


def _invalid(message: str, field: str) -> Unprocessable:
    return Unprocessable(message, code="validation_error", details={"field": field})


def to_out(e: NetworkEvent, network: Network) -> EventOut:
    """Shape an event for the wire."""
    return EventOut(
        id=e.id,
        network=network.slug,
        title=e.title,
        kind=e.kind,  # type: ignore[arg-type]
        starts_at=e.starts_at,
        ends_at=e.ends_at,
        starts_at_local=e.starts_at.astimezone(time_zone(network.time_zone)).isoformat(),
        time_zone=network.time_zone,
        location=e.location,
        cancelled_at=e.cancelled_at,
    )


async def create(session: AsyncSession, actor: Actor, slug: str, data: EventCreate) -> EventOut:
    """POST /networks/{slug}/events (network admins)."""
    network = await require_network(session, slug)
    if not can_manage_events(actor, network.id):
        raise Forbidden("Only this network's admins can create its events.", code="forbidden")
    title = data.title.strip()
    if not title:
        raise _invalid("The title must not be blank.", "title")
    for name, value in (("starts_at", data.starts_at), ("ends_at", data.ends_at)):
        if value.tzinfo is None:
            raise _invalid(f"{name} needs a timezone offset, e.g. 2026-10-02T09:00:00-07:00.", name)
    if not dt.datetime(2000, 1, 1, tzinfo=dt.UTC) <= data.starts_at < dt.datetime(2100, 1, 1, tzinfo=dt.UTC):
        raise _invalid("starts_at must be between the years 2000 and 2099.", "starts_at")
    if data.ends_at <= data.starts_at:
        raise _invalid("ends_at must be after starts_at.", "ends_at")
    if data.ends_at - data.starts_at > dt.timedelta(days=MAX_EVENT_DAYS):
        raise _invalid(f"An event lasts at most {MAX_EVENT_DAYS} days.", "ends_at")
    event = NetworkEvent(
        id=uuid.uuid4(),
        network_id=network.id,
        title=title,
        kind=data.kind,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        location=(data.location or "").strip() or None,
        created_by=actor.account_id,
    )
    session.add(event)
    await session.flush()
    audit.record(
        session,
        actor_id=actor.account_id,
        action="event.create",
        target_type="network_event",
        target_id=event.id,
        network_id=network.id,
        after={"title": title, "kind": data.kind, "starts_at": data.starts_at.isoformat()},
    )
    return to_out(event, network)


async def list_events(session: AsyncSession, actor: Actor, slug: str) -> EventList:
    """GET /networks/{slug}/events (the network's members), by start."""
    network = await require_network(session, slug)
    if not can_see_events(actor, network.id):
        raise Forbidden("Only this network's members can see its events.", code="forbidden")
    rows = await session.scalars(
        select(NetworkEvent)
        .where(NetworkEvent.network_id == network.id)
        .order_by(NetworkEvent.starts_at, NetworkEvent.id)
        .limit(500)
    )
    return EventList(network=network.slug, items=[to_out(e, network) for e in rows])


async def cancel(session: AsyncSession, actor: Actor, slug: str, event_id: uuid.UUID, *, now: dt.datetime) -> EventOut:
    """DELETE /networks/{slug}/events/{id}: marks it cancelled (meetings keep the link); idempotent."""
    network = await require_network(session, slug)
    if not can_manage_events(actor, network.id):
        raise Forbidden("Only this network's admins can cancel its events.", code="forbidden")
    event = await session.scalar(
        select(NetworkEvent).where(NetworkEvent.id == event_id, NetworkEvent.network_id == network.id)
    )
    if event is None:
        raise NotFound(f"Network {slug} has no event {event_id}.", code="event_not_found")
    if event.cancelled_at is None:
        event.cancelled_at = now
        await session.flush()
        audit.record(
            session,
            actor_id=actor.account_id,
            action="event.cancel",
            target_type="network_event",
            target_id=event.id,
            network_id=network.id,
            after={"cancelled_at": now.isoformat()},
        )
    return to_out(event, network)


async def check_meeting_event(
    session: AsyncSession, event_id: uuid.UUID, network_id: uuid.UUID, starts_at: dt.datetime, zone: str
) -> None:
    """A 422 naming ``event_id`` unless it is a live event of the network whose days include the
    meeting's day (in the network's zone)."""
    event = await session.get(NetworkEvent, event_id)
    if event is None or event.network_id != network_id:
        raise _invalid(f"The network has no event {event_id}.", "event_id")
    if event.cancelled_at is not None:
        raise _invalid("That event was cancelled; a meeting cannot be held with it.", "event_id")
    tz = time_zone(zone)
    day = local_day(starts_at, tz)
    if not local_day(event.starts_at, tz) <= day <= local_day(event.ends_at, tz):
        raise _invalid(
            f"A meeting held with “{event.title}” must fall on the event's days "
            f"({local_day(event.starts_at, tz)} to {local_day(event.ends_at, tz)}).",
            "event_id",
        )
