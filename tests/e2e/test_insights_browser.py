"""The demo network's insights page in headless Chromium: charts render (server-drawn SVG
images), tables show every figure below 10 as "fewer than 10", and the CSV link is there."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect
from sqlalchemy.ext.asyncio import AsyncSession

from services.demo import DEMO_PASSWORD, load_demo

pytestmark = pytest.mark.slow


async def test_demo_insights_page(served: str, db_session: AsyncSession, browser) -> None:
    await load_demo(db_session)
    await db_session.commit()
    errors: list[str] = []
    page = await (await browser.new_context()).new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.goto(f"{served}/auth/login?next=/networks/alas/insights")
    await page.get_by_label("E-mail address").fill("admin@demo.affinity.test")
    await page.get_by_label("Password").fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Insights", exact=True)).to_be_visible()
    await expect(page.locator("section.metric")).to_have_count(8)
    charts = page.locator("img.chart")
    await expect(charts).to_have_count(16)
    # Every chart loaded and drew something (an SVG that failed would have no natural size).
    for i in range(await charts.count()):
        chart = charts.nth(i)
        for _ in range(300):  # the page's CSP forbids eval, so poll from here
            if await chart.evaluate("img => img.complete && img.naturalWidth > 0"):
                break
            await page.wait_for_timeout(200)
        else:
            raise AssertionError(f"chart did not load: {await chart.get_attribute('src')}")
    # Every table cell is either a figure of 10 or more, or "fewer than 10".
    cells = await page.locator("section.metric td").all_inner_texts()
    assert cells, "no figures shown"
    for text in cells:
        assert text == "fewer than 10" or (text.isdigit() and int(text) >= 10), text
    # The demo's ALAS spaces are small: its member figures are all hidden.
    members = page.locator("#metric-members td")
    assert set(await members.all_inner_texts()) == {"fewer than 10"}
    await expect(page.get_by_role("link", name="Download as CSV")).to_have_attribute(
        "href", re.compile(r"export\.csv$")
    )
    assert not errors, errors
