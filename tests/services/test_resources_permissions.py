"""The permission matrix of the resource libraries and search: every route of those areas with
the role that is allowed and the roles that are refused. A refusal is 401/403/404 with the
error envelope and leaves the library's tables and stored files exactly as they were.

``test_every_route_has_a_row`` fails when a route under /spaces/{id}/resources,
/networks/{slug}/resources or /search has no row (the main matrix in test_permission_matrix.py
leaves these prefixes to this file). Also: the network library for members, the public, and
admins.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute
from sqlalchemy.ext.asyncio import AsyncSession

from services.persistence.models import Resource
from services.settings import Settings
from tests.services.resources_world import PDF, build_world, table_state

S = "/api/v1/spaces/{space}/resources"
N = "/api/v1/networks/{slug}/resources"
ROUTE = {"S": "/api/v1/spaces/{space_id}/resources", "N": "/api/v1/networks/{slug}/resources"}
OUTSIDERS = ("other_member", "net_member", "guest", "admin", "stranger", "anon")
NOT_ADMINS = ("fac", "member", "net_member", "guest_live", "stranger", "anon")


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    allowed: str
    status: int
    refused: tuple[str, ...]
    body: dict[str, Any] | None = None
    upload: bool = False

    @property
    def route(self) -> str:
        path = self.path.replace(S, ROUTE["S"]).replace(N, ROUTE["N"])
        return (
            path.replace("{link}", "{resource_id}")
            .replace("{file}", "{resource_id}")
            .replace("{net_link}", "{resource_id}")
        )


LINK = {"title": "New", "url": "https://new.example/"}
MATRIX = (
    Row("GET", S, "member", 200, OUTSIDERS),
    Row("POST", S, "guest_live", 201, OUTSIDERS, LINK),
    Row("POST", S + "/files", "member", 201, OUTSIDERS, upload=True),
    Row("GET", S + "/{link}", "guest_live", 200, OUTSIDERS),
    Row("PATCH", S + "/{link}", "member", 200, ("member2", "guest_live", *OUTSIDERS), {"title": "Renamed"}),
    Row("PATCH", S + "/{link}", "fac", 200, ("member2", *OUTSIDERS), {"title": "Moderated"}),
    Row("DELETE", S + "/{link}", "fac", 204, ("member2", "guest_live", *OUTSIDERS)),
    Row("DELETE", S + "/{file}", "fac", 204, ("member", "member2", *OUTSIDERS)),
    Row("PUT", S + "/{link}/pin", "fac", 200, ("member", "member2", "guest_live", *OUTSIDERS)),
    Row("DELETE", S + "/{link}/pin", "fac", 200, ("member", "guest_live", *OUTSIDERS)),
    Row("GET", S + "/{file}/file", "guest_live", 200, OUTSIDERS),
    Row("GET", N, "net_member", 200, ()),  # public route: outsiders see public items only (tested below)
    Row("POST", N, "admin", 201, NOT_ADMINS, LINK),
    Row("POST", N + "/files", "admin", 201, NOT_ADMINS, upload=True),
    Row("GET", N + "/{net_link}", "net_member", 200, ("guest", "guest_live", "stranger", "anon")),
    Row("PATCH", N + "/{net_link}", "admin", 200, NOT_ADMINS, {"public": True}),
    Row("DELETE", N + "/{net_link}", "admin", 204, NOT_ADMINS),
    Row("PUT", N + "/{net_link}/pin", "admin", 200, NOT_ADMINS),
    Row("DELETE", N + "/{net_link}/pin", "admin", 200, NOT_ADMINS),
    Row("GET", N + "/{net_file}/file", "net_member", 200, ("guest", "guest_live", "stranger", "anon")),
    Row("GET", "/api/v1/search", "member", 200, ("anon",)),
)
PREFIXES = (ROUTE["S"], ROUTE["N"], "/api/v1/search")


def test_every_route_has_a_row(app: Litestar) -> None:
    routes = {
        (m, r.path_format)
        for r in app.routes
        if isinstance(r, HTTPRoute) and r.path_format.startswith(PREFIXES)
        for m in r.methods - {"OPTIONS", "HEAD"}
    }
    rows = {(r.method, r.route.replace("{net_file}", "{resource_id}")) for r in MATRIX}
    assert routes - rows == set(), f"routes without a row: {sorted(routes - rows)}"
    assert rows - routes == set(), f"rows for routes that do not exist: {sorted(rows - routes)}"


def files_on_disk(settings: Settings) -> list[Path]:
    root = settings.data_dir / "files"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture
async def world(client, db_session: AsyncSession) -> dict[str, Any]:
    w = await build_world(db_session)
    base = f"/api/v1/spaces/{w['space']}/resources"
    link = (await client.post(base, json={"title": "Toolkit", "url": "https://t.example/"}, headers=w["member"])).json()
    await client.put(f"{base}/{link['id']}/pin", headers=w["fac"])
    file = (await client.post(base + "/files", content=PDF, headers={**w["fac"], "X-File-Name": "plan.pdf"})).json()
    nbase = f"/api/v1/networks/{w['slug']}/resources"
    net_link = (
        await client.post(nbase, json={"title": "Staff handbook", "url": "https://h.example/"}, headers=w["admin"])
    ).json()
    await client.put(f"{nbase}/{net_link['id']}/pin", headers=w["admin"])
    net_file = (
        await client.post(nbase + "/files", content=PDF + b"net", headers={**w["admin"], "X-File-Name": "staff.pdf"})
    ).json()
    public = (
        await client.post(
            nbase + "/files",
            content=PDF + b"public",
            headers={
                **w["admin"],
                "X-File-Name": "welcome.pdf",
                "X-Title": quote("Welcome, new hires"),
                "X-Public": "true",
            },
        )
    ).json()
    w.update(link=link["id"], file=file["id"], net_link=net_link["id"], net_file=net_file["id"], public=public["id"])
    w["anon"] = {}
    return w


@pytest.mark.parametrize("row", MATRIX, ids=[f"{r.method} {r.path} as {r.allowed}" for r in MATRIX])
async def test_matrix(client, world, db_session: AsyncSession, settings: Settings, row: Row) -> None:
    url = row.path.format(**world)

    async def call(who: str) -> Any:
        kwargs: dict[str, Any] = {"headers": dict(world[who])}
        if row.body is not None:
            kwargs["json"] = row.body
        if row.upload:
            kwargs["content"] = PDF + b"matrix"
            kwargs["headers"]["X-File-Name"] = "m.pdf"
        if url == "/api/v1/search":
            kwargs["params"] = {"q": "toolkit"}
        return await client.request(row.method, url, **kwargs)

    before, files = await table_state(db_session), files_on_disk(settings)
    for who in row.refused:
        r = await call(who)
        public_route = row.method == "GET" and url.startswith("/api/v1/networks/")
        expected = {404} if public_route else {401} if who == "anon" else {403, 404}
        assert r.status_code in expected, f"{row.method} {row.path} as {who}: {r.status_code} {r.text}"
        assert r.json()["error"]["code"], r.text
        assert await table_state(db_session) == before, f"{row.method} {row.path} as {who} wrote something"
        assert files_on_disk(settings) == files
    r = await call(row.allowed)
    assert r.status_code == row.status, f"{row.method} {row.path} as {row.allowed}: {r.status_code} {r.text}"


async def test_network_library_members_public_and_admins(client, world, db_session) -> None:
    w = world
    nbase = f"/api/v1/networks/{w['slug']}/resources"
    member_view = (await client.get(nbase, headers=w["net_member"])).json()
    assert member_view["items"][0]["id"] == w["net_link"]  # pinned first
    assert {i["id"] for i in member_view["items"]} == {w["net_link"], w["net_file"], w["public"]}
    assert member_view["can_add"] is False and member_view["items"][0]["network"] == w["slug"]
    for who in ("stranger", "anon", "guest_live"):
        view = (await client.get(nbase, headers=w[who])).json()
        assert [i["id"] for i in view["items"]] == [w["public"]] and view["total"] == 1, who
        d = await client.get(f"{nbase}/{w['public']}/file", headers=w[who])
        assert d.status_code == 200 and d.content == PDF + b"public"
        assert (await client.get(f"{nbase}/{w['net_file']}/file", headers=w[who])).status_code == 404
    admin_view = (await client.get(nbase, headers=w["admin"])).json()
    assert admin_view["can_add"] and admin_view["can_pin"] and all(i["can_change"] for i in admin_view["items"])
    # Making a resource private again takes it from the public at once.
    r = await client.patch(f"{nbase}/{w['public']}", json={"public": False}, headers=w["admin"])
    assert r.status_code == 200 and r.json()["public"] is False
    assert (await client.get(nbase, headers=w["stranger"])).json()["items"] == []
    # Network members find network resources by search; others do not.
    found = (await client.get("/api/v1/search", params={"q": "handbook"}, headers=w["net_member"])).json()
    assert [h["resource"] for h in found["items"]] == [w["net_link"]] and found["items"][0]["network"] == w["slug"]
    assert (await client.get("/api/v1/search", params={"q": "handbook"}, headers=w["stranger"])).json()["items"] == []
    # A space resource cannot be public; an unknown network is a 404.
    r = await client.patch(
        f"/api/v1/spaces/{w['space']}/resources/{w['link']}", json={"public": True}, headers=w["fac"]
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "bad_public"
    r = await client.get("/api/v1/networks/nope/resources", headers=w["admin"])
    assert r.status_code == 404 and r.json()["error"]["code"] == "network_not_found"
    r = await client.get(f"{nbase}/{uuid.uuid4()}", headers=w["admin"])
    assert r.status_code == 404 and r.json()["error"]["code"] == "resource_not_found"
    assert await db_session.get(Resource, uuid.UUID(w["public"])) is not None
