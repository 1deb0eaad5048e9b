"""SQL for spaces, their members, join requests and invitations.

Tree queries use the materialized ``spaces.path`` (ancestor ids, root first, GIN-indexed):
ancestors are ``id = ANY(path)``, a subtree is ``path @> ARRAY[root]`` — one query each.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import and_, any_, bindparam, case, cast, delete, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.ext.asyncio import AsyncSession

from services.persistence.models import Account, Network, NetworkMember, Space, SpaceJoinRequest, SpaceMember
from services.persistence.models.spaces import below


async def get_space(session: AsyncSession, space_id: uuid.UUID, *, lock: bool = False) -> Space | None:
    """A space (optionally locked for update: serialises membership changes of that space)."""
    stmt = select(Space).where(Space.id == space_id)
    if lock:
        stmt = stmt.with_for_update()
    result: Space | None = await session.scalar(stmt)
    return result


@dataclass(frozen=True, slots=True)
class Loaded:
    """A space with everything a permission check on it needs, read in one statement."""

    space: Space
    ancestors: list[Space]
    """Root first."""
    mine: dict[uuid.UUID, SpaceMember]
    """The caller's rows (any status) in the space and its ancestors."""
    pending_kind: str | None
    """Kind of the caller's pending request or invitation for the space, if any."""
    network_slug: str
    member_count: int
    """Active members (facilitators included) of the space."""


_SID = bindparam("sid", type_=UUID(as_uuid=True))
_AID = bindparam("aid", type_=UUID(as_uuid=True))
_TARGET_PATH = cast(select(Space.path).where(Space.id == _SID).scalar_subquery(), ARRAY(UUID(as_uuid=True)))
_PENDING = (
    select(SpaceJoinRequest.kind)
    .where(SpaceJoinRequest.space_id == _SID, SpaceJoinRequest.account_id == _AID, SpaceJoinRequest.status == "pending")
    .limit(1)
    .scalar_subquery()
)
_COUNT = (
    select(func.count())
    .select_from(SpaceMember)
    .where(SpaceMember.space_id == _SID, SpaceMember.status == "active")
    .scalar_subquery()
)
_LOAD = (
    select(
        Space,
        SpaceMember,
        case((Space.id == _SID, _PENDING), else_=None),
        case((Space.id == _SID, _COUNT), else_=None),
        select(Network.slug).where(Network.id == Space.network_id).scalar_subquery(),
    )
    .outerjoin(SpaceMember, and_(SpaceMember.space_id == Space.id, SpaceMember.account_id == _AID))
    .where(or_(Space.id == _SID, Space.id == any_(_TARGET_PATH)))
)


async def load(session: AsyncSession, space_id: uuid.UUID, account_id: uuid.UUID) -> Loaded | None:
    """The space, its ancestors, the account's rows on that path, its pending request, the
    network's slug and the member count: one statement (primary-key lookups on ``path``)."""
    rows = (await session.execute(_LOAD, {"sid": space_id, "aid": account_id})).all()
    by_id: dict[uuid.UUID, Space] = {}
    mine: dict[uuid.UUID, SpaceMember] = {}
    pending: str | None = None
    slug, count = "", 0
    for space, member, kind, n, network_slug in rows:
        by_id[space.id] = space
        if member is not None:
            mine[space.id] = member
        if space.id == space_id:
            pending, count, slug = kind, int(n or 0), network_slug
    target = by_id.get(space_id)
    if target is None:
        return None
    ancestors = [by_id[i] for i in target.path if i in by_id]
    return Loaded(target, ancestors, mine, pending, slug, count)


async def lock_space(session: AsyncSession, space_id: uuid.UUID) -> bool:
    """Take the space's row lock (SELECT ... FOR UPDATE) until the transaction ends; False when
    there is no such space."""
    found = await session.scalar(select(Space.id).where(Space.id == space_id).with_for_update())
    return found is not None


async def ancestors(session: AsyncSession, space: Space) -> list[Space]:
    """The space's ancestors, root first (one query)."""
    if not space.path:
        return []
    rows = await session.scalars(select(Space).where(Space.id.in_(list(space.path))))
    by_id = {s.id: s for s in rows}
    return [by_id[i] for i in space.path if i in by_id]


async def subtree(session: AsyncSession, root: Space, max_depth: int | None) -> list[Space]:
    """The root and every space below it, at most ``max_depth`` levels down (one query)."""
    stmt = select(Space).where(or_(Space.id == root.id, below(root.id)))
    if max_depth is not None:
        stmt = stmt.where(Space.depth <= root.depth + max_depth)
    return list(await session.scalars(stmt.order_by(Space.depth, Space.name, Space.id)))


