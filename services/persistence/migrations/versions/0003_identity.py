"""Identity: upstream providers, linked identities, web sessions, OIDC provider (owned by the identity area).

Revision ID: 0003_identity
Revises: 0002_spaces
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "0003_identity"
down_revision: str | None = "0002_spaces"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UUID = pg.UUID(as_uuid=True)
TS = sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str, ondelete: str = "CASCADE") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], ondelete=ondelete, name=f"fk_{table}_{column}_{target}")


def upgrade() -> None:
    op.create_table(
        "upstream_providers",
        sa.Column("id", UUID, nullable=False),
        sa.Column("network_id", UUID, nullable=False),
        sa.Column("issuer", sa.String(500), nullable=False),
        sa.Column("client_id", sa.String(500), nullable=False),
        sa.Column("client_secret_enc", sa.LargeBinary, nullable=False),
        sa.Column("email_domains", pg.ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("authorization_endpoint", sa.String(1000), nullable=False),
        sa.Column("token_endpoint", sa.String(1000), nullable=False),
        sa.Column("jwks_uri", sa.String(1000), nullable=False),
        sa.Column("id_token_algs", pg.ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("jwks", pg.JSONB, nullable=False, server_default="{}"),
        sa.Column("jwks_fetched_at", TS),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name="pk_upstream_providers"),
        sa.UniqueConstraint("network_id", name="uq_upstream_providers_network_id"),
        _fk("upstream_providers", "network_id", "networks"),
    )

    op.create_table(
        "linked_identities",
        sa.Column("id", UUID, nullable=False),
        sa.Column("account_id", UUID, nullable=False),
        sa.Column("issuer", sa.String(500), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("network_id", UUID),
        sa.Column("email", sa.String(320)),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("last_used_at", TS),
        sa.PrimaryKeyConstraint("id", name="pk_linked_identities"),
        sa.UniqueConstraint("issuer", "subject", name="uq_linked_identities_issuer_subject"),
        _fk("linked_identities", "account_id", "accounts"),
        _fk("linked_identities", "network_id", "networks", "SET NULL"),
    )
    op.create_index("ix_linked_identities_account_id", "linked_identities", ["account_id"])

    op.create_table(
        "web_sessions",
        sa.Column("id", UUID, nullable=False),
        sa.Column("token_hash", sa.LargeBinary, nullable=False),
        sa.Column("account_id", UUID, nullable=False),
        sa.Column("method", sa.String(40), nullable=False),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("last_seen_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("revoked_at", TS),
        sa.PrimaryKeyConstraint("id", name="pk_web_sessions"),
        sa.UniqueConstraint("token_hash", name="uq_web_sessions_token_hash"),
        _fk("web_sessions", "account_id", "accounts"),
    )
    op.create_index("ix_web_sessions_account_id", "web_sessions", ["account_id"])

    op.create_table(
        "pending_logins",
        sa.Column("id", UUID, nullable=False),
        sa.Column("state_hash", sa.LargeBinary, nullable=False),
        sa.Column("browser_hash", sa.LargeBinary, nullable=False),
        sa.Column("network_id", UUID, nullable=False),
        sa.Column("nonce", sa.String(100), nullable=False),
        sa.Column("code_verifier", sa.String(128), nullable=False),
        sa.Column("next_url", sa.String(2000), nullable=False, server_default="/"),
        sa.Column("link_account_id", UUID),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("used_at", TS),
        sa.PrimaryKeyConstraint("id", name="pk_pending_logins"),
        sa.UniqueConstraint("state_hash", name="uq_pending_logins_state_hash"),
        _fk("pending_logins", "network_id", "networks"),
        sa.ForeignKeyConstraint(
            ["link_account_id"], ["accounts.id"], ondelete="CASCADE", name="fk_pending_logins_link_account_id_accounts"
        ),
    )
    op.create_index("ix_pending_logins_expires_at", "pending_logins", ["expires_at"])

    op.create_table(
        "oidc_clients",
        sa.Column("id", UUID, nullable=False),
        sa.Column("network_id", UUID, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("client_id", sa.String(80), nullable=False),
        sa.Column("secret_hash", sa.LargeBinary, nullable=False),
        sa.Column("redirect_uris", pg.ARRAY(sa.Text), nullable=False),
        sa.Column("post_logout_redirect_uris", pg.ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("created_by", UUID),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("revoked_at", TS),
        sa.PrimaryKeyConstraint("id", name="pk_oidc_clients"),
        sa.UniqueConstraint("client_id", name="uq_oidc_clients_client_id"),
        _fk("oidc_clients", "network_id", "networks"),
        sa.ForeignKeyConstraint(
            ["created_by"], ["accounts.id"], ondelete="SET NULL", name="fk_oidc_clients_created_by_accounts"
        ),
    )
    op.create_index("ix_oidc_clients_network_id", "oidc_clients", ["network_id"])

    op.create_table(
        "oidc_authorization_codes",
        sa.Column("id", UUID, nullable=False),
        sa.Column("code_hash", sa.LargeBinary, nullable=False),
        sa.Column("client_pk", UUID, nullable=False),
        sa.Column("account_id", UUID, nullable=False),
        sa.Column("session_id", UUID),
        sa.Column("redirect_uri", sa.String(2000), nullable=False),
        sa.Column("scope", sa.String(500), nullable=False),
        sa.Column("nonce", sa.String(500)),
        sa.Column("code_challenge", sa.String(128), nullable=False),
        sa.Column("auth_time", TS, nullable=False),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("used_at", TS),
        sa.PrimaryKeyConstraint("id", name="pk_oidc_authorization_codes"),
        sa.UniqueConstraint("code_hash", name="uq_oidc_authorization_codes_code_hash"),
        sa.ForeignKeyConstraint(
            ["client_pk"], ["oidc_clients.id"], ondelete="CASCADE", name="fk_oidc_authorization_codes_client_pk"
        ),
        _fk("oidc_authorization_codes", "account_id", "accounts"),
        _fk("oidc_authorization_codes", "session_id", "web_sessions"),
    )

    op.create_table(
        "oidc_tokens",
        sa.Column("id", UUID, nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("token_hash", sa.LargeBinary, nullable=False),
        sa.Column("family_id", UUID, nullable=False),
        sa.Column("client_pk", UUID, nullable=False),
        sa.Column("account_id", UUID, nullable=False),
        sa.Column("session_id", UUID),
        sa.Column("code_id", UUID),
        sa.Column("scope", sa.String(500), nullable=False),
        sa.Column("auth_time", TS, nullable=False),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("used_at", TS),
        sa.Column("revoked_at", TS),
        sa.PrimaryKeyConstraint("id", name="pk_oidc_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_oidc_tokens_token_hash"),
        sa.CheckConstraint("kind IN ('access','refresh')", name="ck_oidc_tokens_kind"),
        sa.ForeignKeyConstraint(
            ["client_pk"], ["oidc_clients.id"], ondelete="CASCADE", name="fk_oidc_tokens_client_pk"
        ),
        _fk("oidc_tokens", "account_id", "accounts"),
        _fk("oidc_tokens", "session_id", "web_sessions"),
    )
    op.create_index("ix_oidc_tokens_family_id", "oidc_tokens", ["family_id"])
    op.create_index("ix_oidc_tokens_account_id", "oidc_tokens", ["account_id"])
    op.create_index("ix_oidc_tokens_session_id", "oidc_tokens", ["session_id"])
    op.create_index("ix_oidc_tokens_code_id", "oidc_tokens", ["code_id"])

    op.create_table(
        "oidc_consents",
        sa.Column("account_id", UUID, nullable=False),
        sa.Column("client_pk", UUID, nullable=False),
        sa.Column("scopes", pg.ARRAY(sa.Text), nullable=False),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("account_id", "client_pk", name="pk_oidc_consents"),
        _fk("oidc_consents", "account_id", "accounts"),
        sa.ForeignKeyConstraint(
            ["client_pk"], ["oidc_clients.id"], ondelete="CASCADE", name="fk_oidc_consents_client_pk"
        ),
    )

    op.create_table(
        "oidc_signing_keys",
        sa.Column("kid", sa.String(64), nullable=False),
        sa.Column("alg", sa.String(10), nullable=False),
        sa.Column("private_jwk_enc", sa.LargeBinary, nullable=False),
        sa.Column("public_jwk", pg.JSONB, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("retired_at", TS),
        sa.PrimaryKeyConstraint("kid", name="pk_oidc_signing_keys"),
    )

    op.create_table(
        "login_throttle",
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("window_start", TS, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_login_throttle"),
    )


def downgrade() -> None:
    for table in (
        "login_throttle",
        "oidc_signing_keys",
        "oidc_consents",
        "oidc_tokens",
        "oidc_authorization_codes",
        "oidc_clients",
        "pending_logins",
        "web_sessions",
        "linked_identities",
        "upstream_providers",
    ):
        op.drop_table(table)
