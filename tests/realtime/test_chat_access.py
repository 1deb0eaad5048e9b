"""Chat decides like every other route (issue 9 item 4), on real servers with real websockets.

A guest who reached a child space through a share, then was banned from the shared parent, kept
reading and posting in the child (HTTP 200/201, websocket replay) while every other route said
404. Now HTTP, subscribe, replay, send and presence all refuse, and a live subscription ends at
once — on every node, not at the next periodic check (30 s).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx
import msgspec
import pytest
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from services.persistence.models import NetworkMember
from services.settings import Settings
from tests.factories import add_member, add_space_member, bearer, make_account, make_network, make_space, make_token
from tests.realtime.conftest import FAST, Client, ServerThread, broker_settings


@dataclass
class Shared:
    parent: uuid.UUID
    child: uuid.UUID
    tokens: dict[str, str]
    ids: dict[str, uuid.UUID]


async def shared_world(db_session: AsyncSession, http: httpx.AsyncClient) -> Shared:
    """esd shares Parent (with its sub-spaces) with kent; kent's g1 joins Parent and Child as a guest."""
    host = await make_network(db_session, slug=f"esd-{uuid.uuid4().hex[:6]}")
    guest = await make_network(db_session, slug=f"kent-{uuid.uuid4().hex[:6]}")
    people = {n: await make_account(db_session, name=n) for n in ("admin", "guest_admin", "g1", "host")}
    await add_member(db_session, host, people["admin"], "admin")
    await add_member(db_session, host, people["host"], "member")
    await add_member(db_session, guest, people["guest_admin"], "admin")
    await add_member(db_session, guest, people["g1"], "member")
    open_ = {"membership.join_mode": "open"}
    parent = await make_space(db_session, host, name="Parent", join_mode="open", settings=open_)
    child = await make_space(db_session, host, name="Child", parent=parent, join_mode="open", settings=open_)
    await add_space_member(db_session, parent, people["host"])
    await add_space_member(db_session, child, people["host"])
    tokens = {n: await make_token(db_session, a) for n, a in people.items()}
    await db_session.commit()
    r = await http.post(
        f"/api/v1/spaces/{parent.id}/shares",
        json={"guest_network": guest.slug, "include_subspaces": True},
        headers=bearer(tokens["admin"]),
    )
    assert r.status_code == 201, r.text
    r = await http.post(
        f"/api/v1/networks/{guest.slug}/shares/{r.json()['id']}/accept", headers=bearer(tokens["guest_admin"])
    )
    assert r.status_code == 200, r.text
    for space in (parent.id, child.id):
        r = await http.post(f"/api/v1/spaces/{space}/join", headers=bearer(tokens["g1"]))
        assert r.status_code == 200 and r.json()["outcome"] == "joined", r.text
    return Shared(parent.id, child.id, tokens, {n: a.id for n, a in people.items()})


async def assert_chat_closed(
    http: httpx.AsyncClient, ws_url: str, token: str, space: uuid.UUID, clients: list[Client]
) -> None:
    """Every chat path refuses ``token`` in ``space``, as the space routes do."""
    url = f"/api/v1/spaces/{space}/messages"
    assert (await http.get(f"/api/v1/spaces/{space}/members", headers=bearer(token))).status_code == 404
    r = await http.get(url, headers=bearer(token))
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_a_member", r.text
    r = await http.post(url, json={"body": "still here?", "key": uuid.uuid4().hex}, headers=bearer(token))
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_a_member", r.text
    ws = await Client.open(ws_url, token)
    clients.append(ws)
    replay = await ws.subscribe(space, after=0)
    assert replay["type"] == "error" and replay["code"] == "not_a_member", replay
    await ws.send({"type": "send", "space": str(space), "key": "ws-after-ban", "body": "x"})
    refused = await ws.ack("ws-after-ban")
    assert refused["type"] == "error" and refused["code"] == "not_a_member", refused
    assert not ws.messages(space)


