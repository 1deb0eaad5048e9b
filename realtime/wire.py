"""Server frames encoded once, and the zero-copy way to put them on a socket.

A server's websocket frames are never masked (RFC 6455 §5.1), so a text frame's bytes — a
2/4/10-byte header and the UTF-8 payload — are the same for every socket it goes to. An
:class:`Outgoing` holds them, built once per room per message, and the fan-out hands the same
object to every subscriber. Where the server offers a :class:`FrameSink` (``realtime/transport.py``
does for uvicorn), a socket writes those bytes straight to its transport: no per-socket encoding,
no framing, no ASGI message dict, no task switch. Elsewhere the JSON text goes through ASGI
``websocket.send`` as before (decoded once per frame, not per socket).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import msgspec

EXTENSION = "affinity.frame_sink"
"""ASGI scope extension under which a server offers a :class:`FrameSink` for the socket."""

_encoder = msgspec.json.Encoder()


class Outgoing:
    """One server frame: its JSON payload and the complete websocket text frame carrying it."""

    __slots__ = ("_text", "data", "payload")

    def __init__(self, payload: bytes) -> None:
        self.payload = payload
        n = len(payload)
        if n < 126:
            head = bytes((0x81, n))
        elif n < 65536:
            head = b"\x81\x7e" + n.to_bytes(2, "big")
        else:
            head = b"\x81\x7f" + n.to_bytes(8, "big")
        self.data = head + payload
        """The whole frame (FIN, text opcode, unmasked length, payload) as it goes on the wire."""
        self._text: str | None = None

    @classmethod
    def of(cls, frame: msgspec.Struct) -> Outgoing:
        """Encode a frame struct once."""
        return cls(_encoder.encode(frame))

    @classmethod
    def of_text(cls, text: str) -> Outgoing:
        """Wrap JSON text that is already encoded (replies built with ``protocol.encode``)."""
        out = cls(text.encode())
        out._text = text
        return out

    @property
    def text(self) -> str:
        """The JSON as ``str``, for servers without a frame sink (decoded once per frame)."""
        text = self._text
        if text is None:
            text = self._text = self.payload.decode()
        return text


class FrameSink(Protocol):
    """What a server offers per socket for writing complete, pre-framed server frames."""

    paused: bool
    """The transport's buffer is above its high-water mark: queue instead of writing."""

    def write_frames(self, data: bytes) -> None:
        """Write complete frames now (never blocks). Frames reaching a socket that is closing
        are dropped; the sink calls ``on_lost`` once it is no longer open."""
        ...

    def attach(self, on_resume: Callable[[], None], on_pause: Callable[[], None], on_lost: Callable[[], None]) -> None:
        """Be told when the transport can take more (``on_resume``), is full (``on_pause``) and when
        the socket stops being open for data frames (``on_lost``)."""
        ...
