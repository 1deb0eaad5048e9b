"""Personal API tokens: opaque ``aff_`` strings, shown once, stored only as SHA-256."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid

import msgspec
from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.auth.principal import FULL_ACCESS, KNOWN_SCOPES, Principal
from services.errors import BadRequest, NotFound
from services.persistence.models import Account, ApiToken

TOKEN_PREFIX = "aff_"  # noqa: S105 - a public prefix, not a secret
_LAST_USED_GRANULARITY = dt.timedelta(minutes=1)


def hash_token(token: str) -> bytes:
    """SHA-256 of a token. Tokens carry 256 bits of randomness, so a fast hash is the right one."""
    return hashlib.sha256(token.encode()).digest()


class IssuedToken(msgspec.Struct, frozen=True):
    """A newly created token; ``token`` is the only time the secret exists in clear."""

    id: uuid.UUID
    token: str
    expires_at: dt.datetime | None
    scopes: tuple[str, ...]


def parse_scopes(scopes: list[str] | None) -> frozenset[str]:
    """Validate requested scopes; none requested means full access."""
    if not scopes:
        return FULL_ACCESS
    unknown = sorted(set(scopes) - KNOWN_SCOPES)
    if unknown:
        raise BadRequest(
            f"Unknown scope(s): {', '.join(unknown)}. Use: {', '.join(sorted(KNOWN_SCOPES))}.",
            code="unknown_scope",
        )
    return frozenset(scopes)


async def issue_token(
    session: AsyncSession,
    account: Account,
    *,
    name: str = "",
    scopes: list[str] | None = None,
    expires_in_days: int | None = 90,
    now: dt.datetime | None = None,
) -> IssuedToken:
    """Create a personal token for ``account``; the caller shows ``token`` once."""
    granted = parse_scopes(scopes)
    if expires_in_days is not None and not 1 <= expires_in_days <= 3650:
        raise BadRequest("--expires-in must be between 1 and 3650 days.", code="bad_expiry")
    now = now or dt.datetime.now(dt.UTC)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires_at = now + dt.timedelta(days=expires_in_days) if expires_in_days else None
    row = ApiToken(
        id=uuid.uuid4(),
        account_id=account.id,
        name=name,
        token_hash=hash_token(secret),
        prefix=secret[: len(TOKEN_PREFIX) + 6],
        scopes=sorted(granted),
        expires_at=expires_at,
    )
    session.add(row)
    await session.flush()
    return IssuedToken(id=row.id, token=secret, expires_at=expires_at, scopes=tuple(sorted(granted)))


async def revoke_token(session: AsyncSession, token_id: uuid.UUID, *, now: dt.datetime | None = None) -> ApiToken:
    """Revoke a token by id (idempotent); raise NotFound for an unknown id."""
    row = await session.get(ApiToken, token_id)
    if row is None:
        raise NotFound(f"No token has id {token_id}.", code="token_not_found")
    if row.revoked_at is None:
        row.revoked_at = now or dt.datetime.now(dt.UTC)
    await session.flush()
    return row


_BY_HASH = (
    select(
        ApiToken.id,
        ApiToken.scopes,
        ApiToken.expires_at,
        ApiToken.revoked_at,
        ApiToken.last_used_at,
        Account.id,
        Account.is_operator,
        Account.is_active,
    )
    .join(Account, Account.id == ApiToken.account_id)
    .where(ApiToken.token_hash == bindparam("token_hash"))
)
"""Built once: constructing the statement on every request cost more CPU than running it."""


async def resolve_personal_token(session: AsyncSession, token: str) -> Principal | None:
    """The principal a personal token stands for, or None if it is unknown, expired or revoked."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    now = dt.datetime.now(dt.UTC)
    row = (await session.execute(_BY_HASH, {"token_hash": hash_token(token)})).one_or_none()
    if row is None:
        return None
    token_id, scopes, expires_at, revoked_at, last_used_at, account_id, is_operator, is_active = row
    if revoked_at is not None or not is_active or (expires_at is not None and expires_at <= now):
        return None
    # Record use at one-minute granularity: a busy client must not turn every read into a write.
    if last_used_at is None or now - last_used_at > _LAST_USED_GRANULARITY:
        await session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))
    return Principal(
        account_id=account_id,
        is_operator=is_operator,
        scopes=frozenset(scopes),
        via="personal_token",
        token_id=token_id,
    )
