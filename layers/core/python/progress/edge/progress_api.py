"""The progress read API and certificate verification: parameters, pages and documents.

    GET /progress/attempts?agent=<Agent JSON>|activity=<IRI>[&completed=true][&limit=N]
    GET /progress/completions?agent=...|activity=...[&limit=N]    (achieved completions only)
    GET /progress/attempts?more=<cursor>                             (the next page)
    GET /progress/transcript?agent=...[&since=&until=&activity=][&format=json|pdf]
        one learner's transcript; PDF also by ``Accept: application/pdf``; names in the
        ``Accept-Language`` of the request. A learner's own credential (statements/read/mine,
        bound to the learner) may fetch its learner's, and ``agent`` may then be left out
    GET /certificates/{id}          the certificate's JSON record (public: the id is the secret)
    GET /certificates/{id}.pdf      its PDF

Pages run newest first; ``more`` is an HMAC-signed cursor (the codec of GET /statements), valid
only under the caller's own credentials.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from typing import Any
from urllib.parse import urlencode

import orjson
from aws_lambda_powertools.event_handler import Response

from progress.app.ports import AttemptFilter, ListPosition
from progress.app.progress import attempt_document, completion_document
from progress.app.transcripts import TranscriptQuery
from progress.domain.errors import Forbidden, InvalidParameter
from progress.domain.facts import parse_timestamp_us
from progress.domain.statements import Position, agent_key
from progress.domain.tenancy import Principal
from progress.edge import heap
from progress.edge.xapi.cursor import CursorCodec
from progress.edge.xapi.documents import agent_param

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
_PARAMS = frozenset({"agent", "activity", "completed", "limit", "more"})


def require_reader(principal: Principal) -> None:
    """Progress spans every learner of the tenant: the statements read scope is required."""
    if not principal.may_read_all_statements():
        raise Forbidden("credentials lack the statements/read scope that progress needs")


def parse_listing(
    params: dict[str, str], cursors: CursorCodec, *, completions: bool
) -> tuple[AttemptFilter, ListPosition | None, int, dict[str, str]]:
    """(filter, position, limit, the params a `more` cursor carries)."""
    unknown = sorted(set(params) - _PARAMS)
    if unknown:
        raise InvalidParameter(f"{', '.join(unknown)}: not a parameter of this resource")
    position: ListPosition | None = None
    if "more" in params:
        if len(params) > 1:
            raise InvalidParameter("more: must be the only parameter")
        carried, at = cursors.decode(params["more"])
        params, position = carried, ListPosition(at.stored_us, at.statement_id)
    if ("agent" in params) == ("activity" in params):
        raise InvalidParameter("agent or activity: exactly one is required")
    learner = None
    if "agent" in params:
        learner = agent_key(agent_param(params))
        if learner is None:
            raise InvalidParameter("agent: an Agent with one identifier is required")
    completed = params.get("completed", "false")
    if completed not in ("true", "false"):
        raise InvalidParameter(f"completed: true or false, got {completed!r}")
    limit = _limit(params.get("limit"))
    where = AttemptFilter(
        learner=learner,
        activity_id=params.get("activity"),
        completed=completions or completed == "true",
    )
    return where, position, limit, params


def _limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    try:
        value = int(raw)
    except ValueError:
        raise InvalidParameter(f"limit: an integer 0..{MAX_LIMIT} expected, got {raw!r}") from None
    if not 0 <= value <= MAX_LIMIT:
        raise InvalidParameter(f"limit: an integer 0..{MAX_LIMIT} expected, got {value}")
    return value or DEFAULT_LIMIT


# The documents of attempts and completion records (one shape for every reader).
completion_json = completion_document
attempt_json = attempt_document


def page_body(
    path: str,
    name: str,
    items: list[dict[str, Any]],
    next_position: ListPosition | None,
    params: dict[str, str],
    cursors: CursorCodec,
) -> bytes:
    more = ""
    if next_position is not None:
        token = cursors.encode(params, Position(next_position.started_us, next_position.attempt_id))
        more = f"{path}?more={token}"
    return orjson.dumps({name: items, "more": more})


_TRANSCRIPT_PARAMS = frozenset({"agent", "since", "until", "activity", "format"})


def require_transcript_reader(principal: Principal, learner: str) -> None:
    """Admins and readers of every Statement: any learner of the tenant. A learner's own
    credential (``statements/read/mine`` bound to a learner): that learner only."""
    if principal.may_read_progress_of(learner):
        return
    if principal.learner is not None and principal.may_read_own_statements():
        raise Forbidden("agent: this credential may read its own learner's transcript only")
    raise Forbidden(
        "credentials lack the statements/read scope (or a learner's own statements/read/mine)"
    )


def parse_transcript(
    params: dict[str, str], accept: str | None, langs: list[str], own: str | None = None
) -> tuple[TranscriptQuery, str]:
    """(query, "json" | "pdf"). Without ``agent``, the learner is ``own`` (the learner of a
    learner's own credential), if any."""
    unknown = sorted(set(params) - _TRANSCRIPT_PARAMS)
    if unknown:
        raise InvalidParameter(f"{', '.join(unknown)}: not a parameter of /progress/transcript")
    if "agent" in params:
        learner = agent_key(agent_param(params))
    elif own is not None:
        learner = own
    else:
        raise InvalidParameter("agent: required (the learner, as an Agent JSON object)")
    if learner is None:
        raise InvalidParameter("agent: an Agent with one identifier is required")
    bounds: dict[str, int | None] = {}
    for name in ("since", "until"):
        raw = params.get(name)
        bounds[name] = None if raw is None else parse_timestamp_us(raw)
        if raw is not None and bounds[name] is None:
            raise InvalidParameter(f"{name}: an RFC 3339 timestamp expected, got {raw!r}")
    since, until = bounds["since"], bounds["until"]
    if since is not None and until is not None and since >= until:
        raise InvalidParameter("since: must be before until")
    kind = params.get("format")
    if kind is None:
        kind = "pdf" if accept and "application/pdf" in accept else "json"
    if kind not in ("json", "pdf"):
        raise InvalidParameter(f"format: json or pdf, got {kind!r}")
    query = TranscriptQuery(learner, since, until, params.get("activity"), tuple(langs))
    return query, kind


def transcript_response(
    content: dict[str, Any], kind: str, base_url: str, path: str, params: Mapping[str, str]
) -> Response[Any]:
    """The transcript as JSON or PDF; ``verify_url`` is the JSON form of the same request."""
    json_params = {k: v for k, v in params.items() if k != "format"}
    content["verify_url"] = f"{base_url}{path}?{urlencode(json_params)}"
    if kind == "json":
        return Response(200, "application/json", body=orjson.dumps(content).decode())
    return Response(
        status_code=200,
        content_type="application/pdf",
        body=_transcript_renderer()(content),
        headers={"Content-Disposition": 'inline; filename="transcript.pdf"'},
    )


@cache
def _transcript_renderer() -> Callable[[Mapping[str, Any]], bytes]:
    """``render_transcript``, imported at the first PDF: fpdf2, fontTools and Pillow take 0.4 s
    to import, which a container that serves JSON only never pays. Their objects live as long
    as the container: ``heap.settle`` keeps the garbage collector from walking them again."""
    from progress.adapters import pdf_fonts
    from progress.adapters.transcript_pdf import render_transcript

    pdf_fonts.load()
    heap.settle()
    return render_transcript
