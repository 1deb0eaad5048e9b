"""Directory, proposals, invitations by e-mail, outbox, facilitators (owned by the growing-groups work).

Revision ID: 0014_growing_groups
Revises: 0013_chat_features
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0014_growing_groups"
down_revision: str | None = "0013_chat_features"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
