"""Foundation: accounts, personal API tokens, networks, network members, audit events.

Revision ID: 0001_foundation
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "0001_foundation"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UUID = pg.UUID(as_uuid=True)
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("email_verified", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("pronouns", sa.String(60)),
        sa.Column("password_hash", sa.Text),
        sa.Column("is_operator", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name="pk_accounts"),
    )
    op.create_index("uq_accounts_email_lower", "accounts", [sa.text("lower(email)")], unique=True)

    op.create_table(
        "api_tokens",
        sa.Column("id", UUID, nullable=False),
        sa.Column("account_id", UUID, nullable=False),
        sa.Column("name", sa.String(100), nullable=False, server_default=""),
        sa.Column("token_hash", sa.LargeBinary, nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("scopes", pg.ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("expires_at", TS),
        sa.Column("last_used_at", TS),
        sa.Column("revoked_at", TS),
        sa.PrimaryKeyConstraint("id", name="pk_api_tokens"),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], ondelete="CASCADE", name="fk_api_tokens_account_id_accounts"
        ),
        sa.UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
    )
    op.create_index("ix_api_tokens_account_id", "api_tokens", ["account_id"])

    op.create_table(
        "networks",
        sa.Column("id", UUID, nullable=False),
        sa.Column("slug", sa.String(40), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("description", sa.String(2000), nullable=False, server_default=""),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name="pk_networks"),
        sa.UniqueConstraint("slug", name="uq_networks_slug"),
        sa.CheckConstraint("kind IN ('association','district','esd','school','other')", name="ck_networks_kind"),
    )

    op.create_table(
        "network_members",
        sa.Column("network_id", UUID, nullable=False),
        sa.Column("account_id", UUID, nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("network_id", "account_id", name="pk_network_members"),
        sa.ForeignKeyConstraint(
            ["network_id"], ["networks.id"], ondelete="CASCADE", name="fk_network_members_network_id_networks"
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], ondelete="CASCADE", name="fk_network_members_account_id_accounts"
        ),
        sa.CheckConstraint("role IN ('member','facilitator','admin')", name="ck_network_members_role"),
    )
    op.create_index("ix_network_members_account_id", "network_members", ["account_id"])

    op.create_table(
        "audit_events",
        sa.Column("id", UUID, nullable=False),
        sa.Column("occurred_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("actor_id", UUID),
        sa.Column("action", sa.String(80), nullable=False),
        sa.Column("target_type", sa.String(40), nullable=False),
        sa.Column("target_id", sa.String(80), nullable=False),
        sa.Column("network_id", UUID),
        sa.Column("before", pg.JSONB),
        sa.Column("after", pg.JSONB),
        sa.Column("request_id", sa.String(64)),
        sa.PrimaryKeyConstraint("id", name="pk_audit_events"),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["accounts.id"], ondelete="SET NULL", name="fk_audit_events_actor_id_accounts"
        ),
        sa.ForeignKeyConstraint(
            ["network_id"], ["networks.id"], ondelete="SET NULL", name="fk_audit_events_network_id_networks"
        ),
    )
    op.create_index("ix_audit_events_target", "audit_events", ["target_type", "target_id", "occurred_at"])
    op.create_index("ix_audit_events_network", "audit_events", ["network_id", "occurred_at"])


def downgrade() -> None:
    op.drop_table("audit_events")
    op.drop_table("network_members")
    op.drop_table("networks")
    op.drop_table("api_tokens")
    op.drop_index("uq_accounts_email_lower", table_name="accounts")
    op.drop_table("accounts")
