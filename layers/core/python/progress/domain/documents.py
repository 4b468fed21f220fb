"""Documents of the State, Activity Profile and Agent Profile resources (C§2.2, C§2.3, C§2.6,
C§2.7) and their concurrency rules (C§3.1): keys, ETags, preconditions and the JSON merge.

A document is opaque bytes with the content type it was sent with (DOC-002); only POST looks
inside, and only at ``application/json`` documents (DOC-004/005).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from progress.domain.errors import BadRequest, Conflict, DomainError, PreconditionFailed

JSON_TYPE = "application/json"
DEFAULT_TYPE = "application/octet-stream"


class DocumentKind(StrEnum):
    STATE = "state"
    ACTIVITY_PROFILE = "activity-profile"
    AGENT_PROFILE = "agent-profile"

    @property
    def id_param(self) -> str:
        return "stateId" if self is DocumentKind.STATE else "profileId"

    @property
    def is_profile(self) -> bool:
        return self is not DocumentKind.STATE


@dataclass(frozen=True, slots=True)
class DocumentScope:
    """The set of documents one multiple-document request addresses (STATE-005): a State scope
    is activity + agent + registration (no registration is a scope of its own), a profile scope
    the Activity or the Agent. ``agent`` is the agent's IFI key (STATE-007)."""

    kind: DocumentKind
    activity_id: str = ""
    agent: str = ""
    registration: str = ""

    @property
    def key(self) -> str:
        """A canonical, unambiguous string for the scope (adapters may hash it)."""
        parts = [self.kind.value, self.activity_id, self.agent, self.registration]
        return json.dumps(parts, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class DocumentKey:
    scope: DocumentScope
    id: str


def etag_of(content: bytes) -> str:
    """CONC-002: the lowercase hex SHA-1 of the stored bytes (quoted only on the wire)."""
    return hashlib.sha1(content, usedforsecurity=False).hexdigest()


@dataclass(frozen=True, slots=True)
class Document:
    content: bytes
    content_type: str
    updated_us: int
    etag: str

    @classmethod
    def of(cls, content: bytes, content_type: str | None, updated_us: int) -> Document:
        return cls(content, content_type or DEFAULT_TYPE, updated_us, etag_of(content))

    @property
    def is_json(self) -> bool:
        return is_json_type(self.content_type)


def is_json_type(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() == JSON_TYPE


# ------------------------------------------------------------------------------- JSON merge


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def json_object(content: bytes, what: str) -> dict[str, Any]:
    """Parse a document that must be one JSON object (DOC-005), naming ``what`` on failure."""
    try:
        value = json.loads(content, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest(f"{what}: not valid JSON") from None
    if not isinstance(value, dict):
        raise BadRequest(f"{what}: must be a JSON object to be merged")
    return value


def merge_json(current: Document, posted: Document) -> Document:
    """DOC-004/005: POST onto an existing document sets each top-level property of the posted
    object on the stored one (one level deep: nested objects are replaced whole). Both must be
    ``application/json`` JSON objects, else BadRequest (and the caller changes nothing)."""
    if not posted.is_json:
        raise BadRequest(
            f"Content-Type: {posted.content_type!r} cannot be merged into the stored document;"
            f" POST {JSON_TYPE} objects only, or PUT to replace the document"
        )
    if not current.is_json:
        raise BadRequest(
            f"Content-Type: the stored document is {current.content_type!r}, not {JSON_TYPE};"
            " PUT to replace it instead of merging with POST"
        )
    merged = json_object(current.content, "stored document")
    merged.update(json_object(posted.content, "body"))
    content = json.dumps(merged, ensure_ascii=False, separators=(",", ":")).encode()
    return Document.of(content, posted.content_type, posted.updated_us)


# ------------------------------------------------------------------------------ preconditions


@dataclass(frozen=True, slots=True)
class Precondition:
    """If-Match / If-None-Match of one request (C§3.1), entity tags unquoted; ``{"*"}`` is ``*``.
    A weak tag (``W/...``) never matches If-Match: RFC 7232 compares strongly there."""

    if_match: frozenset[str] | None = None
    if_none_match: frozenset[str] | None = None

    @property
    def given(self) -> bool:
        return self.if_match is not None or self.if_none_match is not None

    def holds(self, current: str | None) -> bool:
        """Whether the precondition holds for the current ETag (None: no document)."""
        if self.if_match is not None and (
            current is None or ("*" not in self.if_match and current not in self.if_match)
        ):
            return False
        return not (
            self.if_none_match is not None
            and current is not None
            and ("*" in self.if_none_match or current in self.if_none_match)
        )

    def check(self, current: str | None) -> None:
        """CONC-003/004/005: raise PreconditionFailed when the precondition does not hold."""
        if not self.holds(current):
            raise self.failed()

    def failed(self) -> PreconditionFailed:
        if self.if_match is not None:
            return PreconditionFailed(
                "If-Match: the document is absent or has changed; GET it for its current ETag"
            )
        return PreconditionFailed("If-None-Match: the document exists (or has that ETag)")


ANY = Precondition()


def profile_put_without_precondition(exists: bool) -> DomainError:
    """CONC-006 (409 on an existing profile document) and C§3.1.s3.b1 (the client MUST send
    If-Match or If-None-Match on profile PUT; the ADL suite expects 400 for a new document)."""
    if exists:
        return Conflict(
            "If-Match: the document already exists; GET it to check its current state, then"
            " retry the PUT with If-Match set to its ETag"
        )
    return BadRequest(
        "If-Match / If-None-Match: a profile document PUT must send one of them (C§3.1);"
        " use If-None-Match: * to create the document"
    )
