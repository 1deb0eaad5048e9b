"""Resource library and search (owned by the resources area).

Revision ID: 0012_resources
Revises: 0011_access
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0012_resources"
down_revision: str | None = "0011_access"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
