"""The chat behaviour every broker must give (memory, postgres, redis), against a real server."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.persistence.models import Message
from tests.factories import bearer
from tests.realtime.conftest import Client, Room, ServerThread


async def _open(clients: list[Client], server: ServerThread, token: str) -> Client:
    c = await Client.open(server.ws_url, token)
    clients.append(c)
    return c


async def _count(db_session: AsyncSession, space: uuid.UUID) -> int:
    await db_session.rollback()
    return int(await db_session.scalar(select(func.count()).select_from(Message).where(Message.space_id == space)) or 0)


async def test_send_is_acked_after_fanout_with_gapless_seqs(server, room: Room, clients) -> None:
    alice = await _open(clients, server, room.tokens["alice"])
    bob = await _open(clients, server, room.tokens["bob"])
    assert (await alice.subscribe(room.space))["head"] == 0
    assert (await bob.subscribe(room.space))["head"] == 0
    for i in range(1, 4):
        await alice.send({"type": "send", "space": str(room.space), "key": f"k{i}", "body": f"hello {i}"})
        ack = await alice.ack(f"k{i}")
        assert ack == {"type": "ack", "key": f"k{i}", "seq": i, "space": str(room.space)}
    await bob.until(lambda f: f["type"] == "message" and f["seq"] == 3)
    got = bob.messages(room.space)
    assert [m["seq"] for m in got] == [1, 2, 3]
    assert got[0]["body"] == "hello 1" and got[0]["author"] == str(room.ids["alice"]) and got[0]["key"] == "k1"
    # The sender sees its own message before its ack.
    kinds = [(f["type"], f.get("seq")) for f in alice.frames if f["type"] in {"message", "ack"}]
    assert kinds == [("message", 1), ("ack", 1), ("message", 2), ("ack", 2), ("message", 3), ("ack", 3)]


async def test_resending_a_key_returns_the_same_seq_and_stores_once(server, room: Room, clients, db_session) -> None:
    alice = await _open(clients, server, room.tokens["alice"])
    frame = {"type": "send", "space": str(room.space), "key": "retry-1", "body": "once"}
    await alice.send(frame)
    first = await alice.ack("retry-1")
    await alice.send(frame)
    second = await alice.ack("retry-1")
    assert first["seq"] == second["seq"] == 1
    assert await _count(db_session, room.space) == 1


async def test_resume_after_drop_misses_nothing(server, room: Room, clients) -> None:
    alice = await _open(clients, server, room.tokens["alice"])
    bob = await _open(clients, server, room.tokens["bob"])
    await bob.subscribe(room.space, after=0)
    for i in range(1, 4):
        await alice.send({"type": "send", "space": str(room.space), "key": f"a{i}", "body": str(i)})
        await alice.ack(f"a{i}")
    await bob.until(lambda f: f["type"] == "message" and f["seq"] == 3)
    await bob.close()
    for i in range(4, 7):
        await alice.send({"type": "send", "space": str(room.space), "key": f"a{i}", "body": str(i)})
        await alice.ack(f"a{i}")
    bob2 = await _open(clients, server, room.tokens["bob"])
    sub = await bob2.subscribe(room.space, after=3)
    assert sub["head"] == 6
    await bob2.until(lambda f: f["type"] == "message" and f["seq"] == 6)
    await alice.send({"type": "send", "space": str(room.space), "key": "a7", "body": "7"})
    await bob2.until(lambda f: f["type"] == "message" and f["seq"] == 7)
    assert [m["seq"] for m in bob2.messages()] == [4, 5, 6, 7]


async def test_subscribing_mid_stream_has_no_gap_or_duplicate_at_the_seam(server, room: Room, clients) -> None:
    alice = await _open(clients, server, room.tokens["alice"])
    total = 60

    async def stream() -> None:
        for i in range(1, total + 1):
            await alice.send({"type": "send", "space": str(room.space), "key": f"s{i}", "body": f"m{i}"})
            await asyncio.sleep(0.005)

    sender = asyncio.create_task(stream())
    await asyncio.sleep(0.1)
    bob = await _open(clients, server, room.tokens["bob"])
    await bob.subscribe(room.space, after=0)
    await sender
    await bob.until(lambda f: f["type"] == "message" and f["seq"] == total, timeout=20)
    assert [m["seq"] for m in bob.messages()] == list(range(1, total + 1))


async def test_concurrent_senders_get_gapless_unique_seqs(server, room: Room, clients) -> None:
    people = ["alice", "bob", "carol"]
    socks = [await _open(clients, server, room.tokens[p]) for p in people]
    per = 15

    async def burst(c: Client, who: str) -> list[int]:
        for i in range(per):
            await c.send({"type": "send", "space": str(room.space), "key": f"{who}-{i}", "body": "x"})
        seqs = []
        for i in range(per):
            seqs.append((await c.ack(f"{who}-{i}"))["seq"])
        return seqs

    results = await asyncio.gather(*(burst(c, p) for c, p in zip(socks, people, strict=True)))
    all_seqs = sorted(s for r in results for s in r)
    assert all_seqs == list(range(1, per * len(people) + 1))


async def test_events_applied_in_order_equal_a_fresh_history_fetch(server, room: Room, clients) -> None:
    """Zulip's rule: a client's state built from events equals what GET returns."""
    alice = await _open(clients, server, room.tokens["alice"])
    bob = await _open(clients, server, room.tokens["bob"])
    await bob.subscribe(room.space, after=0)
    async with httpx.AsyncClient(base_url=server.http_url) as http:
        for i in range(1, 6):
            await alice.send({"type": "send", "space": str(room.space), "key": f"z{i}", "body": f"z{i}"})
            await alice.ack(f"z{i}")
        r = await http.post(
            f"/api/v1/spaces/{room.space}/messages",
            json={"body": "via http", "key": "h1"},
            headers=bearer(room.tokens["carol"]),
        )
        assert r.status_code == 201, r.text
        r = await http.delete(f"/api/v1/spaces/{room.space}/messages/2", headers=bearer(room.tokens["alice"]))
        assert r.status_code == 204, r.text
        r = await http.delete(f"/api/v1/spaces/{room.space}/messages/4", headers=bearer(room.tokens["carol"]))
        assert r.status_code == 204, r.text
        await bob.until(lambda f: f["type"] == "deleted" and f["seq"] == 4)
        state: dict[int, dict[str, Any]] = {}
        for f in bob.frames:
            if f["type"] == "message":
                state[f["seq"]] = {"body": f["body"], "author": f["author"], "deleted": f.get("deleted", False)}
            elif f["type"] == "deleted":
                state[f["seq"]] = {**state[f["seq"]], "body": "", "deleted": True}
        r = await http.get(f"/api/v1/spaces/{room.space}/messages", headers=bearer(room.tokens["bob"]))
        page = r.json()
        fetched = {m["seq"]: {"body": m["body"], "author": m["author"], "deleted": m["deleted"]} for m in page["items"]}
        assert state == fetched
        assert page["head"] == 6 and fetched[6]["body"] == "via http" and fetched[2]["deleted"]
        # A fresh subscriber replaying from 0 builds the same state, tombstones included.
        carol = await _open(clients, server, room.tokens["carol"])
        await carol.subscribe(room.space, after=0)
        await carol.until(lambda f: f["type"] == "message" and f["seq"] == 6)
        replayed = {
            f["seq"]: {"body": f["body"], "author": f["author"], "deleted": f.get("deleted", False)}
            for f in carol.messages()
        }
        assert replayed == fetched


async def test_typing_and_presence(server, room: Room, clients) -> None:
    alice = await _open(clients, server, room.tokens["alice"])
    bob = await _open(clients, server, room.tokens["bob"])
    await alice.subscribe(room.space)
    await bob.subscribe(room.space)
    both = sorted([str(room.ids["alice"]), str(room.ids["bob"])])
    await alice.until(lambda f: f["type"] == "presence" and sorted(f["online"]) == both)
    await alice.send({"type": "typing", "space": str(room.space)})
    typing = await bob.until(lambda f: f["type"] == "typing")
    assert typing == {"type": "typing", "space": str(room.space), "account": str(room.ids["alice"])}
    await bob.close()
    await alice.until(lambda f: f["type"] == "presence" and f["online"] == [str(room.ids["alice"])])


async def test_facilitators_only_space(server, room: Room, clients, db_session) -> None:
    alice = await _open(clients, server, room.tokens["alice"])
    carol = await _open(clients, server, room.tokens["carol"])
    assert (await alice.subscribe(room.announcements))["type"] == "subscribed"  # members still read
    await alice.send({"type": "send", "space": str(room.announcements), "key": "no", "body": "may I?"})
    err = await alice.ack("no")
    assert err["type"] == "error" and err["code"] == "posting_restricted" and err["ref"] == "no"
    assert await _count(db_session, room.announcements) == 0
    await carol.send({"type": "send", "space": str(room.announcements), "key": "yes", "body": "Meeting Tuesday"})
    assert (await carol.ack("yes"))["seq"] == 1
    await alice.until(lambda f: f["type"] == "message" and f["body"] == "Meeting Tuesday")
