"""Statement resource (C§2.1) request parsing and response rendering; no business rules here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from progress.domain.errors import BadRequest, InvalidParameter
from progress.domain.formats import canonical_format, ids_format, parse_accept_language
from progress.domain.statements import (
    K_ACTIVITY,
    K_AGENT,
    K_RACTIVITY,
    K_RAGENT,
    K_REGISTRATION,
    K_VERB,
    SIGNATURE_USAGE,
    Attachment,
    Page,
    Position,
    StatementQuery,
    StoredStatement,
    agent_key,
    statements_equivalent,
    to_micros,
)
from progress.edge.http import FORM_TYPE, Request
from progress.edge.xapi.cursor import CursorCodec
from progress.edge.xapi.multipart import (
    AttachmentPart,
    match_attachments,
    render_multipart_mixed,
    split_statement_request,
)
from progress.edge.xapi.validation import (
    is_iri,
    is_uuid,
    parse_timestamp,
    validate_agent,
    validate_statement,
)

JSON = "application/json"
MULTIPART = "multipart/mixed"

QUERY_PARAMS = frozenset(
    {
        "agent",
        "verb",
        "activity",
        "registration",
        "related_activities",
        "related_agents",
        "since",
        "until",
        "limit",
        "format",
        "attachments",
        "ascending",
    }
)
SINGLE_PARAMS = frozenset({"statementId", "voidedStatementId", "format", "attachments"})
FORMATS = ("ids", "exact", "canonical")


# ------------------------------------------------------------------------------------ writes


@dataclass(frozen=True, slots=True)
class StatementsBody:
    statements: list[dict[str, Any]]
    attachments: list[Attachment]
    single: bool


def parse_statements_body(request: Request, put_id: str | None = None) -> StatementsBody:
    """Parse + validate a PUT/POST body: JSON or multipart/mixed with attachments (C§1.5)."""
    ctype = request.content_type
    parts: list[AttachmentPart] = []
    if ctype == JSON:
        raw = request.body
    elif ctype == MULTIPART:
        raw, parts = split_statement_request(request.header("Content-Type") or "", request.body)
    elif ctype == FORM_TYPE:
        raise BadRequest(
            "Content-Type: a form-urlencoded request needs the alternate syntax (?method=...)"
        )
    else:
        # XAPI-00127 / C§3.2 ERR-003: the spec asks for 400 here, not 415.
        raise BadRequest(
            f"Content-Type: {ctype or 'missing'}; Statements are sent as {JSON} or {MULTIPART}"
        )
    if not raw.strip():
        raise BadRequest("body: empty; expected a Statement or an array of Statements")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"body: malformed JSON ({exc})") from None
    if isinstance(data, dict):
        statements, single = [data], True
    elif isinstance(data, list) and put_id is None:
        statements, single = data, False
    else:
        what = "a Statement object" if put_id is not None else "a Statement or an array"
        raise BadRequest(f"body: expected {what}")
    for i, stmt in enumerate(statements):
        validate_statement(stmt, "statement" if single else f"statements[{i}]")
    if put_id is not None:
        body_id = statements[0].get("id")
        if body_id is not None and str(body_id).lower() != put_id.lower():
            raise BadRequest(f"statement.id: {body_id} differs from statementId {put_id}")
        if body_id is None:
            statements[0] = {**statements[0], "id": put_id.lower()}
    matched = match_attachments(statements, parts) if (parts or _has_raw(statements)) else {}
    for i, stmt in enumerate(statements):
        for att in stmt.get("attachments", ()):
            if att.get("usageType") == SIGNATURE_USAGE:
                part = matched.get(str(att["sha2"]).lower())
                if part is None:
                    raise BadRequest(
                        f"statements[{i}].attachments: a signature needs its JWS as a part"
                    )
                # Imported here: joserfc + cryptography.x509 cost ~40 ms of every cold start,
                # and only signed Statements need them.
                from progress.edge.xapi.signature import verify_signed_statement

                verify_signed_statement(stmt, part.data, statements_equivalent)
    return StatementsBody(
        statements=statements,
        attachments=[Attachment(p.sha2, p.content_type, p.data) for p in matched.values()],
        single=single,
    )


def _has_raw(statements: Sequence[Mapping[str, Any]]) -> bool:
    """ATT-005: an attachment without fileUrl needs raw data, hence a multipart request."""
    return any("fileUrl" not in a for s in statements for a in s.get("attachments", ()))


# ------------------------------------------------------------------------------------ reads


@dataclass(frozen=True, slots=True)
class SingleGet:
    statement_id: str
    voided: bool
    format: str
    attachments: bool


@dataclass(frozen=True, slots=True)
class QueryGet:
    query: StatementQuery
    params: dict[str, str]  # the normalised parameters, carried in `more` cursors
    after: Position | None
    format: str
    attachments: bool


def _bool_param(params: Mapping[str, str], name: str) -> bool:
    value = params.get(name)
    if value is None:
        return False
    if value not in ("true", "false"):
        raise InvalidParameter(f"{name}: must be true or false, got {value!r}")
    return value == "true"


def _format_param(params: Mapping[str, str]) -> str:
    value = params.get("format", "exact")
    if value not in FORMATS:
        raise InvalidParameter(f"format: must be ids, exact or canonical, got {value!r}")
    return value


def parse_get(params: Mapping[str, str], cursors: CursorCodec) -> SingleGet | QueryGet:
    """C§2.1.3 parameters, each validated like the Statement value it stands for (GEN-010)."""
    if "more" in params:
        if len(params) > 1:
            raise InvalidParameter("more: use the more URL as given, without other parameters")
        saved, after = cursors.decode(params["more"])
        got = parse_get(saved, cursors)
        if not isinstance(got, QueryGet):
            raise InvalidParameter("more: not a query cursor")
        return QueryGet(got.query, got.params, after, got.format, got.attachments)
    if "statementId" in params or "voidedStatementId" in params:
        if "statementId" in params and "voidedStatementId" in params:
            raise InvalidParameter("statementId and voidedStatementId cannot be used together")
        extra = sorted(set(params) - SINGLE_PARAMS)
        if extra:
            raise InvalidParameter(
                f"{', '.join(extra)}: not allowed with statementId/voidedStatementId"
            )
        voided = "voidedStatementId" in params
        name = "voidedStatementId" if voided else "statementId"
        sid = params[name]
        if not is_uuid(sid):
            raise InvalidParameter(f"{name}: {sid!r} is not a UUID")
        return SingleGet(
            sid.lower(), voided, _format_param(params), _bool_param(params, "attachments")
        )
    unknown = sorted(set(params) - QUERY_PARAMS)
    if unknown:
        raise InvalidParameter(f"{', '.join(unknown)}: unknown parameter(s) for GET statements")
    required: set[str] = set()
    related_agents = _bool_param(params, "related_agents")
    related_activities = _bool_param(params, "related_activities")
    if "agent" in params:
        try:
            agent = orjson.loads(params["agent"])
        except orjson.JSONDecodeError:
            raise InvalidParameter("agent: not valid JSON") from None
        validate_agent(agent, "agent")
        required.add(f"{K_RAGENT if related_agents else K_AGENT}:{agent_key(agent)}")
    if "verb" in params:
        if not is_iri(params["verb"]):
            raise InvalidParameter(f"verb: {params['verb']!r} is not an IRI")
        required.add(f"{K_VERB}:{params['verb']}")
    if "activity" in params:
        if not is_iri(params["activity"]):
            raise InvalidParameter(f"activity: {params['activity']!r} is not an IRI")
        required.add(f"{K_RACTIVITY if related_activities else K_ACTIVITY}:{params['activity']}")
    if "registration" in params:
        if not is_uuid(params["registration"]):
            raise InvalidParameter(f"registration: {params['registration']!r} is not a UUID")
        required.add(f"{K_REGISTRATION}:{params['registration'].lower()}")
    since = _time_param(params, "since")
    until = _time_param(params, "until")
    limit_raw = params.get("limit", "0")
    if not (limit_raw.isascii() and limit_raw.isdigit()):
        raise InvalidParameter(f"limit: must be a non-negative integer, got {limit_raw!r}")
    query = StatementQuery(
        required=frozenset(required),
        since_us=since,
        until_us=until,
        ascending=_bool_param(params, "ascending"),
        limit=int(limit_raw),
    )
    return QueryGet(
        query, dict(params), None, _format_param(params), _bool_param(params, "attachments")
    )


def _time_param(params: Mapping[str, str], name: str) -> int | None:
    raw = params.get(name)
    if raw is None:
        return None
    try:
        return to_micros(parse_timestamp(raw))
    except ValueError:
        raise InvalidParameter(f"{name}: {raw!r} is not an ISO 8601 timestamp") from None


def render_statement(stored: StoredStatement, fmt: str, accept_language: str | None) -> bytes:
    """GEN-015: ``exact`` returns the stored bytes untouched; other formats re-serialize."""
    if fmt == "exact":
        return stored.body
    stmt = orjson.loads(stored.body)
    if fmt == "ids":
        return orjson.dumps(ids_format(stmt))
    return orjson.dumps(canonical_format(stmt, parse_accept_language(accept_language)))


def render_result(
    page: Page,
    more_url: str,
    fmt: str,
    accept_language: str | None,
) -> bytes:
    """StatementResult (D§2.5) assembled from stored bytes, without re-parsing in exact format."""
    bodies = b",".join(render_statement(s, fmt, accept_language) for s in page.statements)
    return b'{"statements":[' + bodies + b'],"more":' + orjson.dumps(more_url) + b"}"


def with_attachments(
    json_body: bytes, statements: Sequence[StoredStatement], held: Mapping[str, Attachment]
) -> tuple[str, bytes]:
    """SAPI-034/ATT-009: multipart/mixed response, one part per distinct attachment held."""
    wanted: list[AttachmentPart] = []
    seen: set[str] = set()
    for stmt in statements:
        for sha in stmt.attachments:
            if sha in held and sha not in seen:
                seen.add(sha)
                att = held[sha]
                wanted.append(
                    AttachmentPart(sha2=sha, content_type=att.content_type, data=att.data)
                )
    return render_multipart_mixed(json_body, wanted)


def check_put_params(params: Mapping[str, str]) -> None:
    """ERR-004: PUT takes statementId only."""
    extra = sorted(set(params) - {"statementId"})
    if extra:
        raise InvalidParameter(f"{', '.join(extra)}: not allowed on PUT statements")
    if not is_uuid(params["statementId"]):
        raise InvalidParameter(f"statementId: {params['statementId']!r} is not a UUID")


def more_url(path: str, cursors: CursorCodec, wanted: QueryGet, position: Position) -> str:
    """SAPI-050: a relative IRL (path + query) to the next page."""
    return f"{path}?more={cursors.encode(wanted.params, position)}"


def last_modified(statements: Sequence[StoredStatement]) -> dict[str, str]:
    """SAPI-055: Last-Modified = the most recent ``stored`` among the returned Statements."""
    if not statements:
        return {}
    from email.utils import formatdate

    newest = max(s.stored_us for s in statements)
    return {"Last-Modified": formatdate(newest / 1_000_000, usegmt=True)}
