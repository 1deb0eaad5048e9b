"""The web UI in a real browser: an admin sets a basic structure, creates a space, is refused a
loosening with the rule named; a member joins and the two chat in real time."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect
from sqlalchemy.ext.asyncio import AsyncSession

from services.accounts.passwords import hash_password
from tests.factories import add_member, make_account, make_network

pytestmark = pytest.mark.slow
PASSWORD = "a long enough password"


async def sign_in(page: Page, base: str, email: str, next_path: str) -> None:
    await page.goto(f"{base}{next_path}")
    assert "/auth/login" in page.url  # signed-out visitors are sent to sign in, then back
    await page.get_by_label("E-mail address").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{base}{next_path}")


async def test_admin_sets_structure_member_joins_and_they_chat(served: str, db_session: AsyncSession, browser) -> None:
    network = await make_network(db_session, slug="kent-sd", name="Kent School District")
    admin = await make_account(
        db_session, email="dana@kent.example", name="Dana Admin", password_hash=hash_password(PASSWORD)
    )
    member = await make_account(
        db_session, email="sam@kent.example", name="Sam Member", password_hash=hash_password(PASSWORD)
    )
    await add_member(db_session, network, admin, "admin")
    await add_member(db_session, network, member, "member")
    await db_session.commit()
    errors: list[str] = []

    admin_page = await (await browser.new_context()).new_page()
    admin_page.on("pageerror", lambda e: errors.append(str(e)))
    admin_page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    await sign_in(admin_page, served, "dana@kent.example", "/networks/kent-sd")
    await expect(admin_page.get_by_role("heading", name="Kent School District")).to_be_visible()

    # A template built from plain-language rules, applied after a dry run.
    await admin_page.get_by_text("New template").click()
    await admin_page.get_by_label("Template name").fill("Kent basics")
    await admin_page.get_by_label("Virtual meetings a year", exact=True).check()
    await admin_page.get_by_label("Virtual meetings a year: at least").fill("3")
    await admin_page.get_by_role("button", name="Create template").click()
    await expect(admin_page.get_by_text("Template created")).to_be_visible()
    await admin_page.wait_for_load_state("networkidle")
    admin_page.once("dialog", lambda d: d.accept())
    await admin_page.get_by_role("button", name="Apply to the whole network…").click()
    await expect(admin_page.get_by_text("Template applied.")).to_be_visible()
    await admin_page.wait_for_load_state("networkidle")
    await expect(admin_page.get_by_role("button", name="Applied to the whole network")).to_be_disabled()

    # A space, created without restating the network's rules.
    if not await admin_page.get_by_label("Space name").is_visible():
        await admin_page.get_by_text("Create a space").click()
    await admin_page.get_by_label("Space name").fill("BIPOC Educators")
    await admin_page.get_by_label("How people join this space").select_option("open")
    await admin_page.get_by_role("button", name="Create space").click()
    await admin_page.wait_for_url(re.compile(r".*/spaces/[0-9a-f-]{36}$"))
    space_url = admin_page.url
    await expect(admin_page.get_by_role("heading", name="BIPOC Educators")).to_be_visible()
    await expect(admin_page.get_by_text("set by template “Kent basics” v1").first).to_be_visible()

    # Loosening is refused, and the refusal names the rule and who set it.
    await admin_page.get_by_text("Change settings").click()
    await admin_page.locator("#set-meetings\\.virtual_per_year").fill("1")
    await admin_page.get_by_role("button", name="Save settings").click()
    alert = admin_page.get_by_role("alert")
    await expect(alert).to_contain_text("Kent basics")
    await expect(alert).to_contain_text("meetings.virtual_per_year")

    # Chat: the facilitator posts; a member joins and sees it; replies arrive live.
    chat_input = admin_page.get_by_role("textbox", name="Message")
    await expect(admin_page.locator(".chat .status")).to_contain_text("Connected")
    await chat_input.fill("Welcome, everyone")
    await chat_input.press("Enter")
    await expect(admin_page.locator(".chat .log")).to_contain_text("Welcome, everyone")

    member_page = await (await browser.new_context()).new_page()
    member_page.on("pageerror", lambda e: errors.append(str(e)))
    await sign_in(member_page, served, "sam@kent.example", space_url.removeprefix(served))
    await member_page.get_by_role("button", name="Join this space").click()
    await expect(member_page.get_by_role("button", name="Leave this space")).to_be_visible()
    await expect(member_page.locator(".chat .log")).to_contain_text("Welcome, everyone")
    await expect(member_page.locator(".chat .log")).to_contain_text("Dana Admin")
    await member_page.get_by_role("textbox", name="Message").fill("Glad to be here")
    await member_page.get_by_role("textbox", name="Message").press("Enter")
    await expect(admin_page.locator(".chat .log")).to_contain_text("Glad to be here")

    # The refused PATCH above is logged by the browser as a failed 422 load; anything else is a defect.
    assert not [e for e in errors if "status of 422" not in e], errors
