"""Exemptions from templates (owned by the program-year work)."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKey, Index, String
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
