"""Use cases for accounts."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable, Sequence

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from federation.networks import Role
from services import audit
from services.accounts import repository
from services.accounts.passwords import hash_password, password_problem
from services.accounts.schemas import MeOut, MeUpdate, MyNetwork, MySpace
from services.auth.principal import Principal
from services.errors import BadRequest, Conflict, NotFound, Unprocessable
from services.persistence.models import Account

_EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")


def normalise_email(email: str) -> str:
    """Trimmed e-mail address, or BadRequest if it does not look like one."""
    email = email.strip()
    if len(email) > 320 or not _EMAIL_RE.match(email):
        raise BadRequest(f"'{email}' is not an e-mail address.", code="invalid_email")
    return email


async def create_account(
    session: AsyncSession,
    *,
    email: str,
    name: str,
    password: str | None = None,
    operator: bool = False,
    email_verified: bool = False,
    actor_id: uuid.UUID | None = None,
) -> Account:
    """Create an account; Conflict if the e-mail address is taken."""
    email = normalise_email(email)
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise BadRequest("The name must have 1 to 200 characters.", code="invalid_name")
    if password is not None:
        problem = password_problem(password)
        if problem:
            raise BadRequest(f"The password is too weak: {problem}.", code="weak_password")
    if await repository.get_by_email(session, email) is not None:
        raise Conflict(f"An account with the e-mail address {email} already exists.", code="email_taken")
    account = Account(
        id=uuid.uuid4(),
        email=email,
        display_name=name,
        is_operator=operator,
        email_verified=email_verified,
        password_hash=hash_password(password) if password else None,
    )
    session.add(account)
    await session.flush()
    audit.record(
        session,
        actor_id=actor_id,
        action="account.create",
        target_type="account",
        target_id=account.id,
        after={"email": email, "operator": operator},
    )
    return account


async def require_by_email(session: AsyncSession, email: str) -> Account:
    """The account with this e-mail address, or NotFound with a hint."""
    account = await repository.get_by_email(session, email.strip())
    if account is None:
        raise NotFound(
            f"No account has the e-mail address {email.strip()}. Create it with `affinity accounts create`.",
            code="account_not_found",
        )
    return account


RoomReadable = Callable[
    [AsyncSession, Sequence[tuple[uuid.UUID, uuid.UUID]]], Awaitable[set[tuple[uuid.UUID, uuid.UUID]]]
]
"""Of (account, space) pairs, those where the account may be in the room now. The chat area answers
it (``services.chat.access.readable``: ``space_actor`` + ``can_read_chat``, one query); it stands on
a higher floor, so the composition root hands it in (the ``room_readable`` dependency)."""


async def me(session: AsyncSession, principal: Principal, readable: RoomReadable) -> MeOut:
    """The caller's account, networks with roles and spaces with roles and unread chat (five queries).

    Only the spaces the caller may open: an active row is not enough when a ban above, an ended
    share or a lost network role took the caller out of the room (``readable`` decides them all at
    once, with the same predicates as the space's own routes)."""
    account = await session.get(Account, principal.account_id)
    if account is None:
        raise NotFound("Your account no longer exists.", code="account_not_found")
    rows = await repository.my_networks(session, account.id)
    rows_spaces = await repository.my_spaces(session, account.id)
    open_now = await readable(session, [(account.id, i) for i, *_ in rows_spaces])
    spaces = [row for row in rows_spaces if (account.id, row[0]) in open_now]
    unread = await repository.unread_counts(session, account.id, [i for i, *_ in spaces])
    return MeOut(
        id=account.id,
        email=account.email,
        display_name=account.display_name,
        pronouns=account.pronouns,
        is_operator=account.is_operator,
        networks=[MyNetwork(id=i, slug=s, name=n, role=Role(r)) for i, s, n, r in rows],
        credential=principal.via,
        scopes=sorted(principal.scopes),
        spaces=[
            MySpace(id=i, name=n, kind=k, network=s, role=r, unread=unread.get(i, (0, 0))[1])
            for i, n, k, s, r in spaces
        ],
    )


async def update_me(session: AsyncSession, principal: Principal, data: MeUpdate, readable: RoomReadable) -> MeOut:
    """Change your own display name and pronouns; a blank name is refused with the field named."""
    account = await session.get(Account, principal.account_id)
    if account is None:
        raise NotFound("Your account no longer exists.", code="account_not_found")
    before = {"display_name": account.display_name, "pronouns": account.pronouns}
    if not isinstance(data.display_name, msgspec.UnsetType):
        name = data.display_name.strip()
        if not name:
            raise Unprocessable(
                "Your name must not be blank.", code="validation_error", details={"field": "display_name"}
            )
        account.display_name = name
    if not isinstance(data.pronouns, msgspec.UnsetType):
        account.pronouns = (data.pronouns or "").strip() or None
    await session.flush()
    audit.record(
        session,
        actor_id=account.id,
        action="account.profile.update",
        target_type="account",
        target_id=account.id,
        before=before,
        after={"display_name": account.display_name, "pronouns": account.pronouns},
    )
    return await me(session, principal, readable)
