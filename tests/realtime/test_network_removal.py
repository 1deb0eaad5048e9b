"""Removing a person from a network cuts their open chat subscriptions in its spaces at once
(real server, real websocket), and archiving a space stops posting in it."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import add_member, add_space_member, bearer, make_account, make_network, make_space, make_token
from tests.realtime.conftest import Client, ServerThread


@pytest.mark.parametrize("broker", ["memory"], indirect=True)
async def test_removing_a_person_from_the_network_revokes_their_subscription_now(
    server: ServerThread, db_session: AsyncSession, clients: list[Client]
) -> None:
    net = await make_network(db_session, slug="kent")
    admin, gone, stays = [await make_account(db_session, name=n) for n in ("a", "gone", "stays")]
    await add_member(db_session, net, admin, "admin")
    await add_member(db_session, net, gone)
    await add_member(db_session, net, stays)
    space = await make_space(db_session, net, join_mode="open", settings={"membership.join_mode": "open"})
    await add_space_member(db_session, space, gone)
    await add_space_member(db_session, space, stays)
    t = {n: await make_token(db_session, a) for n, a in (("a", admin), ("gone", gone), ("stays", stays))}
    gone_id = gone.id
    await db_session.commit()

    ws = await Client.open(server.ws_url, t["gone"])
    clients.append(ws)
    assert (await ws.subscribe(space.id))["type"] == "subscribed"
    other = await Client.open(server.ws_url, t["stays"])
    clients.append(other)
    assert (await other.subscribe(space.id))["type"] == "subscribed"
    async with httpx.AsyncClient(base_url=server.http_url) as http:
        r = await http.delete(f"/api/v1/networks/kent/members/{gone_id}", headers=bearer(t["a"]))
        assert r.status_code == 200, r.text
        assert r.json()["spaces_left"] == [str(space.id)]
    frame = await ws.until(lambda f: f.get("type") == "error", timeout=5.0)
    assert frame["code"] == "access_revoked" and frame["ref"] == str(space.id)
    await other.send({"type": "send", "space": str(space.id), "key": "k1", "body": "still here"})
    got = await other.until(lambda f: f.get("type") == "message" and f.get("key") == "k1")
    assert got["body"] == "still here"

    # Archived: read-only, posting refused; restored: posting works again.
    async with httpx.AsyncClient(base_url=server.http_url) as http:
        assert (await http.put(f"/api/v1/spaces/{space.id}/archive", headers=bearer(t["a"]))).status_code == 200
        await other.send({"type": "send", "space": str(space.id), "key": "k2", "body": "archived?"})
        refused = await other.until(lambda f: f.get("type") == "error", timeout=5.0)
        assert refused.get("ref") in {"k2", str(space.id)}
        assert (await http.delete(f"/api/v1/spaces/{space.id}/archive", headers=bearer(t["a"]))).status_code == 200
    await other.send({"type": "send", "space": str(space.id), "key": "k3", "body": "back"})
    back = await other.until(lambda f: f.get("type") == "message" and f.get("key") == "k3")
    assert back["body"] == "back"
