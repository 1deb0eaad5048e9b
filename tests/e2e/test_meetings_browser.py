"""Meetings on the space page in a real browser: a facilitator schedules one (refused while the
agenda lacks a required component, with the template named), a member sees it with its agenda."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from playwright.async_api import expect
from sqlalchemy.ext.asyncio import AsyncSession

from services.accounts.passwords import hash_password
from services.persistence.models import Meeting
from tests.e2e.test_web_ui_browser import PASSWORD, sign_in
from tests.factories import (
    add_facilitators,
    add_member,
    add_space_member,
    make_account,
    make_network,
    make_space,
    make_template,
)

pytestmark = pytest.mark.slow


async def test_facilitator_schedules_member_sees_it(served: str, db_session: AsyncSession, browser) -> None:
    network = await make_network(db_session, slug="alas", name="ALAS")
    await make_template(
        db_session,
        network,
        {"sessions.required_components": {"required": ["quote", "story", "reflection"]}},
        name="ALAS basic structure",
        attach_to=network,
    )
    fac = await make_account(
        db_session, email="maria@alas.example", name="María", password_hash=hash_password(PASSWORD)
    )
    member = await make_account(db_session, email="ana@alas.example", name="Ana", password_hash=hash_password(PASSWORD))
    for who in (fac, member):
        await add_member(db_session, network, who, "member")
    space = await make_space(db_session, network, name="Latina Principals")
    await add_facilitators(db_session, space, fac)
    await add_space_member(db_session, space, member)
    await db_session.commit()
    errors: list[str] = []

    page = await (await browser.new_context()).new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    await sign_in(page, served, "maria@alas.example", f"/spaces/{space.id}")
    meetings = page.locator("#meetings")
    await expect(meetings.get_by_text("No upcoming meetings.")).to_be_visible()
    await meetings.get_by_text("Schedule a meeting").click()
    await expect(page.locator("#agenda-quote")).to_be_checked()  # required ones come pre-ticked
    await page.get_by_label("Title").fill("Fall circle")
    await page.get_by_label("Date and time").fill("2031-09-16T17:30")
    await page.get_by_label("Join link (members only)").fill("https://meet.example.org/circle")
    await page.locator("#agenda-reflection").uncheck()
    await page.get_by_label("Other components").fill("check-in")
    await meetings.get_by_role("button", name="Schedule").click()
    alert = meetings.get_by_role("alert")
    await expect(alert).to_contain_text("reflection")
    await expect(alert).to_contain_text("ALAS basic structure")
    await page.locator("#agenda-reflection").check()
    await meetings.get_by_role("button", name="Schedule").click()
    await expect(meetings.get_by_text("Meeting scheduled.")).to_be_visible()

    other = await (await browser.new_context()).new_page()
    other.on("pageerror", lambda e: errors.append(str(e)))
    await sign_in(other, served, "ana@alas.example", f"/spaces/{space.id}")
    listed = other.locator("#meetings")
    await expect(listed.get_by_text("Fall circle")).to_be_visible()
    await expect(listed.get_by_text("Agenda: quote, story, reflection, check-in")).to_be_visible()
    await expect(listed.get_by_role("link", name="Join link")).to_have_attribute(
        "href", "https://meet.example.org/circle"
    )
    await expect(listed.get_by_text("Schedule a meeting")).to_have_count(0)  # members do not schedule
    assert not errors, errors


async def test_facilitator_repeats_edits_skips_and_cancels(served: str, db_session: AsyncSession, browser) -> None:
    """Monthly on the second Tuesday at 4 pm Pacific, made once in the form; one occurrence
    skipped; a single meeting edited and cancelled; the member gets a calendar link."""
    network = await make_network(db_session, slug="esd", name="ESD 112")
    network.time_zone = "America/Los_Angeles"
    fac = await make_account(db_session, email="lee@esd.example", name="Lee", password_hash=hash_password(PASSWORD))
    member = await make_account(db_session, email="kim@esd.example", name="Kim", password_hash=hash_password(PASSWORD))
    for who in (fac, member):
        await add_member(db_session, network, who, "member")
    space = await make_space(db_session, network, name="LEADER group")
    await add_facilitators(db_session, space, fac)
    await add_space_member(db_session, space, member)
    await db_session.commit()
    errors: list[str] = []
    page = await (
        await browser.new_context(timezone_id="Europe/Berlin")
    ).new_page()  # the viewer's zone is not the meeting's
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda d: d.accept())
    await sign_in(page, served, "lee@esd.example", f"/spaces/{space.id}")
    meetings = page.locator("#meetings")
    await meetings.get_by_text("Schedule a meeting").click()
    await expect(page.get_by_label("Time zone")).to_have_value("America/Los_Angeles")
    await page.get_by_label("Title").fill("LEADER circle")
    await page.get_by_label("Date and time").fill("2031-09-09T16:00")
    await page.get_by_label("Repeats").select_option("monthly_weekday")
    await expect(page.get_by_label("Repeats")).to_contain_text("second Tuesday")
    await page.get_by_label("Repeat until").fill("2032-06-30")
    await meetings.get_by_role("button", name="Schedule").click()
    await expect(meetings.get_by_text("Repeating meeting scheduled.")).to_be_visible()
    await page.reload()
    occurrences = meetings.locator("li.occurrence")
    await expect(occurrences).to_have_count(10)
    await expect(occurrences.first).to_contain_text("4:00")
    await expect(occurrences.first).to_contain_text("PDT (America/Los_Angeles)")
    await expect(occurrences.nth(3)).to_contain_text("PST (America/Los_Angeles)")  # December: still 4 pm
    await expect(occurrences.nth(3)).to_contain_text("4:00")
    await occurrences.nth(3).get_by_role("button", name="Skip this one").click()
    await expect(meetings.get_by_text("Occurrence skipped.")).to_be_visible()
    await page.reload()
    await expect(occurrences).to_have_count(9)

    # A single meeting: schedule, edit its title and time, cancel it.
    await meetings.get_by_text("Schedule a meeting").click()
    await page.get_by_label("Title").fill("Kick-off")
    await page.get_by_label("Date and time").fill("2031-08-20T10:00")
    await meetings.get_by_role("button", name="Schedule").click()
    await expect(meetings.get_by_text("Meeting scheduled.")).to_be_visible()
    await page.reload()
    single = meetings.locator("li.meeting:not(.occurrence)")
    await expect(single).to_have_count(1)
    await expect(single).to_contain_text("10:00")
    await single.get_by_text("Edit").click()
    await single.get_by_label("New title for Kick-off").fill("Kick-off retreat")
    await single.get_by_label("New start for Kick-off").fill("2031-08-21T11:30")
    await single.get_by_role("button", name="Save changes").click()
    await expect(meetings.get_by_text("Meeting changed.")).to_be_visible()
    await page.reload()
    await expect(single).to_contain_text("Kick-off retreat")
    await expect(single).to_contain_text("11:30")
    await single.get_by_role("button", name="Cancel meeting").click()
    await expect(meetings.get_by_text("Meeting cancelled.")).to_be_visible()
    await page.reload()
    await expect(single).to_have_count(0)

    other = await (await browser.new_context()).new_page()
    other.on("pageerror", lambda e: errors.append(str(e)))
    await sign_in(other, served, "kim@esd.example", f"/spaces/{space.id}")
    listed = other.locator("#meetings")
    await expect(listed.locator("li.occurrence")).to_have_count(9)
    await expect(listed.get_by_role("button", name="Skip this one")).to_have_count(0)
    await listed.get_by_role("button", name="Get my calendar link").click()
    await expect(other.get_by_label("Your calendar link")).to_have_value(re.compile(r"/calendar/feeds/acf_.+\.ics$"))
    assert not errors, errors


async def test_member_checks_in_facilitator_sees_the_count(served: str, db_session: AsyncSession, browser) -> None:
    """A member checks in from the space page (once: afterwards the page says so); the facilitator
    sees how many checked in, the member never does, and no page names who."""
    network = await make_network(db_session, slug="leader", name="ESD 112")
    fac = await make_account(db_session, email="lee@esd.example", name="Lee", password_hash=hash_password(PASSWORD))
    member = await make_account(
        db_session, email="tam@esd.example", name="Tamsin Quill", password_hash=hash_password(PASSWORD)
    )
    for who in (fac, member):
        await add_member(db_session, network, who, "member")
    space = await make_space(db_session, network, name="LEADER circle")
    await add_facilitators(db_session, space, fac)
    await add_space_member(db_session, space, member)
    db_session.add(
        Meeting(
            id=uuid.uuid4(),
            space_id=space.id,
            kind="virtual",
            title="Monthly circle",
            starts_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5),
            duration_minutes=60,
            components=[],
        )
    )
    await db_session.commit()
    errors: list[str] = []

    page = await (await browser.new_context()).new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    await sign_in(page, served, "tam@esd.example", f"/spaces/{space.id}")
    card = page.locator("#check-ins")
    await expect(card.get_by_text("Monthly circle")).to_be_visible()
    await expect(card.locator(".check-in-figures")).to_have_count(0)  # members see no counts
    await card.get_by_role("button", name="Check in to Monthly circle").click()
    await expect(page.get_by_text("You are checked in.")).to_be_visible()
    await expect(card.get_by_text("You checked in")).to_be_visible()  # after the page reloads
    await expect(card.get_by_role("button", name=re.compile("Check in"))).to_have_count(0)

    other = await (await browser.new_context()).new_page()
    other.on("pageerror", lambda e: errors.append(str(e)))
    await sign_in(other, served, "lee@esd.example", f"/spaces/{space.id}")
    figures = other.locator("#check-ins .check-in-figures")
    await expect(figures).to_have_text("Attendance: 1 checked in themselves")
    await expect(other.locator("#check-ins").get_by_text("Tamsin Quill")).to_have_count(0)  # never who
    assert not errors, errors
