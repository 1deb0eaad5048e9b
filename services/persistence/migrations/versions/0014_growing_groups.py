"""Directory, proposals, invitations by e-mail, outbox, facilitators (owned by the growing-groups work).

Revision ID: 0014_growing_groups
Revises: 0013_chat_features
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "0014_growing_groups"
down_revision: str | None = "0013_chat_features"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UUID = pg.UUID(as_uuid=True)
TS = sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], ondelete=ondelete, name=f"fk_{table}_{column}_{target}")


def upgrade() -> None:
    op.add_column("spaces", sa.Column("archived_at", TS))
    op.add_column("space_members", sa.Column("outside", sa.Boolean, nullable=False, server_default="false"))

    op.create_table(
        "mail_outbox",
        sa.Column("id", UUID, nullable=False),
        sa.Column("to_address", sa.String(320), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("body_text", sa.Text, nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("account_id", UUID),
        sa.Column("notify_account_id", UUID),
        sa.Column("headers", pg.JSONB, nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("sent_at", TS),
        sa.PrimaryKeyConstraint("id", name="pk_mail_outbox"),
        _fk("mail_outbox", "account_id", "accounts", "SET NULL"),
        _fk("mail_outbox", "notify_account_id", "accounts", "SET NULL"),
        sa.CheckConstraint("status IN ('pending','sent','failed','suppressed')", name="ck_mail_outbox_status"),
    )
    op.create_index(
        "ix_mail_outbox_due", "mail_outbox", ["next_attempt_at"], postgresql_where=sa.text("status = 'pending'")
    )

    op.create_table(
        "notifications",
        sa.Column("id", UUID, nullable=False),
        sa.Column("account_id", UUID, nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("body", sa.String(2000), nullable=False),
        sa.Column("link", sa.String(500)),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("read_at", TS),
        sa.PrimaryKeyConstraint("id", name="pk_notifications"),
        _fk("notifications", "account_id", "accounts", "CASCADE"),
    )
    op.create_index("ix_notifications_account_created", "notifications", ["account_id", "created_at"])

    op.create_table(
        "notification_preferences",
        sa.Column("account_id", UUID, nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("account_id", "kind", name="pk_notification_preferences"),
        _fk("notification_preferences", "account_id", "accounts", "CASCADE"),
        sa.CheckConstraint("channel IN ('email','in_app','off')", name="ck_notification_preferences_channel"),
    )

    op.create_table(
        "mail_suppressions",
        sa.Column("address", sa.String(320), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("address", "kind", name="pk_mail_suppressions"),
    )

    op.create_table(
        "space_invitations",
        sa.Column("id", UUID, nullable=False),
        sa.Column("space_id", UUID),
        sa.Column("space_name", sa.String(200), nullable=False),
        sa.Column("network_id", UUID, nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("token_hash", sa.LargeBinary, nullable=False),
        sa.Column("message", sa.String(1000), nullable=False),
        sa.Column("for_new_person", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("invited_by", UUID),
        sa.Column("account_id", UUID),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("decided_at", TS),
        sa.PrimaryKeyConstraint("id", name="pk_space_invitations"),
        sa.UniqueConstraint("token_hash", name="uq_space_invitations_token_hash"),
        _fk("space_invitations", "space_id", "spaces", "SET NULL"),
        _fk("space_invitations", "network_id", "networks", "CASCADE"),
        _fk("space_invitations", "invited_by", "accounts", "SET NULL"),
        _fk("space_invitations", "account_id", "accounts", "SET NULL"),
        sa.CheckConstraint("status IN ('pending','accepted','revoked','declined')", name="ck_space_invitations_status"),
    )
    op.create_index("ix_space_invitations_space", "space_invitations", ["space_id", "status"])
    op.create_index("ix_space_invitations_email", "space_invitations", [sa.text("lower(email)"), "status"])
    op.create_index(
        "uq_space_invitations_pending",
        "space_invitations",
        ["space_id", sa.text("lower(email)")],
        unique=True,
        postgresql_where=sa.text("status = 'pending'"),
    )

    op.create_table(
        "space_proposals",
        sa.Column("id", UUID, nullable=False),
        sa.Column("network_id", UUID, nullable=False),
        sa.Column("proposed_by", UUID, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("purpose", sa.String(4000), nullable=False),
        sa.Column("parent_id", UUID),
        sa.Column("facilitator_ids", pg.ARRAY(UUID), nullable=False),
        sa.Column("proposer_facilitates", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("question", sa.String(2000)),
        sa.Column("answer", sa.String(2000)),
        sa.Column("reason", sa.String(2000)),
        sa.Column("decided_by", UUID),
        sa.Column("decided_at", TS),
        sa.Column("space_id", UUID),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name="pk_space_proposals"),
        _fk("space_proposals", "network_id", "networks", "CASCADE"),
        _fk("space_proposals", "proposed_by", "accounts", "CASCADE"),
        _fk("space_proposals", "parent_id", "spaces", "SET NULL"),
        _fk("space_proposals", "decided_by", "accounts", "SET NULL"),
        _fk("space_proposals", "space_id", "spaces", "SET NULL"),
        sa.CheckConstraint("kind IN ('identity','role','topic','cohort')", name="ck_space_proposals_kind"),
        sa.CheckConstraint(
            "status IN ('pending','question','approved','declined','withdrawn')", name="ck_space_proposals_status"
        ),
    )
    op.create_index("ix_space_proposals_network", "space_proposals", ["network_id", "status"])
    op.create_index("ix_space_proposals_proposer", "space_proposals", ["proposed_by"])

    op.create_table(
        "network_directories",
        sa.Column("network_id", UUID, nullable=False),
        sa.Column("public", sa.Boolean, nullable=False),
        sa.Column("code", sa.String(16), nullable=False),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("network_id", name="pk_network_directories"),
        sa.UniqueConstraint("code", name="uq_network_directories_code"),
        _fk("network_directories", "network_id", "networks", "CASCADE"),
    )

    op.create_table(
        "public_spaces",
        sa.Column("space_id", UUID, nullable=False),
        sa.Column("network_id", UUID, nullable=False),
        sa.Column("how_to_join", sa.String(1000), nullable=False),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("space_id", name="pk_public_spaces"),
        _fk("public_spaces", "space_id", "spaces", "CASCADE"),
        _fk("public_spaces", "network_id", "networks", "CASCADE"),
    )
    op.create_index("ix_public_spaces_network", "public_spaces", ["network_id"])

    op.create_table(
        "meeting_reminders",
        sa.Column("meeting_id", UUID, nullable=False),
        sa.Column("sent_at", TS, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("meeting_id", name="pk_meeting_reminders"),
        _fk("meeting_reminders", "meeting_id", "meetings", "CASCADE"),
    )

    op.create_table(
        "facilitator_trainings",
        sa.Column("id", UUID, nullable=False),
        sa.Column("network_id", UUID, nullable=False),
        sa.Column("account_id", UUID, nullable=False),
        sa.Column("course", sa.String(200), nullable=False),
        sa.Column("completed_on", sa.Date, nullable=False),
        sa.Column("expires_on", sa.Date),
        sa.Column("recorded_by", UUID),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name="pk_facilitator_trainings"),
        _fk("facilitator_trainings", "network_id", "networks", "CASCADE"),
        _fk("facilitator_trainings", "account_id", "accounts", "CASCADE"),
        _fk("facilitator_trainings", "recorded_by", "accounts", "SET NULL"),
        sa.CheckConstraint("expires_on IS NULL OR expires_on >= completed_on", name="ck_facilitator_trainings_dates"),
    )
    op.create_index("ix_facilitator_trainings_network_account", "facilitator_trainings", ["network_id", "account_id"])

    op.create_table(
        "facilitator_compensation",
        sa.Column("network_id", UUID, nullable=False),
        sa.Column("account_id", UUID, nullable=False),
        sa.Column("note", sa.String(500), nullable=False),
        sa.Column("recorded_by", UUID),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("network_id", "account_id", name="pk_facilitator_compensation"),
        _fk("facilitator_compensation", "network_id", "networks", "CASCADE"),
        _fk("facilitator_compensation", "account_id", "accounts", "CASCADE"),
        _fk("facilitator_compensation", "recorded_by", "accounts", "SET NULL"),
    )


def downgrade() -> None:
    for table in (
        "facilitator_compensation",
        "facilitator_trainings",
        "meeting_reminders",
        "public_spaces",
        "network_directories",
        "space_proposals",
        "space_invitations",
        "mail_suppressions",
        "notification_preferences",
        "notifications",
        "mail_outbox",
    ):
        op.drop_table(table)
    op.drop_column("space_members", "outside")
    op.drop_column("spaces", "archived_at")
