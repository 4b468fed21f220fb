"""``ExportFiles`` contract: the memory twin, a folder and S3 (moto) join numbered parts alike
and keep them across workers until completed or aborted; then S3's presigned URL, fetched over
real HTTP from a moto server, returns the file as an attachment."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from progress.adapters.blobs import FolderExportFiles, S3ExportFiles
from progress.adapters.memory import MemoryExportFiles
from progress.local.moto import FAKE_ENV

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

BUCKET = "progress-exports-test"
SMALL = 256  # the smallest part every store is told to accept here (moto: patched)
KEY = "0123456789abcdef/exports/e1.ndjson"


@pytest.fixture
def small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    import moto.s3.models

    monkeypatch.setattr(moto.s3.models, "S3_UPLOAD_PART_MIN_SIZE", SMALL)


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch, small_parts: None) -> Iterator[S3Client]:
    for name, value in FAKE_ENV.items():
        monkeypatch.setenv(name, value)
    import boto3
    from moto import mock_aws

    with mock_aws():
        client = boto3.client("s3", region_name=FAKE_ENV["AWS_DEFAULT_REGION"])
        client.create_bucket(Bucket=BUCKET)
        yield client


class SmallS3(S3ExportFiles):
    @property
    def min_part_bytes(self) -> int:
        return SMALL


@pytest.fixture(params=["memory", "folder", "s3"])
def files(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "memory":
        return MemoryExportFiles(min_part_bytes=SMALL)
    if request.param == "folder":
        return FolderExportFiles(tmp_path / "exports", min_part_bytes=SMALL)
    return SmallS3(request.getfixturevalue("s3"), BUCKET)


def read(files: Any, key: str = KEY) -> bytes | None:
    chunks = files.read(key)
    return None if chunks is None else b"".join(chunks)


def test_parts_join_in_number_order_into_one_file(files: Any) -> None:
    upload = files.start(KEY, "application/x-ndjson")
    one, two, three = b"a" * SMALL, b"b" * SMALL, b"c\n"
    tags = {n: files.put_part(KEY, upload, n, data) for n, data in ((2, two), (1, one), (3, three))}
    assert read(files) is None  # nothing readable before ``complete``
    files.complete(KEY, upload, sorted(tags.items()))
    assert read(files) == one + two + three


def test_a_part_uploaded_again_replaces_the_first(files: Any) -> None:
    """A resumed worker re-uploads the part a dead one may have left half-way."""
    upload = files.start(KEY, "text/csv")
    files.put_part(KEY, upload, 1, b"x" * SMALL)
    tag = files.put_part(KEY, upload, 1, b"y" * SMALL)
    last = files.put_part(KEY, upload, 2, b"z")
    files.complete(KEY, upload, [(1, tag), (2, last)])
    assert read(files) == b"y" * SMALL + b"z"


def test_a_part_too_small_for_the_middle_is_refused(files: Any) -> None:
    upload = files.start(KEY, "text/csv")
    parts = [
        (1, files.put_part(KEY, upload, 1, b"short")),
        (2, files.put_part(KEY, upload, 2, b"x")),
    ]
    with pytest.raises(Exception):  # noqa: B017 - each store names it its own way
        files.complete(KEY, upload, parts)
    assert read(files) is None


def test_small_files_go_in_one_put_and_absent_ones_read_none(files: Any) -> None:
    assert read(files) is None
    files.put(KEY, b"id,stored\r\n", "text/csv")
    assert read(files) == b"id,stored\r\n"
    files.put(KEY, b"", "text/csv")
    assert read(files) == b""


def test_an_aborted_upload_leaves_nothing(files: Any) -> None:
    files.put(KEY, b"old", "text/csv")
    upload = files.start(KEY, "text/csv")
    files.put_part(KEY, upload, 1, b"new")
    files.abort(KEY, upload)
    files.abort(KEY, upload)  # twice: nothing left to do
    assert read(files) == b"old"
    assert files.min_part_bytes == SMALL


def test_the_folder_keeps_uploads_across_store_instances(tmp_path: Path) -> None:
    """A resumed worker is another process: it finds the parts on disk."""
    first = FolderExportFiles(tmp_path, min_part_bytes=SMALL)
    upload = first.start(KEY, "text/csv")
    tag = first.put_part(KEY, upload, 1, b"q" * SMALL)
    second = FolderExportFiles(tmp_path, min_part_bytes=SMALL)
    last = second.put_part(KEY, upload, 2, b"!")
    second.complete(KEY, upload, [(1, tag), (2, last)])
    assert read(second) == b"q" * SMALL + b"!"
    assert not (tmp_path / ".uploads" / upload).exists()
    with pytest.raises(ValueError, match="upload id"):
        second.put_part(KEY, "../../x", 1, b"")
    with pytest.raises(KeyError):
        second.put_part("other/key", upload, 3, b"")
    assert first.signed_url(KEY, "x.csv", 60) is None


# ------------------------------------------------------------------------------ presigned


@pytest.fixture
def s3_server(monkeypatch: pytest.MonkeyPatch, small_parts: None) -> Iterator[S3Client]:
    """A moto server on a local port: the presigned URL is fetched over real HTTP."""
    for name, value in FAKE_ENV.items():
        monkeypatch.setenv(name, value)
    import boto3
    from botocore.config import Config
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        client = boto3.client(
            "s3",
            region_name=FAKE_ENV["AWS_DEFAULT_REGION"],
            endpoint_url=f"http://{host}:{port}",
            config=Config(signature_version="s3v4"),  # as progress.bootstrap builds it
        )
        client.create_bucket(Bucket=BUCKET)
        yield client
    finally:
        server.stop()


def test_a_presigned_url_returns_the_file_as_a_named_attachment(s3_server: S3Client) -> None:
    files = SmallS3(s3_server, BUCKET)
    upload = files.start(KEY, "application/x-ndjson")
    parts = [
        (1, files.put_part(KEY, upload, 1, b"{}\n" * 100)),
        (2, files.put_part(KEY, upload, 2, b"{}\n")),
    ]
    files.complete(KEY, upload, parts)
    url = files.signed_url(KEY, "acme-statements-e1.ndjson", 300)
    assert url is not None
    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in url
    assert "X-Amz-Expires=300" in url
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200
        assert response.read() == b"{}\n" * 101
        disposition = response.headers["Content-Disposition"]
    assert disposition == 'attachment; filename="acme-statements-e1.ndjson"'
