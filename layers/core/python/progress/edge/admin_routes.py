"""What the admin API's routes share: documents built from the app's objects, list pages, the
transcript response and the request-validation error. Routes: functions/admin_api/handler.py."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import orjson
from aws_lambda_powertools.event_handler import Response

from progress.app.ports import AttemptFilter, ExportJob, ListPosition
from progress.app.transcripts import TranscriptQuery
from progress.bootstrap import services
from progress.domain.errors import InvalidParameter
from progress.domain.formats import parse_accept_language
from progress.domain.statements import agent_key, agent_of_key, format_stored
from progress.domain.tenancy import Credential
from progress.edge import admin_api as models
from progress.edge import progress_api as pa
from progress.edge.http import Request
from progress.edge.xapi.documents import agent_param

DLQ_SCAN = 1000  # dead letters read per page request (SQS cannot seek; see docs/admin-api.md)


def credential_out(c: Credential) -> models.CredentialOut:
    return models.CredentialOut(
        key=c.key,
        tenant=c.tenant_id,
        scopes=sorted(c.scopes),
        label=c.label,
        created=c.created,
        learner=c.learner,
    )


def _learner(agent: str | None) -> str | None:
    if agent is None:
        return None
    key = agent_key(agent_param({"agent": agent}))
    if key is None:
        raise InvalidParameter("agent: an Agent with one identifier is required")
    return key


def attempt_page(
    tenant: str,
    listing: str,
    agent: str | None,
    activity: str | None,
    completed: bool,
    cursor: str | None,
    limit: int,
) -> models.AttemptPage:
    svc = services()
    after: ListPosition | None = None
    if cursor is not None:
        carried, at = models.decode_cursor(svc.cursors, cursor, listing, tenant)
        agent, activity = carried.get("agent"), carried.get("activity")
        completed = carried.get("completed") == "true"
        after = ListPosition(*at)
    if (agent is None) == (activity is None):
        raise InvalidParameter("agent or activity: exactly one is required")
    where = AttemptFilter(learner=_learner(agent), activity_id=activity, completed=completed)
    rows, position = svc.progress.list(tenant, where, after, limit)
    items = [models.AttemptOut.model_validate(pa.attempt_json(r)) for r in rows]
    next_cursor = None
    if position is not None:
        carried = {"completed": "true" if completed else "false"}
        if agent is not None:
            carried["agent"] = agent
        if activity is not None:
            carried["activity"] = activity
        at = (position.started_us, position.attempt_id)
        next_cursor = models.encode_cursor(svc.cursors, listing, tenant, at, **carried)
    return models.AttemptPage(items=items, next=next_cursor)


def learner_agent(tenant: str, agent: str) -> dict[str, Any]:
    svc = services()
    learner = _learner(agent)
    assert learner is not None
    content = svc.transcripts.transcript(tenant, TranscriptQuery(learner))
    return {
        "learner": content["learner"],
        "totals": content["totals"],
        "transcript": f"/admin/tenants/{tenant}/transcript?{urlencode({'agent': agent})}",
    }


def learner_page(tenant: str, cursor: str | None, limit: int) -> models.LearnerPage:
    """The tenant's learners with attempts, in the store's order; the cursor carries the
    store's position (opaque to us too), signed and bound to this list and tenant."""
    svc = services()
    after = None
    if cursor is not None:
        after = models.decode_cursor(svc.cursors, cursor, "learners", tenant)[1][1]
    keys, position = svc.progress.learners(tenant, after, limit)
    base = f"/admin/tenants/{tenant}"
    items = []
    for key in keys:
        agent = agent_of_key(key)
        query = urlencode({"agent": orjson.dumps(agent).decode()})
        items.append(
            models.LearnerListed(
                id=key,
                agent=agent,
                learner=f"{base}/learners?{query}",
                transcript=f"{base}/transcript?{query}",
            )
        )
    more = None
    if position is not None:
        more = models.encode_cursor(svc.cursors, "learners", tenant, (0, position))
    return models.LearnerPage(items=items, next=more)


