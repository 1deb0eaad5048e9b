"""The embedded PostgreSQL is private to the service: socket mode 0700 in the data folder, no
``trust`` in pg_hba.conf, a password kept in the data folder (mode 600); folders made by older
versions (trust, world-writable socket) are converted on their next start, data kept."""

from __future__ import annotations

import asyncio
import shutil
import stat
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from services.persistence.embedded import PASSWORD_FILE, start_embedded

pytestmark = pytest.mark.slow


@pytest.fixture
def folder() -> Iterator[Path]:
    # Not under pytest's basetemp (mode 0700 and reset by every pytest start): as root the
    # server runs as the 'pgserver' user, which must reach the folder.
    path = Path(tempfile.mkdtemp(prefix="affinity-emb-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _check_private(data_dir: Path, url: str, server: object) -> None:
    pgdata = data_dir / "postgres"
    assert _mode(data_dir / PASSWORD_FILE) == 0o600
    hba = (pgdata / "pg_hba.conf").read_text()
    assert "trust" not in "\n".join(line for line in hba.splitlines() if not line.startswith("#"))
    socket_dir = Path(server.get_postmaster_info().socket_dir)  # type: ignore[attr-defined]
    sockets = list(socket_dir.glob(".s.PGSQL.*"))
    assert sockets and all(_mode(s) == 0o700 for s in sockets if s.is_socket()), [oct(_mode(s)) for s in sockets]
    assert _mode(socket_dir) == 0o700


async def _select(url: str, sql: str) -> object:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


def test_a_new_embedded_database_asks_for_a_password_and_hides_its_socket(folder: Path) -> None:
    url, server = start_embedded(folder)
    try:
        _check_private(folder, url, server)
        assert asyncio.run(_select(url, "SELECT 1")) == 1
        without_password = url.replace(url.split("@", 1)[0], "postgresql://postgres")
        with pytest.raises(asyncpg.InvalidPasswordError):
            asyncio.run(_select(without_password, "SELECT 1"))
    finally:
        server.cleanup()


def test_a_folder_from_before_is_converted_and_keeps_its_data(folder: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver

    # What older versions made: pgserver's defaults (trust for every local connection).
    old = pgserver.get_server(folder / "postgres", cleanup_mode="stop")
    old.psql("CREATE DATABASE affinity;")
    old_url = old.get_uri("affinity")
    asyncio.run(_select(old_url, "CREATE TABLE kept AS SELECT 42 AS answer"))
    assert "trust" in (folder / "postgres" / "pg_hba.conf").read_text()
    old.cleanup()

    url, server = start_embedded(folder)
    try:
        _check_private(folder, url, server)
        assert asyncio.run(_select(url, "SELECT answer FROM kept")) == 42
    finally:
        server.cleanup()
    # And it starts again with the same password.
    url, server = start_embedded(folder)
    try:
        assert asyncio.run(_select(url, "SELECT answer FROM kept")) == 42
    finally:
        server.cleanup()
