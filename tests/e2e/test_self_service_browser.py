"""In a real browser: a guest's home says which network hosts a shared space, the host network's
page gives one clear message, a sub-space's breadcrumb names its parent, and a member edits
their name and pronouns."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from playwright.async_api import expect
from sqlalchemy.ext.asyncio import AsyncSession

from services.accounts.passwords import hash_password
from services.persistence.models import Share
from tests.e2e.test_web_ui_browser import PASSWORD
from tests.factories import add_member, add_space_member, make_account, make_network, make_space

pytestmark = pytest.mark.slow


async def test_guest_home_breadcrumbs_and_profile(served: str, db_session: AsyncSession, browser) -> None:
    host = await make_network(db_session, slug="puget-esd", name="Puget ESD")
    guest_net = await make_network(db_session, slug="kent-sd", name="Kent School District")
    gia = await make_account(db_session, email="gia@kent.example", name="Gia", password_hash=hash_password(PASSWORD))
    await add_member(db_session, guest_net, gia)
    parent = await make_space(db_session, host, name="Regional circle", kind="role")
    child = await make_space(db_session, host, name="New principals", parent=parent, kind="role")
    db_session.add(
        Share(
            id=uuid.uuid4(),
            space_id=parent.id,
            host_network_id=host.id,
            guest_network_id=guest_net.id,
            status="active",
            include_subspaces=True,
            created_at=dt.datetime.now(dt.UTC),
            expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=14),
        )
    )
    await add_space_member(db_session, parent, gia)
    await add_space_member(db_session, child, gia)
    await db_session.commit()
    errors: list[str] = []
    page = await (await browser.new_context()).new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.goto(served + "/auth/login")  # no destination: after sign-in, My spaces
    await page.get_by_label("E-mail address").fill("gia@kent.example")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(served + "/")
    await expect(page.get_by_role("heading", name="My spaces")).to_be_visible()
    await expect(page.get_by_text("hosted by puget-esd").first).to_be_visible()

    await page.get_by_role("link", name="New principals").click()
    await expect(page.get_by_role("heading", name="New principals")).to_be_visible()
    await expect(page.locator("main p.small a", has_text="Regional circle")).to_be_visible()
    await page.get_by_role("link", name="Puget ESD").click()
    await expect(page.get_by_text("hosts spaces you take part in")).to_be_visible()
    assert await page.get_by_text("Network not found").count() == 0
    assert await page.get_by_role("alert").count() == 0

    await page.goto(served + "/")
    await page.get_by_text("Your name and pronouns").click()
    await page.get_by_label("Your name").fill("Gia Ramos")
    await page.get_by_label("Pronouns").fill("she/her")
    await page.get_by_role("button", name="Save").click()
    await expect(page.locator("#profile .alert")).to_have_text("Saved.")
    await page.reload()
    await expect(page.get_by_text("Signed in as Gia Ramos.")).to_be_visible()
    assert errors == []
