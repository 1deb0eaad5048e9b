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


class MeetingList(msgspec.Struct):
    """Meetings of a space between ``from`` and ``to``, by start time. ``required_components``
    is the governing value of ``sessions.required_components`` (for forms)."""

    space_id: uuid.UUID
    items: list[MeetingOut]
    required_components: list[str]
    can_schedule: bool
