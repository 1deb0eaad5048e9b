"""Wire rules (federation/wire.py): NUL characters, integers beyond int64 and over-deep JSON are
refused with a 4xx naming the field — in bodies, free-form settings, path segments, query
parameters and forms — and a refused request writes nothing. Each of these was a 500 before."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from federation.wire import INT64_MAX, MAX_DEPTH, InputProblem, check_json, nesting_depth_exceeds
from tests.factories import add_member, add_space_member, bearer, make_account, make_network, make_space, make_token

BIG = 2**70


@pytest.fixture
async def admin(db_session: AsyncSession) -> dict[str, Any]:
    account = await make_account(db_session, operator=True)
    network = await make_network(db_session)
    await add_member(db_session, network, account, "admin")
    space = await make_space(db_session, network)
    await add_space_member(db_session, space, account, role="facilitator")
    token = await make_token(db_session, account)
    await db_session.commit()
    return {"headers": bearer(token), "slug": network.slug, "space": str(space.id)}


async def _counts(db_session: AsyncSession) -> tuple[int, ...]:
    row = (
        await db_session.execute(
            text(
                "SELECT (SELECT count(*) FROM networks), (SELECT count(*) FROM spaces), "
                "(SELECT count(*) FROM messages), (SELECT md5(string_agg(settings::text, '|')) FROM spaces)"
            )
        )
    ).one()
    return tuple(row)


def _names_field(body: dict[str, Any], field: str) -> None:
    error = body["error"]
    assert field in error["message"], error
    assert any(field in str(p.get("key", "")) for p in error["details"].get("problems", [])), error


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/api/v1/networks", {"slug": "nul-net", "name": "a\x00b", "kind": "district"}, "name"),
        ("POST", "/api/v1/networks", {"slug": "nul\x00net", "name": "N", "kind": "district"}, "slug"),
        ("POST", "/api/v1/networks/{slug}/spaces", {"name": "x\x00", "kind": "identity"}, "name"),
        ("PATCH", "/api/v1/spaces/{space}", {"settings": {"chat.posting": "members\x00"}}, "chat.posting"),
        ("PATCH", "/api/v1/spaces/{space}", {"settings": {"x\x00y": 1}}, "settings"),
        ("PATCH", "/api/v1/spaces/{space}", {"settings": {"chat.retention_days": BIG}}, "chat.retention_days"),
        ("PATCH", "/api/v1/spaces/{space}", {"settings": {"meetings.virtual_per_year": -BIG}}, "virtual_per_year"),
        ("POST", "/api/v1/spaces/{space}/messages", {"body": "hi\x00", "key": "k1"}, "body"),
        ("POST", "/api/v1/spaces/{space}/messages", {"body": "hi", "key": "k\x00"}, "key"),
        (
            "POST",
            "/api/v1/networks/{slug}/templates",
            {"name": "t", "constraints": {"chat.retention_days": {"max": BIG}}},
            "max",
        ),
    ],
)
async def test_nul_and_out_of_range_values_are_refused_naming_the_field(
    client, db_session, admin, method: str, path: str, body: dict[str, Any], field: str
) -> None:
    before = await _counts(db_session)
    url = path.format(slug=admin["slug"], space=admin["space"])
    r = await client.request(method, url, json=body, headers=admin["headers"])
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "validation_error"
    _names_field(r.json(), field)
    assert await _counts(db_session) == before


async def test_deeply_nested_json_is_a_400_not_a_recursion_error(client, db_session, admin) -> None:
    before = await _counts(db_session)
    deep = '{"settings": {"x": ' + "[" * 20_000 + "]" * 20_000 + "}}"
    r = await client.patch(
        f"/api/v1/spaces/{admin['space']}",
        content=deep,
        headers={**admin["headers"], "content-type": "application/json"},
    )
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "too_deep"
    # Even where no field is free-form (the decoder would have to skip the unknown value).
    r = await client.post(
        "/api/v1/networks",
        content='{"zz": ' + "[" * 20_000 + "]" * 20_000 + "}",
        headers={**admin["headers"], "content-type": "application/json"},
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "too_deep"
    assert await _counts(db_session) == before


async def test_nul_in_a_path_segment_or_query_is_a_400(client, admin) -> None:
    r = await client.get("/api/v1/networks/bad%00slug", headers=admin["headers"])
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_path", r.text
    r = await client.get("/api/v1/networks/%00", headers=admin["headers"])
    assert r.status_code == 400
    r = await client.get(f"/api/v1/spaces/{admin['space']}/requests?status=a%00b", headers=admin["headers"])
    assert r.status_code == 422 and "status" in r.json()["error"]["message"], r.text
    # Not signed in: still refused before anything else runs.
    assert (await client.get("/auth/login?next=%2F%00")).status_code == 422


async def test_integers_beyond_int64_in_query_and_path_are_4xx(client, admin) -> None:
    space = admin["space"]
    r = await client.get(f"/api/v1/spaces/{space}/messages?after={BIG}", headers=admin["headers"])
    assert r.status_code in {400, 422}, r.text
    r = await client.get(f"/api/v1/spaces/{space}/messages?after={INT64_MAX}", headers=admin["headers"])
    assert r.status_code == 200, r.text
    r = await client.delete(f"/api/v1/spaces/{space}/messages/{BIG}", headers=admin["headers"])
    assert 400 <= r.status_code < 500, r.text


async def test_nul_in_a_sign_in_form_is_refused(client, db_session) -> None:
    await db_session.commit()
    r = await client.post(
        "/auth/login",
        content="email=a%00b%40example.org&password=x",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    # The sign-in page answers in its own words (a page, not the API's JSON): see
    # test_identity_sessions.py for the form with a valid CSRF token, where it names the NUL.
    assert 400 <= r.status_code < 500, r.text


def test_check_json_names_the_path_and_depth_scan_skips_strings() -> None:
    with pytest.raises(InputProblem) as info:
        check_json({"a": [1, {"b": "x\x00"}]})
    assert info.value.field == "$.a[1].b"
    with pytest.raises(InputProblem):
        check_json({"n": 2**63})
    check_json({"n": 2**63 - 1, "m": -(2**63)})
    assert not nesting_depth_exceeds('{"s": "' + "[" * 10_000 + '"}')
    assert nesting_depth_exceeds("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))
    assert not nesting_depth_exceeds("[" * MAX_DEPTH + "]" * MAX_DEPTH)


def _head_only(url: str, path: str, length: int, headers: dict[str, str]) -> bytes:
    """Send a request's head announcing ``length`` body bytes and no body; what comes back in 5 s."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    head = f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Length: {length}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        sock.sendall(head.encode())
        try:
            return sock.recv(65536)
        except TimeoutError:
            return b""


@pytest.mark.parametrize(
    "path",
    ["/api/v1/spaces/{space}/resources/files", "/api/v1/networks/{slug}/resources/files"],
)
def test_an_unauthenticated_upload_is_refused_before_its_body_is_read(settings, admin, path: str) -> None:
    """The guard used to wait for (and buffer) up to 1 MiB of any body before authentication ran;
    an anonymous upload now gets its 401 at once, without sending a byte of the body."""
    from tests.services.test_identity_sessions import _Served

    target = path.format(space=admin["space"], slug=admin["slug"])
    with _Served(settings) as url:
        answer = _head_only(url, target, 900_000, {"Content-Type": "application/pdf", "X-File-Name": "a.pdf"})
        assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
        # A JSON body is still checked by the guard before anything else (its own test above).
        answer = _head_only(url, "/api/v1/networks", 10, {"Content-Type": "application/json"})
        assert answer == b"", answer[:200]
