"""Growing the groups: e-mail outbox, notifications, invitations by e-mail, proposals, directory.

Owned by the growing-groups work (services/mail, services/notifications, services/invitations,
services/proposals, services/directory).

- ``mail_outbox`` rows are written in the same transaction as the event that causes them and
  delivered by the background sender (services/mail/sender.py): never lost (a rolled-back event
  writes no mail; a committed one stays pending until sent or failed), never sent twice (a row
  is claimed with ``FOR UPDATE SKIP LOCKED`` and marked sent in the same transaction).
- ``space_invitations`` keep only the SHA-256 of the link's token.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, func, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

from services.persistence.base import Base, created_at, uuid_pk


class MailOutbox(Base):
    """One e-mail to send; delivered by the background sender with retries and backoff."""

    __tablename__ = "mail_outbox"

    id: Mapped[uuid.UUID] = uuid_pk()
    to_address: Mapped[str] = mapped_column(String(320), nullable=False)
    subject: Mapped[str] = mapped_column(String(300), nullable=False)
    body_text: Mapped[str] = mapped_column(Text, nullable=False)
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    """The recipient's account, when they have one."""
    notify_account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    """Who is told (in-app) when delivery finally fails: e.g. the person who sent an invitation."""
    headers: Mapped[dict[str, Any]] = mapped_column(nullable=False, default=dict)
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="pending")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(nullable=False, server_default=func.now())
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = created_at()
    sent_at: Mapped[dt.datetime | None] = mapped_column()

    __table_args__ = (
        CheckConstraint("status IN ('pending','sent','failed','suppressed')", name="status"),
        Index("ix_mail_outbox_due", "next_attempt_at", postgresql_where=text("status = 'pending'")),
    )


class Notification(Base):
    """An in-app notification shown on the member's home page."""

    __tablename__ = "notifications"

    id: Mapped[uuid.UUID] = uuid_pk()
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False)
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    body: Mapped[str] = mapped_column(String(2000), nullable=False, default="")
    link: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = created_at()
    read_at: Mapped[dt.datetime | None] = mapped_column()

    __table_args__ = (Index("ix_notifications_account_created", "account_id", "created_at"),)


class NotificationPreference(Base):
    """A member's choice for one kind of notification: e-mail (and in-app), in-app only, or off."""

    __tablename__ = "notification_preferences"

    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    channel: Mapped[str] = mapped_column(String(10), nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(nullable=False, server_default=func.now(), onupdate=func.now())

    __table_args__ = (CheckConstraint("channel IN ('email','in_app','off')", name="channel"),)


class MailSuppression(Base):
    """An address that unsubscribed from one kind of e-mail (works without an account)."""

    __tablename__ = "mail_suppressions"

    address: Mapped[str] = mapped_column(String(320), primary_key=True)
    """Lower-cased e-mail address."""
    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    created_at: Mapped[dt.datetime] = created_at()


class SpaceInvitation(Base):
    """An invitation by e-mail address to a space, accepted through a single-use link."""

    __tablename__ = "space_invitations"

    id: Mapped[uuid.UUID] = uuid_pk()
    space_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("spaces.id", ondelete="SET NULL"))
    """None once the space is deleted (the link then says so)."""
    space_name: Mapped[str] = mapped_column(String(200), nullable=False)
    network_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("networks.id", ondelete="CASCADE"), nullable=False)
    email: Mapped[str] = mapped_column(String(320), nullable=False)
    token_hash: Mapped[bytes] = mapped_column(nullable=False, unique=True)
    message: Mapped[str] = mapped_column(String(1000), nullable=False, default="")
    for_new_person: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    """No account had this address when invited: accepting also makes them a network member."""
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="pending")
    invited_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    """The account that accepted."""
    expires_at: Mapped[dt.datetime] = mapped_column(nullable=False)
    created_at: Mapped[dt.datetime] = created_at()
    decided_at: Mapped[dt.datetime | None] = mapped_column()

    __table_args__ = (
        CheckConstraint("status IN ('pending','accepted','revoked','declined')", name="status"),
        Index("ix_space_invitations_space", "space_id", "status"),
        Index("ix_space_invitations_email", func.lower(email), "status"),
        Index(
            "uq_space_invitations_pending",
            "space_id",
            func.lower(email),
            unique=True,
            postgresql_where=text("status = 'pending'"),
        ),
    )


