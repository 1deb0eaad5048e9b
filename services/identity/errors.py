"""Why a sign-in was refused: one sentence for the member, one reason for the operator's log."""

from __future__ import annotations


class SignInRefused(Exception):
    """A refused sign-in. ``message`` is shown to the member; ``reason`` goes to the log only."""

    def __init__(self, title: str, message: str, *, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.title = title
        self.message = message
        self.reason = reason
        self.status = status


class UnreadableInput(Exception):
    """A form or query value PostgreSQL cannot store (a NUL character): refused with a 400 before use."""

    def __init__(self, name: str) -> None:
        super().__init__(f"parameter {name!r} contains a NUL character")
        self.name = name
