"""Sharing agreements between networks (owned by the sharing area).

``shares`` (one agreement per row; at most one pending-or-active per space and guest network),
``share_memberships`` (a guest's space_members row -> the agreement that admitted it; deleted
with the row), ``trusted_networks`` (offers from a trusted network are accepted at once).

Revision ID: 0006_sharing
Revises: 0005_chat_versions
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "0006_sharing"
down_revision: str | None = "0005_chat_versions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UUID = pg.UUID(as_uuid=True)
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "shares",
        sa.Column("id", UUID, nullable=False),
        sa.Column("space_id", UUID, nullable=False),
        sa.Column("host_network_id", UUID, nullable=False),
        sa.Column("guest_network_id", UUID, nullable=False),
        sa.Column("include_subspaces", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("message", sa.String(1000), nullable=False, server_default=""),
        sa.Column("status", sa.String(12), nullable=False, server_default="pending"),
        sa.Column("constraints", pg.JSONB, nullable=False, server_default="{}"),
        sa.Column("auto_accepted", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("offered_by", UUID),
        sa.Column("decided_by", UUID),
        sa.Column("ended_by", UUID),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("decided_at", TS),
        sa.Column("ended_at", TS),
        sa.PrimaryKeyConstraint("id", name="pk_shares"),
        sa.ForeignKeyConstraint(["space_id"], ["spaces.id"], ondelete="CASCADE", name="fk_shares_space_id_spaces"),
        sa.ForeignKeyConstraint(
            ["host_network_id"], ["networks.id"], ondelete="CASCADE", name="fk_shares_host_network_id_networks"
        ),
        sa.ForeignKeyConstraint(
            ["guest_network_id"], ["networks.id"], ondelete="CASCADE", name="fk_shares_guest_network_id_networks"
        ),
        sa.ForeignKeyConstraint(
            ["offered_by"], ["accounts.id"], ondelete="SET NULL", name="fk_shares_offered_by_accounts"
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"], ["accounts.id"], ondelete="SET NULL", name="fk_shares_decided_by_accounts"
        ),
        sa.ForeignKeyConstraint(["ended_by"], ["accounts.id"], ondelete="SET NULL", name="fk_shares_ended_by_accounts"),
        sa.CheckConstraint("status IN ('pending','active','declined','ended','expired')", name="ck_shares_status"),
        sa.CheckConstraint("host_network_id <> guest_network_id", name="ck_shares_two_networks"),
    )
    op.create_index("ix_shares_space", "shares", ["space_id", "status"])
    op.create_index("ix_shares_host", "shares", ["host_network_id"])
    op.create_index("ix_shares_guest", "shares", ["guest_network_id", "status"])
    op.create_index(
        "uq_shares_open",
        "shares",
        ["space_id", "guest_network_id"],
        unique=True,
        postgresql_where=sa.text("status IN ('pending','active')"),
    )

    op.create_table(
        "share_memberships",
        sa.Column("space_id", UUID, nullable=False),
        sa.Column("account_id", UUID, nullable=False),
        sa.Column("share_id", UUID, nullable=False),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("space_id", "account_id", name="pk_share_memberships"),
        sa.ForeignKeyConstraint(
            ["share_id"], ["shares.id"], ondelete="CASCADE", name="fk_share_memberships_share_id_shares"
        ),
        sa.ForeignKeyConstraint(
            ["space_id", "account_id"],
            ["space_members.space_id", "space_members.account_id"],
            ondelete="CASCADE",
            name="fk_share_memberships_space_id_space_members",
        ),
    )
    op.create_index("ix_share_memberships_share", "share_memberships", ["share_id"])

    op.create_table(
        "trusted_networks",
        sa.Column("network_id", UUID, nullable=False),
        sa.Column("trusted_network_id", UUID, nullable=False),
        sa.Column("created_by", UUID),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("network_id", "trusted_network_id", name="pk_trusted_networks"),
        sa.ForeignKeyConstraint(
            ["network_id"], ["networks.id"], ondelete="CASCADE", name="fk_trusted_networks_network_id_networks"
        ),
        sa.ForeignKeyConstraint(
            ["trusted_network_id"],
            ["networks.id"],
            ondelete="CASCADE",
            name="fk_trusted_networks_trusted_network_id_networks",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["accounts.id"], ondelete="SET NULL", name="fk_trusted_networks_created_by_accounts"
        ),
        sa.CheckConstraint("network_id <> trusted_network_id", name="ck_trusted_networks_two_networks"),
    )


def downgrade() -> None:
    op.drop_table("trusted_networks")
    op.drop_index("ix_share_memberships_share", table_name="share_memberships")
    op.drop_table("share_memberships")
    op.drop_index("uq_shares_open", table_name="shares")
    op.drop_index("ix_shares_guest", table_name="shares")
    op.drop_index("ix_shares_host", table_name="shares")
    op.drop_index("ix_shares_space", table_name="shares")
    op.drop_table("shares")
