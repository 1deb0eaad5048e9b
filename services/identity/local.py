"""Local accounts: e-mail + argon2id password, with a pause after repeated failures.

Password checks are counted per e-mail address and per client address in a fixed window
(``AFFINITY_LOGIN_MAX_FAILURES`` per address, four times that per client address, within
``AFFINITY_LOGIN_FAILURE_WINDOW_MINUTES``). An attempt is counted *before* the password is
checked, in its own committed transaction (a conditional upsert under the row lock), so
concurrent attempts see each other and at most the limit of passwords are ever checked per
window. A correct password forgets the e-mail's count and gives the client address its attempt
back; a wrong one leaves it counted. While a key is at its limit, even a correct password is
refused without being checked, so guessing cannot continue in the background.
"""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from services.accounts.passwords import hash_password, needs_rehash, verify_password
from services.identity import repository
from services.identity.errors import SignInRefused
from services.persistence.models import Account
from services.settings import Settings

_DUMMY_HASH = hash_password("not-a-real-password-only-for-timing")


def _keys(email: str, client_ip: str) -> tuple[str, str]:
    return "email:" + email.strip().lower(), "ip:" + client_ip


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
    email_key, ip_key = _keys(email, client_ip)
    minutes = settings.login_failure_window_minutes
    admitted = await repository.reserve_login_attempt(
        session,
        {email_key: settings.login_max_failures, ip_key: settings.login_max_failures * 4},
        window=dt.timedelta(minutes=minutes),
        now=now,
    )
    if not admitted:
        raise SignInRefused(
            "Too many attempts",
            f"There have been too many failed sign-ins for this address. Wait {minutes} minutes and try again, "
            "or sign in through your network's provider.",
            reason=f"local sign-in throttled for {email_key} / {ip_key}",
            status=429,
        )
    account = await repository.account_by_email(session, email)
    stored = account.password_hash if account is not None and account.password_hash else None
    # argon2 takes tens of milliseconds of CPU: off the event loop, so other requests go on.
    ok = await asyncio.to_thread(verify_password, stored or _DUMMY_HASH, password) and stored is not None
    if not ok or account is None or not account.is_active:
        raise SignInRefused(
            "Wrong e-mail or password",
            "That e-mail address and password do not match an account here. Check them and try again; "
            "if your network has its own sign-in provider, use that button instead.",
            reason="local sign-in failed (unknown address, wrong password, no password set or inactive account)",
            status=401,
        )
    if stored is not None and needs_rehash(stored):
        account.password_hash = hash_password(password)
    await repository.release_login_attempt(session, forget=email_key, release=[ip_key])
    return account
