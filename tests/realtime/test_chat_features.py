"""Chat people can live in, over a real server and real websocket clients (every broker):
history paging, edits, deletes and mutes over the websocket, author names, read markers and
unread counts, and the retention purge's frame. Zulip's rule throughout: applying the frames a
client received gives the same state as a fresh fetch."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from realtime.gateway import Gateway
from services.chat import repository
from services.chat.runtime import purge_expired
from services.persistence.models import AuditEvent, Message, SpaceMember
from tests.factories import add_member, add_space_member, bearer, make_account, make_network, make_space, make_token
from tests.realtime.conftest import Client, ServerThread


@dataclass
class World:
    """A space with a sub-space. alice, bob: members of both; carol: facilitator of the space
    (member of the sub-space); dave: in the network, not in the spaces. All in the network."""

    space: uuid.UUID
    sub: uuid.UUID
    tokens: dict[str, str]
    ids: dict[str, uuid.UUID]


async def _world(db: AsyncSession, *, retention_days: int | None = None) -> World:
    network = await make_network(db)
    settings: dict[str, object] = {"chat.retention_days": retention_days} if retention_days else {}
    space = await make_space(db, network, kind="topic", settings=settings)
    sub = await make_space(db, network, parent=space, kind="topic")
    tokens: dict[str, str] = {}
    ids: dict[str, uuid.UUID] = {}
    for name in ("alice", "bob", "carol", "dave"):
        account = await make_account(db, name=name.title())
        await add_member(db, network, account)
        tokens[name], ids[name] = await make_token(db, account), account.id
        if name != "dave":
            await add_space_member(db, space, account, role="facilitator" if name == "carol" else "member")
            await add_space_member(db, sub, account)
    await db.commit()
    return World(space.id, sub.id, tokens, ids)


class Replica:
    """One room as a client builds it from frames: seq -> (body, deleted, edited_at)."""

    def __init__(self) -> None:
        self.rows: dict[int, dict[str, Any]] = {}
        self.row_version: dict[int, int] = {}
        self.last_seq = 0
        self.version = 0

    def _row(self, seq: int, version: int, row: dict[str, Any]) -> None:
        # A change older than what the row already shows (a history page read after it) is stale.
        if version >= self.row_version.get(seq, 0):
            self.rows[seq] = row
            self.row_version[seq] = version

    def apply(self, frames: list[dict[str, Any]]) -> None:
        for f in frames:
            kind = f["type"]
            if kind == "subscribed":
                self.version = max(self.version, f["version"])
            elif kind == "message":
                self._message(f)
                self.last_seq = max(self.last_seq, f["seq"])
                self.version = max(self.version, f.get("version", 0))
            elif kind == "history":
                for m in f["messages"]:
                    self._message(m)
            elif kind == "edited":
                if f["seq"] in self.rows:
                    self._row(f["seq"], f["version"], {"body": f["body"], "deleted": False, "edited": f["edited_at"]})
                self.version = max(self.version, f["version"])
            elif kind == "deleted":
                if f["seq"] in self.rows:
                    self._row(f["seq"], f["version"], {"body": "", "deleted": True, "edited": None})
                self.version = max(self.version, f.get("version", 0))
            elif kind == "purged":
                cutoff = dt.datetime.fromisoformat(f["before"])
                for seq in [s for s, r in self.rows.items() if dt.datetime.fromisoformat(r["sent_at"]) < cutoff]:
                    del self.rows[seq]

    def _message(self, m: dict[str, Any]) -> None:
        deleted = m.get("deleted", False)
        row = {"body": m["body"], "deleted": deleted, "edited": None if deleted else m.get("edited_at")}
        self._row(m["seq"], m.get("version", 0), {**row, "sent_at": m["sent_at"]})

    def state(self) -> dict[int, tuple[str, bool, bool]]:
        return {s: (r["body"], r["deleted"], r["edited"] is not None) for s, r in self.rows.items()}


async def _fetch(http: httpx.AsyncClient, space: uuid.UUID, token: str) -> dict[int, tuple[str, bool, bool]]:
    r = await http.get(f"/api/v1/spaces/{space}/messages", headers=bearer(token), params={"limit": 500})
    assert r.status_code == 200, r.text
    return {m["seq"]: (m["body"], m["deleted"], m["edited_at"] is not None) for m in r.json()["items"]}


async def _send(c: Client, space: uuid.UUID, key: str, body: str | None = None) -> dict[str, Any]:
    await c.send({"type": "send", "space": str(space), "key": key, "body": body or f"body {key}"})
    return await c.ack(key)


async def _quiet(c: Client, seconds: float = 0.3) -> None:
    try:
        while True:
            await c.recv(seconds)
    except TimeoutError:
        return


def _error_for(ref: str) -> Any:
    return lambda f: f["type"] == "error" and f.get("ref") == ref


async def test_history_pages_backwards_over_http_and_websocket(server, db_session, clients) -> None:
    w = await _world(db_session)
    alice = await Client.open(server.ws_url, w.tokens["alice"])
    bob = await Client.open(server.ws_url, w.tokens["bob"])
    clients += [alice, bob]
    for i in range(1, 121):
        assert (await _send(alice, w.space, f"h{i}", f"message {i}"))["type"] == "ack"
    # Scrolling up over HTTP: the newest 50 below 121, then below the first of those.
    async with httpx.AsyncClient(base_url=server.http_url) as http:
        url = f"/api/v1/spaces/{w.space}/messages"
        page = (await http.get(url, params={"before": 121, "limit": 50}, headers=bearer(w.tokens["bob"]))).json()
        assert [m["seq"] for m in page["items"]] == list(range(71, 121)) and page["head"] == 120
        assert page["items"][0]["author_name"] == "Alice"
        older = (await http.get(url, params={"before": 71, "limit": 50}, headers=bearer(w.tokens["bob"]))).json()
        assert [m["seq"] for m in older["items"]] == list(range(21, 71))
        window = await http.get(url, params={"before": 30, "after": 25}, headers=bearer(w.tokens["bob"]))
        assert [m["seq"] for m in window.json()["items"]] == [26, 27, 28, 29]
        empty = await http.get(url, params={"before": 5, "after": 4}, headers=bearer(w.tokens["bob"]))
        assert empty.status_code == 422 and empty.json()["error"]["code"] == "bad_window"
        zero = await http.get(url, params={"before": 0}, headers=bearer(w.tokens["bob"]))
        assert zero.status_code == 422
        outsider = await http.get(url, params={"before": 50}, headers=bearer(w.tokens["dave"]))
        assert outsider.status_code == 403 and outsider.json()["error"]["code"] == "not_a_member"
    # Over the websocket: only for a subscribed room.
    await bob.send({"type": "history", "space": str(w.space), "before": 21})
    refused = await bob.until(lambda f: f["type"] == "error")
    assert refused["code"] == "not_subscribed" and refused["ref"] == str(w.space)
    sub = await bob.subscribe(w.space)
    assert sub["head"] == 120
    await bob.send({"type": "history", "space": str(w.space), "before": 21, "limit": 15})
    frame = await bob.until(lambda f: f["type"] == "history")
    assert frame["before"] == 21 and frame["more"] is True
    assert [m["seq"] for m in frame["messages"]] == list(range(6, 21))
    assert frame["messages"][0]["body"] == "message 6" and frame["messages"][0]["author_name"] == "Alice"
    await bob.send({"type": "history", "space": str(w.space), "before": 6, "limit": 15})
    last = await bob.until(lambda f: f["type"] == "history" and f["before"] == 6)
    assert [m["seq"] for m in last["messages"]] == [1, 2, 3, 4, 5] and last["more"] is False
    await bob.send({"type": "history", "space": str(w.space), "before": 6, "limit": 101})
    assert (await bob.until(lambda f: f["type"] == "error"))["code"] == "invalid_frame"


async def test_edits_reach_subscribers_and_resume_and_match_a_fresh_fetch(server, db_session, clients) -> None:
    w = await _world(db_session)
    alice = await Client.open(server.ws_url, w.tokens["alice"])
    bob = await Client.open(server.ws_url, w.tokens["bob"])
    clients += [alice, bob]
    await alice.subscribe(w.space, after=0)
    await bob.subscribe(w.space, after=0)
    for i in range(1, 4):
        await _send(alice, w.space, f"e{i}")
    await bob.until(lambda f: f["type"] == "message" and f["seq"] == 3)
    # Alice edits her message 2 over the websocket: both sockets get 'edited' with the next version.
    await alice.send({"type": "edit", "space": str(w.space), "seq": 2, "body": "fixed typo"})
    edited = await bob.until(lambda f: f["type"] == "edited")
    assert edited["seq"] == 2 and edited["body"] == "fixed typo" and edited["version"] == 4 and edited["edited_at"]
    await alice.until(lambda f: f["type"] == "edited" and f["seq"] == 2)
    # Nobody else may edit it, a deleted message cannot be edited, bad bodies are refused.
    await bob.send({"type": "edit", "space": str(w.space), "seq": 2, "body": "hijack"})
    assert (await bob.until(_error_for(f"{w.space}/2")))["code"] == "not_author"
    await alice.send({"type": "edit", "space": str(w.space), "seq": 2, "body": "   "})
    assert (await alice.until(_error_for(f"{w.space}/2")))["code"] == "empty_body"
    await alice.send({"type": "edit", "space": str(w.space), "seq": 2, "body": "x" * 4001})
    assert (await alice.until(_error_for(f"{w.space}/2")))["code"] == "body_too_long"
    await alice.send({"type": "edit", "space": str(w.space), "seq": 99, "body": "nothing there"})
    assert (await alice.until(_error_for(f"{w.space}/99")))["code"] == "message_not_found"
    replica = Replica()
    replica.apply(bob.frames)
    await bob.close()
    async with httpx.AsyncClient(base_url=server.http_url) as http:
        # While bob is away: an HTTP edit of seq 1, a deletion of 3 (then an edit refused), and a
        # new message 4 edited before bob sees it.
        url = f"/api/v1/spaces/{w.space}/messages"
        r = await http.patch(f"{url}/1", json={"body": "edited over http"}, headers=bearer(w.tokens["alice"]))
        assert r.status_code == 200 and r.json()["body"] == "edited over http" and r.json()["edited_at"]
        assert r.json()["version"] == 5
        r = await http.patch(f"{url}/1", json={"body": "not yours"}, headers=bearer(w.tokens["carol"]))
        assert r.status_code == 403 and r.json()["error"]["code"] == "not_author"
        r = await http.patch(f"{url}/1", json={"body": ""}, headers=bearer(w.tokens["alice"]))
        assert r.status_code == 422
        assert (await http.delete(f"{url}/3", headers=bearer(w.tokens["alice"]))).status_code == 204
        r = await http.patch(f"{url}/3", json={"body": "too late"}, headers=bearer(w.tokens["alice"]))
        assert r.status_code == 409 and r.json()["error"]["code"] == "message_deleted"
        await _send(alice, w.space, "e4")
        r = await http.patch(f"{url}/4", json={"body": "four, edited"}, headers=bearer(w.tokens["alice"]))
        assert r.status_code == 200
        back = await Client.open(server.ws_url, w.tokens["bob"])
        clients.append(back)
        await back.send(
            {"type": "subscribe", "space": str(w.space), "after": replica.last_seq, "since_version": replica.version}
        )
        await back.until(lambda f: f["type"] == "message" and f["seq"] == 4)
        changes = [(f["type"], f["seq"]) for f in back.frames if f["type"] in {"edited", "deleted", "message"}]
        assert changes == [("edited", 1), ("deleted", 3), ("message", 4)]
        message4 = back.messages()[-1]
        assert message4["body"] == "four, edited" and message4["edited_at"] and message4["author_name"] == "Alice"
        replica.apply(back.frames)
        fresh = await _fetch(http, w.space, w.tokens["bob"])
        assert replica.state() == fresh
        assert fresh[1] == ("edited over http", False, True) and fresh[2] == ("fixed typo", False, True)
        # Alice, connected throughout, applied everything live and agrees.
        await alice.until(lambda f: f["type"] == "edited" and f["seq"] == 4)
        mirror = Replica()
        mirror.apply(alice.frames)
        assert mirror.state() == fresh and mirror.version == replica.version == 8


async def test_delete_over_the_websocket(server, db_session, clients) -> None:
    w = await _world(db_session)
    alice = await Client.open(server.ws_url, w.tokens["alice"])
    bob = await Client.open(server.ws_url, w.tokens["bob"])
    carol = await Client.open(server.ws_url, w.tokens["carol"])
    clients += [alice, bob, carol]
    for c in (alice, bob, carol):
        await c.subscribe(w.space, after=0)
    for i in range(1, 4):
        await _send(alice, w.space, f"d{i}")
    # A member may not delete someone else's message; the author and a facilitator may.
    await bob.send({"type": "delete", "space": str(w.space), "seq": 1})
    assert (await bob.until(_error_for(f"{w.space}/1")))["code"] == "forbidden"
    await alice.send({"type": "delete", "space": str(w.space), "seq": 1})
    first = await bob.until(lambda f: f["type"] == "deleted" and f["seq"] == 1)
    await carol.send({"type": "delete", "space": str(w.space), "seq": 2})
    second = await bob.until(lambda f: f["type"] == "deleted" and f["seq"] == 2)
    assert (first["version"], second["version"]) == (4, 5)
    # Deleting again is harmless (no frame, no error); a missing seq is an error.
    await carol.send({"type": "delete", "space": str(w.space), "seq": 2})
    await carol.send({"type": "delete", "space": str(w.space), "seq": 7})
    assert (await carol.until(_error_for(f"{w.space}/7")))["code"] == "message_not_found"
    await _quiet(bob)
    assert [f["seq"] for f in bob.frames if f["type"] == "deleted"] == [1, 2]
    # Read-only tokens may not delete.
    reader_token = await make_token(db_session, await _account(db_session, w.ids["alice"]), scopes=["read"])
    await db_session.commit()
    reader = await Client.open(server.ws_url, reader_token)
    clients.append(reader)
    await reader.send({"type": "delete", "space": str(w.space), "seq": 3})
    assert (await reader.until(lambda f: f["type"] == "error"))["code"] == "insufficient_scope"
    # The facilitator's deletion is audited; the author's own is not.
    audits = (await db_session.execute(select(AuditEvent).where(AuditEvent.action == "chat.message.delete"))).scalars()
    assert [(a.actor_id, a.before) for a in audits] == [(w.ids["carol"], {"seq": 2, "author": str(w.ids["alice"])})]
    async with httpx.AsyncClient(base_url=server.http_url) as http:
        replica = Replica()
        replica.apply(bob.frames)
        assert replica.state() == await _fetch(http, w.space, w.tokens["bob"])


async def _account(db: AsyncSession, account_id: uuid.UUID) -> Any:
    from services.persistence.models import Account

    account = await db.get(Account, account_id)
    assert account is not None
    return account


async def test_a_mute_stops_posting_at_once_here_and_below_but_not_reading(server, db_session, clients) -> None:
    w = await _world(db_session)
    bob = await Client.open(server.ws_url, w.tokens["bob"])
    alice = await Client.open(server.ws_url, w.tokens["alice"])
    clients += [bob, alice]
    await bob.subscribe(w.space, after=0)
    await bob.subscribe(w.sub, after=0)
    assert (await _send(bob, w.space, "before-mute"))["type"] == "ack"
    async with httpx.AsyncClient(base_url=server.http_url) as http:
        mutes = f"/api/v1/spaces/{w.space}/mutes"
        # Only facilitators mute; a member is refused and nothing changes.
        r = await http.put(f"{mutes}/{w.ids['bob']}", headers=bearer(w.tokens["alice"]))
        assert r.status_code == 403
        assert (await _send(bob, w.space, "still-free"))["type"] == "ack"
        r = await http.put(f"{mutes}/{w.ids['bob']}", headers=bearer(w.tokens["carol"]))
        assert r.status_code == 201, r.text
        again = await http.put(f"{mutes}/{w.ids['bob']}", headers=bearer(w.tokens["carol"]))
        assert again.status_code == 200
        # The fact the access predicates use (federation's MUTED role) holds here and below.
        await db_session.rollback()
        assert await repository.is_muted(db_session, w.sub, w.ids["bob"])
        assert not await repository.is_muted(db_session, w.sub, w.ids["alice"])
        # Bob's live socket is refused on the very next send, in the space and in its sub-space.
        refused = await _send(bob, w.space, "after-mute")
        assert refused["type"] == "error" and refused["code"] == "muted"
        below = await _send(bob, w.sub, "below")
        assert below["type"] == "error" and below["code"] == "muted"
        r = await http.post(
            f"/api/v1/spaces/{w.sub}/messages", json={"body": "http", "key": "k"}, headers=bearer(w.tokens["bob"])
        )
        assert r.status_code == 403 and r.json()["error"]["code"] == "muted"
        await bob.send({"type": "edit", "space": str(w.space), "seq": 1, "body": "sneaky"})
        assert (await bob.until(_error_for(f"{w.space}/1")))["code"] == "muted"
        # He still reads: alice's message reaches him, and history works.
        await _send(alice, w.space, "for-bob")
        seen = await bob.until(lambda f: f["type"] == "message" and f["body"] == "body for-bob")
        page = await http.get(f"/api/v1/spaces/{w.sub}/messages", headers=bearer(w.tokens["bob"]))
        assert page.json()["muted"] is True
        page = await http.get(f"/api/v1/spaces/{w.sub}/messages", headers=bearer(w.tokens["alice"]))
        assert page.json()["muted"] is False
        listed = (await http.get(mutes, headers=bearer(w.tokens["carol"]))).json()["items"]
        assert [(m["account_id"], m["display_name"]) for m in listed] == [(str(w.ids["bob"]), "Bob")]
        assert (await http.get(mutes, headers=bearer(w.tokens["bob"]))).status_code == 403
        # Unmuting in the sub-space changes nothing (the mute was set above); in the space it lifts.
        r = await http.delete(f"/api/v1/spaces/{w.sub}/mutes/{w.ids['bob']}", headers=bearer(w.tokens["carol"]))
        assert r.status_code in {403, 404}
        r = await http.delete(f"{mutes}/{w.ids['bob']}", headers=bearer(w.tokens["carol"]))
        assert r.status_code == 204
        assert (await _send(bob, w.space, "free-again"))["seq"] == seen["seq"] + 1
        # Bad targets: yourself, a facilitator, someone not in the space, a malformed id.
        r = await http.put(f"{mutes}/{w.ids['carol']}", headers=bearer(w.tokens["carol"]))
        assert r.status_code == 422 and r.json()["error"]["code"] == "cannot_mute_self"
        r = await http.put(f"{mutes}/{w.ids['dave']}", headers=bearer(w.tokens["carol"]))
        assert r.status_code == 404 and r.json()["error"]["code"] == "member_not_found"
        await db_session.execute(
            update(SpaceMember)
            .where(SpaceMember.space_id == w.space, SpaceMember.account_id == w.ids["alice"])
            .values(role="facilitator")
        )
        await db_session.commit()
        r = await http.put(f"{mutes}/{w.ids['alice']}", headers=bearer(w.tokens["carol"]))
        assert r.status_code == 422 and r.json()["error"]["code"] == "cannot_mute_facilitator"
        assert (await http.put(f"{mutes}/not-a-uuid", headers=bearer(w.tokens["carol"]))).status_code in {400, 404}
        r = await http.delete(f"{mutes}/{w.ids['alice']}", headers=bearer(w.tokens["carol"]))
        assert r.status_code == 404 and r.json()["error"]["code"] == "mute_not_found"
    actions = (await db_session.execute(select(AuditEvent.action).where(AuditEvent.target_id == str(w.space)))).all()
    assert sorted(a for (a,) in actions) == ["chat.mute", "chat.unmute"]


async def test_read_markers_drive_unread_counts_on_me(server, db_session, clients) -> None:
    w = await _world(db_session)
    alice = await Client.open(server.ws_url, w.tokens["alice"])
    bob = await Client.open(server.ws_url, w.tokens["bob"])
    clients += [alice, bob]
    for i in range(1, 6):
        await _send(alice, w.space, f"u{i}")
    await _send(bob, w.space, "mine")  # his own message never counts
    await _send(alice, w.sub, "below")
    async with httpx.AsyncClient(base_url=server.http_url) as http:

        async def unread() -> dict[str, int]:
            me = (await http.get("/api/v1/me", headers=bearer(w.tokens["bob"]))).json()
            return {s["id"]: s["unread"] for s in me["spaces"]}

        assert await unread() == {str(w.space): 5, str(w.sub): 1}
        # A read frame over the websocket moves the marker (members only; errors name the space).
        await bob.send({"type": "read", "space": str(w.space), "seq": 3})
        await bob.send({"type": "ping"})
        await bob.until(lambda f: f["type"] == "pong")
        assert (await unread())[str(w.space)] == 2
        # Markers never move back, and never past the head.
        await bob.send({"type": "read", "space": str(w.space), "seq": 1})
        await bob.send({"type": "ping"})
        await bob.until(lambda f: f["type"] == "pong" and len([x for x in bob.frames if x["type"] == "pong"]) == 2)
        assert (await unread())[str(w.space)] == 2
        r = await http.put(f"/api/v1/spaces/{w.space}/read", json={"seq": 10_000}, headers=bearer(w.tokens["bob"]))
        assert r.status_code == 200 and r.json() == {"space": str(w.space), "seq": 6, "unread": 0}
        await _send(alice, w.space, "u7")
        assert (await unread())[str(w.space)] == 1
        # A deleted message no longer counts.
        assert (await http.delete(f"/api/v1/spaces/{w.space}/messages/7", headers=bearer(w.tokens["alice"]))).is_success
        assert (await unread())[str(w.space)] == 0
        # Refused: outsiders, bad input.
        dave = await Client.open(server.ws_url, w.tokens["dave"])
        clients.append(dave)
        await dave.send({"type": "read", "space": str(w.space), "seq": 3})
        assert (await dave.until(lambda f: f["type"] == "error"))["code"] == "not_a_member"
        r = await http.put(f"/api/v1/spaces/{w.space}/read", json={"seq": 3}, headers=bearer(w.tokens["dave"]))
        assert r.status_code == 403
        r = await http.put(f"/api/v1/spaces/{w.space}/read", json={"seq": -1}, headers=bearer(w.tokens["bob"]))
        assert r.status_code == 422
        await bob.send({"type": "read", "space": str(w.space), "seq": -1})
        assert (await bob.until(lambda f: f["type"] == "error"))["code"] == "invalid_frame"


async def test_retention_purge_sends_a_purged_frame(server, db_session, engine, clients) -> None:
    w = await _world(db_session, retention_days=30)
    alice = await Client.open(server.ws_url, w.tokens["alice"])
    bob = await Client.open(server.ws_url, w.tokens["bob"])
    clients += [alice, bob]
    for i in range(1, 5):
        await _send(alice, w.space, f"p{i}")
    await _send(alice, w.sub, "kept")
    now = dt.datetime.now(dt.UTC)
    async with engine.begin() as conn:
        old = now - dt.timedelta(days=40)
        await conn.execute(update(Message).where(Message.space_id == w.space, Message.seq <= 2).values(sent_at=old))
    await bob.subscribe(w.space, after=0)
    await bob.until(lambda f: f["type"] == "message" and f["space"] == str(w.space) and f["seq"] == 4)
    await bob.subscribe(w.sub, after=0)
    # The purge runs where the server's retention job runs, with the gateway as its notifier.
    gateway: Gateway = server.app.state.chat.gateway
    loop = server.app.state.chat.retention.get_loop()
    job = asyncio.run_coroutine_threadsafe(purge_expired(gateway_engine(server), now, gateway.announce_purged), loop)
    assert await asyncio.wrap_future(job) == 2
    frame = await bob.until(lambda f: f["type"] == "purged")
    assert frame["space"] == str(w.space)
    assert dt.datetime.fromisoformat(frame["before"]) == now - dt.timedelta(days=30)
    await _quiet(bob)
    assert [f["space"] for f in bob.frames if f["type"] == "purged"] == [str(w.space)]  # no retention below
    replica = Replica()
    replica.apply([f for f in bob.frames if f.get("space") == str(w.space)])
    async with httpx.AsyncClient(base_url=server.http_url) as http:
        assert replica.state() == await _fetch(http, w.space, w.tokens["bob"])
        assert sorted(replica.state()) == [3, 4]


def gateway_engine(server: ServerThread) -> Any:
    """The server's own engine (the purge must run on the server's loop)."""
    return server.app.state.engine
