"""Decide a file's content type from its bytes, never from the client's word.

Only the types in :data:`federation.resources.ALLOWED_UPLOAD_TYPES` are recognised; anything
else (HTML, SVG, scripts, executables, audio, video, archives) is ``None`` and refused. Office
documents are ZIP containers: the member names tell a Word file from an arbitrary ZIP.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

_OOXML = {
    "word/document.xml": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xl/workbook.xml": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ppt/presentation.xml": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
_ODF = {
    b"application/vnd.oasis.opendocument.text",
    b"application/vnd.oasis.opendocument.spreadsheet",
    b"application/vnd.oasis.opendocument.presentation",
}
# Text that a browser (or a careless viewer) could treat as markup is not "plain text".
_MARKUP = (b"<!doctype", b"<html", b"<script", b"<svg", b"<?xml", b"<head", b"<body", b"<iframe")


def sniff(head: bytes, path: Path) -> str | None:
    """The content type of the file at ``path`` whose first bytes are ``head``, or None when it is
    not an allowed type."""
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"PK\x03\x04"):
        return _zip_document(path)
    return "text/plain" if _is_plain_text(head) else None


def _zip_document(path: Path) -> str | None:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "mimetype" in names:
                kind = archive.read("mimetype").strip()
                return kind.decode() if kind in _ODF else None
            for member, content_type in _OOXML.items():
                if member in names and "[Content_Types].xml" in names:
                    return content_type
    except (zipfile.BadZipFile, OSError, KeyError, ValueError, RuntimeError):
        return None
    return None


def _is_plain_text(head: bytes) -> bool:
    if not head or b"\x00" in head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # The 8 KiB head may end inside a multi-byte character.
        if exc.start < len(head) - 3:
            return False
        text = head[: exc.start].decode("utf-8")
    if any(ord(c) < 32 and c not in "\t\n\r\f" for c in text):
        return False
    lowered = text.lstrip("\ufeff \t\r\n").lower().encode()
    return not lowered.startswith(_MARKUP) and b"<script" not in lowered