class SpaceProposal(Base):
    """A member's proposal for a new space, decided by the network's admins."""

    __tablename__ = "space_proposals"

    id: Mapped[uuid.UUID] = uuid_pk()
    network_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("networks.id", ondelete="CASCADE"), nullable=False)
    proposed_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    purpose: Mapped[str] = mapped_column(String(4000), nullable=False)
    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("spaces.id", ondelete="SET NULL"))
    facilitator_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(UUID(as_uuid=True)), nullable=False, default=list)
    """Proposed facilitators (accounts of the network)."""
    proposer_facilitates: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    """The proposer agrees to facilitate the space once it exists."""
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="pending")
    question: Mapped[str | None] = mapped_column(String(2000))
    answer: Mapped[str | None] = mapped_column(String(2000))
    reason: Mapped[str | None] = mapped_column(String(2000))
    decided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    decided_at: Mapped[dt.datetime | None] = mapped_column()
    space_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("spaces.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = created_at()
    updated_at: Mapped[dt.datetime] = mapped_column(nullable=False, server_default=func.now(), onupdate=func.now())

    __table_args__ = (
        CheckConstraint("kind IN ('identity','role','topic','cohort')", name="kind"),
        CheckConstraint("status IN ('pending','question','approved','declined','withdrawn')", name="status"),
        Index("ix_space_proposals_network", "network_id", "status"),
        Index("ix_space_proposals_proposer", "proposed_by"),
    )
    __mapper_args__ = {"eager_defaults": True}


class ProposalFacilitator(Base):
    """Someone a proposal names as facilitator, and their answer: nobody facilitates the new
    space without ``accepted``."""

    __tablename__ = "proposal_facilitators"

    proposal_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("space_proposals.id", ondelete="CASCADE"), primary_key=True
    )
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    answer: Mapped[str] = mapped_column(String(10), nullable=False, default="pending", server_default="pending")
    created_at: Mapped[dt.datetime] = created_at()
    answered_at: Mapped[dt.datetime | None] = mapped_column()

    __table_args__ = (
        CheckConstraint("answer IN ('pending','accepted','declined')", name="answer"),
        Index("ix_proposal_facilitators_account", "account_id", "answer"),
    )


class NetworkDirectory(Base):
    """A network's public directory (opt-in): whether it is on, and its stable short code."""

    __tablename__ = "network_directories"

    network_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("networks.id", ondelete="CASCADE"), primary_key=True)
    public: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    code: Mapped[str] = mapped_column(String(16), nullable=False, unique=True)
    """The short link's code (``/d/{code}``); stays the same when the directory is switched off and on."""
    updated_at: Mapped[dt.datetime] = mapped_column(nullable=False, server_default=func.now(), onupdate=func.now())


class PublicSpace(Base):
    """A space its network lists in the public directory."""

    __tablename__ = "public_spaces"

    space_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"), primary_key=True)
    network_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("networks.id", ondelete="CASCADE"), nullable=False)
    how_to_join: Mapped[str] = mapped_column(String(1000), nullable=False, default="")
    """Extra words for newcomers (e.g. "ask at orientation"); the join mode is always shown."""
    created_at: Mapped[dt.datetime] = created_at()

    __table_args__ = (Index("ix_public_spaces_network", "network_id"),)


class MeetingReminder(Base):
    """A meeting whose day-before reminder went out (at most once, even with several processes)."""

    __tablename__ = "meeting_reminders"

    meeting_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True)
    sent_at: Mapped[dt.datetime] = created_at()


class OccurrenceReminder(Base):
    """An occurrence of a recurring series (by its rule-given start) whose day-before reminder
    went out (at most once, even with several processes, and even if it is moved afterwards)."""

    __tablename__ = "occurrence_reminders"

    series_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meeting_series.id", ondelete="CASCADE"), primary_key=True)
    original_start: Mapped[dt.datetime] = mapped_column(primary_key=True)
    sent_at: Mapped[dt.datetime] = created_at()


class FacilitatorTraining(Base):
    """A facilitator's completed training in a network: course, date, expiry (not a per-space flag)."""

    __tablename__ = "facilitator_trainings"

    id: Mapped[uuid.UUID] = uuid_pk()
    network_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("networks.id", ondelete="CASCADE"), nullable=False)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False)
    course: Mapped[str] = mapped_column(String(200), nullable=False)
    completed_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    expires_on: Mapped[dt.date | None] = mapped_column(Date)
    recorded_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = created_at()

    __table_args__ = (
        CheckConstraint("expires_on IS NULL OR expires_on >= completed_on", name="dates"),
        Index("ix_facilitator_trainings_network_account", "network_id", "account_id"),
    )


class FacilitatorCompensation(Base):
    """Who a network pays for facilitating (visible to the network's admins only)."""

    __tablename__ = "facilitator_compensation"

    network_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("networks.id", ondelete="CASCADE"), primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    note: Mapped[str] = mapped_column(String(500), nullable=False, default="")
    recorded_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    updated_at: Mapped[dt.datetime] = mapped_column(nullable=False, server_default=func.now(), onupdate=func.now())
