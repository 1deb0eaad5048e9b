"""In a real browser: a member proposes a group, an admin approves it and the space exists; a
facilitator is offered only the spaces they facilitate as a place for a new space."""

from __future__ import annotations

import uuid

import pytest
from playwright.async_api import expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.accounts.passwords import hash_password
from services.persistence.models import ProposalFacilitator, Space, SpaceMember, SpaceProposal
from tests.e2e.test_web_ui_browser import PASSWORD, sign_in
from tests.factories import add_facilitators, add_member, make_account, make_network, make_space

pytestmark = pytest.mark.slow


async def test_a_member_proposes_and_an_admin_approves(served: str, db_session: AsyncSession, browser) -> None:
    network = await make_network(db_session, slug="kent-sd", name="Kent School District")
    admin = await make_account(
        db_session, email="dana@kent.example", name="Dana", password_hash=hash_password(PASSWORD)
    )
    member = await make_account(db_session, email="sam@kent.example", name="Sam", password_hash=hash_password(PASSWORD))
    await add_member(db_session, network, admin, "admin")
    await add_member(db_session, network, member, "member")
    await db_session.commit()
    errors: list[str] = []

    page = await (await browser.new_context()).new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    await sign_in(page, served, "sam@kent.example", "/networks/kent-sd")
    await page.get_by_text("Propose a group").click()
    await page.get_by_label("Name of the group").fill("Latina educators")
    await page.get_by_label("What it is for, and who it is for").fill("Latina staff meet monthly.")
    await page.get_by_role("button", name="Send the proposal").click()
    await expect(page.get_by_text("waiting for the admins")).to_be_visible()
    # Proposing the same name again names the field's problem.
    await page.get_by_label("Name of the group").fill("Latina educators")
    await page.get_by_label("What it is for, and who it is for").fill("Again.")
    await page.get_by_role("button", name="Send the proposal").click()
    await expect(page.locator("#proposals .alert")).to_contain_text("already an open proposal")

    admin_page = await (await browser.new_context()).new_page()
    admin_page.on("pageerror", lambda e: errors.append(str(e)))
    await sign_in(admin_page, served, "dana@kent.example", "/networks/kent-sd")
    await expect(admin_page.get_by_text("proposed by Sam")).to_be_visible()
    await admin_page.get_by_role("button", name="Approve Latina educators").click()
    await admin_page.get_by_role("link", name="Open the new space").click()
    await expect(admin_page.get_by_role("heading", name="Latina educators")).to_be_visible()

    await page.reload()
    await expect(page.get_by_text("— approved")).to_be_visible()
    space = await db_session.scalar(select(Space).where(Space.name == "Latina educators"))
    assert space is not None
    role = await db_session.scalar(
        select(SpaceMember.role).where(SpaceMember.space_id == space.id, SpaceMember.account_id == member.id)
    )
    assert role == "facilitator"
    assert errors == []


async def test_a_facilitator_is_not_offered_the_top_level(served: str, db_session: AsyncSession, browser) -> None:
    network = await make_network(db_session, slug="kent-sd", name="Kent School District")
    fac = await make_account(db_session, email="fay@kent.example", name="Fay", password_hash=hash_password(PASSWORD))
    await add_member(db_session, network, fac, "facilitator")
    mine = await make_space(db_session, network, name="Mine")
    await make_space(db_session, network, name="Not mine")
    await add_facilitators(db_session, mine, fac)
    await db_session.commit()
    page = await (await browser.new_context()).new_page()
    await sign_in(page, served, "fay@kent.example", "/networks/kent-sd")
    await page.get_by_text("Create a space").click()
    options = await page.locator("#sparent option").all_inner_texts()
    assert [o.strip(" ·") for o in options] == ["Mine"]


async def test_a_proposed_facilitator_agrees_on_their_home_page(served: str, db_session: AsyncSession, browser) -> None:
    network = await make_network(db_session, slug="kent-sd", name="Kent School District")
    sam = await make_account(db_session, email="sam@kent.example", name="Sam", password_hash=hash_password(PASSWORD))
    fay = await make_account(db_session, email="fay@kent.example", name="Fay", password_hash=hash_password(PASSWORD))
    await add_member(db_session, network, sam, "member")
    await add_member(db_session, network, fay, "member")
    proposal = SpaceProposal(
        id=uuid.uuid4(),
        network_id=network.id,
        proposed_by=sam.id,
        name="Latina educators",
        kind="identity",
        purpose="Latina staff meet monthly.",
        facilitator_ids=[fay.id],
        proposer_facilitates=True,
        status="pending",
    )
    db_session.add(proposal)
    await db_session.flush()
    db_session.add(ProposalFacilitator(proposal_id=proposal.id, account_id=fay.id, answer="pending"))
    await db_session.commit()
    errors: list[str] = []

    page = await (await browser.new_context()).new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.goto(f"{served}/auth/login?next=/")  # "/" signed out is the landing page
    await page.get_by_label("E-mail address").fill("fay@kent.example")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{served}/")
    section = page.locator("#facilitation-requests")
    await expect(section.get_by_text("proposed by Sam")).to_be_visible()
    await section.get_by_role("button", name="Agree to facilitate Latina educators").click()
    await expect(section.locator(".alert")).to_contain_text("You agreed")
    await expect(section.locator("li")).to_contain_text("Latina educators — agreed")
    await page.reload()
    await expect(page.locator("#facilitation-requests")).to_have_count(0)

    proposer = await (await browser.new_context()).new_page()
    proposer.on("pageerror", lambda e: errors.append(str(e)))
    await sign_in(proposer, served, "sam@kent.example", "/networks/kent-sd")
    await expect(proposer.locator("#proposals .facilitator-answers")).to_contain_text("Fay (agreed)")
    answer = await db_session.scalar(
        select(ProposalFacilitator.answer).where(ProposalFacilitator.proposal_id == proposal.id)
    )
    assert answer == "accepted"
    assert errors == []
