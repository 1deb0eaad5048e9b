"""Resource libraries: who may see and change a space's or a network's shared links and files,
and the pure rules for what a resource may contain. No I/O.

Decisions (issue 11):

* A space's library is visible exactly to those who may read the space's chat
  (:func:`federation.space_permissions.can_read_chat`): its facilitators, members, and guests
  while their share lasts. Anyone else gets the same 404 as for a space that does not exist.
* Adding a resource follows the chat posting rule (:func:`can_post_chat`): a muted member, or a
  member of a space where only facilitators post, may read the library but not add to it.
* Pinning is for facilitators; editing and deleting for the author (while still in the room)
  and facilitators.
* A network's library is read by every member of the network (any role) and, for a resource
  marked public, by anyone; it is managed by the network's admins (and operators).
* Tags, not folders: a resource often belongs to several topics at once (a reading that is both
  "book study" and "year 1"), tags need no tree to keep consistent or permissions per folder,
  and a tag filter is one indexed array test.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

from federation.space_permissions import SpaceActor, SpaceFacts, SpaceRole, can_post_chat, can_read_chat

MAX_TITLE = 200
MAX_NOTE = 4000
MAX_URL = 2000
MAX_TAGS = 10
MAX_TAG = 40
MAX_FILE_NAME = 120

ALLOWED_UPLOAD_TYPES: dict[str, str] = {
    "application/pdf": "PDF",
    "image/png": "PNG image",
    "image/jpeg": "JPEG image",
    "image/gif": "GIF image",
    "image/webp": "WebP image",
    "text/plain": "plain text (also CSV, Markdown)",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word document (.docx)",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "Excel workbook (.xlsx)",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "PowerPoint (.pptx)",
    "application/vnd.oasis.opendocument.text": "OpenDocument text (.odt)",
    "application/vnd.oasis.opendocument.spreadsheet": "OpenDocument spreadsheet (.ods)",
    "application/vnd.oasis.opendocument.presentation": "OpenDocument presentation (.odp)",
}
"""Content types a file upload may have, sniffed from its bytes (never the client's word).
Documents and images only: audio and video are shared as links (they are large and streaming
them is a job for the platforms that host them); HTML and SVG are refused because a browser
would run their scripts."""


class ResourceInputError(ValueError):
    """A resource field is unusable; ``code`` is machine-readable, the message says what to do."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


_R = SpaceRole


def can_read_space_resources(actor: SpaceActor, space: SpaceFacts) -> bool:
    """See a space's library (list, metadata, download, search): whoever may read its chat."""
    return can_read_chat(actor, space)


def can_add_space_resource(actor: SpaceActor, space: SpaceFacts) -> bool:
    """Add a link or file: whoever may post in the space's chat."""
    return can_read_space_resources(actor, space) and can_post_chat(actor, space)


def can_pin_space_resource(actor: SpaceActor, space: SpaceFacts) -> bool:
    """Pin or unpin: the space's facilitators."""
    return can_read_space_resources(actor, space) and actor.has(_R.FACILITATOR)


def can_change_space_resource(actor: SpaceActor, space: SpaceFacts, *, is_author: bool) -> bool:
    """Edit or delete: the author while still in the room, and the space's facilitators."""
    if not can_read_space_resources(actor, space):
        return False
    return actor.has(_R.FACILITATOR) or (is_author and not actor.has(_R.MUTED))


def can_read_network_library(actor: SpaceActor | None, *, public: bool) -> bool:
    """Read a network resource (``actor`` relative to the network, None when signed out): any
    member of the network and operators; anyone at all when the resource is public."""
    if public:
        return True
    return actor is not None and actor.has(_R.OPERATOR, _R.NETWORK_ADMIN, _R.NETWORK_MEMBER)


def can_manage_network_library(actor: SpaceActor) -> bool:
    """Add, edit, pin, publish and delete network resources: the network's admins and operators."""
    return actor.has(_R.OPERATOR, _R.NETWORK_ADMIN)


def check_title(title: str) -> str:
    """A title of 1..200 characters without control characters, trimmed."""
    cleaned = " ".join(title.split())
    if not cleaned:
        raise ResourceInputError("bad_title", "Give the resource a title.")
    if len(cleaned) > MAX_TITLE:
        raise ResourceInputError("bad_title", f"A title has at most {MAX_TITLE} characters.")
    return cleaned


def check_note(note: str) -> str:
    """A note of at most 4,000 characters (line breaks kept), without other control characters."""
    cleaned = "".join(c for c in note if c in "\n\t" or unicodedata.category(c) != "Cc").strip()
    if len(cleaned) > MAX_NOTE:
        raise ResourceInputError("bad_note", f"A note has at most {MAX_NOTE} characters.")
    return cleaned


def check_url(url: str) -> str:
    """An absolute http(s) URL with a host: never ``javascript:``, ``data:`` or a relative path,
    so a link rendered in the UI can only lead to a web page."""
    url = url.strip()
    if len(url) > MAX_URL:
        raise ResourceInputError("bad_url", f"A link has at most {MAX_URL} characters.")
    if any(unicodedata.category(c) in {"Cc", "Zs"} for c in url):
        raise ResourceInputError("bad_url", "A link may not contain spaces or control characters.")
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises on a malformed port
    except ValueError:
        raise ResourceInputError(
            "bad_url", "This is not a valid link; use a full http:// or https:// address."
        ) from None
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        raise ResourceInputError("bad_url", "Links must be full http:// or https:// addresses.")
    return url


_TAG = re.compile(r"^[\w][\w \-./&+]*$")


def check_tags(tags: list[str]) -> list[str]:
    """At most 10 tags of 1..40 letters, digits, spaces and ``-./&+``; lower-cased, de-duplicated,
    order kept."""
    out: list[str] = []
    for raw in tags:
        tag = " ".join(raw.split()).lower()
        if not tag:
            continue
        if len(tag) > MAX_TAG or not _TAG.match(tag):
            raise ResourceInputError(
                "bad_tag", f"Tags are 1-{MAX_TAG} letters, digits, spaces or - . / & + (got {raw[:50]!r})."
            )
        if tag not in out:
            out.append(tag)
    if len(out) > MAX_TAGS:
        raise ResourceInputError("bad_tag", f"A resource has at most {MAX_TAGS} tags.")
    return out


_UNSAFE_NAME = re.compile(r"[^\w .()\-+,@]")


def safe_file_name(name: str, *, fallback: str = "file") -> str:
    """A file name safe to store and to send back in ``Content-Disposition``: the last path
    component only (``../../etc/passwd`` becomes ``passwd``), no control or shell-special
    characters, no leading dots, at most 120 characters (the extension kept)."""
    name = unicodedata.normalize("NFC", name)
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C")
    name = _UNSAFE_NAME.sub("_", name).strip(" .")
    name = re.sub(r"_{2,}", "_", name)
    if not name:
        return fallback
    if len(name) > MAX_FILE_NAME:
        stem, dot, ext = name.rpartition(".")
        keep_ext = dot and 0 < len(ext) <= 10
        name = stem[: MAX_FILE_NAME - len(ext) - 1] + "." + ext if keep_ext else name[:MAX_FILE_NAME]
    return name
