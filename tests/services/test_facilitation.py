"""Facilitators: outside facilitators see their space and nothing else of the network; training
records count for facilitators.trained; compensation is recorded for admins only."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from services.facilitation.repository import compensated_counts
from services.persistence.models import FacilitatorCompensation
from services.policies.repository import facilitator_counts
from tests.factories import (
    add_facilitators,
    add_member,
    bearer,
    make_account,
    make_network,
    make_space,
    make_template,
    make_token,
)


@pytest.fixture
async def world(db_session: AsyncSession) -> dict:
    net = await make_network(db_session, slug="banneker", name="Benjamin Banneker Association")
    admin, fac, outsider = (
        await make_account(db_session, name="Ada"),
        await make_account(db_session, name="Fay"),
        await make_account(db_session, name="Olu Outside", email="olu@community.example"),
    )
    await add_member(db_session, net, admin, "admin")
    await add_member(db_session, net, fac)
    circle = await make_space(db_session, net, name="Math circle", join_mode="request")
    other = await make_space(db_session, net, name="Other circle")
    await add_facilitators(db_session, circle, fac)
    out = {
        "net": net,
        "ids": {"admin": admin.id, "fac": fac.id, "outsider": outsider.id, "circle": circle.id, "other": other.id},
        "admin_h": bearer(await make_token(db_session, admin)),
        "fac_h": bearer(await make_token(db_session, fac)),
        "out_h": bearer(await make_token(db_session, outsider)),
    }
    await db_session.commit()
    return out


async def test_an_outside_facilitator_sees_their_space_and_nothing_else(client, world) -> None:
    ids, h = world["ids"], world["out_h"]
    assert (await client.get(f"/api/v1/spaces/{ids['circle']}", headers=h)).status_code == 404
    r = await client.put(
        f"/api/v1/spaces/{ids['circle']}/outside-facilitators/{ids['outsider']}", headers=world["fac_h"]
    )
    assert r.status_code == 403  # only network admins bring people in from outside
    r = await client.put(
        f"/api/v1/spaces/{ids['circle']}/outside-facilitators/{ids['outsider']}", headers=world["admin_h"]
    )
    assert r.status_code == 200 and r.json()["outside"] is True
    # What facilitating needs: the space, its rules, its people, its requests, its meetings, its chat.
    for path in ("", "/policy", "/members", "/requests", "/meetings"):
        got = await client.get(f"/api/v1/spaces/{ids['circle']}{path}", headers=h)
        assert got.status_code == 200, (path, got.text)
    r = await client.post(f"/api/v1/spaces/{ids['circle']}/messages", json={"body": "Welcome!", "key": "k1"}, headers=h)
    assert r.status_code in {200, 201}, r.text
    # Nothing else of the network: no roster, no directory, no other space.
    assert (await client.get("/api/v1/networks/banneker/members", headers=h)).status_code == 403
    assert (await client.get("/api/v1/networks/banneker/spaces", headers=h)).status_code == 403
    assert (await client.get("/api/v1/networks/banneker/directory", headers=h)).status_code == 403
    assert (await client.get(f"/api/v1/spaces/{ids['other']}", headers=h)).status_code == 404
    page = (await client.get("/api/v1/networks/banneker/facilitators", headers=world["admin_h"])).json()["items"]
    olu = next(p for p in page if p["display_name"] == "Olu Outside")
    assert olu["outside"] is True and [s["name"] for s in olu["spaces"]] == ["Math circle"]


async def test_training_records_count_as_trained_until_they_expire(client, world, db_session) -> None:
    ids = world["ids"]
    today = dt.datetime.now(dt.UTC).date()
    assert (await facilitator_counts(db_session, world["net"].id))[ids["circle"]] == (1, 0)
    r = await client.post(
        "/api/v1/networks/banneker/trainings",
        headers=world["admin_h"],
        json={
            "account_id": str(ids["fac"]),
            "course": "Courageous conversations",
            "completed_on": str(today - dt.timedelta(days=400)),
            "expires_on": str(today - dt.timedelta(days=35)),
        },
    )
    assert r.status_code == 201, r.text
    page = {
        p["display_name"]: p
        for p in (await client.get("/api/v1/networks/banneker/facilitators", headers=world["admin_h"])).json()["items"]
    }
    assert page["Fay"]["training"] == "expired"
    assert (await facilitator_counts(db_session, world["net"].id))[ids["circle"]] == (1, 0)
    r = await client.post(
        "/api/v1/networks/banneker/trainings",
        headers=world["admin_h"],
        json={"account_id": str(ids["fac"]), "course": "Courageous conversations", "completed_on": str(today)},
    )
    assert r.status_code == 201
    page = {
        p["display_name"]: p
        for p in (await client.get("/api/v1/networks/banneker/facilitators", headers=world["admin_h"])).json()["items"]
    }
    assert page["Fay"]["training"] == "current" and len(page["Fay"]["trainings"]) == 2
    assert (await facilitator_counts(db_session, world["net"].id))[ids["circle"]] == (1, 1)


async def test_training_and_compensation_bad_input_and_roles(client, world) -> None:
    ids = world["ids"]
    today = dt.datetime.now(dt.UTC).date()
    url = "/api/v1/networks/banneker/trainings"
    body = {"account_id": str(ids["fac"]), "course": "Circle keeping", "completed_on": str(today)}
    assert (await client.post(url, json=body, headers=world["fac_h"])).status_code == 403
    r = await client.post(
        url, json={**body, "completed_on": str(today + dt.timedelta(days=3))}, headers=world["admin_h"]
    )
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "completed_on"
    r = await client.post(url, json={**body, "expires_on": str(today - dt.timedelta(days=1))}, headers=world["admin_h"])
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "expires_on"
    r = await client.post(url, json={**body, "account_id": str(ids["outsider"])}, headers=world["admin_h"])
    assert r.status_code == 422 and r.json()["error"]["code"] == "not_in_network"
    comp = f"/api/v1/networks/banneker/compensation/{ids['fac']}"
    assert (await client.put(comp, json={"compensated": True}, headers=world["fac_h"])).status_code == 403
    assert (
        await client.put(comp, json={"compensated": True, "note": "stipend"}, headers=world["admin_h"])
    ).status_code == 204
    page = {
        p["display_name"]: p
        for p in (await client.get("/api/v1/networks/banneker/facilitators", headers=world["admin_h"])).json()["items"]
    }
    assert page["Fay"]["compensated"] is True and page["Fay"]["compensation_note"] == "stipend"
    assert (await client.get("/api/v1/networks/banneker/facilitators", headers=world["fac_h"])).status_code == 403
    assert (await client.put(comp, json={"compensated": False}, headers=world["admin_h"])).status_code == 204
    params = {
        p["name"] for p in (await client.get("/api/v1/policy/parameters", headers=world["fac_h"])).json()["items"]
    }
    assert "facilitators.compensated" in params


async def test_compliance_counts_compensated_facilitators_and_only_admins_see_counts(client, world, db_session) -> None:
    ids, net = world["ids"], world["net"]
    # NAESP-style: a network-wide template requires paid facilitators (one per space here)
    await make_template(
        db_session,
        net,
        {"facilitators.compensated": {"locked": True, "value": True}, "facilitators.min_count": {"min": 1}},
        name="Paid facilitators",
        attach_to=net,
    )
    # Fay is paid by another network: that does not count here
    elsewhere = await make_network(db_session, slug="naesp")
    db_session.add(
        FacilitatorCompensation(network_id=elsewhere.id, account_id=ids["fac"], note="", recorded_by=ids["admin"])
    )
    await db_session.commit()

    async def report(headers: dict[str, str]) -> dict[str, dict]:
        r = await client.get("/api/v1/networks/banneker/compliance", headers=headers)
        assert r.status_code == 200, r.text
        return {s["name"]: s for s in r.json()["spaces"]}

    spaces = await report(world["admin_h"])
    (finding,) = [f for f in spaces["Math circle"]["findings"] if f["parameter"] == "facilitators.compensated"]
    assert finding["code"] == "too_few_compensated_facilitators" and finding["severity"] == "violation"
    assert finding["message"].startswith("0 facilitator(s) recorded as compensated; 1 required")
    assert spaces["Math circle"]["status"] == "non_compliant"
    # a facilitator of the space reads no compliance report at all, so learns nothing of who is paid
    r = await client.get("/api/v1/networks/banneker/compliance", headers=world["fac_h"])
    assert r.status_code == 403 and "compensat" not in r.text

    comp = f"/api/v1/networks/banneker/compensation/{ids['fac']}"
    assert (await client.put(comp, json={"compensated": True}, headers=world["admin_h"])).status_code == 204
    spaces = await report(world["admin_h"])
    assert spaces["Math circle"]["status"] == "compliant" and spaces["Math circle"]["findings"] == []
    # the space without facilitators still lacks a paid one
    assert "too_few_compensated_facilitators" in [f["code"] for f in spaces["Other circle"]["findings"]]


async def test_compensated_counts_is_one_grouped_query(world, db_session) -> None:
    ids, net = world["ids"], world["net"]
    db_session.add(FacilitatorCompensation(network_id=net.id, account_id=ids["fac"], note="", recorded_by=ids["admin"]))
    await db_session.flush()
    statements: list[str] = []
    sync_engine = db_session.bind.sync_engine  # type: ignore[union-attr]

    def seen(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    event.listen(sync_engine, "before_cursor_execute", seen)
    try:
        counts = await compensated_counts(db_session, net.id)
    finally:
        event.remove(sync_engine, "before_cursor_execute", seen)
    assert counts == {ids["circle"]: 1} and len(statements) == 1 and "GROUP BY" in statements[0]
