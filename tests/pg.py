"""Where the tests' PostgreSQL comes from: the machine's server if it answers, else the embedded one."""

from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path


def machine_postgres_answers(host: str = "127.0.0.1", port: int = 5432) -> bool:
    """Whether a PostgreSQL server listens on host:port."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def with_database(url: str, name: str) -> str:
    """``url`` pointing at database ``name`` (query parameters, e.g. a socket host, kept)."""
    base, _, query = url.partition("?")
    return base.rsplit("/", 1)[0] + "/" + name + (("?" + query) if query else "")


def admin_url() -> str:
    """A URL to a maintenance database on which the tests may CREATE DATABASE.

    TEST_DATABASE_ADMIN_URL overrides; else the machine's server at 127.0.0.1:5432 (trust auth,
    user postgres); else an embedded PostgreSQL in a temporary folder shared by the run.
    """
    explicit = os.environ.get("TEST_DATABASE_ADMIN_URL")
    if explicit:
        return explicit
    if machine_postgres_answers():
        return "postgresql://postgres@127.0.0.1:5432/postgres"
    from services.persistence.embedded import start_embedded

    folder = Path(os.environ.get("TEST_EMBEDDED_PG_DIR", Path(tempfile.gettempdir()) / "affinity-test-pg"))
    url, server = start_embedded(folder)
    _keep.append(server)
    return with_database(url, "postgres")  # the socket path in ?host= has slashes too


_keep: list[object] = []


def need(available: bool, what: str) -> None:
    """Skip the test when a real part is missing, or fail in CI (AFFINITY_TEST_REQUIRE_ALL=1).

    CI sets the variable so a missing browser, Redis or server never turns into a silent skip.
    """
    import pytest

    if available:
        return
    if os.environ.get("AFFINITY_TEST_REQUIRE_ALL") == "1":
        pytest.fail(f"{what} is required in CI but is not available")
    pytest.skip(f"{what} is not available on this machine")
