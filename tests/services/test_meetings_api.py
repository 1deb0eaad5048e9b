"""Meetings of a space: scheduling, listing, changing, cancelling; the agenda policy; compliance
of schedules in the network report (program-year boundaries included)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.compliance import program_year
from services.persistence.models import AuditEvent, Meeting
from tests.factories import (
    add_facilitators,
    add_member,
    add_space_member,
    bearer,
    make_account,
    make_network,
    make_space,
    make_template,
    make_token,
)
from tests.services.test_policy_queries import counting

BASIC = {
    "meetings.virtual_per_year": {"min": 2},
    "meetings.in_person_per_year": {"min": 1},
    "sessions.required_components": {"required": ["quote", "story", "reflection"]},
}
AGENDA = ["quote", "story", "reflection"]


@pytest.fixture
async def alas(db_session: AsyncSession) -> dict[str, str]:
    """ALAS with its basic structure on the whole network; an identity space S (two facilitators,
    a member), a sub-space of S whose parent requires "closing" of it, a network member outside
    S, another network's admin."""
    network = await make_network(db_session, slug="alas", kind="association")
    other = await make_network(db_session, slug="other")
    await make_template(db_session, network, BASIC, name="ALAS basic structure", attach_to=network)
    out: dict[str, str] = {}
    people = {}
    for who in ("admin", "fac1", "fac2", "member", "net_member", "other_admin", "stranger"):
        people[who] = await make_account(db_session, name=who)
        out[who] = await make_token(db_session, people[who])
    await add_member(db_session, network, people["admin"], "admin")
    await add_member(db_session, other, people["other_admin"], "admin")
    for who in ("fac1", "fac2", "member", "net_member"):
        await add_member(db_session, network, people[who], "member")
    space = await make_space(db_session, network, name="Latina Superintendents", kind="identity", join_mode="request")
    space.subspace_constraints = {"sessions.required_components": {"required": ["closing"]}}
    sub = await make_space(db_session, network, name="New to the role", parent=space, join_mode="parent_members")
    await add_facilitators(db_session, space, people["fac1"], people["fac2"])
    await add_facilitators(db_session, sub, people["fac1"], people["fac2"])
    await add_space_member(db_session, space, people["member"])
    await db_session.commit()
    out |= {"space": str(space.id), "sub": str(sub.id), "network_id": str(network.id)}
    return out


def _url(alas: dict[str, str], space: str = "space") -> str:
    return f"/api/v1/spaces/{alas[space]}/meetings"


def _body(**over: Any) -> dict[str, Any]:
    return {
        "kind": "virtual",
        "title": "Fall circle",
        "starts_at": "2030-09-16T17:30:00-07:00",
        "duration_minutes": 90,
        "components": [*AGENDA, "check-in"],
        "join_url": "https://meet.example.org/circle",
        **over,
    }


async def _count(db_session: AsyncSession) -> tuple[int, int]:
    await db_session.rollback()
    meetings = await db_session.scalar(select(func.count()).select_from(Meeting))
    events = await db_session.scalar(select(func.count()).select_from(AuditEvent))
    return int(meetings or 0), int(events or 0)


