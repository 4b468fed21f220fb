"""``BlobStore`` contract: the memory twin, a folder and S3 (moto) behave alike; then what each
adapter promises beyond the port (atomic files, KMS-encrypted objects)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from progress.adapters.blobs import DEFAULT_CONTENT_TYPE, FolderBlobStore, S3BlobStore, check_key
from progress.adapters.memory import MemoryBlobStore
from progress.local.moto import FAKE_ENV

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

BUCKET = "progress-certificates-test"
PDF = b"%PDF-1.4\n" + bytes(range(256)) + b"\n%%EOF\n"


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Client]:
    for name, value in FAKE_ENV.items():
        monkeypatch.setenv(name, value)
    import boto3
    from moto import mock_aws

    with mock_aws():
        client = boto3.client("s3", region_name=FAKE_ENV["AWS_DEFAULT_REGION"])
        client.create_bucket(Bucket=BUCKET)
        yield client


def _make(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if kind == "memory":
        return MemoryBlobStore()
    if kind == "folder":
        return FolderBlobStore(tmp_path / "blobs")
    return S3BlobStore(request.getfixturevalue("s3"), BUCKET)


@pytest.fixture(params=["memory", "folder", "s3"])
def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    return _make(request.param, request, tmp_path)


@pytest.fixture(params=["folder", "s3"])
def stored_blobs(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """The adapters whose keys reach a real namespace (the memory twin keeps any key)."""
    return _make(request.param, request, tmp_path)


# ------------------------------------------------------------------------------ contract


def test_get_returns_what_put_was_given(blobs: Any) -> None:
    blobs.put("t1/cert/v1.pdf", PDF, "application/pdf")
    blobs.put("t1/cert/v1.json", b'{"id":"x"}', "application/json")
    assert blobs.get("t1/cert/v1.pdf") == (PDF, "application/pdf")
    assert blobs.get("t1/cert/v1.json") == (b'{"id":"x"}', "application/json")


def test_an_absent_key_is_none(blobs: Any) -> None:
    assert blobs.get("t1/cert/v9.pdf") is None
    blobs.put("t1/cert/v1.pdf", PDF, "application/pdf")
    assert blobs.get("t1/cert") is None  # a "folder" is no blob
    assert blobs.get("t1/cert/v1.pdf/more") is None


def test_put_replaces_bytes_and_content_type(blobs: Any) -> None:
    blobs.put("k/doc", b"first", "text/plain")
    blobs.put("k/doc", b"second", "application/json")
    assert blobs.get("k/doc") == (b"second", "application/json")


def test_empty_and_parameterised_content(blobs: Any) -> None:
    blobs.put("empty", b"", "application/octet-stream")
    blobs.put("page.html", "é".encode(), "text/html; charset=utf-8")
    assert blobs.get("empty") == (b"", "application/octet-stream")
    assert blobs.get("page.html") == ("é".encode(), "text/html; charset=utf-8")


def test_keys_are_independent(blobs: Any) -> None:
    blobs.put("a/b", b"1", "text/plain")
    blobs.put("a/b.pdf", b"2", "application/pdf")
    blobs.put("b/a", b"3", "text/plain")
    assert [blobs.get(k) for k in ("a/b", "a/b.pdf", "b/a")] == [
        (b"1", "text/plain"),
        (b"2", "application/pdf"),
        (b"3", "text/plain"),
    ]


BAD_KEYS = [
    "",
    "/etc/passwd",
    "../outside",
    "a/../../outside",
    "a/..",
    "a/./b",
    "a//b",
    "a/",
    "a\\b",
    "..\\outside",
    "a/.hidden",
    ".content-type/x",
    "a\x00b",
    "a\nb",
    "x" * 1025,
]


@pytest.mark.parametrize("key", BAD_KEYS)
def test_unsafe_keys_are_rejected(key: str) -> None:
    with pytest.raises(ValueError):
        check_key(key)


def test_the_adapters_reject_unsafe_keys(stored_blobs: Any) -> None:
    for key in BAD_KEYS:
        with pytest.raises(ValueError):
            stored_blobs.put(key, b"x", "text/plain")
        with pytest.raises(ValueError):
            stored_blobs.get(key)


@pytest.mark.parametrize(
    "key", ["a", "a/b/c.pdf", "0b4f3f52/v12.json", "with space/ünïcode.pdf", "a..b/c.d"]
)
def test_safe_keys_are_accepted(key: str, blobs: Any) -> None:
    assert check_key(key) == key
    blobs.put(key, b"x", "text/plain")
    assert blobs.get(key) == (b"x", "text/plain")


# ------------------------------------------------------------------------------- folder


def test_the_folder_keeps_blobs_as_plain_files_under_its_root(tmp_path: Path) -> None:
    store = FolderBlobStore(tmp_path / "root")
    store.put("t1/c/v1.pdf", PDF, "application/pdf")
    assert (tmp_path / "root" / "t1" / "c" / "v1.pdf").read_bytes() == PDF
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert files == ["root/.content-type/t1/c/v1.pdf", "root/t1/c/v1.pdf"]  # no temp file left


def test_a_file_dropped_into_the_folder_by_hand_is_octet_stream(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "y.bin").write_bytes(b"raw")
    assert FolderBlobStore(tmp_path).get("x/y.bin") == (b"raw", DEFAULT_CONTENT_TYPE)


def test_a_failed_write_leaves_the_old_blob_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = FolderBlobStore(tmp_path)
    store.put("k", b"old", "text/plain")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        store.put("k", b"new", "text/plain")
    monkeypatch.undo()
    assert store.get("k") == (b"old", "text/plain")
    assert not list(tmp_path.rglob("*.tmp"))


# ----------------------------------------------------------------------------------- S3


def test_s3_objects_carry_content_type_and_the_buckets_default_key(s3: S3Client) -> None:
    import boto3

    kms = boto3.client("kms", region_name=FAKE_ENV["AWS_DEFAULT_REGION"])
    bucket_key = kms.create_key()["KeyMetadata"]["KeyId"]
    s3.put_bucket_encryption(
        Bucket=BUCKET,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {
                        "SSEAlgorithm": "aws:kms",
                        "KMSMasterKeyID": bucket_key,
                    }
                }
            ]
        },
    )
    S3BlobStore(s3, BUCKET).put("t1/c/v1.pdf", PDF, "application/pdf")
    head = s3.head_object(Bucket=BUCKET, Key="t1/c/v1.pdf")
    assert head["ContentType"] == "application/pdf"
    assert head["ServerSideEncryption"] == "aws:kms"
    assert bucket_key in head.get("SSEKMSKeyId", "")  # not the AWS-managed aws/s3 key


def test_s3_can_name_its_kms_key(s3: S3Client) -> None:
    import boto3

    kms = boto3.client("kms", region_name=FAKE_ENV["AWS_DEFAULT_REGION"])
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    S3BlobStore(s3, BUCKET, kms_key_id=key_id).put("k", b"x", "text/plain")
    head = s3.head_object(Bucket=BUCKET, Key="k")
    assert head["ServerSideEncryption"] == "aws:kms"
    assert key_id in head.get("SSEKMSKeyId", "")


def test_s3_errors_other_than_a_missing_key_raise(s3: S3Client) -> None:
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError):
        S3BlobStore(s3, "no-such-bucket-here").get("k")
