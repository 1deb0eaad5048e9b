"""Access single source: invitations, mutes of access (owned by the access work).

Revision ID: 0011_access
Revises: 0010_input_hardening
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0011_access"
down_revision: str | None = "0010_input_hardening"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
