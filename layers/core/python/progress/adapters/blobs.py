"""``BlobStore`` adapters: a folder (local mode) and an S3 bucket (AWS).

Keys are relative, ``/``-separated paths (``certificates/<id>/v3.pdf``). Both adapters accept
the same keys and reject the same ones (``check_key``), so a key that works locally works on AWS.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

DEFAULT_CONTENT_TYPE = "application/octet-stream"
_MAX_KEY_BYTES = 1024  # S3's limit


def check_key(key: str) -> str:
    """``key`` if it is a safe relative path, else ValueError.

    Rejected: empty keys, absolute paths, backslashes, NUL and other control characters, empty
    segments (``a//b``, a trailing ``/``) and segments starting with a dot (``.`` and ``..``
    included: the folder store keeps its temporary files and content types under such names).
    """
    if not key:
        raise ValueError("blob key: empty")
    if len(key.encode()) > _MAX_KEY_BYTES:
        raise ValueError(f"blob key: longer than {_MAX_KEY_BYTES} bytes")
    if key.startswith("/"):
        raise ValueError(f"blob key {key!r}: absolute")
    if "\\" in key:
        raise ValueError(f"blob key {key!r}: backslash")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in key):
        raise ValueError(f"blob key {key!r}: control character")
    for segment in key.split("/"):
        if not segment:
            raise ValueError(f"blob key {key!r}: empty segment")
        if segment.startswith("."):
            raise ValueError(f"blob key {key!r}: segment {segment!r} starts with a dot")
    return key


class FolderBlobStore:
    """Blobs as files under ``root``: ``root/<key>``, its content type in
    ``root/.content-type/<key>``. Each file is written to a temporary file beside it and moved
    into place (``os.replace``), so a reader sees the old or the new bytes, never a part. The
    content type is written before the data: a reader may briefly see new bytes with the old
    type, never a type with no data."""

    _TYPES = ".content-type"

    def __init__(self, root: Path) -> None:
        self._root = Path(root)

    def put(self, key: str, data: bytes, content_type: str) -> None:
        check_key(key)
        _write_atomically(self._root / self._TYPES / key, content_type.encode())
        _write_atomically(self._root / key, data)

    def get(self, key: str) -> tuple[bytes, str] | None:
        check_key(key)
        try:
            data = (self._root / key).read_bytes()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None
        try:
            content_type = (self._root / self._TYPES / key).read_text(encoding="utf-8")
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            content_type = DEFAULT_CONTENT_TYPE  # a file dropped into the folder by hand
        return data, content_type


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class S3BlobStore:
    """Blobs as objects of one bucket. Without ``kms_key_id`` the bucket's default encryption
    applies (infra: the stage's data key), so no request may name ``aws:kms`` alone: that
    would pick the AWS-managed ``aws/s3`` key instead."""

    def __init__(self, client: S3Client, bucket: str, *, kms_key_id: str | None = None) -> None:
        self._client = client
        self._bucket = bucket
        self._kms_key_id = kms_key_id

    def put(self, key: str, data: bytes, content_type: str) -> None:
        check_key(key)
        if self._kms_key_id is None:
            self._client.put_object(
                Bucket=self._bucket, Key=key, Body=data, ContentType=content_type
            )
        else:
            self._client.put_object(
                Bucket=self._bucket,
                Key=key,
                Body=data,
                ContentType=content_type,
                ServerSideEncryption="aws:kms",
                SSEKMSKeyId=self._kms_key_id,
            )

    def get(self, key: str) -> tuple[bytes, str] | None:
        check_key(key)
        try:
            response = self._client.get_object(Bucket=self._bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                return None
            raise
        with response["Body"] as body:
            data = body.read()
        return data, response.get("ContentType") or DEFAULT_CONTENT_TYPE
