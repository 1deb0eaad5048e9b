"""In a real browser: a person with no account opens the invitation e-mail's link (captured by a
real SMTP server), sets a password and lands in the space; a member accepts from the home page."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator

import httpx
import msgspec
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from services.accounts.passwords import hash_password
from services.settings import Settings
from tests.factories import add_facilitators, add_member, make_account, make_network, make_space, make_token
from tests.services.mailserver import Mailbox, smtp_server

pytestmark = pytest.mark.slow


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with smtp_server() as box:
        yield box


@pytest.fixture
def settings(settings: Settings, mailbox: Mailbox) -> Settings:
    return msgspec.structs.replace(
        settings, smtp_host=mailbox.host, smtp_port=mailbox.port, smtp_security="none", mail_poll_seconds=0.2
    )


async def _world(db_session: AsyncSession) -> tuple[str, str, str]:
    net = await make_network(db_session, name="Kent School District")
    fac = await make_account(db_session, name="Fran Facilitator")
    member = await make_account(
        db_session, email="mia@kent.example.org", password_hash=hash_password("mia's long password")
    )
    await add_member(db_session, net, fac)
    await add_member(db_session, net, member)
    space = await make_space(
        db_session, net, name="Black Educators", join_mode="invite", settings={"membership.join_mode": "invite"}
    )
    await add_facilitators(db_session, space, fac)
    token = await make_token(db_session, fac)
    await db_session.commit()
    return str(space.id), token, member.email


async def test_invited_newcomer_sets_a_password_and_lands_in_the_space(
    served: str, db_session: AsyncSession, browser, mailbox: Mailbox
) -> None:
    space_id, token, _ = await _world(db_session)
    async with httpx.AsyncClient(base_url=served) as api:
        r = await api.post(
            f"/api/v1/spaces/{space_id}/email-invitations",
            json={"email": "nia@example.org"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert r.status_code == 201, r.text
    await asyncio.to_thread(mailbox.wait, 1)
    found = re.search(r"(http://\S+/invitations/\S+)", mailbox.to("nia@example.org")[0].get_content())
    assert found
    page = await browser.new_page()
    await page.goto(found.group(1))
    await page.get_by_label("Your name").fill("Nia New")
    await page.get_by_label("Choose a password").fill("nia's long password")
    await page.get_by_label("The same password again").fill("nia's long password")
    await page.get_by_role("button", name="Set password and join").click()
    await page.wait_for_url(f"{served}/spaces/{space_id}")
    await page.wait_for_selector("text=Black Educators")
    await page.goto(served + "/")
    await page.wait_for_selector("#page a[href='/spaces/" + space_id + "']")


async def test_a_member_accepts_from_the_home_page(served: str, db_session: AsyncSession, browser) -> None:
    space_id, token, email = await _world(db_session)
    async with httpx.AsyncClient(base_url=served) as api:
        r = await api.post(
            f"/api/v1/spaces/{space_id}/email-invitations",
            json={"email": email},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert r.status_code == 201, r.text
    page = await browser.new_page()
    await page.goto(served + "/auth/login?next=/")
    await page.get_by_label("E-mail address").fill(email)
    await page.get_by_label("Password").fill("mia's long password")
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(served + "/")
    await page.get_by_role("button", name="Join Black Educators").click()
    await page.wait_for_url(f"{served}/spaces/{space_id}")
