"""Live chat follows access changes at once: any committed write that can take access away makes
every node re-check its open subscriptions (``Gateway.access_changed``).

Rather than ask each use case (ban, remove, leave, network role removal, ending a share, moving
a space, the next one someone writes) to remember a hook, the request session watches what it
writes: rows of ``space_members`` (a ban, a removal, a role or status change), ``network_members``
(a role removed or changed), ``shares`` (ended) and ``spaces`` (moved: bans above change), by
the ORM or by a bulk statement. When a transaction wrote any of them, the re-check is queued
with :func:`services.persistence.session.on_commit`, so it runs only once the change is
committed, and never for a rolled-back request. A new active membership only grants, so it
does not trigger one.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from functools import lru_cache
from itertools import chain
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.sql.elements import TextClause

from services.persistence.models import NetworkMember, Share, Space, SpaceMember
from services.persistence.session import add_session_info, on_commit

HOOK = "affinity_access_changed"
"""``Session.info`` key holding the coroutine function to run after a committing access change."""

_WATCHED = (SpaceMember, NetworkMember, Share, Space)
_WATCHED_TABLES = re.compile(
    r"\b(?:UPDATE|DELETE\s+FROM)\s+(?:spaces|space_members|network_members|shares)\b", re.IGNORECASE
)


@lru_cache(maxsize=1024)
def _writes_watched(sql: str) -> bool:
    """Whether a textual statement updates or deletes a watched table. Statements are module
    constants, so each is scanned once: the scan took ~0.1 ms per request (docs/performance.md)."""
    return _WATCHED_TABLES.search(sql) is not None


def install(sessionmaker: Any, hook: Callable[[], Awaitable[None]]) -> None:
    """Have every session of ``sessionmaker`` (the app's request sessions) call ``hook`` after
    committing a change that may take chat access away."""
    add_session_info(sessionmaker, HOOK, hook)


def _schedule(session: Session) -> None:
    hook = session.info.get(HOOK)
    if hook is None:
        return
    queued = session.info.get("affinity_after_commit", [])
    if hook not in queued:
        on_commit(session, hook)  # type: ignore[arg-type]  # uses .info only, shared with AsyncSession


def _may_revoke(obj: object, *, new: bool) -> bool:
    if isinstance(obj, SpaceMember):
        return not new or obj.status == "banned"  # a ban row inserted; any change or delete of a row
    if isinstance(obj, Space):
        if new:
            return False
        state = inspect(obj)
        return any(state.attrs[a].history.has_changes() for a in ("parent_id", "path", "network_id"))
    return isinstance(obj, (NetworkMember, Share)) and not new


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context: Any) -> None:
    if HOOK not in session.info:
        return
    if any(_may_revoke(o, new=True) for o in session.new) or any(
        _may_revoke(o, new=False) for o in chain(session.dirty, session.deleted)
    ):
        _schedule(session)


@event.listens_for(Session, "do_orm_execute")
def _bulk(state: ORMExecuteState) -> None:
    session = state.session
    if HOOK not in session.info:
        return
    statement = state.statement
    if isinstance(statement, TextClause):
        if _writes_watched(statement.text):
            _schedule(session)
    elif (state.is_update or state.is_delete) and any(m.class_ in _WATCHED for m in state.all_mappers):
        _schedule(session)
