"""The demo data set: an ALAS-like network built through the areas' use cases, idempotent."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.accounts.repository import get_by_email
from services.demo import load_demo
from services.persistence.models import Network, PolicyAttachment, PolicyTemplate, Space
from tests.factories import bearer, make_token
from tests.services.test_permission_matrix import fingerprint


async def test_demo_is_idempotent_and_alas_like(client, db_session: AsyncSession) -> None:
    await load_demo(db_session)
    await db_session.commit()
    first = await fingerprint(db_session)
    summary = await load_demo(db_session)
    await db_session.commit()
    assert "(0 new records" in summary
    assert await fingerprint(db_session) == first  # audit events included: nothing happened twice

    alas = await db_session.scalar(select(Network).where(Network.slug == "alas"))
    assert alas is not None
    template = await db_session.scalar(select(PolicyTemplate).where(PolicyTemplate.network_id == alas.id))
    assert template is not None and template.name == "ALAS basic structure"
    attached = await db_session.scalar(select(PolicyAttachment).where(PolicyAttachment.template_id == template.id))
    assert attached is not None and attached.space_id is None  # the whole network
    rows = (await db_session.execute(select(Space, Network.slug).join(Network))).all()
    by_name = {s.name: (s, slug) for s, slug in rows}
    parent = {
        name: next((n for n, (p, _) in by_name.items() if p.id == s.parent_id), None)
        for name, (s, _) in by_name.items()
    }
    assert parent["Latina Principals"] == parent["Latino Principals — men"] == "Latino Principals"
    assert parent["Latina Superintendents — new to the role"] == "Latina Superintendents"
    assert parent["BIPOC Educators"] == parent["White-bodied Educators"] == "Racial Equity Initiative"
    assert by_name["BIPOC Educators"][1] == "kent-sd"
    assert by_name["New Principals"][0].kind == "role" and by_name["Yearly Book Study"][0].kind == "topic"
    assert by_name["Latino Principals"][0].kind == "identity"

    admin = await get_by_email(db_session, "admin@demo.affinity.test")
    assert admin is not None
    token = await make_token(db_session, admin)
    await db_session.commit()
    r = await client.get("/api/v1/networks/alas/compliance", headers=bearer(token))
    assert r.status_code == 200, r.text
    report = r.json()
    assert len(report["spaces"]) == 7
    assert report["meetings_tracked"] is True
    # Every ALAS space has its schedule for the year except the book study, one in-person meeting short.
    assert report["counts"].get("compliant") == 6, report["counts"]
    short = [s for s in report["spaces"] if s["status"] != "compliant"]
    assert [s["name"] for s in short] == ["Yearly Book Study"], short
    assert [f["code"] for f in short[0]["findings"]] == ["too_few_in_person_meetings"]


async def test_demo_accounts_can_sign_in_with_the_documented_password(client, db_session: AsyncSession) -> None:
    from services.accounts.passwords import verify_password
    from services.demo import DEMO_ACCOUNTS, DEMO_PASSWORD
    from tests.factories import make_account

    real = await make_account(db_session, email="someone@kent.example")  # not a demo account: untouched
    summary = await load_demo(db_session)
    await db_session.commit()
    assert DEMO_PASSWORD in summary and DEMO_ACCOUNTS[0][0] in summary
    for email, _name, _operator in DEMO_ACCOUNTS:
        account = await get_by_email(db_session, email)
        assert account is not None and account.password_hash
        assert verify_password(account.password_hash, DEMO_PASSWORD)
    await db_session.refresh(real)
    assert real.password_hash is None
    # Through the real sign-in form, as a person would.
    page = await client.get("/auth/login")
    csrf = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    r = await client.post(
        "/auth/login",
        data={"email": DEMO_ACCOUNTS[0][0], "password": DEMO_PASSWORD, "csrf_token": csrf, "next": "/"},
        headers={"Origin": "http://localhost:8000"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/"


async def test_esd112_umbrella_is_not_non_compliant(client, db_session: AsyncSession) -> None:
    """ESD 112's LEADER umbrella only holds groups: its network template binds leaf spaces only,
    so the umbrella is no longer "non compliant: 0 of 9 meetings"; the groups meet monthly."""
    await load_demo(db_session)
    admin = await get_by_email(db_session, "admin@demo.affinity.test")
    assert admin is not None
    token = await make_token(db_session, admin)
    await db_session.commit()
    r = await client.get("/api/v1/networks/esd112/compliance", headers=bearer(token))
    assert r.status_code == 200, r.text
    by_name = {s["name"]: s for s in r.json()["spaces"]}
    assert by_name["LEADER"]["status"] == "compliant", by_name["LEADER"]
    groups = [s for n, s in by_name.items() if n.startswith("LEADER — ")]
    assert len(groups) == 3 and all(g["status"] == "compliant" for g in groups), groups
    # Without the target the umbrella would fail (that is what the target is for).
    template = await db_session.scalar(
        select(PolicyTemplate).where(PolicyTemplate.name == "LEADER groups meet monthly")
    )
    assert template is not None
    r = await client.put(f"/api/v1/networks/esd112/templates/{template.id}/target", json={}, headers=bearer(token))
    assert r.status_code == 200
    r = await client.get("/api/v1/networks/esd112/compliance", headers=bearer(token))
    umbrella = {s["name"]: s for s in r.json()["spaces"]}["LEADER"]
    assert umbrella["status"] == "non_compliant"
    assert "0 virtual meeting(s)" in umbrella["findings"][0]["message"]
