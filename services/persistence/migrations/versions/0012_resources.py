"""Resource library and search (owned by the resources area).

Resources of spaces and networks, their content-addressed blobs, generated tsvectors on
resources and on chat messages, with GIN indexes, for full-text search.

Revision ID: 0012_resources
Revises: 0011_access
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision: str = "0012_resources"
down_revision: str | None = "0011_access"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UUID = pg.UUID(as_uuid=True)
TS = sa.DateTime(timezone=True)

# Must match services.persistence.models.resources (the query side uses the same expressions).
# array_to_string is only STABLE in general (element output functions could depend on settings),
# but for text[] it is immutable, so the wrapper may be declared IMMUTABLE and used in a
# generated column.
SEARCH_FUNCTION = """
CREATE FUNCTION affinity_resource_search(title text, tags text[], note text, file_name text)
RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A')
      || setweight(to_tsvector('english'::regconfig, coalesce(array_to_string(tags, ' '), '')), 'B')
      || setweight(to_tsvector('english'::regconfig, coalesce(note, '') || ' ' || coalesce(file_name, '')), 'C')
$$
"""
RESOURCE_SEARCH_EXPR = "affinity_resource_search(title, tags, note, file_name)"
MESSAGE_SEARCH_EXPR = "to_tsvector('english'::regconfig, body)"


def upgrade() -> None:
    op.execute(SEARCH_FUNCTION)
    op.create_table(
        "resource_blobs",
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("content_type", sa.String(120), nullable=False),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("sha256", name="pk_resource_blobs"),
    )
    op.create_table(
        "resources",
        sa.Column("id", UUID, nullable=False),
        sa.Column("space_id", UUID),
        sa.Column("network_id", UUID),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("url", sa.String(2000)),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        sa.Column("tags", pg.ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("blob_sha256", sa.String(64)),
        sa.Column("file_name", sa.String(120)),
        sa.Column("content_type", sa.String(120)),
        sa.Column("size", sa.BigInteger),
        sa.Column("public", sa.Boolean, nullable=False, server_default="false"),
        sa.Column("pinned_at", TS),
        sa.Column("pinned_by", UUID),
        sa.Column("added_by", UUID),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", TS),
        sa.Column("search", pg.TSVECTOR, sa.Computed(RESOURCE_SEARCH_EXPR, persisted=True)),
        sa.PrimaryKeyConstraint("id", name="pk_resources"),
        sa.ForeignKeyConstraint(["space_id"], ["spaces.id"], ondelete="CASCADE", name="fk_resources_space_id_spaces"),
        sa.ForeignKeyConstraint(
            ["network_id"], ["networks.id"], ondelete="CASCADE", name="fk_resources_network_id_networks"
        ),
        sa.ForeignKeyConstraint(
            ["blob_sha256"],
            ["resource_blobs.sha256"],
            ondelete="RESTRICT",
            name="fk_resources_blob_sha256_resource_blobs",
        ),
        sa.ForeignKeyConstraint(
            ["pinned_by"], ["accounts.id"], ondelete="SET NULL", name="fk_resources_pinned_by_accounts"
        ),
        sa.ForeignKeyConstraint(
            ["added_by"], ["accounts.id"], ondelete="SET NULL", name="fk_resources_added_by_accounts"
        ),
        sa.CheckConstraint("(space_id IS NULL) <> (network_id IS NULL)", name="one_owner"),
        sa.CheckConstraint(
            "(kind = 'link' AND url IS NOT NULL AND blob_sha256 IS NULL) OR "
            "(kind = 'file' AND url IS NULL AND blob_sha256 IS NOT NULL AND file_name IS NOT NULL)",
            name="kind",
        ),
        sa.CheckConstraint("space_id IS NULL OR NOT public", name="public_network_only"),
    )
    op.create_index("ix_resources_space_id_created_at", "resources", ["space_id", "created_at"])
    op.create_index("ix_resources_network_id_created_at", "resources", ["network_id", "created_at"])
    op.create_index("ix_resources_blob_sha256", "resources", ["blob_sha256"])
    op.create_index("ix_resources_search", "resources", ["search"], postgresql_using="gin")
    op.create_index("ix_resources_tags", "resources", ["tags"], postgresql_using="gin")
    # Rewrites the messages table once (a stored generated column); search reads the vector.
    op.add_column("messages", sa.Column("search_vector", pg.TSVECTOR, sa.Computed(MESSAGE_SEARCH_EXPR, persisted=True)))
    op.create_index("ix_messages_search", "messages", ["search_vector"], postgresql_using="gin")


def downgrade() -> None:
    op.drop_index("ix_messages_search", table_name="messages")
    op.drop_column("messages", "search_vector")
    op.drop_table("resources")
    op.drop_table("resource_blobs")
    op.execute("DROP FUNCTION affinity_resource_search(text, text[], text, text)")
