"""uvicorn's sans-I/O websocket protocol with a :class:`realtime.wire.FrameSink` for each socket.

Serve with ``uvicorn --ws realtime.transport:FrameSinkProtocol`` (``affinity serve`` does). The
protocol is uvicorn's own (handshake, parsing, pings, close handshake, flow control unchanged);
it only adds, for sockets that negotiated no extension (no per-message compression), the ASGI
scope extension ``affinity.frame_sink``: the protocol object itself, whose ``write_frames`` puts
pre-framed server frames on the transport. The chat gateway uses it to write a room's frame to
each socket synchronously, the way ``websockets.broadcast`` does, instead of one ASGI
``websocket.send`` (a dict, a coroutine, a UTF-8 encoding and a framing per socket). Everything
else — accept, close, the first frames of a socket — still goes through ASGI ``send``; both write
to the transport synchronously and in call order, so frames never interleave.

Other servers (or ``--ws websockets``/``wsproto``) simply don't offer the extension and the
gateway falls back to ASGI sends.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame
from websockets.http11 import Request
from websockets.protocol import State

from realtime.wire import EXTENSION

_OPEN = State.OPEN


def _nothing() -> None:
    return None


class FrameSinkProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O websocket protocol, offering a frame sink to the ASGI app."""

    paused = False
    _on_resume: Callable[[], None] = staticmethod(_nothing)
    _on_pause: Callable[[], None] = staticmethod(_nothing)
    _on_lost: Callable[[], None] = staticmethod(_nothing)

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        # Only plain sockets: with per-message deflate negotiated, frames go through the
        # protocol so they are compressed as the client asked.
        if self.response.status_code == 101 and not self.conn.extensions:
            extensions: Any = self.scope["extensions"]
            extensions[EXTENSION] = self

    # --- FrameSink -------------------------------------------------------------------------------

    def attach(self, on_resume: Callable[[], None], on_pause: Callable[[], None], on_lost: Callable[[], None]) -> None:
        """Callbacks for flow control and for the end of the socket (see realtime.wire.FrameSink)."""
        self._on_resume = on_resume
        self._on_pause = on_pause
        self._on_lost = on_lost

    def write_frames(self, data: bytes) -> None:
        """Write complete server frames; dropped (and ``on_lost`` called) once the socket is not
        open: after a close frame either way, or when the transport is closing."""
        if self.conn.state is not _OPEN or self.close_sent or self.transport.is_closing():
            self._on_lost()
            return
        self.transport.write(data)

    # --- uvicorn's hooks, extended ---------------------------------------------------------------

    def pause_writing(self) -> None:
        super().pause_writing()
        self.paused = True
        self._on_pause()

    def resume_writing(self) -> None:
        super().resume_writing()
        self.paused = False
        self._on_resume()

    def handle_close(self, event: Frame) -> None:
        super().handle_close(event)
        self._on_lost()

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self._on_lost()
