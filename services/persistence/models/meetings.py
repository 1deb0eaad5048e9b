"""Meetings of spaces: their schedule and agendas (owned by the meetings area).

A meeting is virtual (optional ``join_url``) or in person (optional ``location``). Its agenda
is a list of component slugs (``quote``, ``story``, ``reflection``, or free ones); the policy
parameter ``sessions.required_components`` names those every agenda must include. Cancelling
keeps the row (``cancelled_at``); compliance counts only meetings that are not cancelled.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, Integer, PrimaryKeyConstraint, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from services.persistence.base import Base, created_at, uuid_pk


class Meeting(Base):
    """A scheduled gathering of a space."""

    __tablename__ = "meetings"

    id: Mapped[uuid.UUID] = uuid_pk()
    space_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    starts_at: Mapped[dt.datetime] = mapped_column(nullable=False)
    duration_minutes: Mapped[int] = mapped_column(Integer, nullable=False)
    location: Mapped[str | None] = mapped_column(String(500))
    join_url: Mapped[str | None] = mapped_column(String(2000))
    components: Mapped[list[str]] = mapped_column(nullable=False, default=list)
    notes: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = created_at()
    updated_at: Mapped[dt.datetime] = mapped_column(nullable=False, server_default=func.now(), onupdate=func.now())
    cancelled_at: Mapped[dt.datetime | None] = mapped_column()
    time_zone: Mapped[str | None] = mapped_column(String(64))
    """IANA zone the meeting is shown in; None: the network's zone."""
    sequence: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    """RFC 5545 SEQUENCE: bumped on every change and on cancellation, so calendars take the update."""
    event_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("network_events.id", ondelete="SET NULL"))
    """The network event this meeting is held with (a convening, a conference), if any."""
    attendance_count: Mapped[int | None] = mapped_column(Integer)
    """How many attended (recorded by a facilitator); a count, never names."""
    checked_in: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    """How many checked in themselves: kept by triggers on ``meeting_check_ins`` (migration
    0017), so every insert and delete (an erased account's cascade included) keeps it exact and
    insights read one column instead of grouping every check-in. The app never writes it."""

    __table_args__ = (
        CheckConstraint("kind IN ('virtual','in_person')", name="kind"),
        CheckConstraint("duration_minutes BETWEEN 5 AND 1440", name="duration"),
        CheckConstraint("attendance_count IS NULL OR attendance_count >= 0", name="attendance"),
        Index("ix_meetings_space_id_starts_at", "space_id", "starts_at"),
    )
    __mapper_args__ = {"eager_defaults": True}


class MeetingSeries(Base):
    """A recurring meeting: an RFC 5545 rule from a local wall-clock start in an IANA zone.

    ``first_start`` and ``last_start`` (UTC, derived from the rule when it is written) let range
    queries find series without expanding them. Occurrences are computed, never stored; only
    exceptions (:class:`MeetingSeriesException`) are.
    """

    __tablename__ = "meeting_series"

    id: Mapped[uuid.UUID] = uuid_pk()
    space_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    start_local: Mapped[dt.datetime] = mapped_column(DateTime(timezone=False), nullable=False)
    time_zone: Mapped[str] = mapped_column(String(64), nullable=False)
    rule: Mapped[str] = mapped_column(String(500), nullable=False)
    duration_minutes: Mapped[int] = mapped_column(Integer, nullable=False)
    location: Mapped[str | None] = mapped_column(String(500))
    join_url: Mapped[str | None] = mapped_column(String(2000))
    components: Mapped[list[str]] = mapped_column(nullable=False, default=list)
    notes: Mapped[str] = mapped_column(Text, nullable=False, default="")
    first_start: Mapped[dt.datetime] = mapped_column(nullable=False)
    last_start: Mapped[dt.datetime] = mapped_column(nullable=False)
    sequence: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = created_at()
    updated_at: Mapped[dt.datetime] = mapped_column(nullable=False, server_default=func.now(), onupdate=func.now())
    cancelled_at: Mapped[dt.datetime | None] = mapped_column()

    __table_args__ = (
        CheckConstraint("kind IN ('virtual','in_person')", name="kind"),
        CheckConstraint("duration_minutes BETWEEN 5 AND 1440", name="duration"),
        Index("ix_meeting_series_space_id_last_start", "space_id", "last_start"),
    )
    __mapper_args__ = {"eager_defaults": True}


class MeetingSeriesException(Base):
    """A change to one occurrence of a series, named by its rule-given start (RECURRENCE-ID)."""

    __tablename__ = "meeting_series_exceptions"

    series_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meeting_series.id", ondelete="CASCADE"), nullable=False)
    original_start: Mapped[dt.datetime] = mapped_column(nullable=False)
    kind: Mapped[str] = mapped_column(String(10), nullable=False)
    starts_at: Mapped[dt.datetime | None] = mapped_column()
    duration_minutes: Mapped[int | None] = mapped_column(Integer)
    revision: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = created_at()
    updated_at: Mapped[dt.datetime] = mapped_column(nullable=False, server_default=func.now(), onupdate=func.now())

    __table_args__ = (
        PrimaryKeyConstraint("series_id", "original_start"),
        CheckConstraint("kind IN ('skip','cancel','move')", name="kind"),
        CheckConstraint("kind <> 'move' OR starts_at IS NOT NULL", name="move_has_start"),
        CheckConstraint("duration_minutes IS NULL OR duration_minutes BETWEEN 5 AND 1440", name="duration"),
    )
    __mapper_args__ = {"eager_defaults": True}


class CalendarFeed(Base):
    """A member's secret calendar-feed token, stored as its SHA-256 (the URL is shown once)."""

    __tablename__ = "calendar_feeds"

    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    created_at: Mapped[dt.datetime] = created_at()
