"""Local accounts: e-mail + argon2id password, with a pause after repeated failures.

Failures are counted per e-mail address and per client address in a fixed window
(``AFFINITY_LOGIN_MAX_FAILURES`` per address, four times that per client address, within
``AFFINITY_LOGIN_FAILURE_WINDOW_MINUTES``). While a key is over its limit, even a correct
password is refused, so guessing cannot continue in the background.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import case, delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.accounts.passwords import hash_password, needs_rehash, verify_password
from services.identity.errors import SignInRefused
from services.persistence.models import Account
from services.persistence.models.identity import LoginThrottle
from services.settings import Settings

_DUMMY_HASH = hash_password("not-a-real-password-only-for-timing")


def _keys(email: str, client_ip: str) -> tuple[str, str]:
    return "email:" + email.strip().lower(), "ip:" + client_ip


async def _over_limit(session: AsyncSession, settings: Settings, keys: tuple[str, str], now: dt.datetime) -> bool:
    window_start = now - dt.timedelta(minutes=settings.login_failure_window_minutes)
    rows = await session.execute(
        select(LoginThrottle.key, LoginThrottle.failures).where(
            LoginThrottle.key.in_(keys), LoginThrottle.window_start > window_start
        )
    )
    limits = {keys[0]: settings.login_max_failures, keys[1]: settings.login_max_failures * 4}
    return any(failures >= limits[key] for key, failures in rows)


async def _record_failure(session: AsyncSession, settings: Settings, keys: tuple[str, str], now: dt.datetime) -> None:
    cutoff = now - dt.timedelta(minutes=settings.login_failure_window_minutes)
    for key in keys:
        stmt = insert(LoginThrottle).values(key=key, failures=1, window_start=now)
        stale = LoginThrottle.window_start <= cutoff
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=[LoginThrottle.key],
                set_={
                    "failures": case((stale, 1), else_=LoginThrottle.failures + 1),
                    "window_start": case((stale, now), else_=LoginThrottle.window_start),
                },
            )
        )


async def sign_in(
    session: AsyncSession,
    settings: Settings,
    email: str,
    password: str,
    client_ip: str,
    *,
    now: dt.datetime | None = None,
) -> Account:
    """The account for a correct e-mail and password, or :class:`SignInRefused`."""
    now = now or dt.datetime.now(dt.UTC)
    keys = _keys(email, client_ip)
    minutes = settings.login_failure_window_minutes
    if await _over_limit(session, settings, keys, now):
        raise SignInRefused(
            "Too many attempts",
            f"There have been too many failed sign-ins for this address. Wait {minutes} minutes and try again, "
            "or sign in through your network's provider.",
            reason=f"local sign-in throttled for {keys[0]} / {keys[1]}",
            status=429,
        )
    account = await session.scalar(select(Account).where(func.lower(Account.email) == email.strip().lower()))
    stored = account.password_hash if account is not None and account.password_hash else None
    ok = verify_password(stored or _DUMMY_HASH, password) and stored is not None
    if not ok or account is None or not account.is_active:
        await _record_failure(session, settings, keys, now)
        raise SignInRefused(
            "Wrong e-mail or password",
            "That e-mail address and password do not match an account here. Check them and try again; "
            "if your network has its own sign-in provider, use that button instead.",
            reason="local sign-in failed (unknown address, wrong password, no password set or inactive account)",
            status=401,
        )
    if stored is not None and needs_rehash(stored):
        account.password_hash = hash_password(password)
    await session.execute(delete(LoginThrottle).where(LoginThrottle.key == keys[0]))
    return account
