"""Proposed facilitators agree or decline; reminders for occurrences of recurring series
(owned by the growing-groups work).

One row per person a proposal names as facilitator (other than the proposer): ``pending`` until
they answer, then ``accepted`` or ``declined``. Nobody becomes a facilitator of the approved
space without an ``accepted`` row. Open proposals made before this get ``pending`` rows for the
people they name, so those people are asked too.

``occurrence_reminders`` claims the day-before reminder of one occurrence of a series, named by
its rule-given start (its RECURRENCE-ID), as ``meeting_reminders`` does for single meetings.

Revision ID: 0016_proposal_facilitators
Revises: 0015_program_year
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "0016_proposal_facilitators"
down_revision: str | None = "0015_program_year"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UUID = pg.UUID(as_uuid=True)
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "proposal_facilitators",
        sa.Column("proposal_id", UUID, nullable=False),
        sa.Column("account_id", UUID, nullable=False),
        sa.Column("answer", sa.String(10), nullable=False, server_default="pending"),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("answered_at", TS),
        sa.PrimaryKeyConstraint("proposal_id", "account_id", name="pk_proposal_facilitators"),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["space_proposals.id"],
            ondelete="CASCADE",
            name="fk_proposal_facilitators_proposal_id_space_proposals",
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], ondelete="CASCADE", name="fk_proposal_facilitators_account_id_accounts"
        ),
        sa.CheckConstraint("answer IN ('pending','accepted','declined')", name="ck_proposal_facilitators_answer"),
    )
    op.create_index("ix_proposal_facilitators_account", "proposal_facilitators", ["account_id", "answer"])
    op.execute(
        """
        INSERT INTO proposal_facilitators (proposal_id, account_id)
        SELECT DISTINCT p.id, f.account_id
        FROM space_proposals p, unnest(p.facilitator_ids) AS f(account_id)
        JOIN accounts a ON a.id = f.account_id
        WHERE p.status IN ('pending', 'question') AND f.account_id <> p.proposed_by
        """
    )

    op.create_table(
        "occurrence_reminders",
        sa.Column("series_id", UUID, nullable=False),
        sa.Column("original_start", TS, nullable=False),
        sa.Column("sent_at", TS, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("series_id", "original_start", name="pk_occurrence_reminders"),
        sa.ForeignKeyConstraint(
            ["series_id"],
            ["meeting_series.id"],
            ondelete="CASCADE",
            name="fk_occurrence_reminders_series_id_meeting_series",
        ),
    )


def downgrade() -> None:
    op.drop_table("occurrence_reminders")
    op.drop_index("ix_proposal_facilitators_account", table_name="proposal_facilitators")
    op.drop_table("proposal_facilitators")