async def subtree_with_roles(
    session: AsyncSession, root: Space, account_id: uuid.UUID, max_depth: int | None
) -> list[tuple[Space, str | None, str | None]]:
    """:func:`subtree` with the account's role and status in each space (one query)."""
    stmt = (
        select(Space, SpaceMember.role, SpaceMember.status)
        .outerjoin(SpaceMember, and_(SpaceMember.space_id == Space.id, SpaceMember.account_id == account_id))
        .where(or_(Space.id == root.id, below(root.id)))
    )
    if max_depth is not None:
        stmt = stmt.where(Space.depth <= root.depth + max_depth)
    rows = await session.execute(stmt.order_by(Space.depth, Space.name, Space.id))
    return [(s, r, st) for s, r, st in rows]


async def levels_below(session: AsyncSession, space: Space) -> int:
    """How many levels of sub-spaces nest below ``space`` (0 for a leaf; one query)."""
    deepest = await session.scalar(select(func.max(Space.depth)).where(below(space.id)))
    return (int(deepest) - space.depth) if deepest is not None else 0


async def network_members(
    session: AsyncSession, network_id: uuid.UUID, account_ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    """Which of ``account_ids`` hold a role in the network (one query; none for an empty list)."""
    if not account_ids:
        return set()
    rows = await session.scalars(
        select(NetworkMember.account_id).where(
            NetworkMember.network_id == network_id, NetworkMember.account_id.in_(list(account_ids))
        )
    )
    return set(rows)


async def insert_space(session: AsyncSession, space: Space, facilitators: Sequence[tuple[uuid.UUID, bool]]) -> None:
    """Write a new space and its facilitators ((account, trained) pairs); ``space`` comes back
    with its database defaults (timestamps)."""
    session.add(space)
    await session.flush()
    session.add_all(
        SpaceMember(space_id=space.id, account_id=a, role="facilitator", status="active", trained=t)
        for a, t in facilitators
    )
    await session.flush()
    await session.refresh(space)


async def memberships(
    session: AsyncSession, account_id: uuid.UUID, space_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, SpaceMember]:
    """The account's rows in these spaces (any status), by space id (one query)."""
    if not space_ids:
        return {}
    rows = await session.scalars(
        select(SpaceMember).where(SpaceMember.account_id == account_id, SpaceMember.space_id.in_(list(space_ids)))
    )
    return {m.space_id: m for m in rows}


async def membership(session: AsyncSession, space_id: uuid.UUID, account_id: uuid.UUID) -> SpaceMember | None:
    """One member row, or None."""
    result: SpaceMember | None = await session.get(SpaceMember, (space_id, account_id))
    return result


async def memberships_below(session: AsyncSession, account_id: uuid.UUID, root_id: uuid.UUID) -> list[SpaceMember]:
    """The account's rows in every space strictly below ``root_id`` (one query)."""
    return list(
        await session.scalars(
            select(SpaceMember)
            .join(Space, Space.id == SpaceMember.space_id)
            .where(SpaceMember.account_id == account_id, below(root_id))
        )
    )


async def count_active(session: AsyncSession, space_id: uuid.UUID) -> int:
    """Active members (facilitators included) of a space."""
    return int(
        await session.scalar(
            select(func.count()).where(SpaceMember.space_id == space_id, SpaceMember.status == "active")
        )
        or 0
    )


async def active_facilitators(session: AsyncSession, space_id: uuid.UUID) -> list[SpaceMember]:
    """The active facilitators of a space."""
    return list(
        await session.scalars(
            select(SpaceMember).where(
                SpaceMember.space_id == space_id, SpaceMember.role == "facilitator", SpaceMember.status == "active"
            )
        )
    )


@dataclass(frozen=True, slots=True)
class MemberRow:
    """A member as the member list shows them."""

    account_id: uuid.UUID
    display_name: str
    role: str
    trained: bool
    joined_at: dt.datetime


async def member_list(session: AsyncSession, space_id: uuid.UUID) -> list[MemberRow]:
    """Active members of a space with their names (one query)."""
    rows = await session.execute(
        select(
            SpaceMember.account_id, Account.display_name, SpaceMember.role, SpaceMember.trained, SpaceMember.created_at
        )
        .join(Account, Account.id == SpaceMember.account_id)
        .where(SpaceMember.space_id == space_id, SpaceMember.status == "active")
        .order_by(SpaceMember.role.desc(), Account.display_name)
    )
    return [MemberRow(a, n, r, t, j) for a, n, r, t, j in rows]


async def remove_memberships(session: AsyncSession, account_id: uuid.UUID, space_ids: Sequence[uuid.UUID]) -> None:
    """Delete the account's rows in these spaces."""
    if space_ids:
        await session.execute(
            delete(SpaceMember).where(SpaceMember.account_id == account_id, SpaceMember.space_id.in_(list(space_ids)))
        )


async def cancel_pending(session: AsyncSession, account_id: uuid.UUID, space_ids: Sequence[uuid.UUID]) -> None:
    """Cancel the account's pending requests and invitations in these spaces."""
    if space_ids:
        await session.execute(
            update(SpaceJoinRequest)
            .where(
                SpaceJoinRequest.account_id == account_id,
                SpaceJoinRequest.space_id.in_(list(space_ids)),
                SpaceJoinRequest.status == "pending",
            )
            .values(status="cancelled", decided_at=func.now())
        )


async def pending_for(session: AsyncSession, space_id: uuid.UUID, account_id: uuid.UUID) -> SpaceJoinRequest | None:
    """The account's pending request or invitation for a space, or None."""
    result: SpaceJoinRequest | None = await session.scalar(
        select(SpaceJoinRequest).where(
            SpaceJoinRequest.space_id == space_id,
            SpaceJoinRequest.account_id == account_id,
            SpaceJoinRequest.status == "pending",
        )
    )
    return result


async def get_request(session: AsyncSession, space_id: uuid.UUID, request_id: uuid.UUID) -> SpaceJoinRequest | None:
    """A request or invitation of a space, or None."""
    result: SpaceJoinRequest | None = await session.scalar(
        select(SpaceJoinRequest).where(SpaceJoinRequest.id == request_id, SpaceJoinRequest.space_id == space_id)
    )
    return result


async def list_requests(session: AsyncSession, space_id: uuid.UUID, status: str | None) -> list[SpaceJoinRequest]:
    """Requests and invitations of a space, newest first."""
    stmt = select(SpaceJoinRequest).where(SpaceJoinRequest.space_id == space_id)
    if status is not None:
        stmt = stmt.where(SpaceJoinRequest.status == status)
    return list(await session.scalars(stmt.order_by(SpaceJoinRequest.created_at.desc())))


async def network_role(session: AsyncSession, network_id: uuid.UUID, account_id: uuid.UUID) -> str | None:
    """The account's role in a network, or None."""
    role: str | None = await session.scalar(
        select(NetworkMember.role).where(NetworkMember.network_id == network_id, NetworkMember.account_id == account_id)
    )
    return role


async def display_name(session: AsyncSession, account_id: uuid.UUID) -> str:
    """The account's display name ("" when there is none)."""
    return str(await session.scalar(select(Account.display_name).where(Account.id == account_id)) or "")


async def account_exists(session: AsyncSession, account_id: uuid.UUID) -> bool:
    """Whether an active account has this id."""
    return (await session.scalar(select(Account.id).where(Account.id == account_id, Account.is_active))) is not None


async def directory(
    session: AsyncSession, network_id: uuid.UUID, viewer: uuid.UUID
) -> list[tuple[Space, str | None, str | None]]:
    """Listed spaces of a network, plus unlisted ones the viewer belongs to, with the viewer's
    role and status (one query)."""
    rows = await session.execute(
        select(Space, SpaceMember.role, SpaceMember.status)
        .outerjoin(SpaceMember, and_(SpaceMember.space_id == Space.id, SpaceMember.account_id == viewer))
        .where(
            Space.network_id == network_id,
            or_(Space.visibility == "listed", and_(SpaceMember.status == "active")),
        )
        .order_by(Space.depth, Space.name)
    )
    return [(s, r, st) for s, r, st in rows]


async def move_subtree(session: AsyncSession, space: Space, new_path: list[uuid.UUID]) -> None:
    """Put ``space`` under the last of ``new_path`` (its new ancestors, root first): rewrite
    ``path``/``depth`` of every descendant (one statement); the space's own row follows with
    the unit of work's next flush."""
    old_len = len(space.path)
    await session.execute(
        text(
            "UPDATE spaces SET path = CAST(:new_path AS uuid[]) || path[:old_len + 1 : array_length(path, 1)], "
            "depth = cardinality(CAST(:new_path AS uuid[])) + cardinality(path) - :old_len "
            "WHERE path @> ARRAY[CAST(:root AS uuid)]"
        ),
        {"new_path": [str(p) for p in new_path], "old_len": old_len, "root": str(space.id)},
    )
    space.parent_id = new_path[-1] if new_path else None
    space.path = new_path
    space.depth = len(new_path)
