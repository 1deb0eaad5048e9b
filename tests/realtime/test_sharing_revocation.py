"""Ending a sharing agreement cuts a guest's open chat subscription at once (real server, real
websocket), not only at the gateway's periodic membership check (30 s by default)."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import add_member, add_space_member, bearer, make_account, make_network, make_space, make_token
from tests.realtime.conftest import Client, ServerThread


@pytest.mark.parametrize("broker", ["memory"], indirect=True)
async def test_ending_a_share_revokes_the_guest_subscription_now(
    server: ServerThread, db_session: AsyncSession, clients: list[Client]
) -> None:
    host = await make_network(db_session, slug="esd")
    guest = await make_network(db_session, slug="kent")
    admin, guest_admin, g1, member = [await make_account(db_session, name=n) for n in ("a", "ga", "g1", "m")]
    await add_member(db_session, host, admin, "admin")
    await add_member(db_session, host, member, "member")
    await add_member(db_session, guest, guest_admin, "admin")
    await add_member(db_session, guest, g1, "member")
    space = await make_space(db_session, host, join_mode="open", settings={"membership.join_mode": "open"})
    await add_space_member(db_session, space, member)
    t = {n: await make_token(db_session, a) for n, a in (("a", admin), ("ga", guest_admin), ("g1", g1), ("m", member))}
    await db_session.commit()

    async with httpx.AsyncClient(base_url=server.http_url) as http:
        r = await http.post(f"/api/v1/spaces/{space.id}/shares", json={"guest_network": "kent"}, headers=bearer(t["a"]))
        sid = r.json()["id"]
        r = await http.post(f"/api/v1/networks/kent/shares/{sid}/accept", headers=bearer(t["ga"]))
        assert r.status_code == 200, r.text
        assert (await http.post(f"/api/v1/spaces/{space.id}/join", headers=bearer(t["g1"]))).status_code == 200

        ws = await Client.open(server.ws_url, t["g1"])
        clients.append(ws)
        assert (await ws.subscribe(space.id))["type"] == "subscribed"
        host_ws = await Client.open(server.ws_url, t["m"])
        clients.append(host_ws)
        assert (await host_ws.subscribe(space.id))["type"] == "subscribed"

        assert (await http.delete(f"/api/v1/shares/{sid}", headers=bearer(t["a"]))).status_code == 200
        frame = await ws.until(lambda f: f.get("type") == "error", timeout=5.0)
        assert frame["code"] == "access_revoked" and frame["ref"] == str(space.id)
        # The host's member stays subscribed and keeps receiving.
        await host_ws.send({"type": "send", "space": str(space.id), "key": "after-end", "body": "still here"})
        got = await host_ws.until(lambda f: f.get("type") == "message" and f.get("key") == "after-end")
        assert got["body"] == "still here"
