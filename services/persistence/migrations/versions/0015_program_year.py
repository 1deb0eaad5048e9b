"""Time zones, recurring meetings, events, attendance, insights (owned by the program-year work).

Revision ID: 0015_program_year
Revises: 0014_growing_groups
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0015_program_year"
down_revision: str | None = "0014_growing_groups"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
