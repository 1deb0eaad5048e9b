"""Sharing in a real browser: a district offers a space to a neighbour, whose admin accepts it,
and the neighbour's member joins — each network stays independent."""

from __future__ import annotations

import pytest
from playwright.async_api import expect
from sqlalchemy.ext.asyncio import AsyncSession

from services.accounts.passwords import hash_password
from tests.e2e.test_web_ui_browser import PASSWORD, sign_in
from tests.factories import add_member, add_space_member, make_account, make_network, make_space

pytestmark = pytest.mark.slow


async def test_offer_accept_and_guest_joins(served: str, db_session: AsyncSession, browser) -> None:
    kent = await make_network(db_session, slug="kent-sd", name="Kent School District")
    westwood = await make_network(db_session, slug="westwood-sd", name="Westwood School District")
    kent_admin = await make_account(
        db_session, email="dana@kent.example", name="Dana", password_hash=hash_password(PASSWORD)
    )
    west_admin = await make_account(
        db_session, email="lee@westwood.example", name="Lee", password_hash=hash_password(PASSWORD)
    )
    guest = await make_account(
        db_session, email="kim@westwood.example", name="Kim Guest", password_hash=hash_password(PASSWORD)
    )
    await add_member(db_session, kent, kent_admin, "admin")
    await add_member(db_session, westwood, west_admin, "admin")
    await add_member(db_session, westwood, guest, "member")
    space = await make_space(db_session, kent, name="New Principals Circle", kind="role", join_mode="open")
    await add_space_member(db_session, space, kent_admin, role="facilitator")
    await db_session.commit()

    host = await (await browser.new_context()).new_page()
    await sign_in(host, served, "dana@kent.example", f"/spaces/{space.id}")
    await host.get_by_text("Share this space with another network").click()
    await host.get_by_label("Network to invite").select_option("westwood-sd")
    await host.get_by_role("button", name="Offer to share").click()
    await expect(host.get_by_text("Offer sent.")).to_be_visible()

    neighbour = await (await browser.new_context()).new_page()
    await sign_in(neighbour, served, "lee@westwood.example", "/networks/westwood-sd")
    offers = neighbour.locator("#shares")
    await expect(offers).to_contain_text("New Principals Circle")
    await expect(offers).to_contain_text("offered by kent-sd")
    await offers.get_by_role("button", name="Accept").click()
    await expect(neighbour.get_by_text("Accepted")).to_be_visible()

    member = await (await browser.new_context()).new_page()
    await sign_in(member, served, "kim@westwood.example", f"/spaces/{space.id}")
    await member.get_by_role("button", name="Join this space").click()
    await expect(member.get_by_role("button", name="Leave this space")).to_be_visible()
    await expect(member.locator("#members")).to_contain_text("Kim Guest")
