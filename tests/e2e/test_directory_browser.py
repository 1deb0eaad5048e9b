"""In a real browser, signed out: the public directory page renders the network's public spaces
and contains no member data; an admin turns it on from the network page."""

from __future__ import annotations

import pytest
from playwright.async_api import expect
from sqlalchemy.ext.asyncio import AsyncSession

from services.accounts.passwords import hash_password
from tests.e2e.test_web_ui_browser import PASSWORD, sign_in
from tests.factories import add_member, add_space_member, make_account, make_network, make_space

pytestmark = pytest.mark.slow


async def test_admin_publishes_and_a_signed_out_browser_sees_no_member_data(
    served: str, db_session: AsyncSession, browser
) -> None:
    network = await make_network(db_session, slug="kent-sd", name="Kent School District")
    admin = await make_account(
        db_session, email="dana@kent.example", name="Dana Admin", password_hash=hash_password(PASSWORD)
    )
    member = await make_account(db_session, email="zora@kent.example", name="Zora Secretmember")
    await add_member(db_session, network, admin, "admin")
    await add_member(db_session, network, member)
    space = await make_space(db_session, network, name="Black educators", kind="identity", join_mode="request")
    space.description = "Monthly circle for Black staff."
    await make_space(db_session, network, name="Invite only circle", join_mode="invite")
    await add_space_member(db_session, space, member)
    await db_session.commit()
    errors: list[str] = []

    admin_page = await (await browser.new_context()).new_page()
    admin_page.on("pageerror", lambda e: errors.append(str(e)))
    await sign_in(admin_page, served, "dana@kent.example", "/networks/kent-sd")
    await admin_page.get_by_role("button", name="Turn the public directory on").click()
    await expect(admin_page.get_by_text("The public directory is on")).to_be_visible()
    await admin_page.get_by_label("Show Black educators publicly").check()
    await expect(admin_page.locator("#public-directory-admin .alert")).to_have_text("Saved.")
    # The members' directory: an invite-only space offers no Join button.
    await expect(admin_page.locator("#find-a-group").get_by_text("By invitation only")).to_be_visible()
    assert await admin_page.locator("#find-a-group").get_by_role("button", name="Join: Invite only circle").count() == 0

    anon = await (await browser.new_context()).new_page()
    anon.on("pageerror", lambda e: errors.append(str(e)))
    await anon.goto(served + "/directory/kent-sd")
    await expect(anon.get_by_role("heading", name="Black educators")).to_be_visible()
    html = await anon.content()
    assert "Monthly circle for Black staff." in html and "ask to join" in html
    assert "Invite only circle" not in html  # not ticked for the public directory
    for private in ("Zora", "zora@kent.example", str(member.id), "Dana", "dana@kent.example"):
        assert private not in html
    await anon.goto(served + "/directory/kent-sd/qr.svg")
    assert errors == []
