"""A scriptable OpenID provider on loopback for the broker's refusal tests.

``oidc-provider-mock`` issues only well-formed tokens; to prove that we refuse a wrong issuer,
audience, expiry, nonce, algorithm or key, this small real HTTP server signs whatever the test
asks for. It serves discovery, JWKS and a token endpoint (the code itself is not checked).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey


class ScriptedIdP:
    """State shared with the request handler: keys, and the next id_token to hand out."""

    def __init__(self) -> None:
        self.port = 0
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig"}, private=True)
        self.published: list[dict[str, Any]] = [dict(self.key.as_dict(private=False))]
        self.id_token: Callable[[], str] | None = None
        self.token_status = 200
        self.jwks_requests = 0
        self.token_requests: list[dict[str, str]] = []
        self.down = False

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def sign(self, claims: dict[str, Any], *, header: dict[str, Any] | None = None, key: Any = None) -> str:
        """An id_token with ``claims`` signed by our key (or ``key``)."""
        head = header or {"alg": "RS256", "kid": "k1"}
        signing_key = key or self.key
        return jwt.encode(head, claims, signing_key, algorithms=[head["alg"]])

    def claims(self, expected_nonce: str, client_id: str, **overrides: Any) -> dict[str, Any]:
        """Good claims, changed by ``overrides`` (a value of None removes the claim)."""
        now = int(time.time())
        base: dict[str, Any] = {
            "iss": self.issuer,
            "sub": "scripted-subject",
            "aud": client_id,
            "exp": now + 300,
            "iat": now,
            "nonce": expected_nonce,
            "email": "scripted@kent.example",
            "email_verified": True,
        }
        base.update(overrides)
        return {k: v for k, v in base.items() if v is not None}

    @staticmethod
    def hmac_with_public_key(claims: dict[str, Any], public_jwk: dict[str, Any]) -> str:
        """The classic key-confusion forgery: HS256 keyed with the RSA public key's bytes."""
        secret = json.dumps(public_jwk).encode()
        return jwt.encode({"alg": "HS256", "kid": "k1"}, claims, OctKey.import_key(secret), algorithms=["HS256"])


def _handler(idp: ScriptedIdP) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def _json(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if idp.down:
                self._json(503, {"error": "down"})
            elif self.path == "/.well-known/openid-configuration":
                self._json(
                    200,
                    {
                        "issuer": idp.issuer,
                        "authorization_endpoint": idp.issuer + "/authorize",
                        "token_endpoint": idp.issuer + "/token",
                        "jwks_uri": idp.issuer + "/jwks",
                        "response_types_supported": ["code"],
                        "id_token_signing_alg_values_supported": ["RS256"],
                    },
                )
            elif self.path == "/jwks":
                idp.jwks_requests += 1
                self._json(200, {"keys": idp.published})
            else:
                self._json(404, {"error": "not_found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            from urllib.parse import parse_qsl

            form = dict(parse_qsl(self.rfile.read(length).decode()))
            idp.token_requests.append(form)
            if self.path != "/token" or idp.down:
                self._json(503 if idp.down else 404, {"error": "unavailable"})
            elif idp.token_status != 200 or idp.id_token is None:
                self._json(idp.token_status if idp.token_status != 200 else 400, {"error": "invalid_grant"})
            else:
                self._json(200, {"access_token": "at", "token_type": "Bearer", "id_token": idp.id_token()})

    return Handler


@contextmanager
def scripted_idp() -> Iterator[ScriptedIdP]:
    """Run a :class:`ScriptedIdP` on a free loopback port for the duration of the block."""
    idp = ScriptedIdP()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(idp))
    idp.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield idp
    finally:
        server.shutdown()
        server.server_close()
        thread.join(2)
