"""Secret URLs never reach a log line or a metric label.

Some addresses are the whole authority by design: a member's calendar feed
(``/calendar/feeds/<secret>.ics``), an invitation link (``/invitations/<token>``), an unsubscribe
link (``/notifications/unsubscribe?t=<token>``), an OIDC callback (``?code=…``). The server is run
as an operator runs it (``affinity serve``, INFO level, JSON lines on stderr); each secret URL is
requested over HTTP (GET and POST) and as a websocket upgrade (uvicorn logs those itself, with the
path and query), then ``/metrics`` is read, and the server's whole log must not contain any of the
secrets.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import websockets
from sqlalchemy.ext.asyncio import AsyncSession

from services.logs import redact
from services.mail.outbox import unsubscribe_token
from services.settings import Settings
from tests.factories import bearer, make_account, make_token

AFFINITY = str(Path(sys.executable).with_name("affinity"))
SECRET_KEY = "log-secrets-" + "k" * 40


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _ws_attempt(url: str) -> None:
    try:
        async with websockets.connect(url, open_timeout=5):
            pass
    except Exception:  # refused upgrades are the point; only the log matters
        return


async def test_no_secret_reaches_the_log_or_metrics(
    database_url: str, tmp_path: Path, db_session: AsyncSession
) -> None:
    account = await make_account(db_session)
    token = await make_token(db_session, account)
    await db_session.commit()
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AFFINITY_")}
    env.update(
        DATABASE_URL=database_url,
        AFFINITY_DATA_DIR=str(tmp_path / "data"),
        AFFINITY_SECRET_KEY=SECRET_KEY,
        AFFINITY_LOG_FORMAT="json",
        AFFINITY_LOG_LEVEL="INFO",
    )
    log_path = tmp_path / "server.log"
    with log_path.open("w") as log_file:
        server = subprocess.Popen(  # noqa: ASYNC220 - the server under test, stopped below
            [AFFINITY, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    secrets: list[str] = []
    try:
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            deadline = time.monotonic() + 60
            while True:
                assert server.poll() is None, log_path.read_text()
                try:
                    if (await http.get("/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "server did not start"
                await asyncio.sleep(0.2)

            # A real calendar feed (200) and a made-up one (404).
            r = await http.post("/api/v1/me/calendar-feed", headers=bearer(token))
            assert r.status_code == 201, r.text
            feed_path = "/calendar/feeds/" + r.json()["url"].split("/calendar/feeds/", 1)[1]
            feed_secret = feed_path.removeprefix("/calendar/feeds/").removesuffix(".ics")
            assert (await http.get(feed_path)).status_code == 200
            fake_feed = "acf_FAKEFEEDSECRET0123456789abcdef"
            assert (await http.get(f"/calendar/feeds/{fake_feed}.ics")).status_code == 404
            # A genuine unsubscribe link (shown, then used) and a damaged one.
            settings = Settings(secret_key=SECRET_KEY)
            unsub = unsubscribe_token(settings, account.email, "join_request")
            assert (await http.get("/notifications/unsubscribe", params={"t": unsub})).status_code == 200
            await http.post("/notifications/unsubscribe", params={"t": unsub})
            bad_unsub = "BADUNSUBSECRET.abcdef0123456789"
            await http.get("/notifications/unsubscribe", params={"t": bad_unsub})
            # An invitation link: shown, and a form post without the CSRF token (refused, logged).
            invite = "INVITESECRETabcdef0123456789xyz"
            await http.get(f"/invitations/{invite}")
            await http.post(f"/invitations/{invite}/accept", data={"x": "1"})
            # An OIDC callback's code and state, and a query on an unknown address.
            oidc_code = "OIDCCODESECRET0123456789"
            await http.get("/auth/callback/nosuchnet", params={"code": oidc_code, "state": "STATESECRET42"})
            await http.get("/no/such/place", params={"token": "QUERYSECRET77"})
            # The same addresses as websocket upgrades: uvicorn logs these itself.
            ws = f"ws://127.0.0.1:{port}"
            await _ws_attempt(f"{ws}/calendar/feeds/{fake_feed}.ics")
            await _ws_attempt(f"{ws}/invitations/{invite}")
            await _ws_attempt(f"{ws}/notifications/unsubscribe?t={bad_unsub}")
            await _ws_attempt(f"{ws}/ws?token=WSQUERYSECRET99")
            metrics = (await http.get("/metrics")).text
            secrets = [
                feed_secret,
                fake_feed,
                unsub,
                unsub.split(".")[0],
                unsub.split(".")[1],
                bad_unsub,
                invite,
                oidc_code,
                "STATESECRET42",
                "QUERYSECRET77",
                "WSQUERYSECRET99",
            ]
            for secret in secrets:
                assert secret not in metrics, secret
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(5)
    log = log_path.read_text()
    # The log is not empty: the requests were logged (by route), and uvicorn saw the upgrades.
    assert "/calendar/feeds/" in log and "unsubscribe" in log, log
    assert "WebSocket" in log, log
    for secret in secrets:
        assert secret not in log, (secret, [line for line in log.splitlines() if secret in line])


@pytest.mark.parametrize(
    ("line", "kept"),
    [
        ('127.0.0.1:5 - "WebSocket /calendar/feeds/acf_abc.ics" 403', "/calendar/feeds/<redacted>"),
        ("refused path=/invitations/tok123/accept", "/invitations/<redacted>/accept"),
        ('"GET /notifications/unsubscribe?t=abc.def HTTP/1.1" 200', "/notifications/unsubscribe?<redacted> "),
        ("/auth/callback/x?code=x&state=y", "/auth/callback/x?<redacted>"),
        ("GET /api/v1/spaces/{space_id} 200 3.1ms", "GET /api/v1/spaces/{space_id} 200 3.1ms"),
        ("Is this a question? yes", "Is this a question? yes"),
    ],
)
def test_redact(line: str, kept: str) -> None:
    assert kept in redact(line)
