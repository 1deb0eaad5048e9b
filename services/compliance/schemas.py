"""Wire types of the compliance area."""

from __future__ import annotations

from typing import Any

import msgspec


class ComplianceOut(msgspec.Struct):
    """Body of GET /networks/{slug}/compliance."""

    network: str
    year: dict[str, Any]
    counts: dict[str, int]
    spaces: list[dict[str, Any]]
    meetings_tracked: bool
