"""Identity clean-up support: when a session last signed in, and indexes the clean-up job reads by.

Moved out of 0003 so that databases already at 0003 or later get them too.

Revision ID: 0008_identity_cleanup
Revises: 0007_meetings
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_identity_cleanup"
down_revision: str | None = "0007_meetings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    # When the member last proved who they are (prompt=login, max_age, the id_token's auth_time).
    op.add_column("web_sessions", sa.Column("authenticated_at", TS, nullable=False, server_default=sa.func.now()))
    # The clean-up job finds expired and revoked rows by these (services/identity/cleanup.py).
    op.create_index("ix_web_sessions_expires_at", "web_sessions", ["expires_at"])
    op.create_index(
        "ix_web_sessions_revoked_at", "web_sessions", ["revoked_at"], postgresql_where=sa.text("revoked_at IS NOT NULL")
    )
    op.create_index("ix_oidc_authorization_codes_expires_at", "oidc_authorization_codes", ["expires_at"])
    op.create_index("ix_oidc_tokens_expires_at", "oidc_tokens", ["expires_at"])
    op.create_index(
        "ix_oidc_tokens_revoked_at", "oidc_tokens", ["revoked_at"], postgresql_where=sa.text("revoked_at IS NOT NULL")
    )
    op.create_index("ix_login_throttle_window_start", "login_throttle", ["window_start"])


def downgrade() -> None:
    op.drop_index("ix_login_throttle_window_start", table_name="login_throttle")
    op.drop_index("ix_oidc_tokens_revoked_at", table_name="oidc_tokens")
    op.drop_index("ix_oidc_tokens_expires_at", table_name="oidc_tokens")
    op.drop_index("ix_oidc_authorization_codes_expires_at", table_name="oidc_authorization_codes")
    op.drop_index("ix_web_sessions_revoked_at", table_name="web_sessions")
    op.drop_index("ix_web_sessions_expires_at", table_name="web_sessions")
    op.drop_column("web_sessions", "authenticated_at")
