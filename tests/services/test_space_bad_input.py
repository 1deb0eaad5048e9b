"""Bad input to the spaces and policies endpoints: a clear 4xx with a code and a message a
person can act on, nothing written (database fingerprint unchanged), never a 500."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from services.persistence.models import SpaceJoinRequest
from tests.factories import bearer, make_space
from tests.services.test_permission_matrix import (  # noqa: F401  (fixtures used by name)
    ADMIN,
    FACILITATOR,
    fingerprint,
    upstream_issuer,
    world,
)

MISSING = "00000000-0000-4000-8000-000000000000"
S = "/api/v1/spaces/{space_id}"
T = "/api/v1/networks/{slug}/templates"

# (who, method, path, body, status, code) — ``body`` may be raw text (sent as is).
CASES: list[tuple[str, str, str, Any, int, str | None]] = [
    # invitations
    (FACILITATOR, "POST", S + "/invitations", {}, 422, "validation_error"),
    (FACILITATOR, "POST", S + "/invitations", {"account_id": "nope"}, 422, "validation_error"),
    (FACILITATOR, "POST", S + "/invitations", {"account_id": MISSING}, 404, "account_not_found"),
    (FACILITATOR, "POST", S + "/invitations", {"account_id": "{member_id}"}, 409, "already_member"),
    (FACILITATOR, "POST", S + "/invitations", {"account_id": "{banned_id}"}, 409, "banned"),
    (
        FACILITATOR,
        "POST",
        S + "/invitations",
        {"account_id": "{target_id}", "role": "facilitator"},
        422,
        "validation_error",
    ),
    (
        FACILITATOR,
        "POST",
        S + "/invitations",
        {"account_id": "{target_id}", "message": "x" * 1001},
        422,
        "validation_error",
    ),
    # join requests: missing, of another space, already decided, malformed id
    (FACILITATOR, "POST", S + "/requests/" + MISSING + "/approve", None, 404, "request_not_found"),
    (FACILITATOR, "POST", S + "/requests/" + MISSING + "/decline", None, 404, "request_not_found"),
    (FACILITATOR, "POST", S + "/requests/{other_request_id}/approve", None, 404, "request_not_found"),
    (FACILITATOR, "POST", S + "/requests/{other_request_id}/decline", None, 404, "request_not_found"),
    (FACILITATOR, "POST", S + "/requests/{decided_request_id}/approve", None, 409, "request_not_pending"),
    (FACILITATOR, "POST", S + "/requests/{decided_request_id}/decline", None, 409, "request_not_pending"),
    (FACILITATOR, "POST", S + "/requests/not-a-uuid/approve", None, 404, None),
    (FACILITATOR, "GET", S + "/requests?status=maybe", None, 422, "validation_error"),
    # unban
    (ADMIN, "DELETE", S + "/bans/{member_id}", None, 404, "not_banned"),
    (ADMIN, "DELETE", S + "/bans/" + MISSING, None, 404, "not_banned"),
    (ADMIN, "DELETE", S + "/bans/not-a-uuid", None, 404, None),
    # bans, removal, facilitators
    (ADMIN, "PUT", S + "/bans/" + MISSING, None, 404, "account_not_found"),
    (ADMIN, "DELETE", S + "/members/{target_id}", None, 404, "not_a_member"),
    (ADMIN, "DELETE", S + "/facilitators/{member_id}", None, 404, "not_a_facilitator"),
    (ADMIN, "PUT", S + "/facilitators/" + MISSING, None, 404, "account_not_found"),
    (ADMIN, "PUT", S + "/facilitators/{stranger_id}", None, 422, "facilitator_not_in_network"),
    (ADMIN, "PUT", S + "/facilitators/{target_id}", {"trained": "yes"}, 422, "validation_error"),
    # template detach / attach
    (ADMIN, "DELETE", S + "/templates/{template_id}", None, 404, "attachment_not_found"),
    (ADMIN, "DELETE", S + "/templates/" + MISSING, None, 404, "template_not_found"),
    (ADMIN, "DELETE", T + "/{template_id}/attach", None, 404, "attachment_not_found"),
    (ADMIN, "DELETE", T + "/" + MISSING + "/attach", None, 404, "template_not_found"),
    # another network's template: the same answer as a missing one (its existence is not ours to learn)
    (ADMIN, "PUT", S + "/templates/{other_template_id}", None, 404, "template_not_found"),
    (ADMIN, "PUT", T + "/{template_id}/attach", {"mark_noncompliant": {"deadline": "soon"}}, 422, "validation_error"),
    (ADMIN, "PUT", T + "/{template_id}", {"constraints": {"meetings.weekly": {"min": 1}}}, 422, "invalid_constraints"),
    (ADMIN, "PUT", T + "/{template_id}", {"constraints": {}, "colour": "red"}, 422, "validation_error"),
    # PATCH: unknown fields and parameters, wrong types, malformed ids
    (FACILITATOR, "PATCH", S, {"colour": "red"}, 422, "validation_error"),
    (FACILITATOR, "PATCH", S, {"settings": {"meetings.weekly": 2}}, 422, "invalid_settings"),
    (FACILITATOR, "PATCH", S, {"settings": {"meetings.virtual_per_year": "four"}}, 422, "invalid_settings"),
    (FACILITATOR, "PATCH", S, {"settings": {"meetings.virtual_per_year": True}}, 422, "invalid_settings"),
    (FACILITATOR, "PATCH", S, {"settings": {"sessions.required_components": "quote"}}, 422, "invalid_settings"),
    (FACILITATOR, "PATCH", S, {"settings": {"membership.join_mode": "whenever"}}, 422, "invalid_settings"),
    (FACILITATOR, "PATCH", S, {"settings": ["meetings.virtual_per_year"]}, 422, "validation_error"),
    (FACILITATOR, "PATCH", S, {"name": 42}, 422, "validation_error"),
    (FACILITATOR, "PATCH", S, {"name": "   "}, 422, "validation_error"),
    (FACILITATOR, "PATCH", S, {"visibility": "secret"}, 422, "validation_error"),
    (FACILITATOR, "PATCH", S, {"subspace_constraints": {"meetings.virtual_per_year": {"least": 3}}}, 422, None),
    (FACILITATOR, "PATCH", S, {"subspace_constraints": {"meetings.virtual_per_year": 3}}, 422, None),
    (ADMIN, "PATCH", S, {"parent_id": "not-a-uuid"}, 422, "validation_error"),
    (ADMIN, "PATCH", S, {"parent_id": MISSING}, 422, "parent_not_found"),
    (ADMIN, "PATCH", S, {"parent_id": "{space_id}"}, 422, None),
    (FACILITATOR, "PATCH", S, "{not json", 400, None),
    (FACILITATOR, "PATCH", S, "[]", 422, "validation_error"),
    (FACILITATOR, "PATCH", "/api/v1/spaces/not-a-uuid", {"name": "x"}, 404, None),
    (FACILITATOR, "GET", "/api/v1/spaces/not-a-uuid/policy", None, 404, None),
    (FACILITATOR, "GET", S + "/hierarchy?max_depth=-1", None, 422, "validation_error"),
    (FACILITATOR, "GET", S + "/hierarchy?max_depth=deep", None, 422, "validation_error"),
    (FACILITATOR, "POST", S + "/join", {"message": 5}, 422, "validation_error"),
]


@pytest.fixture
async def more(world: dict[str, str], db_session: AsyncSession) -> dict[str, str]:  # noqa: F811
    """A request of another space, an already declined request, a template of another network."""
    from sqlalchemy import select

    from services.persistence.models import Network
    from tests.factories import make_template

    home = await db_session.scalar(select(Network).where(Network.slug == "home"))
    other = await db_session.scalar(select(Network).where(Network.slug == "other"))
    assert home is not None and other is not None
    elsewhere = await make_space(db_session, home, name="Elsewhere", join_mode="request")
    other_request = SpaceJoinRequest(
        id=uuid.uuid4(), space_id=elsewhere.id, account_id=uuid.UUID(world["target_id"]), kind="request"
    )
    decided = SpaceJoinRequest(
        id=uuid.uuid4(),
        space_id=uuid.UUID(world["space_id"]),
        account_id=uuid.UUID(world["target_id"]),
        kind="request",
        status="declined",
    )
    db_session.add_all([other_request, decided])
    other_template = await make_template(db_session, other, {}, name="Theirs")
    await db_session.commit()
    return {
        **world,
        "other_request_id": str(other_request.id),
        "decided_request_id": str(decided.id),
        "other_template_id": str(other_template.id),
    }


@pytest.mark.parametrize(("who", "method", "path", "body", "status", "code"), CASES)
async def test_bad_input(client, more, db_session, who, method, path, body, status, code) -> None:
    url = path.format(**more)
    kwargs: dict[str, Any] = {"headers": bearer(more[f"token:{who}"])}
    if isinstance(body, str):
        kwargs["content"] = body
        kwargs["headers"] = {**kwargs["headers"], "Content-Type": "application/json"}
    elif body is not None:
        kwargs["json"] = {k: v.format(**more) if isinstance(v, str) else v for k, v in body.items()}
    before = await fingerprint(db_session)
    r = await client.request(method, url, **kwargs)
    assert r.status_code == status, f"{method} {path}: {r.status_code} {r.text}"
    error = r.json()["error"]
    assert error["code"] and len(error["message"]) > 10, r.text
    if code is not None:
        assert error["code"] == code, r.text
    await db_session.rollback()
    assert await fingerprint(db_session) == before, "refused, yet something was written"
