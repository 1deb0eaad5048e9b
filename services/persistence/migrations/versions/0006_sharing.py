"""Sharing agreements between networks (owned by the sharing area).

Revision ID: 0006_sharing
Revises: 0005_chat_versions
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0006_sharing"
down_revision: str | None = "0005_chat_versions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
