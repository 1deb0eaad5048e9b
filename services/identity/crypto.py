"""Small cryptographic helpers: random secrets, hashes of secrets, sealing, PKCE, CSRF MACs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def new_secret(prefix: str = "", nbytes: int = 32) -> str:
    """A URL-safe random secret with ``nbytes`` of entropy."""
    return prefix + secrets.token_urlsafe(nbytes)


def digest(value: str) -> bytes:
    """SHA-256 of a high-entropy secret (states, session ids, codes, tokens, client secrets)."""
    return hashlib.sha256(value.encode()).digest()


def b64url(data: bytes) -> str:
    """Base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def pkce_challenge(verifier: str) -> str:
    """The S256 code challenge of a PKCE verifier (RFC 7636)."""
    return b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def _derive(secret_key: str, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(secret_key.encode())


def seal(secret_key: str, plaintext: str, purpose: str) -> bytes:
    """Encrypt ``plaintext`` with AES-256-GCM under a key derived from the service secret."""
    nonce = secrets.token_bytes(12)
    return nonce + AESGCM(_derive(secret_key, purpose)).encrypt(nonce, plaintext.encode(), purpose.encode())


def unseal(secret_key: str, sealed: bytes, purpose: str) -> str:
    """Decrypt what :func:`seal` produced; raises ``cryptography.exceptions.InvalidTag`` if tampered."""
    nonce, body = sealed[:12], sealed[12:]
    return AESGCM(_derive(secret_key, purpose)).decrypt(nonce, body, purpose.encode()).decode()


def mac(secret_key: str, purpose: str, value: str) -> str:
    """An HMAC-SHA256 of ``value`` for ``purpose`` (CSRF tokens)."""
    return b64url(hmac.new(_derive(secret_key, purpose), value.encode(), hashlib.sha256).digest())


def same(a: str, b: str) -> bool:
    """Constant-time string comparison."""
    return hmac.compare_digest(a.encode(), b.encode())
