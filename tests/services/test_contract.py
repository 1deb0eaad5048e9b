"""The public contract (shared/API.md): every promised endpoint is served and described in OpenAPI."""

from __future__ import annotations

# (method, path) exactly as shared/API.md lists them; clients and acceptance checks depend on these.
CONTRACT = [
    ("GET", "/health"),
    ("GET", "/ready"),
    ("GET", "/metrics"),
    ("GET", "/api/v1/me"),
    ("POST", "/api/v1/networks"),
    ("GET", "/api/v1/networks"),
    ("GET", "/api/v1/networks/{slug}"),
    ("PUT", "/api/v1/networks/{slug}/members/{account_id}"),
    ("POST", "/api/v1/networks/{slug}/templates"),
    ("PUT", "/api/v1/networks/{slug}/templates/{template_id}"),
    ("GET", "/api/v1/networks/{slug}/compliance"),
    ("POST", "/api/v1/networks/{slug}/spaces"),
    ("GET", "/api/v1/spaces/{space_id}"),
    ("PATCH", "/api/v1/spaces/{space_id}"),
    ("PUT", "/api/v1/spaces/{space_id}/facilitators/{account_id}"),
    ("DELETE", "/api/v1/spaces/{space_id}/facilitators/{account_id}"),
    ("GET", "/api/v1/spaces/{space_id}/hierarchy"),
    ("GET", "/api/v1/spaces/{space_id}/policy"),
    ("POST", "/api/v1/spaces/{space_id}/join"),
    ("POST", "/api/v1/spaces/{space_id}/leave"),
    ("GET", "/api/v1/spaces/{space_id}/members"),
    ("POST", "/api/v1/spaces/{space_id}/requests/{request_id}/approve"),
    ("POST", "/api/v1/spaces/{space_id}/shares"),
    ("POST", "/api/v1/networks/{slug}/shares/{share_id}/accept"),
    ("DELETE", "/api/v1/shares/{share_id}"),
    ("PUT", "/api/v1/networks/{slug}/identity-provider"),
    ("POST", "/api/v1/networks/{slug}/clients"),
    ("GET", "/api/v1/spaces/{space_id}/messages"),
    ("POST", "/api/v1/spaces/{space_id}/messages"),
    ("GET", "/auth/login"),
    ("GET", "/auth/login/{slug}"),
    ("GET", "/auth/callback/{slug}"),
    ("POST", "/auth/logout"),
    ("GET", "/.well-known/openid-configuration"),
]


async def test_every_promised_endpoint_is_in_openapi(client) -> None:
    r = await client.get("/schema/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    missing = [f"{m} {p}" for m, p in CONTRACT if m.lower() not in paths.get(p, {})]
    assert not missing, f"promised by API.md but not served: {missing}"
