"""Wire types of the meetings area."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

import msgspec

from federation.wire import Text

MeetingKind = Literal["virtual", "in_person"]
Title = Annotated[Text, msgspec.Meta(min_length=1, max_length=200)]
Duration = Annotated[int, msgspec.Meta(ge=5, le=1440, description="Minutes, 5 to 1440")]
Location = Annotated[Text, msgspec.Meta(max_length=500)]
JoinUrl = Annotated[Text, msgspec.Meta(max_length=2000)]
Notes = Annotated[Text, msgspec.Meta(max_length=10_000)]
TimeZoneName = Annotated[
    str, msgspec.Meta(min_length=1, max_length=64, description="IANA time zone, e.g. America/Los_Angeles")
]
Rule = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=500,
        description="RFC 5545 RRULE without DTSTART, with COUNT or UNTIL, e.g. FREQ=MONTHLY;BYDAY=2TU;COUNT=10",
    ),
]
Components = Annotated[
    list[Annotated[Text, msgspec.Meta(max_length=40)]],
    msgspec.Meta(max_length=20, description="Agenda components: short slugs such as quote, story, reflection"),
]


class MeetingCreate(msgspec.Struct, forbid_unknown_fields=True):
    """Body of POST /spaces/{id}/meetings. ``location`` is for in-person meetings, ``join_url``
    for virtual ones (shown to the space's members only). ``components`` must include the
    space's required session components (``sessions.required_components``)."""

    kind: MeetingKind
    title: Title
    starts_at: dt.datetime
    duration_minutes: Duration = 60
    components: Components = []
    location: Location | None = None
    join_url: JoinUrl | None = None
    notes: Notes = ""
    time_zone: TimeZoneName | None = None
    """Zone the meeting is shown in; default: the network's. With a zone, ``starts_at`` may be
    a wall-clock time without offset (read in that zone)."""
    event_id: uuid.UUID | None = None
    """A network event (same network) this meeting is held with; it must fall on the event's days."""


class MeetingPatch(msgspec.Struct, forbid_unknown_fields=True):
    """Body of PATCH /spaces/{id}/meetings/{mid}: absent fields stay; ``null`` clears
    ``location`` / ``join_url``. The agenda must still include the required components."""

    kind: MeetingKind | msgspec.UnsetType = msgspec.UNSET
    title: Title | msgspec.UnsetType = msgspec.UNSET
    starts_at: dt.datetime | msgspec.UnsetType = msgspec.UNSET
    duration_minutes: Duration | msgspec.UnsetType = msgspec.UNSET
    components: Components | msgspec.UnsetType = msgspec.UNSET
    location: Location | msgspec.UnsetType | None = msgspec.UNSET
    join_url: JoinUrl | msgspec.UnsetType | None = msgspec.UNSET
    notes: Notes | msgspec.UnsetType = msgspec.UNSET
    time_zone: TimeZoneName | msgspec.UnsetType = msgspec.UNSET
    event_id: uuid.UUID | msgspec.UnsetType | None = msgspec.UNSET


class MeetingOut(msgspec.Struct):
    """A meeting as the API shows it. ``join_url`` is null for viewers outside the space's
    membership (e.g. network admins overseeing the schedule)."""

    id: uuid.UUID
    space_id: uuid.UUID
    kind: MeetingKind
    title: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    duration_minutes: int
    components: list[str]
    location: str | None
    join_url: str | None
    notes: str
    created_by: uuid.UUID | None
    created_at: dt.datetime
    updated_at: dt.datetime
    cancelled_at: dt.datetime | None
    time_zone: str = "UTC"
    """IANA zone the meeting is shown in (its own, else the network's)."""
    starts_at_local: str = ""
    """The start in ``time_zone``, ISO 8601 with its offset (e.g. 2026-10-13T16:00:00-07:00)."""
    zone_abbreviation: str = ""
    """The zone's short name at the start (PDT, PST), for display."""
    sequence: int = 0
    """RFC 5545 SEQUENCE: grows with every change, as in calendar feeds."""
    event_id: uuid.UUID | None = None
    attendance_count: int | None = None
    """How many attended, as recorded by a facilitator (a count; names are never kept)."""


class OccurrenceOut(msgspec.Struct):
    """One occurrence of a series. ``original_start`` names it (for exceptions);
    ``cancelled`` when skipped or cancelled, ``moved`` when moved."""

    series_id: uuid.UUID
    title: str
    kind: MeetingKind
    original_start: dt.datetime
    starts_at: dt.datetime
    ends_at: dt.datetime
    starts_at_local: str
    time_zone: str
    zone_abbreviation: str
    cancelled: bool
    moved: bool
    exception: Literal["skip", "cancel", "move"] | None
    attendance_count: int | None = None


class MeetingList(msgspec.Struct):
    """Meetings of a space between ``from`` and ``to``, by start time. ``required_components``
    is the governing value of ``sessions.required_components`` (for forms). ``occurrences``:
    the space's series' occurrences in the same range (cancelled ones with include_cancelled)."""

    space_id: uuid.UUID
    items: list[MeetingOut]
    required_components: list[str]
    can_schedule: bool
    occurrences: list[OccurrenceOut] = []
    time_zone: str = "UTC"
    """The network's zone (the default for new meetings)."""


class SeriesCreate(msgspec.Struct, forbid_unknown_fields=True):
    """Body of POST /spaces/{id}/series: a recurring meeting. ``starts_at`` is the first
    meeting's local wall-clock time in ``time_zone`` (e.g. 2026-09-08T16:00:00; an offset, if
    given, is converted to the zone); every occurrence keeps that local time across daylight-saving
    changes. ``rule`` must end (COUNT or UNTIL) within five years and occur at least once."""

    kind: MeetingKind
    title: Title
    starts_at: dt.datetime
    rule: Rule
    time_zone: TimeZoneName | None = None
    duration_minutes: Duration = 60
    components: Components = []
    location: Location | None = None
    join_url: JoinUrl | None = None
    notes: Notes = ""


class SeriesPatch(msgspec.Struct, forbid_unknown_fields=True):
    """Body of PATCH /spaces/{id}/series/{sid}: absent fields stay. Changing the rule, start or
    zone keeps exceptions whose occurrence still exists."""

    kind: MeetingKind | msgspec.UnsetType = msgspec.UNSET
    title: Title | msgspec.UnsetType = msgspec.UNSET
    starts_at: dt.datetime | msgspec.UnsetType = msgspec.UNSET
    rule: Rule | msgspec.UnsetType = msgspec.UNSET
    time_zone: TimeZoneName | msgspec.UnsetType = msgspec.UNSET
    duration_minutes: Duration | msgspec.UnsetType = msgspec.UNSET
    components: Components | msgspec.UnsetType = msgspec.UNSET
    location: Location | msgspec.UnsetType | None = msgspec.UNSET
    join_url: JoinUrl | msgspec.UnsetType | None = msgspec.UNSET
    notes: Notes | msgspec.UnsetType = msgspec.UNSET


class ExceptionSet(msgspec.Struct, forbid_unknown_fields=True):
    """Body of PUT /spaces/{id}/series/{sid}/exceptions: change one occurrence, named by its
    ``original_start`` (with offset). ``skip`` (a planned gap) and ``cancel`` remove it; ``move``
    needs ``starts_at`` (with offset) and may change ``duration_minutes``. ``restore`` undoes."""

    original_start: dt.datetime
    action: Literal["skip", "cancel", "move", "restore"]
    starts_at: dt.datetime | None = None
    duration_minutes: Duration | None = None


class SeriesOut(msgspec.Struct):
    """A series with every occurrence (cancelled ones flagged). ``join_url`` only for people in
    the space."""

    id: uuid.UUID
    space_id: uuid.UUID
    kind: MeetingKind
    title: str
    rule: str
    starts_at_local: dt.datetime
    time_zone: str
    duration_minutes: int
    components: list[str]
    location: str | None
    join_url: str | None
    notes: str
    sequence: int
    created_by: uuid.UUID | None
    created_at: dt.datetime
    updated_at: dt.datetime
    cancelled_at: dt.datetime | None
    occurrences: list[OccurrenceOut]


class SeriesList(msgspec.Struct):
    """Body of GET /spaces/{id}/series."""

    space_id: uuid.UUID
    items: list[SeriesOut]


Count = Annotated[int, msgspec.Meta(ge=0, le=100_000, description="How many attended")]


class AttendanceSet(msgspec.Struct, forbid_unknown_fields=True):
    """Body of PUT /spaces/{id}/meetings/{mid}/attendance: how many attended (at most the
    space's member count; names are never recorded)."""

    count: Count


class OccurrenceAttendanceSet(msgspec.Struct, forbid_unknown_fields=True):
    """Body of PUT /spaces/{id}/series/{sid}/attendance: how many attended one occurrence."""

    original_start: dt.datetime
    count: Count


class OccurrenceAttendanceOut(msgspec.Struct):
    """The recorded attendance of one occurrence."""

    series_id: uuid.UUID
    original_start: dt.datetime
    count: int


EventKind = Literal["convening", "conference", "other"]


class EventCreate(msgspec.Struct, forbid_unknown_fields=True):
    """Body of POST /networks/{slug}/events: a network-wide event (times with offset)."""

    title: Title
    kind: EventKind
    starts_at: dt.datetime
    ends_at: dt.datetime
    location: Location | None = None


class EventOut(msgspec.Struct):
    """A network event; ``starts_at_local`` in the network's zone."""

    id: uuid.UUID
    network: str
    title: str
    kind: EventKind
    starts_at: dt.datetime
    ends_at: dt.datetime
    starts_at_local: str
    time_zone: str
    location: str | None
    cancelled_at: dt.datetime | None


class EventList(msgspec.Struct):
    """Body of GET /networks/{slug}/events."""

    network: str
    items: list[EventOut]


class CheckInSet(msgspec.Struct, forbid_unknown_fields=True):
    """Body of POST /spaces/{id}/series/{sid}/check-in: which occurrence (its rule-given start)."""

    original_start: dt.datetime


class CheckInOut(msgspec.Struct):
    """A meeting (``meeting_id``) or one occurrence of a series (``series_id`` and
    ``original_start``) as the caller sees it for check-in: its window (``opens_at`` to
    ``closes_at``; ``state`` ``not_yet``, ``open`` or ``closed`` now) and whether they checked
    in. The figures are for those who record attendance only (else null): ``recorded`` (the
    facilitator's count), ``checked_in_count`` (self check-ins) and ``attendance`` (the
    recorded count if any, else the check-ins). Never who checked in."""

    space_id: uuid.UUID
    title: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    starts_at_local: str
    time_zone: str
    zone_abbreviation: str
    opens_at: dt.datetime
    closes_at: dt.datetime
    state: Literal["not_yet", "open", "closed"]
    checked_in: bool
    can_check_in: bool
    meeting_id: uuid.UUID | None = None
    series_id: uuid.UUID | None = None
    original_start: dt.datetime | None = None
    recorded: int | None = None
    checked_in_count: int | None = None
    attendance: int | None = None
    already: bool = False
    """In the answer to a check-in: true when the caller had already checked in (nothing changed)."""


class CheckInList(msgspec.Struct):
    """GET /spaces/{id}/check-ins: the space's meetings and occurrences whose check-in window
    is open now, or that started within the last day (so facilitators see today's figures)."""

    space_id: uuid.UUID
    items: list[CheckInOut]
