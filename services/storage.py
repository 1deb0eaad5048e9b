"""File storage behind one small interface: local disk under the data folder, or S3-compatible.

Both are `obstore <https://developmental-seed.org/obstore>`_ stores (the Rust ``object_store``
crate behind one async API), so the code above this module does not know which one it has.

Content-addressed: a file's key is ``sha256/<first two hex>/<sha256>``, so the same file shared
twice is stored once and a key never changes meaning. An upload is first *spooled* to a local
file (bounded memory, hashed and measured as it arrives), then moved into the store in one step:
on local disk a rename inside the store's folder (atomic), on S3 a (multipart) upload that
becomes visible only when complete. A cut-off or refused upload therefore never reaches the
store; the spool file is removed.
"""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import obstore
from obstore.store import LocalStore, S3Store

from services.settings import Settings

CHUNK = 64 * 1024
_S3_PART = 5 * 1024 * 1024  # S3's smallest multipart part; with one part in flight it bounds memory


def key_for(sha256: str) -> str:
    """The store key of content with this SHA-256 (hex)."""
    return f"sha256/{sha256[:2]}/{sha256}"


class BlobStore(Protocol):
    """Where file contents live. Keys come from :func:`key_for`."""

    spool_dir: Path
    """A local folder for uploads in progress (same filesystem as the store when it is local)."""

    async def put_file(self, key: str, path: Path) -> None:
        """Move the finished spool file ``path`` into the store under ``key`` (atomically:
        readers see the whole file or nothing). ``path`` is gone afterwards."""
        ...

    async def exists(self, key: str) -> bool:
        """Whether ``key`` is stored."""
        ...

    def read(self, key: str) -> AsyncIterator[bytes]:
        """The stored bytes in chunks (raises FileNotFoundError when missing)."""
        ...

    async def delete(self, key: str) -> None:
        """Remove ``key``; no error when it is already gone."""
        ...


@dataclass
class ObjectBlobStore:
    """:class:`BlobStore` on an obstore store (local or S3)."""

    store: Any  # LocalStore | S3Store (obstore's stubs type them separately)
    spool_dir: Path
    local: bool

    async def put_file(self, key: str, path: Path) -> None:
        """Local: rename inside the store's folder; S3: upload one part at a time, then remove the spool."""
        try:
            if self.local:
                await obstore.rename_async(self.store, f".incoming/{path.name}", key)
                return
            # Fed in 64 KiB pieces: given the path itself, obstore reads whole parts into memory
            # (measured: +14 MiB of server memory for a 20 MiB file; this way < 1 MiB).
            await obstore.put_async(self.store, key, _read_chunks(path), chunk_size=_S3_PART, max_concurrency=1)
        finally:
            path.unlink(missing_ok=True)  # noqa: ASYNC240  (one unlink of a local spool file)

    async def exists(self, key: str) -> bool:
        """HEAD the key."""
        try:
            await obstore.head_async(self.store, key)
        except FileNotFoundError:
            return False
        return True

    async def read(self, key: str) -> AsyncIterator[bytes]:
        """Stream the object in chunks of about 64 KiB."""
        result = await obstore.get_async(self.store, key)
        async for chunk in result.stream(min_chunk_size=CHUNK):
            yield bytes(chunk)

    async def delete(self, key: str) -> None:
        """Delete; a missing key is not an error (deletion is idempotent)."""
        with contextlib.suppress(FileNotFoundError):
            await obstore.delete_async(self.store, key)


def _read_chunks(path: Path) -> Iterator[bytes]:
    """A local file in 64 KiB pieces."""
    with path.open("rb") as source:
        while chunk := source.read(CHUNK):
            yield chunk


def open_store(settings: Settings) -> ObjectBlobStore:
    """The store ``settings`` describe: ``AFFINITY_STORAGE=local`` (default, ``data_dir/files``) or
    ``s3`` (``AFFINITY_S3_*``)."""
    if settings.storage == "s3":
        options: dict[str, Any] = {}
        if settings.s3_endpoint and settings.s3_endpoint.startswith("http://"):
            options["allow_http"] = True
        kwargs: dict[str, Any] = {"region": settings.s3_region, "client_options": options}
        if settings.s3_endpoint:
            kwargs["endpoint"] = settings.s3_endpoint
            kwargs["virtual_hosted_style_request"] = False
        if settings.s3_access_key_id:
            kwargs["access_key_id"] = settings.s3_access_key_id
            kwargs["secret_access_key"] = settings.s3_secret_access_key
        store: Any = S3Store(settings.s3_bucket or "", **kwargs)
        spool = settings.data_dir / "spool"
        spool.mkdir(parents=True, exist_ok=True)
        return ObjectBlobStore(store, spool, local=False)
    root = settings.data_dir / "files"
    spool = root / ".incoming"
    spool.mkdir(parents=True, exist_ok=True)
    return ObjectBlobStore(LocalStore(root, mkdir=True), spool, local=True)


class UploadTooLarge(Exception):
    """The upload passed the size limit (the spool file is already removed)."""


@dataclass(frozen=True, slots=True)
class Spooled:
    """A complete upload on local disk, not yet in the store."""

    path: Path
    sha256: str
    size: int
    head: bytes
    """The first bytes (up to 8 KiB), for sniffing the content type."""

    def discard(self) -> None:
        """Remove the spool file (a refused upload leaves nothing behind)."""
        self.path.unlink(missing_ok=True)


async def spool(chunks: AsyncIterator[bytes], spool_dir: Path, limit: int) -> Spooled:
    """Write ``chunks`` to a new file in ``spool_dir``, hashing as they arrive; memory use is one
    chunk. Raises :class:`UploadTooLarge` past ``limit`` bytes; on that or any other error
    (a client that disconnects) the partial file is removed and the error propagates."""
    path = spool_dir / f"{uuid.uuid4().hex}.part"
    digest = hashlib.sha256()
    size = 0
    head = b""
    try:
        with path.open("wb") as out:
            async for chunk in chunks:
                if not chunk:
                    continue
                size += len(chunk)
                if size > limit:
                    raise UploadTooLarge
                if len(head) < 8192:
                    head += chunk[: 8192 - len(head)]
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return Spooled(path, digest.hexdigest(), size, head)
