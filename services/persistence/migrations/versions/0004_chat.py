"""Chat: messages per space with a gapless sequence (owned by the realtime area).

Revision ID: 0004_chat
Revises: 0003_identity
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "0004_chat"
down_revision: str | None = "0003_identity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UUID = pg.UUID(as_uuid=True)
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "chat_rooms",
        sa.Column("space_id", UUID, nullable=False),
        sa.Column("head_seq", sa.BigInteger, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("space_id", name="pk_chat_rooms"),
        sa.ForeignKeyConstraint(["space_id"], ["spaces.id"], ondelete="CASCADE", name="fk_chat_rooms_space_id_spaces"),
    )
    op.create_table(
        "messages",
        sa.Column("space_id", UUID, nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("id", UUID, nullable=False),
        sa.Column("author_id", UUID),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("sent_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("edited_at", TS),
        sa.Column("deleted_at", TS),
        sa.PrimaryKeyConstraint("space_id", "seq", name="pk_messages"),
        sa.UniqueConstraint("id", name="uq_messages_id"),
        sa.UniqueConstraint("space_id", "author_id", "key", name="uq_messages_space_author_key"),
        sa.ForeignKeyConstraint(["space_id"], ["spaces.id"], ondelete="CASCADE", name="fk_messages_space_id_spaces"),
        sa.ForeignKeyConstraint(
            ["author_id"], ["accounts.id"], ondelete="SET NULL", name="fk_messages_author_id_accounts"
        ),
    )
    op.create_index("ix_messages_sent_at", "messages", ["sent_at"])


def downgrade() -> None:
    op.drop_table("messages")
    op.drop_table("chat_rooms")
