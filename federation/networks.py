"""Networks: slug rules, kinds and roles."""

from __future__ import annotations

import re
from enum import StrEnum

SLUG_MIN, SLUG_MAX = 2, 40
_SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")
RESERVED_SLUGS = frozenset({"api", "admin", "auth", "schema", "static", "ws", "new", "me", "health", "ready"})


class NetworkKind(StrEnum):
    """What sort of organisation a network is."""

    ASSOCIATION = "association"
    DISTRICT = "district"
    ESD = "esd"
    SCHOOL = "school"
    OTHER = "other"


class Role(StrEnum):
    """An account's role in a network, weakest first."""

    MEMBER = "member"
    FACILITATOR = "facilitator"
    ADMIN = "admin"


def slug_problem(slug: str) -> str | None:
    """Why ``slug`` cannot name a network, or None when it can.

    Slugs appear in URLs and sign-in callbacks, so they are short, lower-case ASCII letters,
    digits and single hyphens, and not one of the words the service's own routes use.
    """
    if not SLUG_MIN <= len(slug) <= SLUG_MAX:
        return f"a slug has {SLUG_MIN} to {SLUG_MAX} characters; this one has {len(slug)}"
    if not _SLUG_RE.match(slug):
        return "use lower-case letters a-z, digits and hyphens, starting and ending with a letter or digit"
    if "--" in slug:
        return "use single hyphens between words"
    if slug in RESERVED_SLUGS:
        return f"'{slug}' is reserved by the service; choose another"
    return None
