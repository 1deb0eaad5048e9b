"""Chat: one room per space with a gapless message sequence (owned by the realtime area).

``chat_rooms.head_seq`` is the room's counter: a send increments it with an upsert in the same
transaction that inserts the message, so concurrent sends serialise on that row and seqs have
no gaps (a rolled-back send rolls back its increment too). ``chat_rooms.version`` counts every
change (inserts and deletions); each message records the version of its last change, so a
resuming client can ask for the deletions it missed.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint, func, text
from sqlalchemy.orm import Mapped, mapped_column

from services.persistence.base import Base


class ChatRoom(Base):
    """The head of a space's message sequence."""

    __tablename__ = "chat_rooms"

    space_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"), primary_key=True)
    head_seq: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    version: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0, server_default="0")
    """Change counter: bumped by every insert and every deletion (0005_chat_versions)."""


class Message(Base):
    """A chat message; deletion keeps a tombstone (body emptied, ``deleted_at`` set)."""

    __tablename__ = "messages"

    space_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(nullable=False, unique=True)
    author_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text, nullable=False)
    key: Mapped[str] = mapped_column(String(64), nullable=False)
    sent_at: Mapped[dt.datetime] = mapped_column(nullable=False, server_default=func.now())
    edited_at: Mapped[dt.datetime | None] = mapped_column()
    deleted_at: Mapped[dt.datetime | None] = mapped_column()
    version: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0, server_default="0")
    """The room's version at this row's last change (insert, edit or deletion)."""

    __table_args__ = (
        UniqueConstraint("space_id", "author_id", "key", name="uq_messages_space_author_key"),
        Index("ix_messages_sent_at", "sent_at"),
        Index(
            "ix_messages_changed_version",
            "space_id",
            "version",
            postgresql_where=text("deleted_at IS NOT NULL OR edited_at IS NOT NULL"),
        ),
    )


class ChatMute(Base):
    """A facilitator muted ``account_id`` in ``space_id``: they read but cannot post there or in
    any sub-space (0013_chat_features)."""

    __tablename__ = "chat_mutes"

    space_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"), primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    muted_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(nullable=False, server_default=func.now())

    __table_args__ = (Index("ix_chat_mutes_account_id", "account_id"),)


class ChatReadMarker(Base):
    """The highest seq ``account_id`` has read in ``space_id``'s chat (unread counts)."""

    __tablename__ = "chat_read_markers"

    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    space_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0, server_default="0")
    updated_at: Mapped[dt.datetime] = mapped_column(nullable=False, server_default=func.now())
