"""Wire-level input rules shared by the HTTP schemas (services/) and the websocket protocol (realtime/).

These rules hold for every value a client sends, whatever the field means, because the layers
below cannot store anything else: PostgreSQL refuses the NUL character in text and in JSONB,
its integers are 64-bit, and decoding a document nested thousands deep exhausts the stack.
They live here, on the lowest floor, so one definition serves both ``services`` and ``realtime``
(which may not import ``services``):

- :data:`Text` — a string without NUL. Every string field of a request schema or client frame is
  ``Text`` or an ``Annotated[Text, msgspec.Meta(...)]`` that adds its own length limits.
- :data:`Int64` — an integer PostgreSQL's ``bigint`` can hold; :data:`Count` — one that is ``>= 0``.
- :func:`check_json` — the same rules over a free-form JSON value (policy settings, constraint
  documents), plus a nesting-depth limit; returns the first problem with the field's path.

Nothing here does I/O; the HTTP guard (``services/inputs.py``) and the websocket gateway call
these functions before anything reaches a handler.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
MAX_DEPTH = 32
"""Deepest nesting of arrays/objects a request body or frame may have (ours need about 4)."""

NO_NUL_PATTERN = r"^[^\x00]*$"
# msgspec puts the pattern into its error text; this is what people read instead.
_NUL_MESSAGE = "must not contain the NUL character (\\u0000)"

Text = Annotated[str, msgspec.Meta(pattern=NO_NUL_PATTERN, description="Text without NUL characters")]
"""A string without NUL. Narrow it per field: ``Annotated[Text, msgspec.Meta(max_length=200)]``."""

Int64 = Annotated[int, msgspec.Meta(ge=INT64_MIN, le=INT64_MAX)]
"""An integer that fits PostgreSQL's bigint."""

Count = Annotated[int, msgspec.Meta(ge=0, le=INT64_MAX)]
"""A non-negative integer that fits PostgreSQL's bigint (sequence numbers, offsets)."""


class InputProblem(ValueError):
    """A value breaks a wire rule; ``field`` is its JSON path (``$.settings.x``) or parameter name."""

    def __init__(self, field: str, message: str, code: str = "invalid_value") -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.code = code


def nesting_depth_exceeds(data: bytes | str, limit: int = MAX_DEPTH) -> bool:
    """Whether the JSON text ``data`` nests arrays/objects deeper than ``limit``.

    Runs on raw text *before* decoding (a decoder recurses and would overflow the stack). Brackets
    inside strings are skipped. Cheap in the common case: a document with no more brackets than
    the limit cannot be too deep, so it is not scanned at all.
    """
    raw = data.encode() if isinstance(data, str) else data
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    depth = 0
    in_string = False
    escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return False


def check_text(field: str, value: str) -> None:
    """Raise :class:`InputProblem` when ``value`` holds a NUL character."""
    if "\x00" in value:
        raise InputProblem(field, _NUL_MESSAGE, "nul_character")


def check_json(value: object, field: str = "$", depth: int = 0) -> None:
    """Check a decoded JSON value: no NUL in any key or string, integers within int64, bounded depth.

    Raises :class:`InputProblem` naming the first offending field (``$.settings.chat\\.x``-style
    paths are not escaped; they are for people to read).
    """
    if isinstance(value, str):
        check_text(field, value)
    elif isinstance(value, bool) or value is None or isinstance(value, float):
        return
    elif isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            raise InputProblem(field, f"is out of range; whole numbers must lie between {INT64_MIN} and {INT64_MAX}")
    elif isinstance(value, dict):
        if depth >= MAX_DEPTH:
            raise InputProblem(field, f"nests deeper than {MAX_DEPTH} levels", "too_deep")
        for key, item in value.items():
            path = f"{field}.{key}"
            check_text(path, str(key))
            check_json(item, path, depth + 1)
    elif isinstance(value, list):
        if depth >= MAX_DEPTH:
            raise InputProblem(field, f"nests deeper than {MAX_DEPTH} levels", "too_deep")
        for index, item in enumerate(value):
            check_json(item, f"{field}[{index}]", depth + 1)


def humanize(message: str) -> str:
    """Replace msgspec's wording of a wire rule (a regex, a bound) with a sentence for people."""
    text = message.replace(f"Expected `str` matching regex {NO_NUL_PATTERN!r}", f"Text {_NUL_MESSAGE}")
    text = text.replace(f"Expected `int` <= {INT64_MAX}", f"Expected a whole number <= {INT64_MAX} (64-bit)")
    return text.replace(f"Expected `int` >= {INT64_MIN}", f"Expected a whole number >= {INT64_MIN} (64-bit)")


JsonObject = dict[Text, Any]
"""A free-form JSON object from a client (policy settings, constraint documents). Its keys are
:data:`Text`; its values are checked by :func:`check_json` (the HTTP input guard does that for
every request body)."""
