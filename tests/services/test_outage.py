"""Database outages against a real, throwaway PostgreSQL that the test starts, stops and freezes
(never the machine's shared server): every route answers 503 with Retry-After within a bounded
time, websocket handshakes close with 1013, and the service recovers without a restart."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import asyncpg
import msgspec
import pytest
import websockets
from litestar.testing import AsyncTestClient

from services.app import create_app
from services.persistence import migrate
from services.persistence.engine import create_engine
from services.settings import Settings
from tests.realtime.conftest import ServerThread, free_port

pytestmark = pytest.mark.slow


def _bin(name: str) -> str:
    from pgserver._commands import POSTGRES_BIN_PATH

    return str(POSTGRES_BIN_PATH / name)


class Throwaway:
    """A PostgreSQL of the test's own: TCP on a free loopback port and a unix socket in its folder."""

    def __init__(self, root: Path) -> None:
        self.data = root / "pgdata"
        self.sock = root / "sock"
        self.sock.mkdir(mode=0o700)
        self.port = free_port()
        self.log = root / "postgres.log"
        self.proc: subprocess.Popen[bytes] | None = None
        # PostgreSQL refuses to run as root; do what pgserver does and run it as its own user.
        self.user: str | None = None
        if os.geteuid() == 0:
            import pwd

            from pgserver.utils import ensure_prefix_permissions, ensure_user_exists

            self.user = "pgserver"
            ensure_user_exists(self.user)
            ensure_prefix_permissions(self.sock)
            entry = pwd.getpwnam(self.user)
            for path in (root, self.sock):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        subprocess.run(
            [_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "utf8"],
            check=True,
            capture_output=True,
            user=self.user,
        )

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [_bin("postgres"), "-D", str(self.data), "-h", "127.0.0.1", "-p", str(self.port), "-k", str(self.sock)],
            stdout=subprocess.DEVNULL,
            stderr=self.log.open("ab"),
            user=self.user,
        )
        deadline = time.monotonic() + 20
        while subprocess.run(
            [_bin("pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)], check=False, capture_output=True
        ).returncode:
            if time.monotonic() > deadline:
                raise RuntimeError("throwaway PostgreSQL did not start: " + self.log.read_text()[-2000:])
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is not None:
            self.thaw()
            self.proc.send_signal(signal.SIGINT)  # fast shutdown
            self.proc.wait(20)
            self.proc = None

    def _tree(self) -> list[int]:
        import psutil

        assert self.proc is not None
        parent = psutil.Process(self.proc.pid)
        return [parent.pid, *(child.pid for child in parent.children(recursive=True))]

    def freeze(self) -> None:
        """SIGSTOP the postmaster and every backend: open connections stay up, nothing answers."""
        for pid in self._tree():
            os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        for pid in self._tree():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)

    def tcp_url(self, db: str = "affinity") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{db}"

    def socket_url(self, db: str = "affinity") -> str:
        return f"postgresql://postgres@/{db}?host={quote(str(self.sock))}&port={self.port}"


@pytest.fixture(scope="module")
def pg() -> Iterator[Throwaway]:
    # Not under pytest's basetemp: as root, PostgreSQL runs as another user, and every pytest
    # start on this machine resets /tmp/pytest-of-<user> to mode 0700.
    root = Path(tempfile.mkdtemp(prefix="affinity-outage-"))
    server = Throwaway(root)
    server.start()

    async def prepare() -> None:
        conn = await asyncpg.connect(server.tcp_url("postgres"))
        await conn.execute("CREATE DATABASE affinity")
        await conn.close()
        engine = create_engine(server.tcp_url(), pool_size=1)
        await migrate.upgrade(engine)
        await engine.dispose()

    asyncio.run(prepare())
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def running(pg: Throwaway) -> Iterator[Throwaway]:
    if pg.proc is None:
        pg.start()
    yield pg
    if pg.proc is None:
        pg.start()
    else:
        pg.thaw()


def _settings(tmp_path: Path, url: str) -> Settings:
    return Settings(
        database_url=url,
        data_dir=tmp_path / "data",
        secret_key="test-secret-" + "x" * 40,
        environment="test",
        broker="memory",
        log_format="console",
        log_level="CRITICAL",
        db_connect_timeout=1,
        db_pool_timeout=1,
        db_statement_timeout=2,
    )


async def _token(url: str) -> str:
    """An operator account and a personal token, written straight to the database."""
    from services.persistence.engine import create_sessionmaker
    from tests.factories import make_account, make_token

    engine = create_engine(url, pool_size=1)
    try:
        async with create_sessionmaker(engine)() as session:
            account = await make_account(session, operator=True)
            token = await make_token(session, account)
            await session.commit()
    finally:
        await engine.dispose()
    return token


async def _login(client: AsyncTestClient) -> int:
    page = await client.get("/auth/login")
    if page.status_code != 200:
        return page.status_code
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    data = {"email": "x@example.org", "password": "p" * 12, "csrf_token": match.group(1) if match else ""}
    r = await client.post("/auth/login", data=data, follow_redirects=False)
    return r.status_code


def _assert_503(r: object) -> None:
    status = r.status_code  # type: ignore[attr-defined]
    assert status == 503, r.text  # type: ignore[attr-defined]
    assert r.headers.get("retry-after"), r.headers  # type: ignore[attr-defined]
    assert r.json()["error"]["code"] == "database_unavailable"  # type: ignore[attr-defined]


@pytest.mark.parametrize("via", ["tcp", "unix socket"])
async def test_stopped_database_gives_503_on_every_route_then_recovers(running: Throwaway, tmp_path, via) -> None:
    url = running.tcp_url() if via == "tcp" else running.socket_url()
    token = await _token(running.tcp_url())
    auth = {"Authorization": f"Bearer {token}"}
    app = create_app(_settings(tmp_path, url))
    async with AsyncTestClient(app=app, base_url="http://testserver.local") as client:
        assert (await client.get("/api/v1/me", headers=auth)).status_code == 200
        running.stop()  # the unix socket file disappears with it (FileNotFoundError on connect)
        started = time.monotonic()
        _assert_503(await client.get("/api/v1/me", headers=auth))
        _assert_503(await client.get("/api/v1/networks", headers=auth))
        _assert_503(
            await client.post("/api/v1/networks", headers=auth, json={"slug": "s", "name": "n", "kind": "district"})
        )
        assert await _login(client) == 503
        assert (await client.get("/ready")).status_code == 503
        assert time.monotonic() - started < 15
        running.start()  # recovery without restarting the service
        deadline = time.monotonic() + 10
        while (await client.get("/api/v1/me", headers=auth)).status_code != 200:
            assert time.monotonic() < deadline, "the service did not recover after the database came back"
            await asyncio.sleep(0.2)


async def test_frozen_database_answers_within_bounded_time_then_recovers(running: Throwaway, tmp_path) -> None:
    token = await _token(running.tcp_url())
    auth = {"Authorization": f"Bearer {token}"}
    async with AsyncTestClient(
        app=create_app(_settings(tmp_path, running.tcp_url())), base_url="http://testserver.local"
    ) as client:
        assert (await client.get("/api/v1/me", headers=auth)).status_code == 200
        running.freeze()  # SIGSTOP: connections stay open, nothing answers
        try:
            for path in ("/api/v1/me", "/api/v1/networks"):
                started = time.monotonic()
                r = await client.get(path, headers=auth)
                elapsed = time.monotonic() - started
                _assert_503(r)
                # statement 2 s + client grace 2 s, plus a rollback bounded the same way.
                assert elapsed < 12, f"{path} took {elapsed:.1f}s with the database frozen"
            started = time.monotonic()
            assert await _login(client) == 503
            assert time.monotonic() - started < 12
        finally:
            running.thaw()
        deadline = time.monotonic() + 15
        while (await client.get("/api/v1/me", headers=auth)).status_code != 200:
            assert time.monotonic() < deadline, "the service did not recover after the database thawed"
            await asyncio.sleep(0.2)


async def test_websocket_handshake_closes_1013_while_the_database_is_down(running: Throwaway, tmp_path) -> None:
    token = await _token(running.tcp_url())
    settings = _settings(tmp_path, running.tcp_url())
    server = ServerThread(msgspec.structs.replace(settings)).start()
    try:
        headers = {"Authorization": f"Bearer {token}"}
        async with websockets.connect(server.ws_url, additional_headers=headers, open_timeout=10) as ws:
            await ws.send('{"type": "ping"}')
            assert "pong" in await asyncio.wait_for(ws.recv(), 5)
        running.stop()
        for extra in ({"additional_headers": headers}, {}):
            ws = await websockets.connect(server.ws_url, open_timeout=10, **extra)
            if not extra:  # token in the first frame instead of the handshake
                await ws.send(f'{{"type": "auth", "token": "{token}"}}')
            with pytest.raises(websockets.ConnectionClosed) as info:
                await asyncio.wait_for(ws.recv(), 15)
            assert info.value.rcvd is not None and info.value.rcvd.code == 1013, info.value
    finally:
        server.stop()
