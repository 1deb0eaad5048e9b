"""Chat features: edits, mutes, read markers (owned by the chat area).

* Edits: ``messages.edited_at`` exists since 0004; an edit bumps the room version like a
  deletion, so a resuming client asks for "rows changed after version V". The partial index
  on deleted rows becomes one on changed (edited or deleted) rows.
* ``chat_mutes``: a facilitator muted an account in a space; it applies there and in every
  sub-space (checked along ``spaces.path``), so one row per mute, not one per sub-space.
* ``chat_read_markers``: the highest seq each member has read per space (unread counts).

Revision ID: 0013_chat_features
Revises: 0012_resources
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "0013_chat_features"
down_revision: str | None = "0012_resources"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UUID = pg.UUID(as_uuid=True)
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.drop_index("ix_messages_deleted_version", table_name="messages")
    op.create_index(
        "ix_messages_changed_version",
        "messages",
        ["space_id", "version"],
        postgresql_where=sa.text("deleted_at IS NOT NULL OR edited_at IS NOT NULL"),
    )
    op.create_table(
        "chat_mutes",
        sa.Column("space_id", UUID, nullable=False),
        sa.Column("account_id", UUID, nullable=False),
        sa.Column("muted_by", UUID),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("space_id", "account_id", name="pk_chat_mutes"),
        sa.ForeignKeyConstraint(["space_id"], ["spaces.id"], ondelete="CASCADE", name="fk_chat_mutes_space_id_spaces"),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], ondelete="CASCADE", name="fk_chat_mutes_account_id_accounts"
        ),
        sa.ForeignKeyConstraint(
            ["muted_by"], ["accounts.id"], ondelete="SET NULL", name="fk_chat_mutes_muted_by_accounts"
        ),
    )
    op.create_index("ix_chat_mutes_account_id", "chat_mutes", ["account_id"])
    op.create_table(
        "chat_read_markers",
        sa.Column("account_id", UUID, nullable=False),
        sa.Column("space_id", UUID, nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("account_id", "space_id", name="pk_chat_read_markers"),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], ondelete="CASCADE", name="fk_chat_read_markers_account_id_accounts"
        ),
        sa.ForeignKeyConstraint(
            ["space_id"], ["spaces.id"], ondelete="CASCADE", name="fk_chat_read_markers_space_id_spaces"
        ),
    )


def downgrade() -> None:
    op.drop_table("chat_read_markers")
    op.drop_index("ix_chat_mutes_account_id", table_name="chat_mutes")
    op.drop_table("chat_mutes")
    op.drop_index("ix_messages_changed_version", table_name="messages")
    op.create_index(
        "ix_messages_deleted_version",
        "messages",
        ["space_id", "version"],
        postgresql_where=sa.text("deleted_at IS NOT NULL"),
    )
