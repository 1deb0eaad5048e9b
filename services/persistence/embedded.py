"""The embedded PostgreSQL (pgserver) used when no DATABASE_URL is configured."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

log = logging.getLogger("affinity.embedded")

DATABASE = "affinity"


def start_embedded(data_dir: Path) -> tuple[str, Any]:
    """Start (or attach to) the embedded server in ``data_dir/postgres``; return (URL, server).

    The server is stopped when the last process using it exits (pgserver tracks its users),
    so Ctrl-C or SIGTERM on ``affinity serve`` leaves no postgres behind. Data stays on disk
    and is reused by the next start.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver

        data_dir.mkdir(parents=True, exist_ok=True)
        server = pgserver.get_server(data_dir.resolve() / "postgres", cleanup_mode="stop")  # type: ignore[attr-defined]
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}';")  # noqa: S608 - constant
    if "1 row" not in exists:
        server.psql(f"CREATE DATABASE {DATABASE};")
        log.info("created embedded database in %s", data_dir)
    return str(server.get_uri(DATABASE)), server
