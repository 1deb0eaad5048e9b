"""Spaces (nested affinity groups), their members, policy templates. Owned by the spaces area.

Core columns other areas rely on (keep them): spaces.id, network_id, parent_id, name, kind,
settings; space_members.space_id, account_id, role ('member' | 'facilitator'), status
('active' | 'requested' | 'invited' | 'banned').

Policy: a network owns named templates; each change is a new immutable version; a template
is attached to the whole network or to a space (and so its subtree). A space may also set
constraints for its own sub-spaces (``spaces.subspace_constraints``). Non-compliance marks
record spaces a tightened template put out of bounds, with a deadline; settings are never
rewritten.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, ForeignKeyConstraint, Index, Integer, String, func
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID, array
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.elements import ColumnElement

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
    subspace_constraints: Mapped[dict[str, Any]] = mapped_column(nullable=False, default=dict)
    """Constraints this space sets for every space beneath it (must lie inside its own policy)."""
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = created_at()
    updated_at: Mapped[dt.datetime] = mapped_column(nullable=False, server_default=func.now(), onupdate=func.now())
    archived_at: Mapped[dt.datetime | None] = mapped_column()
    """Set while the space is archived (read-only, out of the directories; restorable). Migration 0014."""

    __table_args__ = (
        CheckConstraint("kind IN ('identity','role','topic','cohort')", name="kind"),
        CheckConstraint("join_mode IN ('open','request','invite','parent_members')", name="join_mode"),
        CheckConstraint("visibility IN ('listed','unlisted')", name="visibility"),
        Index("ix_spaces_network_id", "network_id"),
        Index("ix_spaces_parent_id", "parent_id"),
        Index("ix_spaces_path", "path", postgresql_using="gin"),
    )
    # Fetch updated_at with UPDATE ... RETURNING instead of a second SELECT after each change.
    __mapper_args__ = {"eager_defaults": True}


def below(root_id: uuid.UUID) -> ColumnElement[bool]:
    """``spaces.path @> ARRAY[root_id]``: the space lies strictly below ``root_id`` (GIN index).

    Beside the column it reads, so every area's subtree query (spaces, sharing) shares it.
    """
    return Space.path.contains(array([root_id], type_=UUID(as_uuid=True)).cast(ARRAY(UUID(as_uuid=True))))


class SpaceMember(Base):
    """An account's standing in a space: role and status."""

    __tablename__ = "space_members"

    space_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"), primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(20), nullable=False, default="member")
    status: Mapped[str] = mapped_column(String(20), nullable=False, default="active")
    trained: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    own_standing: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    outside: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default="false")
    """An outside facilitator: facilitates this space without belonging to its network (migration 0014)."""
    """True when the membership does not derive from the parent space (e.g. a guest through a
    share): removal or a ban in an ancestor does not cascade to it."""
    created_at: Mapped[dt.datetime] = created_at()
    updated_at: Mapped[dt.datetime] = mapped_column(nullable=False, server_default=func.now(), onupdate=func.now())

    __table_args__ = (
        CheckConstraint("role IN ('member','facilitator')", name="role"),
        CheckConstraint("status IN ('active','requested','invited','banned')", name="status"),
        Index("ix_space_members_account_id", "account_id", "status"),
    )


class PolicyTemplate(Base):
    """A network's named set of parameter bounds. Its constraints live in immutable versions."""

    __tablename__ = "policy_templates"

    id: Mapped[uuid.UUID] = uuid_pk()
    network_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("networks.id", ondelete="CASCADE"), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str] = mapped_column(String(2000), nullable=False, default="")
    mode: Mapped[str] = mapped_column(String(10), nullable=False, default="enforce")
    current_version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = created_at()
    updated_at: Mapped[dt.datetime] = mapped_column(nullable=False, server_default=func.now(), onupdate=func.now())

    __table_args__ = (
        CheckConstraint("mode IN ('enforce','warn','audit')", name="mode"),
        Index("uq_policy_templates_network_name", "network_id", "name", unique=True),
    )


class PolicyTemplateVersion(Base):
    """One version of a template's constraints. Never updated: a change is a new version."""

    __tablename__ = "policy_template_versions"

    template_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("policy_templates.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    constraints: Mapped[dict[str, Any]] = mapped_column(nullable=False)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = created_at()

    __table_args__ = (CheckConstraint("version >= 1", name="version"),)


class PolicyAttachment(Base):
    """A template attached to a whole network (``space_id`` null) or to a space and its subtree."""

    __tablename__ = "policy_attachments"

    id: Mapped[uuid.UUID] = uuid_pk()
    template_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("policy_templates.id", ondelete="CASCADE"), nullable=False
    )
    network_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("networks.id", ondelete="CASCADE"), nullable=False)
    space_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"))
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = created_at()
    target: Mapped[dict[str, Any] | None] = mapped_column()
    """What it binds (kinds, leaf spaces only, depth range; federation.targeting); None: everything."""

    __table_args__ = (
        Index("ix_policy_attachments_network", "network_id"),
        Index("ix_policy_attachments_space", "space_id"),
        Index("uq_policy_attachments_network_level", "template_id", unique=True, postgresql_where="space_id IS NULL"),
        Index(
            "uq_policy_attachments_space_level",
            "template_id",
            "space_id",
            unique=True,
            postgresql_where="space_id IS NOT NULL",
        ),
    )


class SpaceJoinRequest(Base):
    """A request to join (by the requester) or an invitation (by a facilitator), and its state."""

    __tablename__ = "space_join_requests"

    id: Mapped[uuid.UUID] = uuid_pk()
    space_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"), nullable=False)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False)
    kind: Mapped[str] = mapped_column(String(12), nullable=False)
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="pending")
    message: Mapped[str] = mapped_column(String(1000), nullable=False, default="")
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    decided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = created_at()
    decided_at: Mapped[dt.datetime | None] = mapped_column()

    __table_args__ = (
        CheckConstraint("kind IN ('request','invitation')", name="kind"),
        CheckConstraint("status IN ('pending','approved','declined','accepted','cancelled')", name="status"),
        Index("ix_space_join_requests_space", "space_id", "status"),
        Index("ix_space_join_requests_account", "account_id"),
        Index(
            "uq_space_join_requests_pending",
            "space_id",
            "account_id",
            unique=True,
            postgresql_where="status = 'pending'",
        ),
    )


class SpaceNoncompliance(Base):
    """A space a template version put out of bounds, with the deadline to fix it."""

    __tablename__ = "space_noncompliance"

    id: Mapped[uuid.UUID] = uuid_pk()
    space_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"), nullable=False)
    template_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    deadline: Mapped[dt.date] = mapped_column(Date, nullable=False)
    violations: Mapped[list[Any]] = mapped_column(JSONB, nullable=False)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = created_at()

    __table_args__ = (
        ForeignKeyConstraint(
            ["template_id", "version"],
            ["policy_template_versions.template_id", "policy_template_versions.version"],
            ondelete="CASCADE",
        ),
        Index("ix_space_noncompliance_space", "space_id"),
        Index("ix_space_noncompliance_template", "template_id", "version"),
    )
