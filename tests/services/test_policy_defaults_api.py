"""Unset settings follow the network's bounds: creating a space never fails for a choice nobody made."""

from __future__ import annotations

from sqlalchemy import func, select

from services.persistence.models import Space
from tests.factories import add_member, bearer, make_account, make_network, make_token

ALAS_BASICS = {
    "meetings.virtual_per_year": {"min": 3},
    "meetings.in_person_per_year": {"min": 1},
    "facilitators.training_required": {"locked": True, "value": True},
    "sessions.required_components": {"required": ["quote", "story", "reflection"]},
    "chat.retention_days": {"max": 365},
}


async def test_space_under_a_strict_template_takes_the_bounds_as_its_values(client, db_session) -> None:
    admin = await make_account(db_session)
    network = await make_network(db_session, slug="alas")
    await add_member(db_session, network, admin, "admin")
    h = bearer(await make_token(db_session, admin))
    await db_session.commit()
    r = await client.post(
        "/api/v1/networks/alas/templates", json={"name": "ALAS basics", "constraints": ALAS_BASICS}, headers=h
    )
    template_id = r.json()["id"]
    assert (await client.put(f"/api/v1/networks/alas/templates/{template_id}/attach", headers=h)).status_code in {
        200,
        201,
    }

    r = await client.post(
        "/api/v1/networks/alas/spaces", json={"name": "Latina Superintendents", "kind": "identity"}, headers=h
    )
    assert r.status_code == 201, r.text
    space_id = r.json()["id"]
    settings = (await client.get(f"/api/v1/spaces/{space_id}/policy", headers=h)).json()["settings"]
    assert settings["meetings.virtual_per_year"] == 3
    assert settings["meetings.in_person_per_year"] == 1
    assert settings["facilitators.training_required"] is True
    assert set(settings["sessions.required_components"]) >= {"quote", "story", "reflection"}
    assert settings["chat.retention_days"] == 365

    # What the space chooses is still checked, and a refusal names the rule and who set it.
    r = await client.patch(f"/api/v1/spaces/{space_id}", json={"settings": {"meetings.virtual_per_year": 2}}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["code"] == "policy_violation"
    assert "ALAS basics" in r.json()["error"]["message"]
    r = await client.patch(f"/api/v1/spaces/{space_id}", json={"settings": {"meetings.virtual_per_year": 5}}, headers=h)
    assert r.status_code == 200, r.text
    assert await db_session.scalar(select(func.count()).select_from(Space)) == 1
