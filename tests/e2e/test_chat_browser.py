"""Chat people can live in, in a real browser: unread counts on the home page, names, safe
clickable links, scrolling back through history, edit and delete by the author, delete and mute
by a facilitator."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.accounts.passwords import hash_password
from services.chat import repository
from tests.factories import add_member, add_space_member, make_account, make_network, make_space

pytestmark = pytest.mark.slow
PASSWORD = "a long enough password"
NASTY = 'look <img src=x onerror="window.pwned=1"> at https://example.org/guide?x=1. not javascript:alert(1)'


async def sign_in(page: Page, base: str, email: str, next_path: str) -> None:
    await page.goto(f"{base}/auth/login?next={next_path}")
    await page.get_by_label("E-mail address").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{base}{next_path}")


async def test_member_scrolls_back_edits_and_is_muted(
    served: str, db_session: AsyncSession, engine: AsyncEngine, browser
) -> None:
    network = await make_network(db_session, slug="naesp", name="NAESP")
    space = await make_space(db_session, network, name="New principals", kind="role")
    space.description = "Our agenda: https://example.org/agenda and <b>no markup</b>"
    fran = await make_account(
        db_session, email="fran@naesp.example", name="Fran Facil", password_hash=hash_password(PASSWORD)
    )
    max_ = await make_account(
        db_session, email="max@naesp.example", name="Max Member", password_hash=hash_password(PASSWORD)
    )
    for account in (fran, max_):
        await add_member(db_session, network, account)
    await add_space_member(db_session, space, fran, role="facilitator")
    await add_space_member(db_session, space, max_)
    await db_session.commit()
    space_id, fran_id, max_id = space.id, fran.id, max_.id
    async with engine.begin() as conn:
        for i in range(1, 81):
            await repository.append(conn, space_id, max_id, f"old{i}", f"old message {i}", members_may_post=True)
        await repository.append(conn, space_id, fran_id, "nasty", NASTY, members_may_post=True)
        for i in range(1, 3):
            await repository.append(conn, space_id, fran_id, f"f{i}", f"from Fran {i}", members_may_post=True)
    errors: list[str] = []

    member = await (await browser.new_context()).new_page()
    member.on("pageerror", lambda e: errors.append(str(e)))
    member.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    await sign_in(member, served, "max@naesp.example", "/")
    # Home: three messages by others are unread (his own never count).
    item = member.get_by_role("listitem").filter(has_text="New principals")
    await expect(item.locator(".badge.unread")).to_have_text("3 new")

    await item.get_by_role("link", name="New principals").click()
    log = member.locator(".chat .log")
    await expect(log).to_contain_text("from Fran 2")
    # Names, and links made safely: the URL is a link, the markup is text, javascript: is not a link.
    await expect(log.locator(".msg", has_text="from Fran 1").locator(".who")).to_have_text("Fran Facil")
    link = log.get_by_role("link", name="https://example.org/guide?x=1")
    await expect(link).to_have_attribute("href", "https://example.org/guide?x=1")
    await expect(link).to_have_attribute("rel", "noopener noreferrer")
    await expect(log).to_contain_text('<img src=x onerror="window.pwned=1">')
    assert await log.locator("img").count() == 0
    assert await log.locator("a[href^='javascript']").count() == 0
    assert await member.evaluate("window.pwned === undefined")
    description = member.locator("p.description")
    await expect(description.get_by_role("link", name="https://example.org/agenda")).to_have_attribute(
        "rel", "noopener noreferrer"
    )
    await expect(description).to_contain_text("<b>no markup</b>")
    # Only the newest 50 are loaded; scrolling up brings the rest, page by page.
    await expect(log.locator(".msg")).to_have_count(50)
    await expect(log).not_to_contain_text("old message 20")
    await expect(log.get_by_role("button", name="Load earlier messages")).to_be_visible()
    await log.evaluate("node => { node.scrollTop = 0; }")  # the reader scrolls to the top
    await expect(log.locator(".msg").first).to_contain_text("old message 1")
    await expect(log.locator(".msg")).to_have_count(83)
    await expect(log.get_by_role("button", name="Load earlier messages")).to_be_hidden()

    # The facilitator is on the page too.
    facilitator = await (await browser.new_context()).new_page()
    facilitator.on("pageerror", lambda e: errors.append(str(e)))
    await sign_in(facilitator, served, "fran@naesp.example", f"/spaces/{space_id}")
    flog = facilitator.locator(".chat .log")
    await expect(facilitator.locator(".chat .status")).to_contain_text("Connected")

    # Max edits his own message; both pages show the new text, marked edited.
    own = log.locator(".msg", has_text="old message 80")
    await own.get_by_role("button", name="Edit").click()
    await member.get_by_role("textbox", name="Edit message").fill("old message 80, corrected")
    await member.get_by_role("button", name="Save").click()
    await expect(log.locator(".msg", has_text="old message 80, corrected")).to_contain_text("(edited)")
    await expect(flog.locator(".msg", has_text="old message 80, corrected")).to_contain_text("(edited)")
    # Only his own messages have an Edit button.
    assert await log.locator(".msg", has_text="from Fran 1").get_by_role("button", name="Edit").count() == 0

    # Max deletes one of his messages; Fran deletes another of his as a facilitator.
    member.once("dialog", lambda d: d.accept())
    await log.locator(".msg", has_text="old message 79").get_by_role("button", name="Delete").click()
    await expect(flog.locator(".msg.deleted")).to_have_count(1)
    facilitator.once("dialog", lambda d: d.accept())
    await flog.locator(".msg", has_text="old message 78").get_by_role("button", name="Delete").click()
    await expect(log.locator(".msg.deleted")).to_have_count(2)

    # Fran mutes Max from one of his messages; Max still reads but his next message is refused.
    facilitator.once("dialog", lambda d: d.accept())
    await flog.locator(".msg", has_text="old message 77").get_by_role("button", name="Mute").click()
    await expect(facilitator.locator(".chat .status")).to_contain_text("Max Member is muted here.")
    await member.get_by_role("textbox", name="Message").fill("can I still talk?")
    await member.get_by_role("textbox", name="Message").press("Enter")
    await expect(member.locator(".chat .status")).to_contain_text("muted you")
    await expect(member.get_by_role("textbox", name="Message")).to_be_disabled()
    await facilitator.get_by_role("textbox", name="Message").fill("Reading is still fine")
    await facilitator.get_by_role("textbox", name="Message").press("Enter")
    await expect(log).to_contain_text("Reading is still fine")
    await expect(flog).not_to_contain_text("can I still talk?")

    await member.reload()  # the page knows at once after a reload
    await expect(member.get_by_role("textbox", name="Message")).to_be_disabled()
    await expect(member.locator(".chat .log")).to_contain_text("Reading is still fine")
    # Having read the room, Max's home page shows nothing unread; a new message shows up as 1 new.
    await member.wait_for_timeout(1500)  # the read marker goes out a second after the last message
    await member.goto(f"{served}/")
    item = member.get_by_role("listitem").filter(has_text="New principals")
    await expect(item.get_by_role("link", name="New principals")).to_be_visible()
    assert await item.locator(".badge.unread").count() == 0
    await facilitator.get_by_role("textbox", name="Message").fill("One more thing")
    await facilitator.get_by_role("textbox", name="Message").press("Enter")
    await expect(flog).to_contain_text("One more thing")
    await member.reload()
    await expect(
        member.get_by_role("listitem").filter(has_text="New principals").locator(".badge.unread")
    ).to_have_text("1 new")
    assert not errors, errors
