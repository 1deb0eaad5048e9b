"""The one place that knows how to make test data (accounts, tokens, networks, members)."""

from __future__ import annotations

import itertools
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.auth.tokens import issue_token
from services.persistence.models import (
    Account,
    Network,
    NetworkMember,
    PolicyAttachment,
    PolicyTemplate,
    PolicyTemplateVersion,
    Space,
    SpaceMember,
)

_seq = itertools.count(1)


async def make_account(
    session: AsyncSession,
    *,
    email: str | None = None,
    name: str | None = None,
    operator: bool = False,
    password_hash: str | None = None,
) -> Account:
    """An active account (flushed, not committed)."""
    n = next(_seq)
    account = Account(
        id=uuid.uuid4(),
        email=email or f"person{n}-{uuid.uuid4().hex[:6]}@example.org",
        display_name=name or f"Person {n}",
        is_operator=operator,
        email_verified=True,
        password_hash=password_hash,
    )
    session.add(account)
    await session.flush()
    return account


async def make_token(
    session: AsyncSession, account: Account, *, scopes: list[str] | None = None, expires_in_days: int | None = 30
) -> str:
    """A personal API token for ``account`` (flushed, not committed)."""
    issued = await issue_token(session, account, scopes=scopes, expires_in_days=expires_in_days)
    return issued.token


async def make_network(
    session: AsyncSession, *, slug: str | None = None, name: str | None = None, kind: str = "district"
) -> Network:
    """A network (flushed, not committed)."""
    n = next(_seq)
    network = Network(
        id=uuid.uuid4(), slug=slug or f"net-{n}-{uuid.uuid4().hex[:4]}", name=name or f"Network {n}", kind=kind
    )
    session.add(network)
    await session.flush()
    return network


async def add_member(session: AsyncSession, network: Network, account: Account, role: str = "member") -> None:
    """Give ``account`` a role in ``network`` (flushed, not committed)."""
    session.add(NetworkMember(network_id=network.id, account_id=account.id, role=role))
    await session.flush()


def bearer(token: str) -> dict[str, str]:
    """Authorization header for a token."""
    return {"Authorization": f"Bearer {token}"}


async def make_space(
    session: AsyncSession,
    network: Network,
    *,
    name: str | None = None,
    parent: Space | None = None,
    kind: str = "identity",
    join_mode: str = "open",
    visibility: str = "listed",
    settings: dict[str, object] | None = None,
) -> Space:
    """A space (flushed, not committed), nested under ``parent`` when given."""
    n = next(_seq)
    space = Space(
        id=uuid.uuid4(),
        network_id=network.id,
        parent_id=parent.id if parent else None,
        path=[*parent.path, parent.id] if parent else [],
        depth=(parent.depth + 1) if parent else 0,
        name=name or f"Space {n}",
        kind=kind,
        join_mode=join_mode,
        visibility=visibility,
        settings=settings or {},
    )
    session.add(space)
    await session.flush()
    return space


async def add_space_member(
    session: AsyncSession,
    space: Space,
    account: Account,
    *,
    role: str = "member",
    status: str = "active",
) -> None:
    """Give ``account`` a role and status in ``space`` (flushed, not committed)."""
    session.add(SpaceMember(space_id=space.id, account_id=account.id, role=role, status=status))
    await session.flush()


async def make_template(
    session: AsyncSession,
    network: Network,
    constraints: dict[str, object],
    *,
    name: str | None = None,
    mode: str = "enforce",
    attach_to: Space | Network | None = None,
) -> PolicyTemplate:
    """A policy template (version 1), attached to a space or the whole network when asked (flushed)."""
    template = PolicyTemplate(
        id=uuid.uuid4(), network_id=network.id, name=name or f"Template {next(_seq)}", mode=mode, current_version=1
    )
    session.add(template)
    await session.flush()
    session.add(PolicyTemplateVersion(template_id=template.id, version=1, constraints=constraints))
    if attach_to is not None:
        space_id = attach_to.id if isinstance(attach_to, Space) else None
        session.add(
            PolicyAttachment(id=uuid.uuid4(), template_id=template.id, network_id=network.id, space_id=space_id)
        )
    await session.flush()
    return template


async def add_facilitators(session: AsyncSession, space: Space, *accounts: Account, trained: bool = False) -> None:
    """Make each account an active, optionally trained facilitator of ``space`` (flushed)."""
    for account in accounts:
        session.add(
            SpaceMember(space_id=space.id, account_id=account.id, role="facilitator", status="active", trained=trained)
        )
    await session.flush()
