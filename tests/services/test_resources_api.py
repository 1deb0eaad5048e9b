"""The space resource library through the API: the done-when flow (a facilitator uploads a PDF
and pins a link; a member finds both by search and downloads the PDF), the same 404 for every
outsider, guests while a share lasts, roles, bad input (nothing stored), content-addressed
storage and deletion, and privacy (no titles in logs)."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import msgspec
import pytest
from litestar import Litestar
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.persistence.models import AuditEvent, Resource, ResourceBlob
from services.settings import Settings
from tests.services.resources_world import PDF, PNG, ServerThread, add_messages, build_world, table_state


@pytest.fixture
async def w(db_session: AsyncSession) -> dict[str, Any]:
    return await build_world(db_session)


def lib(w: dict[str, Any], space: str = "space") -> str:
    return f"/api/v1/spaces/{w[space]}/resources"


def meta_headers(name: str, title: str | None = None, tags: list[str] | None = None, **more: str) -> dict[str, str]:
    """Upload metadata as the API takes it: percent-encoded headers (never the URL)."""
    out = {"X-File-Name": quote(name)}
    if title is not None:
        out["X-Title"] = quote(title)
    if tags:
        out["X-Tags"] = quote(",".join(tags))
    return {**out, **more}


async def upload(
    client, w, who: str, data: bytes, name: str = "plan.pdf", title: str | None = None, tags: list[str] | None = None
) -> Any:
    return await client.post(
        lib(w) + "/files",
        content=data,
        headers={**w[who], "Content-Type": "application/pdf", **meta_headers(name, title, tags)},
    )


def stored_files(settings: Settings) -> list[Path]:
    root = settings.data_dir / "files"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


async def test_facilitator_uploads_and_pins_member_searches_and_downloads(client, w, settings) -> None:
    r = await upload(client, w, "fac", PDF, name="Retention plan.pdf", title="Retention plan 2027", tags=["planning"])
    assert r.status_code == 201, r.text
    pdf = r.json()
    assert pdf["kind"] == "file" and pdf["file"]["content_type"] == "application/pdf"
    assert pdf["file"]["size"] == len(PDF) and pdf["added_by_name"] == "Fac" and pdf["tags"] == ["planning"]
    r = await client.post(
        lib(w),
        json={"title": "Mentoring toolkit", "url": "https://example.org/toolkit", "note": "For new principals"},
        headers=w["fac"],
    )
    assert r.status_code == 201, r.text
    link = r.json()
    r = await client.put(f"{lib(w)}/{link['id']}/pin", headers=w["fac"])
    assert r.status_code == 200 and r.json()["pinned"] is True

    page = (await client.get(lib(w), headers=w["member"])).json()
    assert [i["id"] for i in page["items"]] == [link["id"], pdf["id"]]  # pinned first
    assert page["can_add"] is True and page["can_pin"] is False and page["items"][0]["can_change"] is False

    found = (await client.get("/api/v1/search", params={"q": "retention plan"}, headers=w["member"])).json()
    assert any(h["resource"] == pdf["id"] for h in found["items"]), found
    hit = next(h for h in found["items"] if h["resource"] == pdf["id"])
    assert "<mark>Retention</mark>" in hit["snippet_html"] and hit["url"].endswith(f"/resources/{pdf['id']}/file")
    found = (
        await client.get("/api/v1/search", params={"q": "mentoring", "space": w["space"]}, headers=w["member"])
    ).json()
    assert [h["resource"] for h in found["items"]] == [link["id"]]
    assert found["items"][0]["url"] == "https://example.org/toolkit"

    r = await client.get(hit["url"], headers=w["member"])
    assert r.status_code == 200 and r.content == PDF
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"].startswith('attachment; filename="Retention plan.pdf"')
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in r.headers["content-security-policy"]
    assert len(stored_files(settings)) == 1


async def test_outsiders_get_the_same_404_for_list_metadata_file_and_search(client, w) -> None:
    pdf = (await upload(client, w, "fac", PDF, title="Retention plan")).json()
    missing = str(uuid.uuid4())

    def paths(space: str) -> list[str]:
        base = f"/api/v1/spaces/{space}/resources"
        return [base, f"{base}/{pdf['id']}", f"{base}/{pdf['id']}/file"]

    for who in ("other_member", "net_member", "guest", "stranger", "admin"):
        for real, fake in zip(paths(w["space"]), paths(missing), strict=True):
            a, b = await client.get(real, headers=w[who]), await client.get(fake, headers=w[who])
            assert a.status_code == b.status_code == 404, (who, real, a.text)
            assert a.json()["error"]["code"] == b.json()["error"]["code"] == "space_not_found"
            assert a.json()["error"]["message"].replace(w["space"], missing) == b.json()["error"]["message"]
        a = await client.get("/api/v1/search", params={"q": "retention", "space": w["space"]}, headers=w[who])
        b = await client.get("/api/v1/search", params={"q": "retention", "space": missing}, headers=w[who])
        assert a.status_code == b.status_code == 404, (who, a.text)
        assert a.json()["error"]["message"].replace(w["space"], missing) == b.json()["error"]["message"]
        everywhere = (await client.get("/api/v1/search", params={"q": "retention"}, headers=w[who])).json()
        assert everywhere["items"] == [], (who, everywhere)
    # A guest while the share lasts reads, downloads and finds it.
    assert (await client.get(paths(w["space"])[2], headers=w["guest_live"])).content == PDF
    found = (await client.get("/api/v1/search", params={"q": "retention"}, headers=w["guest_live"])).json()
    assert [h["resource"] for h in found["items"]] == [pdf["id"]]


async def test_a_share_ending_takes_the_library_away_at_once(client, w, db_session) -> None:
    pdf = (await upload(client, w, "fac", PDF, title="Retention plan")).json()
    url = f"{lib(w)}/{pdf['id']}/file"
    assert (await client.get(url, headers=w["guest_live"])).status_code == 200
    await db_session.execute(text("UPDATE shares SET status = 'ended', ended_at = now() WHERE status = 'active'"))
    await db_session.commit()
    assert (await client.get(url, headers=w["guest_live"])).status_code == 404
    r = await client.get("/api/v1/search", params={"q": "retention"}, headers=w["guest_live"])
    assert r.status_code == 200 and r.json()["items"] == []


async def test_search_never_returns_a_hidden_identity_space(client, w, db_session) -> None:
    await add_messages(db_session, w["hidden"], w["fac_id"], ["our secret retreat agenda"])
    r = await client.post(
        f"/api/v1/spaces/{w['hidden']}/resources",
        json={"title": "Secret retreat", "url": "https://x.example/r"},
        headers=w["fac"],
    )
    assert r.status_code == 201
    for who in ("member2", "other_member", "net_member", "admin", "guest_live", "stranger"):
        found = (await client.get("/api/v1/search", params={"q": "secret retreat"}, headers=w[who])).json()
        assert found["items"] == [], who
    found = (await client.get("/api/v1/search", params={"q": "secret retreat"}, headers=w["member"])).json()
    assert {h["kind"] for h in found["items"]} == {"message", "resource"}
    assert all(h["space"] == w["hidden"] for h in found["items"])
    msg = next(h for h in found["items"] if h["kind"] == "message")
    assert msg["seq"] == 1 and msg["author_name"] == "Fac" and "<mark>secret</mark>" in msg["snippet_html"]


@pytest.mark.parametrize(
    "q",
    [
        '"unclosed',
        "a & b | !c",
        "-",
        "or",
        "((",
        "retention -plan",
        "'; DROP TABLE messages; --",
        "\\",
        "*:*",
        "🙂",
        "x" * 200,
        "<script>alert(1)</script>",
        "plan:*",
        "a<->b",
        "ñandú",
    ],
)
async def test_search_with_operators_or_odd_characters_never_errors(client, w, q) -> None:
    await upload(client, w, "fac", PDF, title="Retention plan")
    r = await client.get("/api/v1/search", params={"q": q}, headers=w["member"])
    assert r.status_code == 200, r.text


async def test_search_escapes_markup_in_snippets_and_pages(client, w, db_session) -> None:
    await add_messages(
        db_session,
        w["space"],
        w["member_id"],
        [f"<img src=x onerror=alert(1)> budget & co <b>{n}</b>" for n in range(1, 26)],
    )
    first = (await client.get("/api/v1/search", params={"q": "budget", "limit": 20}, headers=w["member"])).json()
    assert len(first["items"]) == 20 and first["has_more"] is True
    snippet = first["items"][0]["snippet_html"]
    assert "<mark>budget</mark>" in snippet and "&gt;" in snippet and "<img" not in snippet and "<b>" not in snippet
    second = (await client.get("/api/v1/search", params={"q": "budget", "page": 2}, headers=w["member"])).json()
    assert len(second["items"]) == 5 and second["has_more"] is False
    seqs = {h["seq"] for h in first["items"]} | {h["seq"] for h in second["items"]}
    assert seqs == set(range(1, 26))
    for bad in ({"q": ""}, {"q": "x" * 201}, {"q": "a", "page": 0}, {"q": "a", "limit": 51}, {"q": "a", "space": "x"}):
        r = await client.get("/api/v1/search", params=bad, headers=w["member"])
        assert r.status_code in {400, 422} and r.json()["error"]["code"] == "validation_error", (bad, r.text)
    assert (await client.get("/api/v1/search", params={"q": "a"})).status_code == 401


async def test_roles_pin_edit_delete(client, w, db_session) -> None:
    mine = (await client.post(lib(w), json={"title": "Mine", "url": "https://a.example/"}, headers=w["member"])).json()
    fac = (await client.post(lib(w), json={"title": "Fac's", "url": "https://b.example/"}, headers=w["fac"])).json()
    before = await table_state(db_session)
    refused = [
        ("PUT", f"{lib(w)}/{mine['id']}/pin", "member", None),
        ("DELETE", f"{lib(w)}/{fac['id']}/pin", "member", None),
        ("PATCH", f"{lib(w)}/{fac['id']}", "member", {"title": "Hijacked"}),
        ("DELETE", f"{lib(w)}/{fac['id']}", "member2", None),
        ("PATCH", f"{lib(w)}/{mine['id']}", "member2", {"title": "Hijacked"}),
    ]
    for method, url, who, body in refused:
        r = await client.request(method, url, headers=w[who], **({"json": body} if body else {}))
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden", (method, url, r.text)
    assert await table_state(db_session) == before
    r = await client.patch(
        f"{lib(w)}/{mine['id']}", json={"title": "Mine, renamed", "tags": ["Year-1"]}, headers=w["member"]
    )
    assert r.status_code == 200 and r.json()["title"] == "Mine, renamed" and r.json()["tags"] == ["year-1"]
    assert r.json()["updated_at"] is not None
    tagged = (await client.get(lib(w), params={"tag": "year-1"}, headers=w["member2"])).json()
    assert [i["id"] for i in tagged["items"]] == [mine["id"]]
    by_title = (await client.get(lib(w), params={"sort": "title"}, headers=w["member2"])).json()
    assert [i["title"] for i in by_title["items"]] == ["Fac's", "Mine, renamed"]
    paged = (await client.get(lib(w), params={"limit": 1, "page": 2, "sort": "oldest"}, headers=w["member2"])).json()
    assert paged["total"] == 2 and [i["id"] for i in paged["items"]] == [fac["id"]]
    # A facilitator deletes a member's resource: audited by id, with no title.
    assert (await client.delete(f"{lib(w)}/{mine['id']}", headers=w["fac"])).status_code == 204
    events = (await db_session.scalars(select(AuditEvent).where(AuditEvent.action == "resource.delete"))).all()
    assert len(events) == 1 and "Mine" not in json.dumps([events[0].before, events[0].after], default=str)
    assert (await client.delete(f"{lib(w)}/{fac['id']}/pin", headers=w["fac"])).json()["pinned"] is False
    # Other spaces' resource ids are not found through this space.
    r = await client.get(f"/api/v1/spaces/{w['hidden']}/resources/{fac['id']}", headers=w["fac"])
    assert r.status_code == 404 and r.json()["error"]["code"] == "resource_not_found"


async def test_facilitators_only_posting_and_leaving_members(client, w, db_session) -> None:
    mine = (await client.post(lib(w), json={"title": "Stays", "url": "https://a.example/"}, headers=w["member"])).json()
    # The member leaves: their resource stays with the space, attributed.
    assert (await client.post(f"/api/v1/spaces/{w['space']}/leave", headers=w["member"])).status_code == 200
    page = (await client.get(lib(w), headers=w["fac"])).json()
    assert [(i["id"], i["added_by"]) for i in page["items"]] == [(mine["id"], w["member_id"])]
    assert (await client.get(lib(w), headers=w["member"])).status_code == 404
    # Only facilitators post in chat: members read the library but cannot add to it.
    await db_session.execute(
        text('UPDATE spaces SET settings = settings || \'{"chat.posting": "facilitators"}\' WHERE id = :s').bindparams(
            s=uuid.UUID(w["space"])
        )
    )
    await db_session.commit()
    assert (await client.get(lib(w), headers=w["member2"])).json()["can_add"] is False
    r = await client.post(lib(w), json={"title": "No", "url": "https://a.example/"}, headers=w["member2"])
    assert r.status_code == 403
    r = await upload(client, w, "member2", PDF)
    assert r.status_code == 403


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"title": "x", "url": "javascript:alert(1)"}, "bad_url"),
        ({"title": "x", "url": "JaVaScRiPt:alert(1)"}, "bad_url"),
        ({"title": "x", "url": "data:text/html,<b>hi</b>"}, "bad_url"),
        ({"title": "x", "url": "/relative/path"}, "bad_url"),
        ({"title": "x", "url": "https://"}, "bad_url"),
        ({"title": "x", "url": "https://a.example/ spaced"}, "bad_url"),
        ({"title": "x", "url": "http://a.example:99999/"}, "bad_url"),
        ({"title": "   ", "url": "https://a.example/"}, "bad_title"),
        ({"title": "x", "url": "https://a.example/", "tags": ["<script>"]}, "bad_tag"),
        ({"title": "x", "url": "https://a.example/", "public": True}, "bad_public"),
    ],
)
async def test_bad_links_are_422_and_store_nothing(client, w, db_session, body, code) -> None:
    before = await table_state(db_session)
    r = await client.post(lib(w), json=body, headers=w["member"])
    assert r.status_code == 422 and r.json()["error"]["code"] == code, r.text
    assert await table_state(db_session) == before


async def test_malformed_bodies_are_400(client, w, db_session, settings) -> None:
    before = await table_state(db_session)
    for body in (
        {"title": "x"},
        {"title": "x", "url": "https://a/", "extra": 1},
        {"title": "x" * 201, "url": "https://a/"},
    ):
        r = await client.post(lib(w), json=body, headers=w["member"])
        assert r.status_code in {400, 422} and r.json()["error"]["code"] == "validation_error", r.text
    for headers in ({}, {"X-File-Name": ""}, {"X-File-Name": "a.pdf", "X-Tags": quote("<b>")}):
        r = await client.post(lib(w) + "/files", content=PDF, headers={**w["member"], **headers})
        assert r.status_code in {400, 422} and r.json()["error"]["code"] in {"validation_error", "bad_tag"}, r.text
    assert await table_state(db_session) == before and stored_files(settings) == []
    for params in ({"sort": "sideways"}, {"page": 0}, {"limit": 101}, {"tag": "<b>"}):
        r = await client.get(lib(w), params=params, headers=w["member"])
        assert r.status_code in {400, 422}, (params, r.text)


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"<!DOCTYPE html><html><script>alert(1)</script></html>", "page.html"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "logo.svg"),
        (b"MZ\x90\x00\x03" + b"\x00" * 100, "setup.exe"),
        (b"ID3\x04\x00" + b"\x00" * 100, "song.mp3"),
        (b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100, "talk.mp4"),
        (b"PK\x03\x04" + b"\x00" * 100, "archive.zip"),
    ],
)
async def test_disallowed_files_are_415_and_store_nothing(client, w, db_session, settings, data, name) -> None:
    before = await table_state(db_session)
    r = await upload(client, w, "member", data, name=name)
    assert r.status_code == 415 and r.json()["error"]["code"] == "unsupported_file_type", r.text
    assert "PDF" in r.json()["error"]["message"] and "links" in r.json()["error"]["message"]
    assert await table_state(db_session) == before and stored_files(settings) == []


def small_limit_app_settings(settings: Settings) -> Settings:
    return msgspec.structs.replace(settings, upload_max_mib=1)


@pytest.fixture
def small_limit_app(settings: Settings) -> Litestar:
    from services.app import create_app

    return create_app(small_limit_app_settings(settings))


async def test_oversized_files_are_413_with_the_limit_and_store_nothing(
    small_limit_app, w, db_session, settings
) -> None:
    from litestar.testing import AsyncTestClient

    before = await table_state(db_session)
    big = PDF + b"x" * (1024 * 1024)
    async with AsyncTestClient(app=small_limit_app, base_url="http://testserver.local") as client:
        r = await upload(client, w, "member", big)
        assert r.status_code == 413, r.text
        assert r.json()["error"]["code"] == "file_too_large" and "1 MiB" in r.json()["error"]["message"]
        assert r.json()["error"]["details"]["max_bytes"] == 1024 * 1024

        assert (await table_state(db_session)) == before
        assert stored_files(settings) == [] and list((settings.data_dir / "files" / ".incoming").iterdir()) == []
        ok = await upload(client, w, "member", PDF)
        assert ok.status_code == 201
    # Chunked, with no Content-Length, through a real server: the limit holds while streaming.
    server = ServerThread(small_limit_app_settings(settings)).start()
    try:
        import httpx

        async def chunked() -> Any:
            for i in range(0, len(big), 65536):
                yield big[i : i + 65536]

        async with httpx.AsyncClient(base_url=server.url) as c:
            r = await c.post(lib(w) + "/files", content=chunked(), headers={**w["member"], **meta_headers("big.pdf")})
        assert r.status_code == 413 and "1 MiB" in r.json()["error"]["message"], r.text
        assert len(stored_files(settings)) == 1 and list((settings.data_dir / "files" / ".incoming").iterdir()) == []
    finally:
        server.stop()


async def test_path_traversal_in_a_file_name_stores_a_safe_name(client, w, settings) -> None:
    for name, safe in [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("..\\..\\windows\\win.ini.pdf", "win.ini.pdf"),
        ("/abs/path/x.pdf", "x.pdf"),
        ('a"b;c\r\n.pdf', "a_b_c.pdf"),
        ("....", "file"),
        ("\u202eevil\u202c.pdf", "evil.pdf"),
    ]:
        r = await upload(client, w, "member", PDF, name=name, title="t")
        assert r.status_code == 201, r.text
        assert r.json()["file"]["name"] == safe, (name, r.json()["file"]["name"])
        d = await client.get(r.json()["file"]["download_url"], headers=w["member"])
        assert safe in d.headers["content-disposition"] and "\r" not in d.headers["content-disposition"]
    # Content-addressed: six uploads of the same bytes, one stored file, inside the store.
    files = stored_files(settings)
    assert len(files) == 1 and files[0].is_relative_to(settings.data_dir / "files" / "sha256")


async def test_types_are_sniffed_not_taken_from_the_client(client, w) -> None:
    r = await client.post(
        lib(w) + "/files",
        content=PNG,
        headers={**w["member"], "Content-Type": "text/html", **meta_headers("photo.pdf")},
    )
    assert r.status_code == 201 and r.json()["file"]["content_type"] == "image/png"
    d = await client.get(r.json()["file"]["download_url"], headers=w["member"])
    assert d.headers["content-type"] == "image/png"
    r = await upload(client, w, "member", b"name,role\nAna,principal\n", name="roster.csv")
    assert r.status_code == 201 and r.json()["file"]["content_type"] == "text/plain"
    d = await client.get(r.json()["file"]["download_url"], headers=w["member"])
    assert d.headers["content-type"] == "text/plain; charset=utf-8" and d.headers["content-disposition"].startswith(
        "attachment"
    )
    assert (await upload(client, w, "member", b"", name="empty.pdf")).status_code == 422


async def test_deleting_a_resource_deletes_its_file_once_unreferenced(client, w, db_session, settings) -> None:
    a = (await upload(client, w, "fac", PDF, title="A")).json()
    b = (await upload(client, w, "member", PDF, title="B")).json()
    assert len(stored_files(settings)) == 1
    assert (await client.delete(f"{lib(w)}/{a['id']}", headers=w["fac"])).status_code == 204
    assert len(stored_files(settings)) == 1
    assert (await client.get(b["file"]["download_url"], headers=w["member"])).content == PDF
    assert (await client.delete(f"{lib(w)}/{b['id']}", headers=w["member"])).status_code == 204
    assert stored_files(settings) == []
    await db_session.rollback()
    assert await db_session.scalar(select(func.count()).select_from(ResourceBlob)) == 0
    assert await db_session.scalar(select(func.count()).select_from(Resource)) == 0
    # The same bytes can be uploaded again afterwards.
    c = (await upload(client, w, "member", PDF, title="C")).json()
    assert (await client.get(c["file"]["download_url"], headers=w["member"])).content == PDF


async def _until(check: Any, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + 10.0
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def test_a_cut_off_upload_stores_nothing(w, db_session, settings) -> None:
    """A real server: the client announces 4 MiB, sends 1.5 MiB (past the input guard's 1 MiB
    look-ahead, so the upload is spooling), then hangs up."""
    before = await table_state(db_session)
    incoming = settings.data_dir / "files" / ".incoming"
    server = ServerThread(settings).start()
    try:
        _reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        head = (
            f"POST {lib(w)}/files HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {w['member']['Authorization']}\r\n"
            f"X-File-Name: cut.pdf\r\nContent-Type: application/pdf\r\nContent-Length: {4 * 1024 * 1024}\r\n\r\n"
        )
        writer.write(head.encode() + (PDF + b"0" * (1536 * 1024))[: 1536 * 1024])
        await writer.drain()
        await _until(lambda: incoming.exists() and any(incoming.iterdir()), "the upload to start spooling")
        writer.close()
        await _until(lambda: not any(incoming.iterdir()), "the partial upload to be removed")
        await asyncio.sleep(0.2)
        assert await table_state(db_session) == before
        assert stored_files(settings) == []
        # The server is fine afterwards, and a whole upload works.
        import httpx

        async with httpx.AsyncClient(base_url=server.url) as c:
            r = await c.post(lib(w) + "/files", content=PDF, headers={**w["member"], **meta_headers("whole.pdf")})
            assert r.status_code == 201, r.text
        assert len(stored_files(settings)) == 1
    finally:
        server.stop()


async def test_no_title_or_file_name_in_logs_or_metrics(client, w, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    secret_title, secret_name = "Zanzibar coalition minutes", "quokka-notes.pdf"
    r = await upload(client, w, "fac", PDF, name=secret_name, title=secret_title)
    assert r.status_code == 201
    await client.post(lib(w), json={"title": secret_title, "url": "https://q.example/"}, headers=w["fac"])
    await client.get("/api/v1/search", params={"q": "zanzibar"}, headers=w["member"])
    await client.get(r.json()["file"]["download_url"], headers=w["member"])
    await client.delete(f"{lib(w)}/{r.json()['id']}", headers=w["fac"])
    # The test client's own request log (httpx) is the client side; the server's records are checked.
    logged = " ".join(f"{rec.getMessage()} {rec.__dict__}" for rec in caplog.records if rec.name != "httpx")
    assert "Zanzibar" not in logged and "quokka" not in logged
    metrics = (await client.get("/metrics")).text
    assert "Zanzibar" not in metrics and "quokka" not in metrics and "zanzibar" not in metrics


async def test_unauthenticated_calls_are_401(client, w) -> None:
    for method, url in (("GET", lib(w)), ("POST", lib(w) + "/files"), ("GET", "/api/v1/search?q=x")):
        r = await client.request(method, url, headers=meta_headers("x.pdf") if "files" in url else None)
        assert r.status_code == 401, url


async def test_deleted_messages_are_not_found(client, w, db_session) -> None:
    await add_messages(db_session, w["space"], w["member_id"], ["the orchard fundraiser", "orchard cleanup"])
    found = (await client.get("/api/v1/search", params={"q": "orchard"}, headers=w["member2"])).json()
    assert sorted(h["seq"] for h in found["items"]) == [1, 2]
    # A tombstone (as chat deletion leaves it): the generated search vector follows the body.
    await db_session.execute(
        text("UPDATE messages SET body = '', deleted_at = now() WHERE space_id = :s AND seq = 1"),
        {"s": uuid.UUID(w["space"])},
    )
    await db_session.commit()
    found = (await client.get("/api/v1/search", params={"q": "orchard"}, headers=w["member2"])).json()
    assert [h["seq"] for h in found["items"]] == [2]
