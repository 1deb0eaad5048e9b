"""Meetings of spaces: their schedule and agendas (owned by the meetings area).

A meeting is virtual (optional ``join_url``) or in person (optional ``location``). Its agenda
is a list of component slugs (``quote``, ``story``, ``reflection``, or free ones); the policy
parameter ``sessions.required_components`` names those every agenda must include. Cancelling
keeps the row (``cancelled_at``); compliance counts only meetings that are not cancelled.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, func
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

    __table_args__ = (
        CheckConstraint("kind IN ('virtual','in_person')", name="kind"),
        CheckConstraint("duration_minutes BETWEEN 5 AND 1440", name="duration"),
        Index("ix_meetings_space_id_starts_at", "space_id", "starts_at"),
    )
    __mapper_args__ = {"eager_defaults": True}
