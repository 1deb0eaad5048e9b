"""Chat features: edits, mutes, read markers (owned by the chat area).

Revision ID: 0013_chat_features
Revises: 0012_resources
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0013_chat_features"
down_revision: str | None = "0012_resources"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