@pytest.mark.parametrize("broker", ["memory"], indirect=True)
async def test_a_ban_above_closes_a_guests_chat_in_the_child_everywhere_and_at_once(
    server: ServerThread, db_session: AsyncSession, clients: list[Client]
) -> None:
    async with httpx.AsyncClient(base_url=server.http_url) as http:
        w = await shared_world(db_session, http)
        g1, host = w.tokens["g1"], w.tokens["host"]
        r = await http.post(
            f"/api/v1/spaces/{w.child}/messages", json={"body": "hola", "key": "k0"}, headers=bearer(g1)
        )
        assert r.status_code == 201, r.text
        live = await Client.open(server.ws_url, g1)
        clients.append(live)
        assert (await live.subscribe(w.child))["type"] == "subscribed"
        watcher = await Client.open(server.ws_url, host)
        clients.append(watcher)
        assert (await watcher.subscribe(w.child))["type"] == "subscribed"
        both = sorted([str(w.ids["g1"]), str(w.ids["host"])])
        await watcher.until(lambda f: f["type"] == "presence" and sorted(f["online"]) == both)

        r = await http.put(f"/api/v1/spaces/{w.parent}/bans/{w.ids['g1']}", headers=bearer(w.tokens["admin"]))
        assert r.status_code in (200, 201), r.text

        # The live subscription ends now (the periodic check is 30 s away), and presence drops them.
        revoked = await live.until(lambda f: f["type"] == "error", timeout=5.0)
        assert revoked["code"] == "access_revoked" and revoked["ref"] == str(w.child)
        await watcher.until(lambda f: f["type"] == "presence" and f["online"] == [str(w.ids["host"])], timeout=5.0)
        await watcher.send({"type": "send", "space": str(w.child), "key": "after", "body": "they are gone"})
        assert (await watcher.ack("after"))["type"] == "ack"
        await assert_chat_closed(http, server.ws_url, g1, w.child, clients)
        assert not [m for m in live.messages(w.child) if m["key"] == "after"]


async def test_a_ban_reaches_live_sockets_on_another_node_at_once(
    settings: Settings, db_session: AsyncSession, clients: list[Client]
) -> None:
    s = broker_settings(settings, "postgres")
    one, two = ServerThread(s, config=FAST).start(), ServerThread(s, config=FAST).start()
    try:
        async with httpx.AsyncClient(base_url=one.http_url) as http:
            w = await shared_world(db_session, http)
            live = await Client.open(two.ws_url, w.tokens["g1"])
            clients.append(live)
            assert (await live.subscribe(w.child))["type"] == "subscribed"
            r = await http.put(f"/api/v1/spaces/{w.parent}/bans/{w.ids['g1']}", headers=bearer(w.tokens["admin"]))
            assert r.status_code in (200, 201), r.text
            revoked = await live.until(lambda f: f["type"] == "error", timeout=5.0)
            assert revoked["code"] == "access_revoked" and revoked["ref"] == str(w.child)
    finally:
        one.stop()
        two.stop()


@pytest.mark.parametrize("broker", ["memory"], indirect=True)
async def test_chat_needs_the_home_network_like_every_route(
    server: ServerThread, db_session: AsyncSession, clients: list[Client]
) -> None:
    """An active space_members row is not enough: the account must still belong to the network."""
    network = await make_network(db_session)
    account = await make_account(db_session)
    await add_member(db_session, network, account)
    space = await make_space(db_session, network, visibility="unlisted")
    await add_space_member(db_session, space, account)
    token = await make_token(db_session, account)
    await db_session.commit()
    async with httpx.AsyncClient(base_url=server.http_url) as http:
        url = f"/api/v1/spaces/{space.id}/messages"
        assert (await http.post(url, json={"body": "hi", "key": "k"}, headers=bearer(token))).status_code == 201
        await db_session.execute(delete(NetworkMember).where(NetworkMember.account_id == account.id))
        await db_session.commit()
        await assert_chat_closed(http, server.ws_url, token, space.id, clients)


def test_the_recheck_event_round_trips() -> None:
    from realtime.brokers import Recheck, decode_events, encode_events

    assert decode_events(encode_events([Recheck()])) == [Recheck()]
    assert msgspec.json.decode(encode_events([Recheck()])) == [["a"]]