async def test_schedule_list_change_cancel(client, alas, db_session) -> None:
    r = await client.post(_url(alas), json=_body(), headers=bearer(alas["fac1"]))
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["kind"] == "virtual" and created["components"] == [*AGENDA, "check-in"]
    assert created["join_url"] == "https://meet.example.org/circle"
    assert created["ends_at"].startswith("2030-09-17T02:00:00")  # 90 minutes after 17:30 -07:00, in UTC
    mid = created["id"]
    # An admin schedules the in-person one.
    r = await client.post(
        _url(alas),
        json=_body(
            kind="in_person",
            title="Gathering",
            starts_at="2030-11-05T09:00:00-08:00",
            join_url=None,
            location="Regional office",
        ),
        headers=bearer(alas["admin"]),
    )
    assert r.status_code == 201, r.text

    # Members see the schedule with the join link; admins outside the space see it without.
    r = await client.get(_url(alas), params={"from": "2030-01-01T00:00:00Z"}, headers=bearer(alas["member"]))
    assert r.status_code == 200, r.text
    body = r.json()
    assert [m["title"] for m in body["items"]] == ["Fall circle", "Gathering"]
    assert body["items"][0]["join_url"] == "https://meet.example.org/circle"
    assert body["required_components"] == sorted(AGENDA) and body["can_schedule"] is False
    r = await client.get(_url(alas), headers=bearer(alas["admin"]))  # default: upcoming
    assert r.status_code == 200 and len(r.json()["items"]) == 2
    assert r.json()["items"][0]["join_url"] is None and r.json()["can_schedule"] is True
    r = await client.get(
        _url(alas), params={"from": "2030-09-01T00:00:00Z", "to": "2030-09-30T00:00:00Z"}, headers=bearer(alas["fac2"])
    )
    assert [m["title"] for m in r.json()["items"]] == ["Fall circle"]

    # Change: move it, switch to in person (the join link goes), keep the agenda.
    r = await client.patch(
        f"{_url(alas)}/{mid}",
        json={"kind": "in_person", "location": "Library", "starts_at": "2030-09-18T17:30:00-07:00"},
        headers=bearer(alas["fac2"]),
    )
    assert r.status_code == 200, r.text
    changed = r.json()
    assert changed["kind"] == "in_person" and changed["location"] == "Library" and changed["join_url"] is None
    assert changed["components"] == created["components"]

    # Cancel keeps the row; it disappears from the schedule unless asked for.
    r = await client.delete(f"{_url(alas)}/{mid}", headers=bearer(alas["fac1"]))
    assert r.status_code == 200 and r.json()["cancelled_at"] is not None
    r = await client.delete(f"{_url(alas)}/{mid}", headers=bearer(alas["fac1"]))  # idempotent
    assert r.status_code == 200
    r = await client.get(_url(alas), headers=bearer(alas["member"]))
    assert [m["title"] for m in r.json()["items"]] == ["Gathering"]
    r = await client.get(_url(alas), params={"include_cancelled": "true"}, headers=bearer(alas["member"]))
    assert len(r.json()["items"]) == 2
    r = await client.patch(f"{_url(alas)}/{mid}", json={"title": "Back"}, headers=bearer(alas["fac1"]))
    assert r.status_code == 409 and r.json()["error"]["code"] == "meeting_cancelled"

    await db_session.rollback()
    actions = list(await db_session.scalars(select(AuditEvent.action)))
    assert actions.count("meeting.create") == 2
    assert actions.count("meeting.update") == 1 and actions.count("meeting.cancel") == 1
    row = await db_session.get(Meeting, uuid.UUID(mid))
    assert row is not None and row.cancelled_at is not None


@pytest.mark.parametrize("who", ["member", "net_member", "other_admin", "stranger"])
async def test_only_facilitators_and_admins_schedule(client, alas, db_session, who) -> None:
    before = await _count(db_session)
    r = await client.post(_url(alas), json=_body(), headers=bearer(alas[who]))
    assert r.status_code == (403 if who == "member" else 404), r.text
    assert r.json()["error"]["code"] in {"forbidden", "space_not_found"}
    assert await _count(db_session) == before


async def test_schedule_of_an_identity_space_is_the_same_404_as_a_missing_space(client, alas) -> None:
    missing = str(uuid.uuid4())
    for who in ("net_member", "other_admin", "stranger"):
        real = await client.get(_url(alas), headers=bearer(alas[who]))
        fake = await client.get(f"/api/v1/spaces/{missing}/meetings", headers=bearer(alas[who]))
        assert real.status_code == fake.status_code == 404, (who, real.text)
        assert real.json()["error"]["code"] == fake.json()["error"]["code"] == "space_not_found"
        assert real.json()["error"]["message"].replace(alas["space"], missing) == fake.json()["error"]["message"]
    r = await client.get(_url(alas))
    assert r.status_code == 401


async def test_changing_or_cancelling_someone_elses_meeting_is_refused(client, alas, db_session) -> None:
    r = await client.post(_url(alas), json=_body(), headers=bearer(alas["fac1"]))
    mid = r.json()["id"]
    before = await _count(db_session)
    r = await client.patch(f"{_url(alas)}/{mid}", json={"title": "Mine"}, headers=bearer(alas["member"]))
    assert r.status_code == 403
    r = await client.delete(f"{_url(alas)}/{mid}", headers=bearer(alas["net_member"]))
    assert r.status_code == 404
    # A meeting id of another space is not found through this one.
    r = await client.patch(f"{_url(alas, 'sub')}/{mid}", json={"title": "Mine"}, headers=bearer(alas["fac1"]))
    assert r.status_code == 404 and r.json()["error"]["code"] == "meeting_not_found"
    assert await _count(db_session) == before


