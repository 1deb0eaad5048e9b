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
        sa.Column("subspace_constraints", pg.JSONB, nullable=False, server_default="{}"),
        sa.Column("created_by", UUID),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name="pk_spaces"),
        sa.ForeignKeyConstraint(
            ["network_id"], ["networks.id"], ondelete="CASCADE", name="fk_spaces_network_id_networks"
        ),
        sa.ForeignKeyConstraint(["parent_id"], ["spaces.id"], ondelete="RESTRICT", name="fk_spaces_parent_id_spaces"),
        sa.CheckConstraint("kind IN ('identity','role','topic','cohort')", name="ck_spaces_kind"),
        sa.CheckConstraint("join_mode IN ('open','request','invite','parent_members')", name="ck_spaces_join_mode"),
        sa.CheckConstraint("visibility IN ('listed','unlisted')", name="ck_spaces_visibility"),
        sa.ForeignKeyConstraint(
            ["created_by"], ["accounts.id"], ondelete="SET NULL", name="fk_spaces_created_by_accounts"
        ),
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
        sa.Column("own_standing", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("space_id", "account_id", name="pk_space_members"),
        sa.ForeignKeyConstraint(
            ["space_id"], ["spaces.id"], ondelete="CASCADE", name="fk_space_members_space_id_spaces"
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], ondelete="CASCADE", name="fk_space_members_account_id_accounts"
        ),
        sa.CheckConstraint("role IN ('member','facilitator')", name="ck_space_members_role"),
        sa.CheckConstraint("status IN ('active','requested','invited','banned')", name="ck_space_members_status"),
    )
    op.create_index("ix_space_members_account_id", "space_members", ["account_id", "status"])

    op.create_table(
        "policy_templates",
        sa.Column("id", UUID, nullable=False),
        sa.Column("network_id", UUID, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.String(2000), nullable=False, server_default=""),
        sa.Column("mode", sa.String(10), nullable=False, server_default="enforce"),
        sa.Column("current_version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("created_by", UUID),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name="pk_policy_templates"),
        sa.ForeignKeyConstraint(
            ["network_id"], ["networks.id"], ondelete="CASCADE", name="fk_policy_templates_network_id_networks"
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["accounts.id"], ondelete="SET NULL", name="fk_policy_templates_created_by_accounts"
        ),
        sa.CheckConstraint("mode IN ('enforce','warn','audit')", name="ck_policy_templates_mode"),
    )
    op.create_index("uq_policy_templates_network_name", "policy_templates", ["network_id", "name"], unique=True)

    op.create_table(
        "policy_template_versions",
        sa.Column("template_id", UUID, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("constraints", pg.JSONB, nullable=False),
        sa.Column("created_by", UUID),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("template_id", "version", name="pk_policy_template_versions"),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["policy_templates.id"],
            ondelete="CASCADE",
            name="fk_policy_template_versions_template_id_policy_templates",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["accounts.id"], ondelete="SET NULL", name="fk_policy_template_versions_created_by_accounts"
        ),
        sa.CheckConstraint("version >= 1", name="ck_policy_template_versions_version"),
    )

    op.create_table(
        "policy_attachments",
        sa.Column("id", UUID, nullable=False),
        sa.Column("template_id", UUID, nullable=False),
        sa.Column("network_id", UUID, nullable=False),
        sa.Column("space_id", UUID),
        sa.Column("created_by", UUID),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name="pk_policy_attachments"),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["policy_templates.id"],
            ondelete="CASCADE",
            name="fk_policy_attachments_template_id_policy_templates",
        ),
        sa.ForeignKeyConstraint(
            ["network_id"], ["networks.id"], ondelete="CASCADE", name="fk_policy_attachments_network_id_networks"
        ),
        sa.ForeignKeyConstraint(
            ["space_id"], ["spaces.id"], ondelete="CASCADE", name="fk_policy_attachments_space_id_spaces"
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["accounts.id"], ondelete="SET NULL", name="fk_policy_attachments_created_by_accounts"
        ),
    )
    op.create_index("ix_policy_attachments_network", "policy_attachments", ["network_id"])
    op.create_index("ix_policy_attachments_space", "policy_attachments", ["space_id"])
    op.create_index(
        "uq_policy_attachments_network_level",
        "policy_attachments",
        ["template_id"],
        unique=True,
        postgresql_where=sa.text("space_id IS NULL"),
    )
    op.create_index(
        "uq_policy_attachments_space_level",
        "policy_attachments",
        ["template_id", "space_id"],
        unique=True,
        postgresql_where=sa.text("space_id IS NOT NULL"),
    )

    op.create_table(
        "space_join_requests",
        sa.Column("id", UUID, nullable=False),
        sa.Column("space_id", UUID, nullable=False),
        sa.Column("account_id", UUID, nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("status", sa.String(12), nullable=False, server_default="pending"),
        sa.Column("message", sa.String(1000), nullable=False, server_default=""),
        sa.Column("created_by", UUID),
        sa.Column("decided_by", UUID),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("decided_at", TS),
        sa.PrimaryKeyConstraint("id", name="pk_space_join_requests"),
        sa.ForeignKeyConstraint(
            ["space_id"], ["spaces.id"], ondelete="CASCADE", name="fk_space_join_requests_space_id_spaces"
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], ondelete="CASCADE", name="fk_space_join_requests_account_id_accounts"
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["accounts.id"], ondelete="SET NULL", name="fk_space_join_requests_created_by_accounts"
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["accounts.id"], ondelete="SET NULL", name="fk_space_join_requests_decided_by_accounts"
        ),
        sa.CheckConstraint("kind IN ('request','invitation')", name="ck_space_join_requests_kind"),
        sa.CheckConstraint(
            "status IN ('pending','approved','declined','accepted','cancelled')", name="ck_space_join_requests_status"
        ),
    )
    op.create_index("ix_space_join_requests_space", "space_join_requests", ["space_id", "status"])
    op.create_index("ix_space_join_requests_account", "space_join_requests", ["account_id"])
    op.create_index(
        "uq_space_join_requests_pending",
        "space_join_requests",
        ["space_id", "account_id"],
        unique=True,
        postgresql_where=sa.text("status = 'pending'"),
    )

    op.create_table(
        "space_noncompliance",
        sa.Column("id", UUID, nullable=False),
        sa.Column("space_id", UUID, nullable=False),
        sa.Column("template_id", UUID, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("deadline", sa.Date, nullable=False),
        sa.Column("violations", pg.JSONB, nullable=False),
        sa.Column("created_by", UUID),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name="pk_space_noncompliance"),
        sa.ForeignKeyConstraint(
            ["space_id"], ["spaces.id"], ondelete="CASCADE", name="fk_space_noncompliance_space_id_spaces"
        ),
        sa.ForeignKeyConstraint(
            ["template_id", "version"],
            ["policy_template_versions.template_id", "policy_template_versions.version"],
            ondelete="CASCADE",
            name="fk_space_noncompliance_template_id_policy_template_versions",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["accounts.id"], ondelete="SET NULL", name="fk_space_noncompliance_created_by_accounts"
        ),
    )
    op.create_index("ix_space_noncompliance_space", "space_noncompliance", ["space_id"])
    op.create_index("ix_space_noncompliance_template", "space_noncompliance", ["template_id", "version"])


def downgrade() -> None:
    op.drop_table("space_noncompliance")
    op.drop_table("space_join_requests")
    op.drop_table("policy_attachments")
    op.drop_table("policy_template_versions")
    op.drop_table("policy_templates")
    op.drop_table("space_members")
    op.drop_table("spaces")
