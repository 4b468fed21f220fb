"""Document resources (C§2.2-2.3, C§2.6-2.7), /activities (C§2.5) and /agents (C§2.4): request
parsing and response rendering. No business rules here.

Every parameter and header is checked before anything is stored: a missing or malformed one is
a 400 naming it (STATE-006, ERR-004), an unknown parameter too. Document bodies are limited by
``MAX_BODY_BYTES`` like every request body: larger ones get 413 when the event is decoded.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any, Final

import orjson
from aws_lambda_powertools.event_handler import Response

from progress.domain.documents import (
    Document,
    DocumentKey,
    DocumentKind,
    DocumentScope,
    Precondition,
    etag_of,
)
from progress.domain.errors import InvalidParameter
from progress.domain.statements import agent_key, to_micros
from progress.edge.http import Request
from progress.edge.xapi.validation import is_iri, is_uuid, parse_timestamp, validate_agent

JSON_TYPE: Final = "application/json"
RESOURCES: Final = {
    "/activities/state": DocumentKind.STATE,
    "/activities/profile": DocumentKind.ACTIVITY_PROFILE,
    "/agents/profile": DocumentKind.AGENT_PROFILE,
}
_SCOPE_PARAMS: Final = {
    DocumentKind.STATE: ("activityId", "agent", "registration"),
    DocumentKind.ACTIVITY_PROFILE: ("activityId",),
    DocumentKind.AGENT_PROFILE: ("agent",),
}
_MAX_ETAGS: Final = 32
# One entity tag: quoted (optionally weak), or -- for clients that drop the quotes -- bare.
_ETAG_RE: Final = re.compile(r'[ \t]*((?:W/)?"[\x21\x23-\x7e]*"|[\x21\x23-\x2b\x2d-\x7e]+)[ \t]*')


@dataclass(frozen=True, slots=True)
class Many:
    """A multiple-document request: GET the ids (since: exclusive), or DELETE them all."""

    scope: DocumentScope
    since_us: int | None = None


def parse_target(request: Request) -> DocumentKey | Many:
    """The document (``stateId`` / ``profileId`` given) or scope a request addresses."""
    kind = next(k for suffix, k in RESOURCES.items() if request.path.endswith(suffix))
    params, id_param, method = request.params, kind.id_param, request.method
    reading = method in ("GET", "HEAD")
    allowed = {*_SCOPE_PARAMS[kind], id_param, *(("since",) if reading else ())}
    _reject_unknown(params, allowed, method)
    scope = DocumentScope(
        kind,
        activity_id=activity_param(params) if "activityId" in _SCOPE_PARAMS[kind] else "",
        agent=str(agent_key(agent_param(params))) if "agent" in _SCOPE_PARAMS[kind] else "",
        registration=_registration(params) if kind is DocumentKind.STATE else "",
    )
    doc_id = params.get(id_param)
    if doc_id is None:
        if not (reading or (method == "DELETE" and kind is DocumentKind.STATE)):
            raise InvalidParameter(f"{id_param}: required for {method}")
        return Many(scope, _since(params))
    if not doc_id:
        raise InvalidParameter(f"{id_param}: must not be empty")
    if "since" in params:
        raise InvalidParameter(f"since: only for the id list, i.e. without {id_param}")
    return DocumentKey(scope, doc_id)


def parse_key(request: Request) -> DocumentKey:
    """PUT / POST (and profile DELETE): the id parameter is required."""
    target = parse_target(request)
    if isinstance(target, Many):  # pragma: no cover - parse_target requires the id here
        raise InvalidParameter(f"{target.scope.kind.id_param}: required")
    return target


def _reject_unknown(params: Mapping[str, str], allowed: set[str], method: str) -> None:
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise InvalidParameter(
            f"{', '.join(unknown)}: not a parameter of {method} here"
            f" (allowed: {', '.join(sorted(allowed))})"
        )


def activity_param(params: Mapping[str, str]) -> str:
    value = params.get("activityId")
    if value is None:
        raise InvalidParameter("activityId: required")
    if not is_iri(value):
        raise InvalidParameter(f"activityId: {value!r} is not an IRI")
    return value


def agent_param(params: Mapping[str, str]) -> dict[str, Any]:
    """GEN-010: an Agent (or a Group identified by one IFI) as JSON; the document key is its IFI."""
    raw = params.get("agent")
    if raw is None:
        raise InvalidParameter("agent: required")
    try:
        agent = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise InvalidParameter("agent: not valid JSON") from None
    validate_agent(agent, "agent")
    return dict(agent)


def _registration(params: Mapping[str, str]) -> str:
    value = params.get("registration")
    if value is None:
        return ""
    if not is_uuid(value):
        raise InvalidParameter(f"registration: {value!r} is not a UUID")
    return value.lower()


def _since(params: Mapping[str, str]) -> int | None:
    raw = params.get("since")
    if raw is None:
        return None
    try:
        return to_micros(parse_timestamp(raw))
    except ValueError:
        raise InvalidParameter(f"since: {raw!r} is not an ISO 8601 timestamp") from None


def precondition(request: Request) -> Precondition:
    """C§3.1: If-Match / If-None-Match as sets of unquoted entity tags (``*`` kept)."""
    return Precondition(_etags(request, "If-Match"), _etags(request, "If-None-Match"))


def _etags(request: Request, name: str) -> frozenset[str] | None:
    raw = request.header(name)
    if raw is None:
        return None
    if raw.strip() == "*":
        return frozenset({"*"})
    tags: list[str] = []
    pos = 0
    while pos < len(raw) or not tags:
        match = _ETAG_RE.match(raw, pos)
        if match is None or len(tags) == _MAX_ETAGS:
            raise InvalidParameter(
                f"{name}: {raw[:100]!r} is not '*' or a list of up to {_MAX_ETAGS} quoted ETags"
            )
        tag = match.group(1)
        weak = tag.startswith("W/")
        if weak and name == "If-None-Match":  # RFC 7232 3.2: weak comparison
            tag, weak = tag[2:], False
        tags.append(("W/" if weak else "") + tag.removeprefix("W/").strip('"').lower())
        pos = match.end()
        if pos < len(raw):
            if raw[pos] != ",":
                raise InvalidParameter(f"{name}: {raw[:100]!r}: ETags must be comma-separated")
            pos += 1
    return frozenset(tags)


# ------------------------------------------------------------------------------ responses


def http_date(us: int) -> str:
    return formatdate(us / 1_000_000, usegmt=True)


def quoted(etag: str) -> str:
    return f'"{etag}"'


def document_response(doc: Document) -> Response[str] | Response[bytes]:
    """DOC-002 bytes and content type as stored, ETag (CONC-001/002), Last-Modified (DOC-003).

    UTF-8 content goes out as text, anything else base64-encoded (API Gateway turns it back into
    bytes for binary media types); the lower-case header key keeps Powertools from treating a
    binary ``application/json`` body as an object to serialize."""
    headers = {"ETag": quoted(doc.etag), "Last-Modified": http_date(doc.updated_us)}
    try:
        return Response(200, doc.content_type, doc.content.decode(), headers)
    except UnicodeDecodeError:
        return Response(200, None, doc.content, {**headers, "content-type": doc.content_type})


def json_resource(value: Any, updated_us: int | None = None) -> Response[str]:
    """A JSON answer of /activities, /agents or an id list, with its ETag (CONC-001)."""
    body = orjson.dumps(value)
    headers = {"ETag": quoted(etag_of(body))}
    if updated_us is not None:
        headers["Last-Modified"] = http_date(updated_us)
    return Response(200, JSON_TYPE, body.decode(), headers)


def parse_activity_id(request: Request) -> str:
    """GET /activities: ``activityId`` only (ACT-001)."""
    _reject_unknown(request.params, {"activityId"}, request.method)
    return activity_param(request.params)


def parse_person_agent(request: Request) -> dict[str, Any]:
    """GET /agents: ``agent`` only, an Agent -- "not a Person Object, nor is it a Group" (C§2.4)."""
    _reject_unknown(request.params, {"agent"}, request.method)
    agent = agent_param(request.params)
    if agent.get("objectType") == "Group":
        raise InvalidParameter("agent: must be an Agent, not a Group")
    return agent
