"""Members edit their own name and pronouns; signing in without a destination lands on My spaces."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.identity.broker import safe_next
from services.persistence.models import Account, AuditEvent
from tests.factories import bearer, make_account, make_token


async def test_edit_own_name_and_pronouns(client, db_session: AsyncSession) -> None:
    ana = await make_account(db_session, name="Ana")
    h = bearer(await make_token(db_session, ana))
    await db_session.commit()
    r = await client.patch("/api/v1/me", json={"display_name": "  Ana María ", "pronouns": "she/ella"}, headers=h)
    assert r.status_code == 200, r.text
    assert (r.json()["display_name"], r.json()["pronouns"]) == ("Ana María", "she/ella")
    r = await client.patch("/api/v1/me", json={"pronouns": None}, headers=h)
    assert r.json()["display_name"] == "Ana María" and r.json()["pronouns"] is None
    assert await db_session.scalar(select(AuditEvent.action).limit(1)) == "account.profile.update"


async def test_bad_profile_input_changes_nothing(client, db_session: AsyncSession) -> None:
    ana = await make_account(db_session, name="Ana")
    h = bearer(await make_token(db_session, ana))
    await db_session.commit()
    r = await client.patch("/api/v1/me", json={"display_name": "   "}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "display_name"
    r = await client.patch("/api/v1/me", json={"pronouns": "x" * 61}, headers=h)
    assert r.status_code in {400, 422}
    r = await client.patch("/api/v1/me", json={"email": "new@example.org"}, headers=h)
    assert r.status_code in {400, 422}
    assert (await client.patch("/api/v1/me", json={"display_name": "X"})).status_code == 401
    assert await db_session.scalar(select(Account.display_name).where(Account.id == ana.id)) == "Ana"


def test_after_sign_in_people_land_on_my_spaces() -> None:
    assert safe_next(None) == "/"
    assert safe_next("https://evil.example/") == "/"
    assert safe_next("/spaces/123") == "/spaces/123"
