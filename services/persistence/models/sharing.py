"""Sharing agreements between networks. Owned by the sharing area.

``shares``: a host network offers a space (optionally with its sub-spaces) to a guest network.
The stored ``status`` is pending | active | declined | ended | expired; a pending offer past
``expires_at`` reads as expired (computed at read time, no job needed) and is only written as
``expired`` when a new offer replaces it. At most one open (pending or active) agreement per
space and guest network (partial unique index).

``share_memberships`` ties a guest's ``space_members`` row to the agreement that admitted them,
so ending the agreement removes exactly those rows (the row itself carries ``own_standing``).

``trusted_networks``: a network's admins trust another network; that network's offers to them
are accepted at once.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, ForeignKeyConstraint, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from services.persistence.base import Base, created_at, uuid_pk


class Share(Base):
    """A sharing agreement: host network shares ``space_id`` with ``guest_network_id``."""

    __tablename__ = "shares"

    id: Mapped[uuid.UUID] = uuid_pk()
    space_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"), nullable=False)
    host_network_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("networks.id", ondelete="CASCADE"), nullable=False)
    guest_network_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("networks.id", ondelete="CASCADE"), nullable=False)
    include_subspaces: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    message: Mapped[str] = mapped_column(String(1000), nullable=False, default="")
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="pending")
    constraints: Mapped[dict[str, Any]] = mapped_column(nullable=False, default=dict)
    """Guest constraints: bounds the guest network sets for its own members in the shared space(s)."""
    auto_accepted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    offered_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    decided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    ended_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(nullable=False)
    expires_at: Mapped[dt.datetime] = mapped_column(nullable=False)
    decided_at: Mapped[dt.datetime | None] = mapped_column()
    ended_at: Mapped[dt.datetime | None] = mapped_column()

    __table_args__ = (
        CheckConstraint("status IN ('pending','active','declined','ended','expired')", name="status"),
        CheckConstraint("host_network_id <> guest_network_id", name="two_networks"),
        Index("ix_shares_space", "space_id", "status"),
        Index("ix_shares_host", "host_network_id"),
        Index("ix_shares_guest", "guest_network_id", "status"),
        Index(
            "uq_shares_open",
            "space_id",
            "guest_network_id",
            unique=True,
            postgresql_where="status IN ('pending','active')",
        ),
    )


class ShareMembership(Base):
    """A guest's membership row in a shared space, and the agreement it came through."""

    __tablename__ = "share_memberships"

    space_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    share_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("shares.id", ondelete="CASCADE"), nullable=False)
    created_at: Mapped[dt.datetime] = created_at()

    __table_args__ = (
        ForeignKeyConstraint(
            ["space_id", "account_id"],
            ["space_members.space_id", "space_members.account_id"],
            ondelete="CASCADE",
        ),
        Index("ix_share_memberships_share", "share_id"),
    )


class TrustedNetwork(Base):
    """``network_id`` trusts ``trusted_network_id``: offers from it are accepted at once."""

    __tablename__ = "trusted_networks"

    network_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("networks.id", ondelete="CASCADE"), primary_key=True)
    trusted_network_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("networks.id", ondelete="CASCADE"), primary_key=True
    )
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = created_at()

    __table_args__ = (CheckConstraint("network_id <> trusted_network_id", name="two_networks"),)
