"""Identity hardening: e-mail domain claims, login attempt counters (owned by the identity area).

Revision ID: 0009_identity_hardening
Revises: 0008_identity_cleanup
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0009_identity_hardening"
down_revision: str | None = "0008_identity_cleanup"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
