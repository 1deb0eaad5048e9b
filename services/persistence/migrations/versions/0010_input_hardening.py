"""Bad input and outages: bounds and checks (owned by the hardening work).

Revision ID: 0010_input_hardening
Revises: 0009_identity_hardening
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0010_input_hardening"
down_revision: str | None = "0009_identity_hardening"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
