"""The internal admin API (/admin): tenants, credentials, learners, attempts, completions,
transcripts, exports and dead letters. Documents, scopes and paging: progress.edge.admin_api;
the OpenAPI 3.1 document generated from these routes: schemas/openapi/admin-api.json."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Annotated, Any

import orjson
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Header, Query
from aws_lambda_powertools.utilities.typing import LambdaContext

from progress.app.dispatch import redrive
from progress.bootstrap import services
from progress.domain.errors import InvalidParameter
from progress.domain.errors import NotFound as DomainNotFound
from progress.domain.progress_rules import ProgressRules
from progress.domain.tenancy import Principal
from progress.edge import admin_api as models
from progress.edge.admin_routes import (
    attempt_page,
    credential_out,
    dead_letter_page,
    export_out,
    export_page,
    learner_agent,
    learner_page,
    request_error,
    transcript_response,
    undecodable_body,
)
from progress.edge.http import Request
from progress.edge.idempotency import StoredResponse, run_idempotent
from progress.edge.observability import with_metrics
from progress.edge.xapi.api import error_response, register_errors

app = APIGatewayRestResolver(enable_validation=True)

Cursor = Annotated[str | None, Query(description="the `next` of the previous page")]
Limit = Annotated[int, Query(ge=1, le=models.MAX_LIMIT, description="page size")]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="replays of the same key and body return the first response",
    ),
]
Agent = Annotated[str | None, Query(description="the learner, as an xAPI Agent JSON object")]


def _request() -> tuple[Principal, Request]:
    svc = services()
    request = Request.from_event(app.current_event.raw_event, svc.settings.max_body_bytes)
    return svc.auth.authenticate(request.header("Authorization")), request


def _admin(tenant: str) -> Principal:
    principal, _ = _request()
    models.require_admin(principal, tenant)
    services().tenants.get_tenant(tenant)  # 404 for an unknown tenant
    return principal


def _operator() -> Principal:
    principal, _ = _request()
    models.require_operator(principal)
    return principal


def _json(model: Any, status: int = 200, location: str | None = None) -> StoredResponse:
    body = model.model_dump_json() if hasattr(model, "model_dump_json") else orjson.dumps(model)
    return StoredResponse(
        status, body if isinstance(body, str) else body.decode(), "application/json", location
    )


def _write(
    scope: str,
    run: Callable[[], StoredResponse],
    first: Callable[[StoredResponse], StoredResponse] | None = None,
) -> Response[Any]:
    """One internal write: at most once per Idempotency-Key of the calling credential within
    ``scope`` (the tenant). ``first`` completes the response of the run that did the write with
    what must not be stored for replays (a new credential's secret)."""
    principal, request = _request()
    stored, replayed = run_idempotent(
        services().idempotency_layer(scope),
        key=request.header("Idempotency-Key"),
        method=request.method,
        path=request.path,
        body=request.body,
        run=run,
        caller=principal.key,
    )
    if first is not None and not replayed:
        stored = first(stored)
    headers = {"Location": stored.location} if stored.location else {}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return Response(stored.status, stored.content_type, body=stored.body, headers=headers)


# ------------------------------------------------------------------------------ tenants


@app.post(
    "/admin/tenants",
    summary="Create a tenant (operator)",
    responses=models.written(
        {201: ("created", models.TenantOut), 200: ("it existed", models.TenantOut)}
    ),
)
def create_tenant(body: models.TenantIn, idempotency_key: IdempotencyKey = None) -> Response[Any]:
    _operator()

    def run() -> StoredResponse:
        t, created = services().tenants.ensure_tenant(body.id, body.name)
        out = models.TenantOut(id=t.id, name=t.name, created=t.created)
        return _json(out, 201 if created else 200, f"/admin/tenants/{t.id}")

    return _write("_operator", run)


@app.get(
    "/admin/tenants", summary="List tenants (operator)", responses=models.ok(models.TenantPage)
)
def list_tenants(cursor: Cursor = None, limit: Limit = models.DEFAULT_LIMIT) -> models.TenantPage:
    _operator()
    svc = services()
    after = (
        None if cursor is None else models.decode_cursor(svc.cursors, cursor, "tenants", "")[1][1]
    )
    found = svc.tenants.list_tenants(after, limit + 1)
    items = [models.TenantOut(id=t.id, name=t.name, created=t.created) for t in found[:limit]]
    more = len(found) > limit
    return models.TenantPage(
        items=items,
        next=models.encode_cursor(svc.cursors, "tenants", "", (0, items[-1].id)) if more else None,
    )


@app.get("/admin/tenants/<tenant>", summary="One tenant", responses=models.ok(models.TenantOut))
def get_tenant(tenant: str) -> models.TenantOut:
    _admin(tenant)
    t = services().tenants.get_tenant(tenant)
    return models.TenantOut(id=t.id, name=t.name, created=t.created)


# ------------------------------------------------------------------------------ credentials


@app.get(
    "/admin/tenants/<tenant>/credentials",
    summary="A tenant's credentials (never their secrets)",
    responses=models.ok(models.CredentialPage),
)
def list_credentials(
    tenant: str, cursor: Cursor = None, limit: Limit = models.DEFAULT_LIMIT
) -> models.CredentialPage:
    _admin(tenant)
    svc = services()
    after = None
    if cursor is not None:
        after = models.decode_cursor(svc.cursors, cursor, "credentials", tenant)[1][1]
    found = svc.tenants.list_credentials(tenant, after, limit + 1)
    items = [credential_out(c) for c in found[:limit]]
    more = len(found) > limit
    return models.CredentialPage(
        items=items,
        next=models.encode_cursor(svc.cursors, "credentials", tenant, (0, items[-1].key))
        if more
        else None,
    )


@app.post(
    "/admin/tenants/<tenant>/credentials",
    summary="Create a credential; its secret is in this response only",
    responses=models.written({201: ("created", models.NewCredential)}),
)
def create_credential(
    tenant: str, body: models.CredentialIn, idempotency_key: IdempotencyKey = None
) -> Response[Any]:
    principal = _admin(tenant)

    secrets: list[str] = []

    def run() -> StoredResponse:
        learner = None if body.agent is None else models.agent_of(body.agent)
        created, secret = services().tenants.create_credential(
            tenant, models.scopes_granted(principal, body.scopes), label=body.label, learner=learner
        )
        secrets.append(secret)  # only this response shows it: the stored one has null
        out = models.NewCredential(**credential_out(created).model_dump(), secret=None)
        return _json(out, 201, f"/admin/tenants/{tenant}/credentials/{created.key}")

    def reveal(stored: StoredResponse) -> StoredResponse:
        document = {**orjson.loads(stored.body), "secret": secrets[0]}
        return replace(stored, body=orjson.dumps(document).decode())

    return _write(tenant, run, reveal)


@app.delete(
    "/admin/tenants/<tenant>/credentials/<key>",
    summary="Revoke a credential",
    responses=models.written({204: ("revoked", None)}),
)
def revoke_credential(
    tenant: str, key: str, idempotency_key: IdempotencyKey = None
) -> Response[Any]:
    _admin(tenant)

    def run() -> StoredResponse:
        svc = services()
        svc.tenants.revoke_credential(tenant, key)
        svc.auth.forget(key)
        return StoredResponse(204, "", "application/json")

    return _write(tenant, run)


# ------------------------------------------------------------------------------ progress rules


@app.get(
    "/admin/tenants/<tenant>/rules",
    summary="The progress rules in force (defaults if none were set)",
    responses=models.ok(dict[str, Any]),
)
def get_rules(tenant: str) -> dict[str, Any]:
    _admin(tenant)
    return services().progress.rules.get(tenant).to_json()


@app.put(
    "/admin/tenants/<tenant>/rules",
    summary="Replace the progress rules (docs/progress.md)",
    responses=models.written({200: ("the rules now in force", dict[str, Any])}),
)
def put_rules(
    tenant: str, body: dict[str, Any], idempotency_key: IdempotencyKey = None
) -> Response[Any]:
    _admin(tenant)

    def run() -> StoredResponse:
        rules = ProgressRules.from_json(body)
        services().progress.rules.put(tenant, rules)
        return _json(rules.to_json())

    return _write(tenant, run)


# ------------------------------------------------------------------------------ learners


@app.get(
    "/admin/tenants/<tenant>/attempts",
    summary="Attempts of one learner or one Activity, newest first",
    responses=models.ok(models.AttemptPage),
)
def list_attempts(
    tenant: str,
    agent: Agent = None,
    activity: Annotated[str | None, Query(description="an Activity IRI")] = None,
    completed: Annotated[bool, Query(description="only attempts with a completion")] = False,
    cursor: Cursor = None,
    limit: Limit = models.DEFAULT_LIMIT,
) -> models.AttemptPage:
    _admin(tenant)
    return attempt_page(tenant, "attempts", agent, activity, completed, cursor, limit)


@app.get(
    "/admin/tenants/<tenant>/completions",
    summary="Attempts with an achieved completion, of one learner or one Activity",
    responses=models.ok(models.AttemptPage),
)
def list_completions(
    tenant: str,
    agent: Agent = None,
    activity: Annotated[str | None, Query(description="an Activity IRI")] = None,
    cursor: Cursor = None,
    limit: Limit = models.DEFAULT_LIMIT,
) -> models.AttemptPage:
    _admin(tenant)
    return attempt_page(tenant, "completions", agent, activity, True, cursor, limit)


@app.get(
    "/admin/tenants/<tenant>/learners",
    summary="The tenant's learners (those with attempts), a page at a time; with agent: one"
    " learner's name and totals",
    responses=models.ok(
        models.LearnerPage | models.LearnerOut,
        "without agent: a page of learners (LearnerPage); with agent: that learner (LearnerOut)",
    ),
)
def get_learner(
    tenant: str,
    agent: Annotated[
        str | None, Query(description="one learner, as an xAPI Agent JSON object; absent: the list")
    ] = None,
    cursor: Annotated[str | None, Query(description="the `next` of the previous page")] = None,
    limit: Limit = models.DEFAULT_LIMIT,
) -> models.LearnerPage | models.LearnerOut:
    _admin(tenant)
    if agent is None:
        return learner_page(tenant, cursor, limit)
    if cursor is not None:
        raise InvalidParameter("cursor: pages the list of learners, not a lookup by agent")
    return models.LearnerOut(**learner_agent(tenant, agent))


@app.get(
    "/admin/tenants/<tenant>/transcript",
    summary="One learner's transcript, JSON or PDF",
    responses=models.TRANSCRIPT,
)
def transcript(  # type: ignore[no-untyped-def]  # JSON or PDF bytes: no response model
    tenant: str,
    agent: Annotated[str, Query(description="an xAPI Agent")],
    since: Annotated[str | None, Query(description="RFC 3339")] = None,
    until: Annotated[str | None, Query(description="RFC 3339")] = None,
    activity: Annotated[str | None, Query(description="an Activity IRI")] = None,
    format: Annotated[str | None, Query(pattern="^(json|pdf)$")] = None,
):
    _admin(tenant)
    _, request = _request()
    return transcript_response(tenant, request)


# ------------------------------------------------------------------------------ exports


@app.post(
    "/admin/tenants/<tenant>/exports",
    summary="Start a compliance export (runs asynchronously; poll the job)",
    responses=models.written({202: ("queued", models.ExportOut)}),
)
def create_export(
    tenant: str, body: models.ExportIn, idempotency_key: IdempotencyKey = None
) -> Response[Any]:
    _admin(tenant)

    def run() -> StoredResponse:
        learner = None if body.agent is None else models.agent_of(body.agent)
        job = services().exports.request(tenant, body.kind, body.format, learner)
        return _json(export_out(job), 202, f"/admin/tenants/{tenant}/exports/{job.id}")

    return _write(tenant, run)


@app.get(
    "/admin/tenants/<tenant>/exports",
    summary="Export jobs, newest first",
    responses=models.ok(models.ExportPage),
)
def list_exports(
    tenant: str, cursor: Cursor = None, limit: Limit = models.DEFAULT_LIMIT
) -> models.ExportPage:
    _admin(tenant)
    return export_page(tenant, cursor, limit)


@app.get(
    "/admin/tenants/<tenant>/exports/<export_id>",
    summary="An export job: status, progress and (when done) a signed download URL",
    responses=models.ok(models.ExportOut),
)
def get_export(tenant: str, export_id: str) -> models.ExportOut:
    _admin(tenant)
    return export_out(services().exports.get(tenant, export_id))


# ------------------------------------------------------------------------------ dead letters


@app.get(
    "/admin/dead-letters",
    summary="Events consumers kept failing on, oldest first (operator)",
    responses=models.ok(models.DeadLetterPage),
)
def list_dead_letters(
    consumer: Annotated[str | None, Query(description="one consumer's")] = None,
    cursor: Cursor = None,
    limit: Limit = models.DEFAULT_LIMIT,
) -> models.DeadLetterPage:
    _operator()
    return dead_letter_page(consumer, cursor, limit)


@app.post(
    "/admin/dead-letters/redrive",
    summary="Publish dead letters again, then remove the ones accepted (operator)",
    responses=models.written({200: ("redriven and failed letters", models.RedriveOut)}),
)
def redrive_dead_letters(
    body: models.RedriveIn, idempotency_key: IdempotencyKey = None
) -> Response[Any]:
    _operator()
    if body.consumer is None and not body.ids:
        raise InvalidParameter("consumer or ids: name what to redrive")

    def run() -> StoredResponse:
        svc = services()
        done, failed = redrive(svc.dead_letters, svc.bus, consumer=body.consumer, ids=set(body.ids))
        return _json(
            models.RedriveOut(
                redriven=[d.id for d in done],
                failed=[models.RedriveFailure(id=d.id, error=e) for d, e in failed],
            )
        )

    return _write("_operator", run)


@app.delete(
    "/admin/dead-letters/<letter_id>",
    summary="Discard a dead letter (operator)",
    responses=models.written({204: ("discarded", None)}),
)
def discard_dead_letter(letter_id: str, idempotency_key: IdempotencyKey = None) -> Response[Any]:
    _operator()

    def run() -> StoredResponse:
        svc = services()
        if not any(d.id == letter_id for d in svc.dead_letters.list(None, 1000)):
            raise DomainNotFound(f"dead letter: no letter {letter_id!r}")
        svc.dead_letters.remove([letter_id])
        return StoredResponse(204, "", "application/json")

    return _write("_operator", run)


# ------------------------------------------------------------------------------ errors


register_errors(app)


@app.exception_handler(RequestValidationError)  # type: ignore[untyped-decorator]
def invalid(exc: RequestValidationError) -> Response[Any]:
    return error_response(request_error(exc.errors()))


@with_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return undecodable_body(event) or app.resolve(event, context)
