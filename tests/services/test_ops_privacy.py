"""What operational and API answers give away (issue 9 item 8).

* ``/ready`` is public; it printed the raw exception text (SQL, addresses). Now it names the
  dependency only and the detail goes to the log.
* API answers are per caller (member lists, chat, hidden spaces): every ``/api/v1`` response says
  ``Cache-Control: no-store`` so no browser or proxy keeps one person's view for another.
"""

from __future__ import annotations

import logging
import uuid

import msgspec
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession

from services.app import create_app
from services.readiness import ReadinessCheck
from tests.factories import add_member, add_space_member, bearer, make_account, make_network, make_space, make_token

SECRET = "SELECT password FROM pg_authid WHERE host = '10.9.8.7'"


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.seen: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append(record)


async def test_ready_keeps_exception_text_in_the_log(settings) -> None:
    broken = msgspec.structs.replace(settings, database_url="postgresql://nobody@127.0.0.1:1/none")
    async with AsyncTestClient(app=create_app(broken)) as c:

        async def leaky() -> None:
            raise RuntimeError(SECRET)

        c.app.state.readiness_checks.append(ReadinessCheck("leaky", leaky))
        records = _Records()
        logging.getLogger("affinity.readiness").addHandler(records)
        try:
            r = await c.get("/ready")
        finally:
            logging.getLogger("affinity.readiness").removeHandler(records)
        assert r.status_code == 503
        body = r.json()
        assert body["checks"]["database"] == "unavailable" and body["checks"]["leaky"] == "unavailable"
        for secret in ("10.9.8.7", "pg_authid", "127.0.0.1", "nobody", "Error", "refused"):
            assert secret not in r.text, r.text
        # The operator still finds it, in the log.
        assert any(r.exc_info and SECRET in str(r.exc_info[1]) for r in records.seen)


async def test_every_api_answer_says_no_store(client, db_session: AsyncSession) -> None:
    network = await make_network(db_session)
    account = await make_account(db_session)
    await add_member(db_session, network, account)
    space = await make_space(db_session, network)
    await add_space_member(db_session, space, account)
    token = bearer(await make_token(db_session, account))
    await db_session.commit()
    base = f"/api/v1/spaces/{space.id}"
    for method, path, body in [
        ("GET", f"{base}/members", None),
        ("GET", f"{base}/messages", None),
        ("POST", f"{base}/messages", {"body": "hi", "key": "k1"}),
        ("GET", "/api/v1/me", None),
        ("GET", f"/api/v1/networks/{network.slug}/spaces", None),
        ("GET", base, None),
    ]:
        r = await client.request(method, path, json=body, headers=token)
        assert r.status_code in (200, 201), (path, r.text)
        assert r.headers.get("cache-control") == "no-store", (path, r.headers)
    # Public, shareable documents keep their own policy.
    r = await client.get("/.well-known/openid-configuration")
    assert r.headers.get("cache-control") != "no-store"
    r = await client.get(f"/api/v1/spaces/{uuid.uuid4()}/members", headers=token)
    assert r.status_code == 404
    assert r.headers.get("cache-control") == "no-store"  # errors too
