"""Shared test data for the resource library and search tests."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.persistence.models import Share
from tests.factories import add_member, add_space_member, make_account, make_network, make_space, make_token

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% quarterly retention plan\n" + b"0" * 4000 + b"\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200

ROLES = ("fac", "member", "member2", "other_member", "net_member", "guest", "guest_live", "admin", "stranger")


async def build_world(session: AsyncSession) -> dict[str, Any]:
    """Network "home" with identity space S (facilitator, two members), another space T (one
    member), an unlisted hidden identity space H (fac and member are members); network "guests"
    whose share of S has ended (its member still has an active row in S) and network "live"
    whose share of S is active (its member is a guest of S)."""
    home = await make_network(session, slug="home")
    ended_net = await make_network(session, slug="guests")
    live_net = await make_network(session, slug="live")
    who = {name: await make_account(session, name=name.replace("_", " ").title()) for name in ROLES}
    for name in ("fac", "member", "member2", "other_member", "net_member"):
        await add_member(session, home, who[name])
    await add_member(session, home, who["admin"], "admin")
    await add_member(session, ended_net, who["guest"])
    await add_member(session, live_net, who["guest_live"])
    space = await make_space(session, home, name="Latina principals", kind="identity")
    other = await make_space(session, home, name="Book study", kind="topic")
    hidden = await make_space(session, home, name="Hidden", kind="identity", join_mode="invite", visibility="unlisted")
    await add_space_member(session, space, who["fac"], role="facilitator")
    await add_space_member(session, space, who["member"])
    await add_space_member(session, space, who["member2"])
    await add_space_member(session, space, who["guest"])
    await add_space_member(session, space, who["guest_live"])
    await add_space_member(session, other, who["other_member"])
    await add_space_member(session, hidden, who["fac"], role="facilitator")
    await add_space_member(session, hidden, who["member"])
    now = dt.datetime.now(dt.UTC)
    for net, status in ((ended_net, "ended"), (live_net, "active")):
        session.add(
            Share(
                id=uuid.uuid4(),
                space_id=space.id,
                host_network_id=home.id,
                guest_network_id=net.id,
                status=status,
                created_at=now,
                expires_at=now + dt.timedelta(days=14),
                ended_at=now if status == "ended" else None,
            )
        )
    await session.flush()
    out: dict[str, Any] = {
        "space": str(space.id),
        "other": str(other.id),
        "hidden": str(hidden.id),
        "slug": home.slug,
        "network_id": home.id,
    }
    for name, account in who.items():
        out[name] = {"Authorization": f"Bearer {await make_token(session, account)}"}
        out[f"{name}_id"] = str(account.id)
    await session.commit()
    return out


async def table_state(session: AsyncSession) -> dict[str, str]:
    """Row count and digest of the tables the library writes."""
    await session.rollback()
    out = {}
    for table in ("resources", "resource_blobs", "audit_events"):
        row = (
            await session.execute(
                text(f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {table} t")
            )
        ).one()
        out[table] = f"{row[0]}:{row[1]}"
    return out


async def add_messages(session: AsyncSession, space: str, author: str, bodies: list[str]) -> None:
    """Chat messages 1..n in ``space`` (as if sent), committed."""
    sid, aid = uuid.UUID(space), uuid.UUID(author)
    await session.execute(
        text("INSERT INTO chat_rooms (space_id, head_seq, version) VALUES (:s, :n, :n)"), {"s": sid, "n": len(bodies)}
    )
    for n, body in enumerate(bodies, start=1):
        await session.execute(
            text(
                "INSERT INTO messages (space_id, seq, id, author_id, body, key, version) "
                "VALUES (:s, :n, gen_random_uuid(), :a, :b, :k, :n)"
            ),
            {"s": sid, "n": n, "a": aid, "b": body, "k": f"k{n}"},
        )
    await session.commit()


class ServerThread:
    """A real uvicorn server on a free loopback port running ``create_app(settings)`` in a thread."""

    def __init__(self, settings: Any) -> None:
        import socket
        import threading

        import msgspec
        import uvicorn

        from services.app import create_app

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.app = create_app(msgspec.structs.replace(settings, port=self.port))
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServerThread:
        import time

        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)
