"""Chat: a per-room change counter so resumed clients also learn of deletions.

``chat_rooms.version`` is bumped by every insert and every deletion in the same transaction;
``messages.version`` is the room version of the row's last change. A resuming client sends the
version it had reached and gets ``deleted`` frames for rows deleted after it (docs/realtime.md).
Existing rows get version = seq and each room version = head_seq (no deletion is lost: before
this revision nobody could ask for deletions by version).

Revision ID: 0005_chat_versions
Revises: 0004_chat
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_chat_versions"
down_revision: str | None = "0004_chat"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("chat_rooms", sa.Column("version", sa.BigInteger, nullable=False, server_default="0"))
    op.add_column("messages", sa.Column("version", sa.BigInteger, nullable=False, server_default="0"))
    op.execute("UPDATE chat_rooms SET version = head_seq")
    op.execute("UPDATE messages SET version = seq")
    op.create_index(
        "ix_messages_deleted_version",
        "messages",
        ["space_id", "version"],
        postgresql_where=sa.text("deleted_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_messages_deleted_version", table_name="messages")
    op.drop_column("messages", "version")
    op.drop_column("chat_rooms", "version")
