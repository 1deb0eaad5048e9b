"""Our provider's id_token signing keys: persisted, rotated, old keys published for a grace period.

Keys are RSA 2048 / RS256 (the algorithm every OIDC client library supports). The private half
is stored sealed with a key derived from AFFINITY_SECRET_KEY; if that secret changes, the old
keys cannot be opened and a new key is made (clients refetch JWKS on an unknown ``kid``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from cryptography.exceptions import InvalidTag
from joserfc.jwk import RSAKey
from sqlalchemy import or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.identity.crypto import new_secret, seal, unseal
from services.persistence.models.identity import SigningKey
from services.settings import Settings

log = logging.getLogger("affinity.identity.keys")

ALG = "RS256"
_PURPOSE = "oidc-signing-key"
_LOCK_ID = 0x1D3471  # advisory lock serialising key creation across processes


async def _create_key(session: AsyncSession, settings: Settings, now: dt.datetime) -> tuple[SigningKey, RSAKey]:
    kid = new_secret(nbytes=12)
    key = RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": ALG}, private=True)
    row = SigningKey(
        kid=kid,
        alg=ALG,
        private_jwk_enc=seal(settings.secret_key, json.dumps(key.as_dict(private=True)), _PURPOSE),
        public_jwk=dict(key.as_dict(private=False)),
        created_at=now,
    )
    session.add(row)
    await session.flush()
    log.info("signing key created kid=%s", kid)
    return row, key


def _open(settings: Settings, row: SigningKey) -> RSAKey | None:
    try:
        return RSAKey.import_key(json.loads(unseal(settings.secret_key, row.private_jwk_enc, _PURPOSE)))
    except (InvalidTag, ValueError):
        return None


async def current_key(session: AsyncSession, settings: Settings, *, now: dt.datetime | None = None) -> RSAKey:
    """The key to sign with now; creates the first key, or rotates one older than the setting."""
    now = now or dt.datetime.now(dt.UTC)
    rotate_after = dt.timedelta(days=settings.signing_key_rotate_days)
    row = await session.scalar(
        select(SigningKey).where(SigningKey.retired_at.is_(None)).order_by(SigningKey.created_at.desc()).limit(1)
    )
    if row is not None and now - row.created_at < rotate_after:
        key = _open(settings, row)
        if key is not None:
            return key
    await session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
    # Someone may have rotated while we waited for the lock: look again.
    row = await session.scalar(
        select(SigningKey).where(SigningKey.retired_at.is_(None)).order_by(SigningKey.created_at.desc()).limit(1)
    )
    if row is not None and now - row.created_at < rotate_after:
        key = _open(settings, row)
        if key is not None:
            return key
    await session.execute(update(SigningKey).where(SigningKey.retired_at.is_(None)).values(retired_at=now))
    _, key = await _create_key(session, settings, now)
    return key


async def rotate(session: AsyncSession, settings: Settings, *, now: dt.datetime | None = None) -> str:
    """Retire the current key now and make a new one; return the new ``kid``."""
    now = now or dt.datetime.now(dt.UTC)
    await session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
    await session.execute(update(SigningKey).where(SigningKey.retired_at.is_(None)).values(retired_at=now))
    row, _ = await _create_key(session, settings, now)
    return row.kid


async def published_keys(
    session: AsyncSession, settings: Settings, *, now: dt.datetime | None = None
) -> list[dict[str, Any]]:
    """Public JWKs to publish: the current key and keys retired less than the grace period ago."""
    now = now or dt.datetime.now(dt.UTC)
    await current_key(session, settings, now=now)
    horizon = now - dt.timedelta(days=settings.signing_key_grace_days)
    rows = await session.scalars(
        select(SigningKey)
        .where(or_(SigningKey.retired_at.is_(None), SigningKey.retired_at > horizon))
        .order_by(SigningKey.created_at.desc())
    )
    return [dict(r.public_jwk) for r in rows]
