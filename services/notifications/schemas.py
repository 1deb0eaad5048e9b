"""Wire types of the notifications area."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

import msgspec

ChannelName = Literal["email", "in_app", "off"]


class NotificationOut(msgspec.Struct, kw_only=True):
    """One in-app notification."""

    id: uuid.UUID
    kind: str
    title: str
    body: str
    link: str | None
    created_at: dt.datetime
    read: bool


class NotificationList(msgspec.Struct, kw_only=True):
    """The caller's notifications, newest first."""

    items: list[NotificationOut]
    unread: int


class PreferenceOut(msgspec.Struct, kw_only=True):
    """The caller's channel for one kind."""

    kind: str
    channel: ChannelName
    description: str


class PreferenceList(msgspec.Struct, kw_only=True):
    """The caller's channel for every kind."""

    items: list[PreferenceOut]


class PreferenceSet(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Choose a channel for one kind."""

    channel: ChannelName
