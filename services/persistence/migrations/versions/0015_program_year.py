"""Time zones, recurring meetings, calendar feeds (owned by the program-year work).

Networks get an IANA time zone (existing ones: UTC, which is how their days were counted
before); meetings get an optional zone of their own and an RFC 5545 SEQUENCE; recurring series
and their per-occurrence exceptions; members' calendar-feed tokens (hashed).

Revision ID: 0015_program_year
Revises: 0014_growing_groups
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "0015_program_year"
down_revision: str | None = "0014_growing_groups"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UUID = pg.UUID(as_uuid=True)
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("networks", sa.Column("time_zone", sa.String(64), nullable=False, server_default="UTC"))
    op.add_column("meetings", sa.Column("time_zone", sa.String(64)))
    op.add_column("meetings", sa.Column("sequence", sa.Integer, nullable=False, server_default="0"))
    op.create_table(
        "meeting_series",
        sa.Column("id", UUID, nullable=False),
        sa.Column("space_id", UUID, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("start_local", sa.DateTime(timezone=False), nullable=False),
        sa.Column("time_zone", sa.String(64), nullable=False),
        sa.Column("rule", sa.String(500), nullable=False),
        sa.Column("duration_minutes", sa.Integer, nullable=False),
        sa.Column("location", sa.String(500)),
        sa.Column("join_url", sa.String(2000)),
        sa.Column("components", pg.ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("notes", sa.Text, nullable=False, server_default=""),
        sa.Column("first_start", TS, nullable=False),
        sa.Column("last_start", TS, nullable=False),
        sa.Column("sequence", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_by", UUID),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("cancelled_at", TS),
        sa.PrimaryKeyConstraint("id", name="pk_meeting_series"),
        sa.ForeignKeyConstraint(
            ["space_id"], ["spaces.id"], ondelete="CASCADE", name="fk_meeting_series_space_id_spaces"
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["accounts.id"], ondelete="SET NULL", name="fk_meeting_series_created_by_accounts"
        ),
        sa.CheckConstraint("kind IN ('virtual','in_person')", name="ck_meeting_series_kind"),
        sa.CheckConstraint("duration_minutes BETWEEN 5 AND 1440", name="ck_meeting_series_duration"),
    )
    op.create_index("ix_meeting_series_space_id_last_start", "meeting_series", ["space_id", "last_start"])
    op.create_table(
        "meeting_series_exceptions",
        sa.Column("series_id", UUID, nullable=False),
        sa.Column("original_start", TS, nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("starts_at", TS),
        sa.Column("duration_minutes", sa.Integer),
        sa.Column("revision", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_by", UUID),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("series_id", "original_start", name="pk_meeting_series_exceptions"),
        sa.ForeignKeyConstraint(
            ["series_id"],
            ["meeting_series.id"],
            ondelete="CASCADE",
            name="fk_meeting_series_exceptions_series_id_meeting_series",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["accounts.id"],
            ondelete="SET NULL",
            name="fk_meeting_series_exceptions_created_by_accounts",
        ),
        sa.CheckConstraint("kind IN ('skip','cancel','move')", name="ck_meeting_series_exceptions_kind"),
        sa.CheckConstraint(
            "kind <> 'move' OR starts_at IS NOT NULL", name="ck_meeting_series_exceptions_move_has_start"
        ),
        sa.CheckConstraint(
            "duration_minutes IS NULL OR duration_minutes BETWEEN 5 AND 1440",
            name="ck_meeting_series_exceptions_duration",
        ),
    )
    op.create_table(
        "calendar_feeds",
        sa.Column("account_id", UUID, nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("account_id", name="pk_calendar_feeds"),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], ondelete="CASCADE", name="fk_calendar_feeds_account_id_accounts"
        ),
        sa.UniqueConstraint("token_hash", name="uq_calendar_feeds_token_hash"),
    )
    op.add_column("policy_attachments", sa.Column("target", pg.JSONB))
    op.create_table(
        "policy_exemptions",
        sa.Column("id", UUID, nullable=False),
        sa.Column("network_id", UUID, nullable=False),
        sa.Column("space_id", UUID, nullable=False),
        sa.Column("template_id", UUID),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("created_by", UUID),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name="pk_policy_exemptions"),
        sa.ForeignKeyConstraint(
            ["network_id"], ["networks.id"], ondelete="CASCADE", name="fk_policy_exemptions_network_id_networks"
        ),
        sa.ForeignKeyConstraint(
            ["space_id"], ["spaces.id"], ondelete="CASCADE", name="fk_policy_exemptions_space_id_spaces"
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["policy_templates.id"],
            ondelete="CASCADE",
            name="fk_policy_exemptions_template_id_policy_templates",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["accounts.id"], ondelete="SET NULL", name="fk_policy_exemptions_created_by_accounts"
        ),
    )
    op.create_index("ix_policy_exemptions_network_id", "policy_exemptions", ["network_id"])
    op.create_index("ix_policy_exemptions_space_id", "policy_exemptions", ["space_id"])
    op.create_table(
        "network_events",
        sa.Column("id", UUID, nullable=False),
        sa.Column("network_id", UUID, nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("starts_at", TS, nullable=False),
        sa.Column("ends_at", TS, nullable=False),
        sa.Column("location", sa.String(500)),
        sa.Column("created_by", UUID),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("cancelled_at", TS),
        sa.PrimaryKeyConstraint("id", name="pk_network_events"),
        sa.ForeignKeyConstraint(
            ["network_id"], ["networks.id"], ondelete="CASCADE", name="fk_network_events_network_id_networks"
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["accounts.id"], ondelete="SET NULL", name="fk_network_events_created_by_accounts"
        ),
        sa.CheckConstraint("kind IN ('convening','conference','other')", name="ck_network_events_kind"),
        sa.CheckConstraint("ends_at > starts_at", name="ck_network_events_span"),
    )
    op.create_index("ix_network_events_network_id_starts_at", "network_events", ["network_id", "starts_at"])
    op.add_column("meetings", sa.Column("event_id", UUID))
    op.create_foreign_key(
        "fk_meetings_event_id_network_events", "meetings", "network_events", ["event_id"], ["id"], ondelete="SET NULL"
    )
    op.add_column("meetings", sa.Column("attendance_count", sa.Integer))
    op.create_check_constraint(
        "ck_meetings_attendance", "meetings", "attendance_count IS NULL OR attendance_count >= 0"
    )
    op.create_table(
        "occurrence_attendance",
        sa.Column("series_id", UUID, nullable=False),
        sa.Column("original_start", TS, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("recorded_by", UUID),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("series_id", "original_start", name="pk_occurrence_attendance"),
        sa.ForeignKeyConstraint(
            ["series_id"],
            ["meeting_series.id"],
            ondelete="CASCADE",
            name="fk_occurrence_attendance_series_id_meeting_series",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["accounts.id"], ondelete="SET NULL", name="fk_occurrence_attendance_recorded_by_accounts"
        ),
        sa.CheckConstraint("count >= 0", name="ck_occurrence_attendance_count"),
    )

    op.create_table(
        "network_staff_figures",
        sa.Column("network_id", UUID, nullable=False),
        sa.Column("year_start", sa.Date, nullable=False),
        sa.Column("staff_total", sa.Integer, nullable=False),
        sa.Column("staff_retained", sa.Integer, nullable=False),
        sa.Column("updated_by", UUID),
        sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("network_id", "year_start", name="pk_network_staff_figures"),
        sa.ForeignKeyConstraint(
            ["network_id"], ["networks.id"], ondelete="CASCADE", name="fk_network_staff_figures_network_id_networks"
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"], ["accounts.id"], ondelete="SET NULL", name="fk_network_staff_figures_updated_by_accounts"
        ),
        sa.CheckConstraint("staff_total >= 0 AND staff_retained >= 0", name="ck_network_staff_figures_non_negative"),
        sa.CheckConstraint("staff_retained <= staff_total", name="ck_network_staff_figures_retained_within_total"),
    )


def downgrade() -> None:
    op.drop_table("network_staff_figures")
    op.drop_table("occurrence_attendance")
    op.drop_column("meetings", "attendance_count")
    op.drop_column("meetings", "event_id")
    op.drop_table("network_events")
    op.drop_table("policy_exemptions")
    op.drop_column("policy_attachments", "target")
    op.drop_table("calendar_feeds")
    op.drop_table("meeting_series_exceptions")
    op.drop_index("ix_meeting_series_space_id_last_start", table_name="meeting_series")
    op.drop_table("meeting_series")
    op.drop_column("meetings", "sequence")
    op.drop_column("meetings", "time_zone")
    op.drop_column("networks", "time_zone")