def transcript_response(tenant: str, request: Request) -> Response[Any]:
    svc = services()
    langs = parse_accept_language(request.header("Accept-Language"))
    query, kind = pa.parse_transcript(dict(request.params), request.header("Accept"), langs)
    content = svc.transcripts.transcript(tenant, query)
    base, path = svc.settings.public_base_url, f"/admin/tenants/{tenant}/transcript"
    return pa.transcript_response(content, kind, base, path, request.params)


def _iso_s(epoch_s: int) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def export_out(job: ExportJob) -> models.ExportOut:
    download = None
    if job.status == "done":
        url, expires = services().exports.download_url(job)
        download = models.ExportDownload(url=url, expires=_iso_s(expires))
    return models.ExportOut(
        id=job.id,
        tenant=job.tenant,
        kind=job.kind,
        format=job.format,
        learner=job.learner,
        status=job.status,
        created=format_stored(job.created_us),
        updated=format_stored(job.updated_us),
        progress=models.ExportProgress(rows=job.rows, total=job.total),
        error=job.error,
        size=job.size,
        sha256=job.sha256,
        download=download,
    )


def export_page(tenant: str, cursor: str | None, limit: int) -> models.ExportPage:
    svc = services()
    after = (
        None if cursor is None else models.decode_cursor(svc.cursors, cursor, "exports", tenant)[1]
    )
    jobs, position = svc.exports.list(tenant, after, limit)
    return models.ExportPage(
        items=[export_out(j) for j in jobs],
        next=None
        if position is None
        else models.encode_cursor(svc.cursors, "exports", tenant, position),
    )


def dead_letter_page(consumer: str | None, cursor: str | None, limit: int) -> models.DeadLetterPage:
    """Oldest first, by (failed time, id); the cursor carries the consumer filter."""
    svc = services()
    after: tuple[int, str] | None = None
    if cursor is not None:
        carried, after = models.decode_cursor(svc.cursors, cursor, "dead-letters", "")
        consumer = carried.get("consumer") or None
    letters = sorted(svc.dead_letters.list(consumer, DLQ_SCAN), key=lambda d: (d.failed_us, d.id))
    if after is not None:
        letters = [d for d in letters if (d.failed_us, d.id) > after]
    page = letters[:limit]
    items = [
        models.DeadLetterOut(
            id=d.id,
            consumer=d.consumer,
            event_id=d.envelope.get("id"),
            event_type=d.envelope.get("type"),
            tenant=d.envelope.get("tenant"),
            reason=d.reason,
            failed=format_stored(d.failed_us),
            attempts=d.attempts,
        )
        for d in page
    ]
    next_cursor = None
    if len(letters) > limit:
        last = page[-1]
        carried = {"consumer": consumer or ""}
        next_cursor = models.encode_cursor(
            svc.cursors, "dead-letters", "", (last.failed_us, last.id), **carried
        )
    return models.DeadLetterPage(items=items, next=next_cursor)


def request_error(errors: Sequence[Mapping[str, Any]]) -> InvalidParameter:
    """Pydantic's first complaint, as a 400 naming the field, parameter or header at fault."""
    if not errors:
        return InvalidParameter("request: invalid")
    first = errors[0]
    where = [str(p) for p in first.get("loc", ())] or ["request"]
    # A body field keeps its "body." prefix (body.scopes.0); a parameter or header is its name.
    path = ".".join(where) if where[0] == "body" else ".".join(where[1:]) or where[0]
    message = str(first.get("msg", "invalid"))
    if first.get("type") == "missing":
        message = "required"
    return InvalidParameter(f"{path}: {message}")


def undecodable_body(event: Mapping[str, Any]) -> dict[str, Any] | None:
    """A 400 proxy response for a body that is not UTF-8 text, which Powertools' validation
    would otherwise fail on with a 500 before any route runs; None when the body is fine."""
    body = event.get("body")
    if not body:
        return None
    try:
        raw = base64.b64decode(body, validate=True) if event.get("isBase64Encoded") else None
        if raw is not None:
            raw.decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        error = {"error": {"status": 400, "message": "body: not UTF-8 encoded JSON"}}
        return {
            "statusCode": 400,
            "headers": {"Content-Type": "application/json"},
            "body": orjson.dumps(error).decode(),
            "isBase64Encoded": False,
        }
    return None
