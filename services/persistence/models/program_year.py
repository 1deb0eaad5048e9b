"""Exemptions from templates, network events, attendance of series occurrences and self
check-ins (owned by the program-year work)."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, PrimaryKeyConstraint, String, func
from sqlalchemy.orm import Mapped, mapped_column

from services.persistence.base import Base, created_at, uuid_pk


class PolicyExemption(Base):
    """A sub-tree (a space and everything under it) taken out of one template, or of every
    template (``template_id`` null), with the admin's reason. Compliance does not measure the
    sub-tree against it."""

    __tablename__ = "policy_exemptions"

    id: Mapped[uuid.UUID] = uuid_pk()
    network_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("networks.id", ondelete="CASCADE"), nullable=False)
    space_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"), nullable=False)
    template_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("policy_templates.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(500), nullable=False)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = created_at()

    __table_args__ = (
        Index("ix_policy_exemptions_network_id", "network_id"),
        Index("ix_policy_exemptions_space_id", "space_id"),
    )


class NetworkEvent(Base):
    """A network-wide event (an in-person convening, a conference); a space's meeting can be held
    "with" it, and ``meetings.with_event_per_year`` can require that."""

    __tablename__ = "network_events"

    id: Mapped[uuid.UUID] = uuid_pk()
    network_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("networks.id", ondelete="CASCADE"), nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    starts_at: Mapped[dt.datetime] = mapped_column(nullable=False)
    ends_at: Mapped[dt.datetime] = mapped_column(nullable=False)
    location: Mapped[str | None] = mapped_column(String(500))
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = created_at()
    cancelled_at: Mapped[dt.datetime | None] = mapped_column()

    __table_args__ = (
        CheckConstraint("kind IN ('convening','conference','other')", name="kind"),
        CheckConstraint("ends_at > starts_at", name="span"),
        Index("ix_network_events_network_id_starts_at", "network_id", "starts_at"),
    )
    __mapper_args__ = {"eager_defaults": True}


class OccurrenceAttendance(Base):
    """How many attended one occurrence of a series (a count, never names)."""

    __tablename__ = "occurrence_attendance"

    series_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meeting_series.id", ondelete="CASCADE"), nullable=False)
    original_start: Mapped[dt.datetime] = mapped_column(nullable=False)
    count: Mapped[int] = mapped_column(Integer, nullable=False)
    recorded_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    updated_at: Mapped[dt.datetime] = mapped_column(nullable=False, server_default=func.now(), onupdate=func.now())

    __table_args__ = (
        PrimaryKeyConstraint("series_id", "original_start"),
        CheckConstraint("count >= 0", name="count"),
    )


class MeetingCheckIn(Base):
    """A member checked themselves in to a single meeting (counted, never listed)."""

    __tablename__ = "meeting_check_ins"

    meeting_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), nullable=False)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False)
    created_at: Mapped[dt.datetime] = created_at()

    __table_args__ = (PrimaryKeyConstraint("meeting_id", "account_id"),)


class OccurrenceCheckIn(Base):
    """A member checked themselves in to one occurrence of a series (counted, never listed)."""

    __tablename__ = "occurrence_check_ins"

    series_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meeting_series.id", ondelete="CASCADE"), nullable=False)
    original_start: Mapped[dt.datetime] = mapped_column(nullable=False)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False)
    created_at: Mapped[dt.datetime] = created_at()

    __table_args__ = (PrimaryKeyConstraint("series_id", "original_start", "account_id"),)


class StaffFigure(Base):
    """A network's own yearly staff totals (Kent's "number of BIPOC staff" and "retained
    annually"), entered by its admins and shown beside the engagement figures."""

    __tablename__ = "network_staff_figures"

    network_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("networks.id", ondelete="CASCADE"), nullable=False)
    year_start: Mapped[dt.date] = mapped_column(Date, nullable=False)
    staff_total: Mapped[int] = mapped_column(Integer, nullable=False)
    staff_retained: Mapped[int] = mapped_column(Integer, nullable=False)
    updated_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    updated_at: Mapped[dt.datetime] = mapped_column(nullable=False, server_default=func.now(), onupdate=func.now())

    __table_args__ = (
        PrimaryKeyConstraint("network_id", "year_start"),
        CheckConstraint("staff_total >= 0 AND staff_retained >= 0", name="non_negative"),
        CheckConstraint("staff_retained <= staff_total", name="retained_within_total"),
    )
