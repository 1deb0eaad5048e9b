"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, and can refuse on cue."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class Mailbox:
    """What the server received, and how it answers the next messages."""

    messages: list[EmailMessage] = field(default_factory=list)
    refuse_with: str | None = None
    """An SMTP reply (e.g. "451 4.3.0 try later") for DATA while set; None: accept."""
    received: threading.Event = field(default_factory=threading.Event)
    host: str = "127.0.0.1"
    port: int = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd calls this hook by name
        if self.refuse_with is not None:
            return self.refuse_with
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        self.received.set()
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        """Messages addressed to ``address``."""
        return [m for m in self.messages if m["To"] == address]

    def wait(self, count: int, timeout: float = 10.0) -> None:
        """Block until ``count`` messages arrived."""
        import time

        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            self.received.wait(0.05)
            self.received.clear()
        assert len(self.messages) >= count, f"expected {count} messages, got {len(self.messages)}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def smtp_server() -> Iterator[Mailbox]:
    """Run an SMTP server on a free loopback port for the duration of the block."""
    box = Mailbox()
    box.port = _free_port()
    controller = Controller(box, hostname=box.host, port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()