@pytest.mark.parametrize(
    ("over", "status", "code"),
    [
        ({"kind": "hybrid"}, 422, "validation_error"),
        ({"duration_minutes": 4}, 422, "validation_error"),
        ({"duration_minutes": 1441}, 422, "validation_error"),
        ({"title": ""}, 422, "validation_error"),
        ({"title": "   "}, 422, "validation_error"),
        ({"starts_at": "next tuesday"}, 422, "validation_error"),
        ({"starts_at": "2030-09-16T17:30:00"}, 422, "validation_error"),  # no offset
        ({"components": [*AGENDA, "Bad Slug!"]}, 422, "validation_error"),
        ({"components": [*AGENDA, "x" * 41]}, 422, "validation_error"),
        ({"join_url": "ftp://example.org"}, 422, "validation_error"),
        ({"kind": "in_person"}, 422, "validation_error"),  # in person with a join link
        ({"location": "Library"}, 422, "validation_error"),  # virtual with a location
        ({"surprise": True}, 422, "validation_error"),
    ],
)
async def test_bad_input_is_refused_and_writes_nothing(client, alas, db_session, over, status, code) -> None:
    before = await _count(db_session)
    r = await client.post(_url(alas), json=_body(**over), headers=bearer(alas["fac1"]))
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["code"] == code and err["message"]
    assert await _count(db_session) == before


async def test_bad_list_window(client, alas) -> None:
    r = await client.get(
        _url(alas), params={"from": "2030-02-01T00:00:00Z", "to": "2030-01-01T00:00:00Z"}, headers=bearer(alas["fac1"])
    )
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "to"
    r = await client.get(_url(alas), params={"from": "yesterday"}, headers=bearer(alas["fac1"]))
    assert r.status_code in {400, 422} and r.json()["error"]["code"]


async def test_agenda_without_required_components_is_refused_naming_who_requires_them(client, alas, db_session) -> None:
    before = await _count(db_session)
    r = await client.post(_url(alas), json=_body(components=["quote", "story"]), headers=bearer(alas["fac1"]))
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == "policy_violation"
    assert "reflection" in err["message"] and "template 'ALAS basic structure' v1" in err["message"]
    assert err["details"]["missing"] == [
        {"component": "reflection", "required_by": err["details"]["violations"][0]["source"]}
    ]
    assert err["details"]["violations"][0]["source"]["kind"] == "template"
    assert err["details"]["violations"][0]["parameter"] == "sessions.required_components"
    # In the sub-space the parent requires "closing" too; both sources are named.
    r = await client.post(_url(alas, "sub"), json=_body(components=["quote"]), headers=bearer(alas["fac1"]))
    assert r.status_code == 422
    err = r.json()["error"]
    assert "ancestor space 'Latina Superintendents'" in err["message"] and "closing" in err["message"]
    assert {m["component"] for m in err["details"]["missing"]} == {"closing", "reflection", "story"}
    assert await _count(db_session) == before
    r = await client.post(_url(alas, "sub"), json=_body(components=[*AGENDA, "closing"]), headers=bearer(alas["fac1"]))
    assert r.status_code == 201, r.text
    # A change that drops a required component is refused and changes nothing.
    mid = r.json()["id"]
    before = await _count(db_session)
    r = await client.patch(f"{_url(alas, 'sub')}/{mid}", json={"components": AGENDA}, headers=bearer(alas["fac2"]))
    assert r.status_code == 422 and r.json()["error"]["code"] == "policy_violation"
    assert await _count(db_session) == before
    row = await db_session.get(Meeting, uuid.UUID(mid))
    assert row is not None and "closing" in row.components


async def test_the_spaces_own_required_components_count_too(client, alas, db_session) -> None:
    r = await client.patch(
        f"/api/v1/spaces/{alas['space']}",
        json={"settings": {"sessions.required_components": [*AGENDA, "check-in"]}},
        headers=bearer(alas["fac1"]),
    )
    assert r.status_code == 200, r.text
    r = await client.post(_url(alas), json=_body(components=AGENDA), headers=bearer(alas["fac1"]))
    assert r.status_code == 422
    assert "check-in (required by the space's own settings)" in r.json()["error"]["message"]


