"""Meetings of spaces: schedule and agendas (owned by the meetings area).

Revision ID: 0007_meetings
Revises: 0006_sharing
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0007_meetings"
down_revision: str | None = "0006_sharing"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
