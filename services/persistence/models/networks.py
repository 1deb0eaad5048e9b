"""Networks (independent organisations) and their members' roles."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import CheckConstraint, ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column

from services.persistence.base import Base, created_at, uuid_pk


class Network(Base):
    """An education network: association, district, ESD, school or other."""

    __tablename__ = "networks"

    id: Mapped[uuid.UUID] = uuid_pk()
    slug: Mapped[str] = mapped_column(String(40), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    description: Mapped[str] = mapped_column(String(2000), nullable=False, default="")
    time_zone: Mapped[str] = mapped_column(String(64), nullable=False, default="UTC", server_default="UTC")
    """IANA zone: a meeting's day and the program year follow it (AFFINITY_DEFAULT_TIME_ZONE at creation)."""
    created_at: Mapped[dt.datetime] = created_at()
    updated_at: Mapped[dt.datetime] = mapped_column(nullable=False, server_default=func.now(), onupdate=func.now())

    __table_args__ = (CheckConstraint("kind IN ('association','district','esd','school','other')", name="kind"),)


class NetworkMember(Base):
    """An account's role in a network."""

    __tablename__ = "network_members"

    network_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("networks.id", ondelete="CASCADE"), primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(String(20), nullable=False)
    created_at: Mapped[dt.datetime] = created_at()
    updated_at: Mapped[dt.datetime] = mapped_column(nullable=False, server_default=func.now(), onupdate=func.now())

    __table_args__ = (CheckConstraint("role IN ('member','facilitator','admin')", name="role"),)
