"""Meetings of spaces: schedule and agendas (owned by the meetings area).

Revision ID: 0007_meetings
Revises: 0006_sharing
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "0007_meetings"
down_revision: str | None = "0006_sharing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UUID = pg.UUID(as_uuid=True)
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "meetings",
        sa.Column("id", UUID, nullable=False),
        sa.Column("space_id", UUID, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("starts_at", TS, nullable=False),
        sa.Column("duration_minutes", sa.Integer, nullable=False),
        sa.Column("location", sa.String(500)),
        sa.Column("join_url", sa.String(2000)),
        sa.Column("components", pg.ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("notes", sa.Text, nullable=False, server_default=""),
        sa.Column("created_by", UUID),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("cancelled_at", TS),
        sa.PrimaryKeyConstraint("id", name="pk_meetings"),
        sa.ForeignKeyConstraint(["space_id"], ["spaces.id"], ondelete="CASCADE", name="fk_meetings_space_id_spaces"),
        sa.ForeignKeyConstraint(
            ["created_by"], ["accounts.id"], ondelete="SET NULL", name="fk_meetings_created_by_accounts"
        ),
        sa.CheckConstraint("kind IN ('virtual','in_person')", name="ck_meetings_kind"),
        sa.CheckConstraint("duration_minutes BETWEEN 5 AND 1440", name="ck_meetings_duration"),
    )
    op.create_index("ix_meetings_space_id_starts_at", "meetings", ["space_id", "starts_at"])


def downgrade() -> None:
    op.drop_table("meetings")
