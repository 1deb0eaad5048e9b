"""Audit events: who changed what, when, with the state before and after."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from services.persistence.base import Base, created_at, uuid_pk


class AuditEvent(Base):
    """One recorded change. Never updated or deleted by the application."""

    __tablename__ = "audit_events"

    id: Mapped[uuid.UUID] = uuid_pk()
    occurred_at: Mapped[dt.datetime] = created_at()
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(80), nullable=False)
    target_type: Mapped[str] = mapped_column(String(40), nullable=False)
    target_id: Mapped[str] = mapped_column(String(80), nullable=False)
    network_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("networks.id", ondelete="SET NULL"))
    before: Mapped[dict[str, Any] | None] = mapped_column()
    after: Mapped[dict[str, Any] | None] = mapped_column()
    request_id: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_audit_events_target", "target_type", "target_id", "occurred_at"),
        Index("ix_audit_events_network", "network_id", "occurred_at"),
    )
