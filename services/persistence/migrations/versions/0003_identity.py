"""Identity: upstream providers, linked identities, web sessions, OIDC provider (owned by the identity area).

Revision ID: 0003_identity
Revises: 0002_spaces
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0003_identity"
down_revision: str | None = "0002_spaces"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
