"""Spaces (nested affinity groups) and their members. Owned by the spaces area.

Core columns other areas rely on (keep them): spaces.id, network_id, parent_id, name, kind,
settings; space_members.space_id, account_id, role ('member' | 'facilitator'), status
('active' | 'requested' | 'invited' | 'banned').
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, func
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

from services.persistence.base import Base, created_at, uuid_pk


class Space(Base):
    """An affinity space. ``path`` lists the ancestors' ids from the root, so subtree and
    ancestor queries are one indexed query (``path @> ARRAY[id]``), not one per level."""

    __tablename__ = "spaces"

    id: Mapped[uuid.UUID] = uuid_pk()
    network_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("networks.id", ondelete="CASCADE"), nullable=False)
    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("spaces.id", ondelete="RESTRICT"))
    path: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(UUID(as_uuid=True)), nullable=False, default=list)
    depth: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str] = mapped_column(String(4000), nullable=False, default="")
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    join_mode: Mapped[str] = mapped_column(String(20), nullable=False, default="request")
    visibility: Mapped[str] = mapped_column(String(20), nullable=False, default="listed")
    settings: Mapped[dict[str, Any]] = mapped_column(nullable=False, default=dict)
    created_at: Mapped[dt.datetime] = created_at()
    updated_at: Mapped[dt.datetime] = mapped_column(nullable=False, server_default=func.now(), onupdate=func.now())

    __table_args__ = (
        CheckConstraint("kind IN ('identity','role','topic','cohort')", name="kind"),
        CheckConstraint("join_mode IN ('open','request','invite','parent_members')", name="join_mode"),
        CheckConstraint("visibility IN ('listed','unlisted')", name="visibility"),
        Index("ix_spaces_network_id", "network_id"),
        Index("ix_spaces_parent_id", "parent_id"),
        Index("ix_spaces_path", "path", postgresql_using="gin"),
    )


class SpaceMember(Base):
    """An account's standing in a space: role and status."""

    __tablename__ = "space_members"

    space_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"), primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(20), nullable=False, default="member")
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="active")
    trained: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[dt.datetime] = created_at()
    updated_at: Mapped[dt.datetime] = mapped_column(nullable=False, server_default=func.now(), onupdate=func.now())

    __table_args__ = (
        CheckConstraint("role IN ('member','facilitator')", name="role"),
        CheckConstraint("status IN ('active','requested','invited','banned')", name="status"),
        Index("ix_space_members_account_id", "account_id", "status"),
    )
