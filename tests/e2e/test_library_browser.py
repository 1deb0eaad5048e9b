"""The resource library in a real browser: a facilitator shares and pins a link and uploads a PDF
(with a progress bar); a member finds both by search, opens the link safely and downloads the
PDF; a signed-out visitor sees only what a network made public."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import expect
from sqlalchemy.ext.asyncio import AsyncSession

from services.accounts.passwords import hash_password
from tests.e2e.test_web_ui_browser import PASSWORD, sign_in
from tests.factories import add_facilitators, add_member, add_space_member, make_account, make_network, make_space

pytestmark = pytest.mark.slow

PDF = b"%PDF-1.4\n% retention\n" + b"0" * (3 * 1024 * 1024) + b"\n%%EOF\n"  # 3 MiB: several progress events


async def test_facilitator_shares_member_finds_and_downloads(
    served: str, db_session: AsyncSession, browser, tmp_path: Path
) -> None:
    network = await make_network(db_session, slug="kent", name="Kent School District")
    fac = await make_account(
        db_session, email="maria@kent.example", name="María", password_hash=hash_password(PASSWORD)
    )
    member = await make_account(db_session, email="ana@kent.example", name="Ana", password_hash=hash_password(PASSWORD))
    admin = await make_account(
        db_session, email="dana@kent.example", name="Dana", password_hash=hash_password(PASSWORD)
    )
    for who in (fac, member):
        await add_member(db_session, network, who, "member")
    await add_member(db_session, network, admin, "admin")
    space = await make_space(db_session, network, name="BIPOC staff")
    await add_facilitators(db_session, space, fac)
    await add_space_member(db_session, space, member)
    await db_session.commit()
    pdf = tmp_path / "Retention plan.pdf"
    pdf.write_bytes(PDF)
    errors: list[str] = []

    page = await (await browser.new_context()).new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    await sign_in(page, served, "maria@kent.example", f"/spaces/{space.id}")
    library = page.locator("#library")
    await expect(library.get_by_text("Nothing here yet.")).to_be_visible()
    await library.get_by_text("Add to the library").click()
    await page.locator("#link-title").fill("Mentoring <img src=x onerror=alert(1)> toolkit")
    await page.locator("#link-url").fill("https://example.org/toolkit")
    await page.locator("#link-tags").fill("mentoring, year-1")
    await library.get_by_role("button", name="Share link").click()
    await expect(library.get_by_text("Link shared.")).to_be_visible()
    item = library.locator("li.resource", has_text="Mentoring")
    await item.get_by_role("button", name="Pin").click()
    await expect(item.get_by_text("Pinned")).to_be_visible()
    await page.locator("#file-input").set_input_files(str(pdf))
    await page.locator("#file-title").fill("Retention plan 2027")
    await library.get_by_role("button", name="Upload").click()
    await expect(library.get_by_text("File uploaded.")).to_be_visible(timeout=20_000)
    assert await page.locator("#upload-progress").evaluate("p => p.value") == 100  # set only by progress events
    await expect(library.locator("li.resource").first).to_contain_text("Mentoring")  # pinned first

    other = await (await browser.new_context(accept_downloads=True)).new_page()
    other.on("pageerror", lambda e: errors.append(str(e)))
    await sign_in(other, served, "ana@kent.example", f"/spaces/{space.id}")
    shelf = other.locator("#library")
    link = shelf.get_by_role("link", name="Mentoring <img src=x onerror=alert(1)> toolkit")  # text, not markup
    await expect(link).to_have_attribute("rel", "noopener noreferrer")
    await expect(link).to_have_attribute("href", "https://example.org/toolkit")
    await expect(shelf.get_by_role("button", name="Pin")).to_have_count(0)  # members do not pin
    await other.locator("#library-search").fill("retention")
    await shelf.get_by_role("button", name="Search").click()
    hit = shelf.locator("ol.search-results li").first
    await expect(hit.locator("mark").first).to_have_text("Retention")
    async with other.expect_download() as info:
        await hit.get_by_role("link", name="Retention plan 2027").click()
    download = await info.value
    assert download.suggested_filename == "Retention plan.pdf"
    assert Path(await download.path()).read_bytes() == PDF  # noqa: ASYNC240

    # The network library: the admin publishes a link; a signed-out visitor sees only that.
    admin_page = await (await browser.new_context()).new_page()
    admin_page.on("pageerror", lambda e: errors.append(str(e)))
    await sign_in(admin_page, served, "dana@kent.example", "/networks/kent")
    await admin_page.get_by_role("link", name="Resource library").click()
    await admin_page.wait_for_url(f"{served}/networks/kent/library")
    shelf = admin_page.locator("#library")
    await shelf.get_by_text("Add to the library").click()
    for title, public in (("Welcome to Kent's affinity groups", True), ("Facilitator handbook", False)):
        await admin_page.locator("#link-title").fill(title)
        await admin_page.locator("#link-url").fill("https://kent.example/" + title.split()[0].lower())
        if public:
            await admin_page.locator("#link-public").check()
        await shelf.get_by_role("button", name="Share link").click()
        await expect(shelf.locator("li.resource", has_text=title)).to_be_visible()
    visitor = await (await browser.new_context()).new_page()
    visitor.on("pageerror", lambda e: errors.append(str(e)))
    await visitor.goto(f"{served}/networks/kent/library")
    await expect(visitor.get_by_role("link", name="Welcome to Kent's affinity groups")).to_be_visible()
    await expect(visitor.get_by_text("Facilitator handbook")).to_have_count(0)
    await expect(visitor.get_by_text("Add to the library")).to_have_count(0)
    assert not errors, errors
