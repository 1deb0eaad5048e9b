"""Spaces and templates through the API: an ALAS-like network end to end, loosening refused
with the source named, tightening at any depth, dry runs, bad input (nothing written)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.persistence.models import AuditEvent, PolicyTemplateVersion, Space, SpaceNoncompliance
from tests.factories import add_member, bearer, make_account, make_network, make_token

ALAS_BASIC = {
    "meetings.virtual_per_year": {"min": 3},
    "meetings.in_person_per_year": {"min": 1},
    "facilitators.min_count": {"min": 2},
    "sessions.required_components": {"required": ["quote", "story", "reflection"]},
}
GOOD = {
    "meetings.virtual_per_year": 4,
    "meetings.in_person_per_year": 1,
    "facilitators.min_count": 2,
    "sessions.required_components": ["quote", "story", "reflection"],
}


@pytest.fixture
async def alas(db_session: AsyncSession) -> dict[str, str]:
    """ALAS with an admin, two facilitators, a member and an outsider."""
    network = await make_network(db_session, slug="alas", name="ALAS", kind="association")
    people: dict[str, str] = {"network_id": str(network.id)}
    for who, role in [
        ("admin", "admin"),
        ("fac1", "facilitator"),
        ("fac2", "facilitator"),
        ("member", "member"),
        ("member2", "member"),
        ("outsider", None),
    ]:
        account = await make_account(db_session)
        if role:
            await add_member(db_session, network, account, role)
        people[who] = await make_token(db_session, account)
        people[f"{who}_id"] = str(account.id)
    await db_session.commit()
    return people


async def _template(client, alas, constraints=None, name="ALAS basic structure", mode="enforce") -> dict:
    r = await client.post(
        "/api/v1/networks/alas/templates",
        json={"name": name, "mode": mode, "constraints": constraints or ALAS_BASIC},
        headers=bearer(alas["admin"]),
    )
    assert r.status_code == 201, r.text
    return r.json()


async def _space(client, alas, name, *, parent=None, who="admin", settings=None, **extra) -> dict:
    body = {
        "name": name,
        "kind": "identity",
        "settings": GOOD if settings is None else settings,
        "facilitators": [alas["fac1_id"], alas["fac2_id"]],
        **extra,
    }
    if parent:
        body["parent_id"] = parent
    r = await client.post("/api/v1/networks/alas/spaces", json=body, headers=bearer(alas[who]))
    assert r.status_code == 201, r.text
    return r.json()


async def test_alas_end_to_end(client, alas, db_session) -> None:
    tpl = await _template(client, alas)
    r = await client.put(f"/api/v1/networks/alas/templates/{tpl['id']}/attach", headers=bearer(alas["admin"]))
    assert r.status_code == 201, r.text
    latinas = await _space(client, alas, "Latinas Lead", join_mode="open")
    # A facilitator of the parent creates a gender-based sub-space that tightens further.
    sub = await _space(
        client,
        alas,
        "Latinas Lead — new principals",
        parent=latinas["id"],
        who="fac1",
        settings={**GOOD, "meetings.virtual_per_year": 6},
    )
    assert sub["depth"] == 1 and sub["path"] == [latinas["id"]]

    # Loosening is refused with the template named.
    r = await client.patch(
        f"/api/v1/spaces/{sub['id']}", json={"settings": {"meetings.virtual_per_year": 2}}, headers=bearer(alas["fac1"])
    )
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "policy_violation"
    assert "meetings.virtual_per_year" in err["message"] and "ALAS basic structure" in err["message"]
    assert "3" in err["message"] and "2" in err["message"]
    v = err["details"]["violations"][0]
    assert v["parameter"] == "meetings.virtual_per_year" and v["value"] == 2 and v["limit"] == 3
    assert v["source"]["kind"] == "template" and v["source"]["version"] == 1

    # The parent narrows for its sub-spaces; a sub-space below the bound is then refused naming the ancestor.
    r = await client.patch(
        f"/api/v1/spaces/{latinas['id']}",
        json={"subspace_constraints": {"meetings.virtual_per_year": {"min": 5}}},
        headers=bearer(alas["fac1"]),
    )
    assert r.status_code == 200, r.text
    r = await client.patch(
        f"/api/v1/spaces/{sub['id']}", json={"settings": {"meetings.virtual_per_year": 4}}, headers=bearer(alas["fac2"])
    )
    assert r.status_code == 422
    assert "ancestor space 'Latinas Lead'" in r.json()["error"]["message"]
    # Loosening the template's bound for sub-spaces is refused too.
    r = await client.patch(
        f"/api/v1/spaces/{latinas['id']}",
        json={"subspace_constraints": {"meetings.virtual_per_year": {"min": 1}}},
        headers=bearer(alas["fac1"]),
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "policy_violation"

    # Effective policy with provenance.
    r = await client.get(f"/api/v1/spaces/{sub['id']}/policy", headers=bearer(alas["fac1"]))
    assert r.status_code == 200, r.text
    c = r.json()["constraints"]
    assert c["meetings.virtual_per_year"]["min"] == 5
    assert c["meetings.virtual_per_year"]["sources"]["min"]["kind"] == "space"
    assert c["facilitators.min_count"]["sources"]["min"]["name"] == "ALAS basic structure"

    # Hierarchy in one call.
    r = await client.get(f"/api/v1/spaces/{latinas['id']}/hierarchy?max_depth=1", headers=bearer(alas["member"]))
    assert r.status_code == 200 and [i["name"] for i in r.json()["items"]] == [latinas["name"], sub["name"]]

    # Audit trail.
    actions = set(await db_session.scalars(select(AuditEvent.action)))
    assert {"policy.template.create", "policy.template.attach", "space.create", "space.update"} <= actions


async def test_dry_run_lists_exactly_the_spaces_a_tightening_breaks(client, alas, db_session) -> None:
    tpl = await _template(client, alas)
    await client.put(f"/api/v1/networks/alas/templates/{tpl['id']}/attach", headers=bearer(alas["admin"]))
    a = await _space(client, alas, "A", settings={**GOOD, "meetings.virtual_per_year": 3})
    b = await _space(client, alas, "B", settings={**GOOD, "meetings.virtual_per_year": 5})
    c = await _space(client, alas, "C", parent=b["id"], settings={**GOOD, "meetings.virtual_per_year": 4})
    tighter = {**ALAS_BASIC, "meetings.virtual_per_year": {"min": 5}}
    url = f"/api/v1/networks/alas/templates/{tpl['id']}"
    r = await client.put(url + "?dry_run=true", json={"constraints": tighter}, headers=bearer(alas["admin"]))
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["applied"] is False and report["checked"] == 3 and report["out_of_bounds"] == 2
    assert {s["space_id"] for s in report["spaces"]} == {a["id"], c["id"]}
    assert all(s["violations"][0]["parameter"] == "meetings.virtual_per_year" for s in report["spaces"])
    # Applying without the explicit choice is refused; nothing is written.
    r = await client.put(url, json={"constraints": tighter}, headers=bearer(alas["admin"]))
    assert r.status_code == 409 and r.json()["error"]["code"] == "breaks_spaces"
    assert await db_session.scalar(select(func.count()).select_from(PolicyTemplateVersion)) == 1
    # With the choice: new version, spaces marked, settings untouched.
    r = await client.put(
        url,
        json={"constraints": tighter, "mark_noncompliant": {"deadline": "2099-06-30"}},
        headers=bearer(alas["admin"]),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["template"]["version"] == 2 and body["report"]["marked_noncompliant"] == 2
    marks = {str(m.space_id) for m in await db_session.scalars(select(SpaceNoncompliance))}
    assert marks == {a["id"], c["id"]}
    settings = await db_session.scalar(select(Space.settings).where(Space.id == uuid.UUID(a["id"])))
    assert settings["meetings.virtual_per_year"] == 3
    # Compliance shows them with the deadline.
    r = await client.get("/api/v1/networks/alas/compliance", headers=bearer(alas["admin"]))
    assert r.status_code == 200, r.text
    rows = {s["space_id"]: s for s in r.json()["spaces"]}
    assert rows[a["id"]]["status"] == "non_compliant" and rows[a["id"]]["deadline"] == "2099-06-30"
    # B is inside the tightened bounds: its only findings are its (still empty) meeting schedule.
    assert {f["code"] for f in rows[b["id"]]["findings"]} == {"too_few_virtual_meetings", "too_few_in_person_meetings"}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"settings": {"meetings.weekly": 3}}, "invalid_settings"),
        ({"settings": {"meetings.virtual_per_year": "four"}}, "invalid_settings"),
        ({"settings": {"meetings.virtual_per_year": 1}}, "policy_violation"),
        ({"kind": "galaxy"}, "validation_error"),
        ({"parent_id": str(uuid.uuid4())}, "parent_not_found"),
        ({"facilitators": []}, "policy_violation"),
        ({"join_mode": "parent_members"}, "validation_error"),
        ({"subspace_constraints": {"facilitators.min_count": {"min": 1}}}, "policy_violation"),
        ({"subspace_constraints": {"nope": {"min": 1}}}, "invalid_constraints"),
    ],
)
async def test_bad_space_input_is_refused_and_writes_nothing(client, alas, db_session, body, code) -> None:
    tpl = await _template(client, alas)
    await client.put(f"/api/v1/networks/alas/templates/{tpl['id']}/attach", headers=bearer(alas["admin"]))
    payload = {"name": "X", "kind": "identity", "settings": GOOD, "facilitators": [alas["fac1_id"], alas["fac2_id"]]}
    if "settings" in body:
        payload["settings"] = {**GOOD, **body.pop("settings")}
    payload.update(body)
    r = await client.post("/api/v1/networks/alas/spaces", json=payload, headers=bearer(alas["admin"]))
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == code
    assert await db_session.scalar(select(func.count()).select_from(Space)) == 0


async def test_cycles_other_networks_and_depth_are_refused(client, alas, db_session) -> None:
    top = await _space(client, alas, "Top", settings={**GOOD, "nesting.max_depth": 1})
    mid = await _space(client, alas, "Mid", parent=top["id"])
    # Too deep below Top.
    r = await client.post(
        "/api/v1/networks/alas/spaces",
        json={
            "name": "Deep",
            "kind": "identity",
            "parent_id": mid["id"],
            "settings": GOOD,
            "facilitators": [alas["fac1_id"], alas["fac2_id"]],
        },
        headers=bearer(alas["admin"]),
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "too_deep"
    # A cycle: Top under its own child.
    r = await client.patch(f"/api/v1/spaces/{top['id']}", json={"parent_id": mid["id"]}, headers=bearer(alas["admin"]))
    assert r.status_code == 422 and r.json()["error"]["code"] == "cycle"
    # A parent in another network.
    other = await make_network(db_session, slug="bpn")
    await db_session.commit()
    r = await client.post(
        "/api/v1/networks/bpn/spaces",
        json={"name": "Cross", "kind": "identity", "parent_id": top["id"]},
        headers=bearer(alas["admin"]),
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "parent_in_other_network"
    assert other.slug == "bpn"
    assert await db_session.scalar(select(func.count()).select_from(Space)) == 2


@pytest.mark.parametrize("who", ["fac1", "member", "outsider"])
async def test_only_admins_create_root_spaces_and_templates(client, alas, db_session, who) -> None:
    r = await client.post(
        "/api/v1/networks/alas/spaces", json={"name": "X", "kind": "topic"}, headers=bearer(alas[who])
    )
    assert r.status_code == 403
    r = await client.post(
        "/api/v1/networks/alas/templates", json={"name": "T", "constraints": {}}, headers=bearer(alas[who])
    )
    assert r.status_code == 403
    r = await client.get("/api/v1/networks/alas/compliance", headers=bearer(alas[who]))
    assert r.status_code == 403
    assert await db_session.scalar(select(func.count()).select_from(Space)) == 0


async def test_template_bad_input(client, alas) -> None:
    h = bearer(alas["admin"])
    r = await client.post(
        "/api/v1/networks/alas/templates", json={"name": "T", "constraints": {"x.y": {"min": 1}}}, headers=h
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_constraints"
    r = await client.post(
        "/api/v1/networks/alas/templates",
        json={"name": "T", "constraints": {"meetings.virtual_per_year": {"min": 5, "max": 2}}},
        headers=h,
    )
    assert r.status_code == 422
    r = await client.post(
        "/api/v1/networks/alas/templates", json={"name": "T", "mode": "maybe", "constraints": {}}, headers=h
    )
    assert r.status_code == 422
    await _template(client, alas, name="T")
    r = await client.post("/api/v1/networks/alas/templates", json={"name": "t", "constraints": {}}, headers=h)
    assert r.status_code == 409 and r.json()["error"]["code"] == "template_name_taken"
    r = await client.get(f"/api/v1/networks/alas/templates/{uuid.uuid4()}", headers=h)
    assert r.status_code == 404
    r = await client.get("/api/v1/networks/alas/templates", headers=bearer(alas["member"]))
    assert r.status_code == 200 and [t["name"] for t in r.json()["items"]] == ["T"]
    r = await client.get("/api/v1/networks/alas/templates", headers=bearer(alas["outsider"]))
    assert r.status_code == 403
