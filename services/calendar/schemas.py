"""Wire types of calendar feeds."""

from __future__ import annotations

import datetime as dt

import msgspec


class FeedStatus(msgspec.Struct):
    """Body of GET /me/calendar-feed. The URL itself is shown once, when made (it is stored
    only as a hash); ``active`` says whether one exists."""

    active: bool
    created_at: dt.datetime | None


class FeedCreated(msgspec.Struct):
    """Body of POST /me/calendar-feed: the secret feed URL (shown once; any earlier URL stops
    working). Subscribe to it in a calendar app; it lists the meetings of every space you belong to."""

    url: str
    created_at: dt.datetime
