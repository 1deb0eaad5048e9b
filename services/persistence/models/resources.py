"""Resource libraries of spaces and networks, their stored files, and the search indexes
(owned by the resources area; migration 0012_resources).

A resource belongs to exactly one space or one network. A file resource points at a
content-addressed blob (``resource_blobs``, keyed by SHA-256); the same file shared twice is
stored once, and the blob and its stored bytes go when the last resource using it is deleted.
``search`` is a generated tsvector over title, note, tags and file name; chat messages get a
generated ``search_vector`` (attached below, GIN-indexed as ``ix_messages_search``).
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Computed, ForeignKey, Index, String, Text
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from services.persistence.base import Base, created_at, uuid_pk
from services.persistence.models.chat import Message

SEARCH_CONFIG = "english"
"""The text-search configuration of every search index and query (they must agree)."""

RESOURCE_SEARCH_EXPR = "affinity_resource_search(title, tags, note, file_name)"
"""Weighted title (A), tags (B), note and file name (C); the SQL function is created by 0012_resources."""
MESSAGE_SEARCH_EXPR = "to_tsvector('english'::regconfig, body)"


class ResourceBlob(Base):
    """Stored bytes of a file, by content; referenced by file resources."""

    __tablename__ = "resource_blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    content_type: Mapped[str] = mapped_column(String(120), nullable=False)
    created_at: Mapped[dt.datetime] = created_at()


class Resource(Base):
    """A link or a file in a space's or a network's library."""

    __tablename__ = "resources"

    id: Mapped[uuid.UUID] = uuid_pk()
    space_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"))
    network_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("networks.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8), nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    url: Mapped[str | None] = mapped_column(String(2000))
    note: Mapped[str] = mapped_column(Text, nullable=False, default="", server_default="")
    tags: Mapped[list[str]] = mapped_column(nullable=False, default=list, server_default="{}")
    blob_sha256: Mapped[str | None] = mapped_column(ForeignKey("resource_blobs.sha256", ondelete="RESTRICT"))
    file_name: Mapped[str | None] = mapped_column(String(120))
    content_type: Mapped[str | None] = mapped_column(String(120))
    size: Mapped[int | None] = mapped_column(BigInteger)
    public: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default="false")
    """Network resources only: readable by anyone, signed in or not."""
    pinned_at: Mapped[dt.datetime | None] = mapped_column()
    pinned_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    added_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = created_at()
    updated_at: Mapped[dt.datetime | None] = mapped_column()
    search: Mapped[str] = mapped_column(TSVECTOR, Computed(RESOURCE_SEARCH_EXPR, persisted=True), nullable=True)

    __table_args__ = (
        CheckConstraint("(space_id IS NULL) <> (network_id IS NULL)", name="one_owner"),
        CheckConstraint(
            "(kind = 'link' AND url IS NOT NULL AND blob_sha256 IS NULL) OR "
            "(kind = 'file' AND url IS NULL AND blob_sha256 IS NOT NULL AND file_name IS NOT NULL)",
            name="kind",
        ),
        CheckConstraint("space_id IS NULL OR NOT public", name="public_network_only"),
        Index("ix_resources_space_id_created_at", "space_id", "created_at"),
        Index("ix_resources_network_id_created_at", "network_id", "created_at"),
        Index("ix_resources_blob_sha256", "blob_sha256"),
        Index("ix_resources_search", "search", postgresql_using="gin"),
        Index("ix_resources_tags", "tags", postgresql_using="gin"),
    )
    __mapper_args__ = {"eager_defaults": True}


# Full-text search over chat messages. The messages table belongs to the chat area, so the search
# column is attached here (SQLAlchemy supports adding a mapped column to a declarative class
# after it is defined) rather than edited into its model. A stored tsvector, not an expression
# index: ranking and rechecking then read the vector instead of re-parsing every candidate body,
# which is what keeps a common word under the latency target (bench/search.py). Being generated,
# it follows edits and deletions (a tombstone's empty body) by itself.
setattr(  # noqa: B010  (declarative's class __setattr__ maps the new column)
    Message,
    "search_vector",
    mapped_column(TSVECTOR, Computed(MESSAGE_SEARCH_EXPR, persisted=True), nullable=True, deferred=True),
)
Index("ix_messages_search", Message.__table__.c.search_vector, postgresql_using="gin")

__all__ = ["MESSAGE_SEARCH_EXPR", "RESOURCE_SEARCH_EXPR", "SEARCH_CONFIG", "Resource", "ResourceBlob"]
