"""`affinity serve` as a user runs it: empty data folder, embedded PostgreSQL, restart keeps data."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

AFFINITY = str(Path(sys.executable).with_name("affinity"))
pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def user_env(data_dir: Path) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("AFFINITY_") and k not in {"DATABASE_URL", "REDIS_URL"}
    }
    env.update(AFFINITY_DATA_DIR=str(data_dir), AFFINITY_LOG_FORMAT="json")
    return env


class Server:
    def __init__(self, data_dir: Path, *args: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [AFFINITY, "serve", "--port", str(self.port), *args],
            env=user_env(data_dir),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 90
        self.banner = ""
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"serve exited early: {self.proc.stderr.read() if self.proc.stderr else ''}")
            try:
                if httpx.get(self.url + "/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        raise AssertionError("serve did not become ready in 90 s")

    def stop(self) -> str:
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=30)
        return out


def embedded_postgres_pids(data_dir: Path) -> list[int]:
    marker = str((data_dir / "postgres").resolve())
    pids = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        cmdline = " ".join(proc.info.get("cmdline") or [])
        if proc.info.get("name") == "postgres" and marker in cmdline:
            pids.append(proc.pid)
    return pids


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "affinity-data"
    yield folder
    for pid in embedded_postgres_pids(folder):  # never leave a server behind, even on failure
        psutil.Process(pid).kill()


def test_serve_on_empty_folder_then_restart_keeps_data(data_dir: Path) -> None:
    server = Server(data_dir)
    try:
        assert httpx.get(server.url + "/health").json() == {"status": "ok"}
        env = user_env(data_dir)
        made = subprocess.run(
            [AFFINITY, "accounts", "create", "--email", "op@example.org", "--name", "Op", "--operator"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert made.returncode == 0, made.stderr
        token = subprocess.run(
            [AFFINITY, "tokens", "create", "--email", "op@example.org"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        ).stdout.strip()
        headers = {"Authorization": f"Bearer {token}"}
        r = httpx.post(
            server.url + "/api/v1/networks",
            json={"slug": "kent-sd", "name": "Kent", "kind": "district"},
            headers=headers,
        )
        assert r.status_code == 201, r.text
    finally:
        out = server.stop()
    assert "open http://localhost:" in out
    assert server.proc.returncode == 0
    deadline = time.monotonic() + 15
    while embedded_postgres_pids(data_dir) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert embedded_postgres_pids(data_dir) == [], "the embedded PostgreSQL kept running after SIGTERM"

    server = Server(data_dir)
    try:
        r = httpx.get(server.url + "/api/v1/networks/kent-sd", headers=headers)
        assert r.status_code == 200 and r.json()["name"] == "Kent"
    finally:
        server.stop()


def test_serve_with_two_workers(data_dir: Path) -> None:
    server = Server(data_dir, "--workers", "2", "--demo")
    try:
        children = psutil.Process(server.proc.pid).children(recursive=True)
        workers = [c for c in children if "python" in c.name() or "affinity" in " ".join(c.cmdline())]
        assert len([w for w in workers if "postgres" not in w.name()]) >= 2
        for _ in range(10):
            assert httpx.get(server.url + "/health").status_code == 200
    finally:
        server.stop()
    assert server.proc.returncode == 0


def test_metrics_add_up_across_workers(data_dir: Path) -> None:
    server = Server(data_dir, "--workers", "2")
    try:
        for _ in range(40):
            assert httpx.get(server.url + "/health").status_code == 200
        text = httpx.get(server.url + "/metrics").text
        line = next(
            ln for ln in text.splitlines() if ln.startswith("affinity_http_requests_total") and '"/health"' in ln
        )
        # 40 health checks spread over two workers (plus readiness polls): the scrape sees them all.
        assert float(line.rsplit(" ", 1)[1]) >= 40
    finally:
        server.stop()
