"""HTTP knowledge shared by the handlers: the request view, the alternate request syntax
(C§1.3), xAPI response headers (C§1.2, C§3.3) and CORS (CORS-001)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from progress.domain.errors import BadRequest, InvalidParameter, PayloadTooLarge

XAPI_VERSION = "1.0.3"
VERSION_HEADER = "X-Experience-API-Version"
CONSISTENT_THROUGH = "X-Experience-API-Consistent-Through"

CORS_ALLOW_HEADERS = [
    "Authorization",
    "Content-Type",
    "X-Experience-API-Version",
    "If-Match",
    "If-None-Match",
    "Accept-Language",
]
CORS_EXPOSE_HEADERS = [
    "ETag",
    "Last-Modified",
    "Content-Type",
    "X-Experience-API-Version",
    "X-Experience-API-Consistent-Through",
]

# C§1.3: form fields of the alternate syntax that are really HTTP headers.
_ALT_HEADER_FIELDS = {
    "authorization": "Authorization",
    "x-experience-api-version": "X-Experience-API-Version",
    "content-type": "Content-Type",
    "content-length": "Content-Length",
    "if-match": "If-Match",
    "if-none-match": "If-None-Match",
}
_ALT_METHODS = {"GET", "PUT", "POST", "DELETE"}
FORM_TYPE = "application/x-www-form-urlencoded"


def media_type(content_type: str | None) -> str:
    """``application/json; charset=utf-8`` -> ``application/json``."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def header(headers: Mapping[str, str] | None, name: str) -> str | None:
    """Case-insensitive header lookup on an API Gateway event's header map."""
    if not headers:
        return None
    value = headers.get(name)
    if value is not None:
        return value
    lname = name.lower()
    for key, val in headers.items():
        if key.lower() == lname:
            return val
    return None


def event_body(event: Mapping[str, Any], max_bytes: int) -> bytes:
    body = event.get("body")
    if body is None:
        return b""
    if event.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(body)
        except (binascii.Error, ValueError):
            raise BadRequest("body: not valid base64 although isBase64Encoded is set") from None
    else:
        raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    if len(raw) > max_bytes:
        raise PayloadTooLarge(f"body: {len(raw)} bytes exceeds the limit of {max_bytes} bytes")
    return raw


def rewrite_alternate_syntax(event: dict[str, Any], max_bytes: int) -> dict[str, Any]:
    """C§1.3 (ALT-001..006): ``POST ?method=X`` with a form body becomes the request it encodes.

    Returns the event unchanged when it is not an alternate-syntax request.
    """
    query = event.get("queryStringParameters") or {}
    if event.get("httpMethod") != "POST" or "method" not in query:
        return event
    extra = sorted(k for k in query if k != "method")
    if extra:
        raise InvalidParameter(
            f"alternate request syntax: only 'method' may be in the query string, got {extra}"
        )
    method = query["method"]
    if method not in _ALT_METHODS:
        raise InvalidParameter(f"method: must be one of GET, PUT, POST, DELETE, got {method!r}")
    headers = dict(event.get("headers") or {})
    if media_type(header(headers, "Content-Type")) != FORM_TYPE:
        raise BadRequest(f"Content-Type: the alternate request syntax requires {FORM_TYPE}")
    raw = event_body(event, max_bytes)
    try:
        form = parse_qs(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise BadRequest("body: the form is not UTF-8") from None
    new_headers = {
        k: v for k, v in headers.items() if k.lower() not in ("content-type", "content-length")
    }
    params: dict[str, str] = {}
    content: str | None = None
    for name, values in form.items():
        value = values[-1]
        if name == "content":
            content = value
        elif name.lower() in _ALT_HEADER_FIELDS:
            new_headers[_ALT_HEADER_FIELDS[name.lower()]] = value
        else:
            params[name] = value
    if content is not None and header(new_headers, "Content-Type") is None:
        new_headers["Content-Type"] = "application/json"
    rewritten = dict(event)
    rewritten["httpMethod"] = method
    rewritten["headers"] = new_headers
    rewritten["multiValueHeaders"] = {k: [v] for k, v in new_headers.items()}
    rewritten["queryStringParameters"] = params or None
    rewritten["multiValueQueryStringParameters"] = {k: [v] for k, v in params.items()} or None
    rewritten["body"] = content
    rewritten["isBase64Encoded"] = False
    return rewritten


@dataclass(frozen=True, slots=True)
class Request:
    """What a route needs of an API Gateway proxy event, decoded once."""

    method: str
    path: str
    headers: Mapping[str, str]
    params: Mapping[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        return header(self.headers, name)

    @property
    def content_type(self) -> str:
        return media_type(self.header("Content-Type"))

    @classmethod
    def from_event(cls, event: Mapping[str, Any], max_bytes: int) -> Request:
        multi = event.get("multiValueQueryStringParameters") or {}
        for name, values in multi.items():
            if values is not None and len(values) > 1:
                raise InvalidParameter(f"{name}: given {len(values)} times; give it once")
        return cls(
            method=str(event.get("httpMethod", "GET")).upper(),
            path=str(event.get("path", "/")),
            headers=event.get("headers") or {},
            params=event.get("queryStringParameters") or {},
            body=event_body(event, max_bytes),
        )


def check_version(request_headers: Mapping[str, str] | None) -> None:
    """VER-002/003: accept 1.0 and any 1.0.x; reject a missing or other version with 400."""
    version = header(request_headers, VERSION_HEADER)
    if version is None:
        raise BadRequest(f"{VERSION_HEADER}: header missing (this LRS speaks 1.0.x)")
    parts = version.strip().split(".")
    ok = (
        len(parts) in (2, 3)
        and parts[0] == "1"
        and parts[1] == "0"
        and (len(parts) == 2 or (parts[2].isdigit() and parts[2].isascii()))
    )
    if not ok:
        raise BadRequest(f"{VERSION_HEADER}: {version!r} is not supported; send 1.0.x")
