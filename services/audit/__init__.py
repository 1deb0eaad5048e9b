"""Audit trail: every write records who changed what, when, before and after."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.logs import current_request_id
from services.persistence.models import AuditEvent


def record(
    session: AsyncSession,
    *,
    actor_id: uuid.UUID | None,
    action: str,
    target_type: str,
    target_id: uuid.UUID | str,
    network_id: uuid.UUID | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Add an audit event to the current transaction (it commits or rolls back with the change)."""
    session.add(
        AuditEvent(
            id=uuid.uuid4(),
            actor_id=actor_id,
            action=action,
            target_type=target_type,
            target_id=str(target_id),
            network_id=network_id,
            before=_jsonable(before),
            after=_jsonable(after),
            request_id=current_request_id(),
        )
    )


def _jsonable(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    return {k: (str(v) if isinstance(v, uuid.UUID) else v) for k, v in value.items()}
