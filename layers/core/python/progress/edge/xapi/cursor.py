"""Stateless, tamper-evident ``more`` cursors (D§2.5, SAPI-050..053).

A cursor carries the query and the position where the page stopped, HMAC-signed, so it
stays valid as long as the key does (SAPI-051 asks for 24 h) without any server-side state.
It never carries the tenant: it is replayed under the caller's own credentials.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from typing import Any

import orjson

from progress.domain.errors import InvalidParameter
from progress.domain.statements import Position

_TAG = 12


class CursorCodec:
    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("cursor key: at least 16 bytes")
        self._key = key

    def encode(self, params: dict[str, str], position: Position) -> str:
        payload = orjson.dumps({"q": params, "p": [position.stored_us, position.statement_id]})
        tag = hmac.new(self._key, payload, hashlib.sha256).digest()[:_TAG]
        return base64.urlsafe_b64encode(tag + payload).rstrip(b"=").decode()

    def decode(self, token: str) -> tuple[dict[str, str], Position]:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError):
            raise InvalidParameter("more: not a cursor this LRS issued") from None
        tag, payload = raw[:_TAG], raw[_TAG:]
        good = hmac.new(self._key, payload, hashlib.sha256).digest()[:_TAG]
        if not hmac.compare_digest(tag, good):
            raise InvalidParameter("more: not a cursor this LRS issued")
        data: Any = orjson.loads(payload)
        stored_us, sid = data["p"]
        return dict(data["q"]), Position(int(stored_us), str(sid))