async def test_agenda_refusal_is_the_one_policy_violation_envelope(client, alas) -> None:
    """The agenda's 422 is built like every other policy refusal (services/policies/violations.py):
    each violation has the engine's fields, and the space's own setting is named as the space."""
    r = await client.patch(
        f"/api/v1/spaces/{alas['space']}",
        json={"settings": {"sessions.required_components": [*AGENDA, "check-in"]}},
        headers=bearer(alas["fac1"]),
    )
    assert r.status_code == 200, r.text
    r = await client.post(_url(alas), json=_body(components=["quote", "story"]), headers=bearer(alas["fac1"]))
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == "policy_violation"
    assert set(err["details"]) >= {"problems", "violations", "warnings", "audit"}
    keys = {"code", "parameter", "value", "explicit", "bound", "limit", "source", "message"}
    by_kind = {}
    for v in err["details"]["violations"]:
        assert set(v) == keys, v
        assert (v["code"], v["parameter"], v["bound"]) == (
            "missing_components",
            "sessions.required_components",
            "required",
        )
        assert v["value"] == ["quote", "story"]
        by_kind[v["source"]["kind"]] = v
    assert by_kind["template"]["limit"] == ["reflection"]
    assert by_kind["space"]["limit"] == ["check-in"] and by_kind["space"]["source"]["id"] == alas["space"]
    assert "check-in" in err["message"] and "reflection" in err["message"]


def _meeting(space: str, kind: str, on: dt.date, components: list[str] | None = None) -> Meeting:
    return Meeting(
        id=uuid.uuid4(),
        space_id=uuid.UUID(space),
        kind=kind,
        title=f"{kind} {on}",
        starts_at=dt.datetime(on.year, on.month, on.day, 12, tzinfo=dt.UTC),
        duration_minutes=60,
        components=components or AGENDA,
    )


async def _report(client, alas) -> dict[str, dict[str, Any]]:
    r = await client.get("/api/v1/networks/alas/compliance", headers=bearer(alas["admin"]))
    assert r.status_code == 200, r.text
    assert r.json()["meetings_tracked"] is True
    return {s["space_id"]: s for s in r.json()["spaces"]}


async def test_compliance_counts_meetings_of_the_program_year(client, alas, db_session) -> None:
    year = program_year(dt.datetime.now(dt.UTC).date(), 8)
    s = alas["space"]
    rows = await _report(client, alas)
    assert {f["code"] for f in rows[s]["findings"]} == {"too_few_virtual_meetings", "too_few_in_person_meetings"}
    # Two virtual meetings in the year; the in-person one the day before the year starts does not count.
    db_session.add_all(
        [
            _meeting(s, "virtual", year.start),
            _meeting(s, "virtual", year.end - dt.timedelta(days=1)),
            _meeting(s, "in_person", year.start - dt.timedelta(days=1)),
        ]
    )
    await db_session.commit()
    rows = await _report(client, alas)
    assert rows[s]["status"] == "non_compliant"
    assert [f["code"] for f in rows[s]["findings"]] == ["too_few_in_person_meetings"]
    assert "0 in-person meeting(s) scheduled in " + year.label in rows[s]["findings"][0]["message"]
    # A cancelled one does not count either; one in the year does.
    cancelled = _meeting(s, "in_person", year.start + dt.timedelta(days=30))
    cancelled.cancelled_at = dt.datetime.now(dt.UTC)
    db_session.add(cancelled)
    await db_session.commit()
    assert (await _report(client, alas))[s]["status"] == "non_compliant"
    db_session.add(_meeting(s, "in_person", year.start + dt.timedelta(days=60)))
    await db_session.commit()
    assert (await _report(client, alas))[s]["status"] == "compliant"
    # A meeting kept from before a component was required is reported with its id.
    old = _meeting(s, "virtual", year.start + dt.timedelta(days=90), ["quote", "story"])
    db_session.add(old)
    await db_session.commit()
    finding = (await _report(client, alas))[s]["findings"]
    assert [f["code"] for f in finding] == ["agenda_missing_components"]
    assert finding[0]["meeting_id"] == str(old.id) and "reflection" in finding[0]["message"]


async def test_compliance_reads_meetings_in_one_query(client, alas, db_session) -> None:
    network_id = uuid.UUID(alas["network_id"])
    year = program_year(dt.datetime.now(dt.UTC).date(), 8)
    from services.persistence.models import Network

    network = await db_session.get(Network, network_id)
    assert network is not None
    for _ in range(5):
        space = await make_space(db_session, network)
        db_session.add(_meeting(str(space.id), "virtual", year.start))
    await db_session.commit()
    await _report(client, alas)  # warm (token last-used write)
    with counting() as seen:
        rows = await _report(client, alas)
    assert len(rows) == 7
    assert sum("FROM meetings" in q for q in seen) == 1, "\n\n".join(seen)
