"""Spaces, policy templates, membership (owned by the spaces area).

Revision ID: 0002_spaces
Revises: 0001_foundation
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "0002_spaces"
down_revision: str | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UUID = pg.UUID(as_uuid=True)
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "spaces",
        sa.Column("id", UUID, nullable=False),
        sa.Column("network_id", UUID, nullable=False),
        sa.Column("parent_id", UUID),
        sa.Column("path", pg.ARRAY(UUID), nullable=False, server_default="{}"),
        sa.Column("depth", sa.Integer, nullable=False, server_default="0"),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.String(4000), nullable=False, server_default=""),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("join_mode", sa.String(20), nullable=False, server_default="request"),
        sa.Column("visibility", sa.String(20), nullable=False, server_default="listed"),
        sa.Column("settings", pg.JSONB, nullable=False, server_default="{}"),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name="pk_spaces"),
        sa.ForeignKeyConstraint(["network_id"], ["networks.id"], ondelete="CASCADE",
                                name="fk_spaces_network_id_networks"),
        sa.ForeignKeyConstraint(["parent_id"], ["spaces.id"], ondelete="RESTRICT", name="fk_spaces_parent_id_spaces"),
        sa.CheckConstraint("kind IN ('identity','role','topic','cohort')", name="ck_spaces_kind"),
        sa.CheckConstraint("join_mode IN ('open','request','invite','parent_members')", name="ck_spaces_join_mode"),
        sa.CheckConstraint("visibility IN ('listed','unlisted')", name="ck_spaces_visibility"),
    )
    op.create_index("ix_spaces_network_id", "spaces", ["network_id"])
    op.create_index("ix_spaces_parent_id", "spaces", ["parent_id"])
    op.create_index("ix_spaces_path", "spaces", ["path"], postgresql_using="gin")

    op.create_table(
        "space_members",
        sa.Column("space_id", UUID, nullable=False),
        sa.Column("account_id", UUID, nullable=False),
        sa.Column("role", sa.String(20), nullable=False, server_default="member"),
        sa.Column("status", sa.String(20), nullable=False, server_default="active"),
        sa.Column("trained", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("space_id", "account_id", name="pk_space_members"),
        sa.ForeignKeyConstraint(["space_id"], ["spaces.id"], ondelete="CASCADE",
                                name="fk_space_members_space_id_spaces"),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE",
                                name="fk_space_members_account_id_accounts"),
        sa.CheckConstraint("role IN ('member','facilitator')", name="ck_space_members_role"),
        sa.CheckConstraint("status IN ('active','requested','invited','banned')", name="ck_space_members_status"),
    )
    op.create_index("ix_space_members_account_id", "space_members", ["account_id", "status"])


def downgrade() -> None:
    op.drop_table("space_members")
    op.drop_table("spaces")
