"""``BlobStore`` adapters: a folder (local mode) and an S3 bucket (AWS); and the same two for
``ExportFiles`` (files written in numbered parts: S3 multipart uploads, part files locally).

Keys are relative, ``/``-separated paths (``certificates/<id>/v3.pdf``). Both adapters accept
the same keys and reject the same ones (``check_key``), so a key that works locally works on AWS.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import GetObjectOutputTypeDef

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


def _get_object(client: S3Client, bucket: str, key: str) -> GetObjectOutputTypeDef | None:
    """GetObject, or None when there is no such object."""
    check_key(key)
    try:
        return client.get_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
            return None
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
        response = _get_object(self._client, self._bucket, key)
        if response is None:
            return None
        with response["Body"] as body:
            data = body.read()
        return data, response.get("ContentType") or DEFAULT_CONTENT_TYPE


# ---------------------------------------------------------------------------------- exports

S3_MIN_PART_BYTES = 5 * 1024 * 1024  # every part of a multipart upload but the last
READ_CHUNK = 1024 * 1024
_UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")


def _parts_in_order(parts: Sequence[tuple[int, str]]) -> None:
    numbers = [n for n, _ in parts]
    if (
        not numbers
        or numbers != sorted(set(numbers))
        or not 1 <= numbers[0] <= numbers[-1] <= 10_000
    ):
        raise ValueError("parts: ascending, distinct part numbers 1..10000 expected")


class FolderExportFiles:
    """Export files under ``root`` (``DATA_DIR/exports``), with S3's multipart semantics: an
    upload's parts are files ``root/.uploads/<upload id>/<number>`` until ``complete`` joins
    them (streaming, into a temporary file moved into place), so a resumed worker finds the
    parts a dead one uploaded. Signed URLs are the service's own (``signed_url`` is None)."""

    _UPLOADS = ".uploads"

    def __init__(self, root: Path, *, min_part_bytes: int = S3_MIN_PART_BYTES) -> None:
        self._root = Path(root)
        self._min = min_part_bytes
        self._blobs = FolderBlobStore(self._root)

    @property
    def min_part_bytes(self) -> int:
        return self._min

    def _upload_dir(self, upload_id: str) -> Path:
        if not _UPLOAD_ID.match(upload_id):
            raise ValueError(f"upload id {upload_id!r}: not one of this store's")
        return self._root / self._UPLOADS / upload_id

    def start(self, key: str, content_type: str) -> str:
        check_key(key)
        upload_id = uuid.uuid4().hex
        folder = self._upload_dir(upload_id)
        folder.mkdir(parents=True)
        _write_atomically(folder / "key", key.encode())
        _write_atomically(folder / "content-type", content_type.encode())
        return upload_id

    def _check(self, key: str, upload_id: str) -> Path:
        folder = self._upload_dir(upload_id)
        try:
            started_for = (folder / "key").read_text(encoding="utf-8")
        except FileNotFoundError:
            raise KeyError(f"no upload {upload_id}") from None
        if started_for != check_key(key):
            raise KeyError(f"upload {upload_id} is not of {key}")
        return folder

    def put_part(self, key: str, upload_id: str, number: int, data: bytes) -> str:
        if not 1 <= number <= 10_000:
            raise ValueError(f"part number {number}: 1..10000")
        folder = self._check(key, upload_id)
        _write_atomically(folder / f"{number:05d}", data)
        return f"{number}:{len(data)}"

    def complete(self, key: str, upload_id: str, parts: Sequence[tuple[int, str]]) -> None:
        _parts_in_order(parts)
        folder = self._check(key, upload_id)
        paths = []
        for i, (number, tag) in enumerate(parts):
            path = folder / f"{number:05d}"
            if not path.exists() or tag != f"{number}:{path.stat().st_size}":
                raise ValueError(f"part {number}: not uploaded as {tag}")
            if i < len(parts) - 1 and path.stat().st_size < self._min:
                raise ValueError(f"part {number}: smaller than {self._min} bytes")
            paths.append(path)
        content_type = (folder / "content-type").read_text(encoding="utf-8")
        _write_atomically(self._root / FolderBlobStore._TYPES / key, content_type.encode())
        target = self._root / key
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                for path in paths:
                    with path.open("rb") as part:
                        shutil.copyfileobj(part, out, READ_CHUNK)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        shutil.rmtree(folder, ignore_errors=True)

    def abort(self, key: str, upload_id: str) -> None:
        shutil.rmtree(self._upload_dir(upload_id), ignore_errors=True)

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self._blobs.put(key, data, content_type)

    def read(self, key: str) -> Iterator[bytes] | None:
        check_key(key)
        try:
            file = (self._root / key).open("rb")
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None
        return _chunks(file)

    def signed_url(self, key: str, filename: str, expires_s: int) -> str | None:
        return None


def _chunks(file: Any) -> Iterator[bytes]:
    with file:
        while chunk := file.read(READ_CHUNK):
            yield chunk


class S3ExportFiles:
    """Export files in a bucket: multipart uploads (parts stay in S3 until completed or aborted;
    the bucket's lifecycle aborts forgotten ones) and presigned GET URLs that name the download
    (``ResponseContentDisposition``). Encryption: the bucket's default (see ``S3BlobStore``)."""

    def __init__(self, client: S3Client, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    @property
    def min_part_bytes(self) -> int:
        return S3_MIN_PART_BYTES

    def start(self, key: str, content_type: str) -> str:
        check_key(key)
        created = self._client.create_multipart_upload(
            Bucket=self._bucket, Key=key, ContentType=content_type
        )
        return created["UploadId"]

    def put_part(self, key: str, upload_id: str, number: int, data: bytes) -> str:
        check_key(key)
        part = self._client.upload_part(
            Bucket=self._bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=data
        )
        return part["ETag"]

    def complete(self, key: str, upload_id: str, parts: Sequence[tuple[int, str]]) -> None:
        _parts_in_order(parts)
        self._client.complete_multipart_upload(
            Bucket=self._bucket,
            Key=check_key(key),
            UploadId=upload_id,
            MultipartUpload={"Parts": [{"PartNumber": n, "ETag": tag} for n, tag in parts]},
        )

    def abort(self, key: str, upload_id: str) -> None:
        try:
            self._client.abort_multipart_upload(
                Bucket=self._bucket, Key=check_key(key), UploadId=upload_id
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "NoSuchUpload":
                raise

    def put(self, key: str, data: bytes, content_type: str) -> None:
        S3BlobStore(self._client, self._bucket).put(key, data, content_type)

    def read(self, key: str) -> Iterator[bytes] | None:
        response = _get_object(self._client, self._bucket, key)
        return None if response is None else _chunks(response["Body"])

    def signed_url(self, key: str, filename: str, expires_s: int) -> str | None:
        """SigV4 presigned GetObject (at most 7 days; and no longer than the signing
        credentials live: a Lambda role's session)."""
        url: str = self._client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self._bucket,
                "Key": check_key(key),
                "ResponseContentDisposition": f'attachment; filename="{filename}"',
            },
            ExpiresIn=expires_s,
        )
        return url
