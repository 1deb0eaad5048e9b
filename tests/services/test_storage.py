"""The file store behind one interface, on local disk and on a real S3-speaking server on
loopback (moto's server mode, a test dependency, so this never skips): put, read, delete,
content addressing, spooling limits, and the whole API flow with ``AFFINITY_STORAGE=s3``."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import msgspec
import obstore
import pytest
from litestar.testing import AsyncTestClient
from obstore.store import S3Store
from sqlalchemy import text

from services.app import create_app
from services.settings import Settings
from services.storage import ObjectBlobStore, UploadTooLarge, key_for, open_store, spool
from tests.services.resources_world import PDF, build_world


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server on a free loopback port, for this module."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url + "/", timeout=1)
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("moto's S3 server did not start") from None
            time.sleep(0.1)
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def make_bucket(endpoint: str) -> str:
    name = f"b-{uuid.uuid4().hex[:12]}"
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/{name}", method="PUT"), timeout=10)
    return name


def s3_settings(settings: Settings, endpoint: str) -> Settings:
    return msgspec.structs.replace(
        settings,
        storage="s3",
        s3_bucket=make_bucket(endpoint),
        s3_endpoint=endpoint,
        s3_access_key_id="test",
        s3_secret_access_key="test",
    )


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, settings: Settings) -> ObjectBlobStore:
    if request.param == "s3":
        return open_store(s3_settings(settings, request.getfixturevalue("s3_endpoint")))
    return open_store(settings)


async def chunks(data: bytes, size: int = 65536, *, fail_after: int | None = None) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        if fail_after is not None and i >= fail_after:
            raise ConnectionResetError("client went away")
        yield data[i : i + size]
        await asyncio.sleep(0)


async def test_put_read_delete(store: ObjectBlobStore) -> None:
    data = PDF + bytes(range(256)) * 40_000  # ~10 MiB: two S3 parts
    spooled = await spool(chunks(data), store.spool_dir, 50 * 1024 * 1024)
    assert spooled.size == len(data) and spooled.head.startswith(b"%PDF")
    key = key_for(spooled.sha256)
    assert key.startswith(f"sha256/{spooled.sha256[:2]}/") and not await store.exists(key)
    await store.put_file(key, spooled.path)
    assert not spooled.path.exists() and await store.exists(key)
    got = b"".join([c async for c in store.read(key)])
    assert got == data
    await store.delete(key)
    await store.delete(key)  # idempotent
    assert not await store.exists(key)
    with pytest.raises(FileNotFoundError):
        _ = [c async for c in store.read(key)]
    assert list(store.spool_dir.iterdir()) == []


async def test_spooling_refuses_too_large_and_cut_off_bodies(store: ObjectBlobStore) -> None:
    with pytest.raises(UploadTooLarge):
        await spool(chunks(b"x" * 300_000), store.spool_dir, 200_000)
    with pytest.raises(ConnectionResetError):
        await spool(chunks(b"x" * 300_000, fail_after=100_000), store.spool_dir, 10**9)
    assert list(store.spool_dir.iterdir()) == []


async def test_the_whole_flow_on_s3(settings: Settings, s3_endpoint: str, db_session) -> None:
    """Upload, download and delete through the API with the S3 store; the bucket ends empty."""
    w = await build_world(db_session)
    s3 = s3_settings(settings, s3_endpoint)
    bucket: Any = S3Store(
        s3.s3_bucket or "",
        endpoint=s3_endpoint,
        region="us-east-1",
        access_key_id="test",
        secret_access_key="test",
        client_options={"allow_http": True},
        virtual_hosted_style_request=False,
    )

    async def objects() -> list[str]:
        return [m["path"] for batch in obstore.list(bucket) for m in batch]

    base = f"/api/v1/spaces/{w['space']}/resources"
    async with AsyncTestClient(app=create_app(s3), base_url="http://testserver.local") as client:
        r = await client.post(
            base + "/files", content=PDF, headers={**w["fac"], "X-File-Name": quote("plan ñ.pdf"), "X-Title": "Plan"}
        )
        assert r.status_code == 201, r.text
        listed = await objects()
        assert len(listed) == 1 and listed[0].startswith("sha256/")
        d = await client.get(r.json()["file"]["download_url"], headers=w["member"])
        assert d.status_code == 200 and d.content == PDF and d.headers["content-disposition"].startswith("attachment")
        r2 = await client.post(
            base + "/files", content=b"<html>no</html>", headers={**w["fac"], "X-File-Name": "x.html"}
        )
        assert r2.status_code == 415
        assert len(await objects()) == 1
        assert (await client.delete(f"{base}/{r.json()['id']}", headers=w["fac"])).status_code == 204
        assert await objects() == []
    # Nothing spooled is left behind either.
    assert not any(Path(s3.data_dir / "spool").iterdir())  # noqa: ASYNC240


def test_storage_settings_from_the_environment() -> None:
    from services.settings import SettingsError

    s = Settings.from_env(
        {
            "AFFINITY_STORAGE": "s3",
            "AFFINITY_S3_BUCKET": "files",
            "AFFINITY_S3_ENDPOINT": "http://minio:9000/",
            "AFFINITY_UPLOAD_MAX_MIB": "50",
        }
    )
    assert (s.storage, s.s3_bucket, s.s3_endpoint, s.upload_max_mib) == ("s3", "files", "http://minio:9000", 50)
    assert Settings.from_env({}).storage == "local" and Settings.from_env({}).upload_max_mib == 25
    with pytest.raises(SettingsError, match="AFFINITY_S3_BUCKET"):
        Settings.from_env({"AFFINITY_STORAGE": "s3"})
    for bad in ({"AFFINITY_STORAGE": "ftp"}, {"AFFINITY_UPLOAD_MAX_MIB": "0"}, {"AFFINITY_S3_ENDPOINT": "minio:9000"}):
        with pytest.raises(SettingsError):
            Settings.from_env(bad)


async def test_collecting_a_blob_waits_for_an_upload_of_the_same_content(settings: Settings, engine) -> None:
    """Deleting a file's bytes (after its last resource is gone) and uploading the same content
    take the same per-blob lock: the collector waits, sees the new blob row, and keeps the bytes."""
    from services.persistence.engine import create_sessionmaker
    from services.resources import repository
    from services.resources.service import collect_blob

    store = open_store(settings)
    sessions = create_sessionmaker(engine)

    async def stored(data: bytes) -> str:
        spooled = await spool(chunks(data), store.spool_dir, 10**6)
        await store.put_file(key_for(spooled.sha256), spooled.path)
        return spooled.sha256

    lonely = await stored(b"%PDF-1.4 nobody uses me")
    assert await collect_blob(sessions, store, lonely) is True
    assert not await store.exists(key_for(lonely))

    sha = await stored(b"%PDF-1.4 uploaded again")
    async with sessions() as upload, upload.begin():
        await repository.lock_blob(upload, sha)  # an upload of the same bytes is under way
        collector = asyncio.create_task(collect_blob(sessions, store, sha))
        await asyncio.sleep(0.5)
        assert not collector.done()  # waits for the upload's transaction
        await repository.upsert_blob(upload, sha, 23, "application/pdf")
    assert await collector is False
    assert await store.exists(key_for(sha))
    async with sessions() as s, s.begin():
        await s.execute(text("DELETE FROM resource_blobs"))
