"""xAPI 1.0.3 resources: /xapi/about, /statements, the document resources, /activities and /agents
(API Gateway REST proxy -> Lambda)."""

from __future__ import annotations

from typing import Any

import orjson
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from progress.app.documents import agent_person
from progress.bootstrap import services
from progress.catalog import Metric
from progress.domain.errors import InvalidParameter
from progress.edge.http import CORS_ALLOW_HEADERS, CORS_EXPOSE_HEADERS, XAPI_VERSION
from progress.edge.observability import count, timed, with_metrics
from progress.edge.xapi import documents as docs
from progress.edge.xapi import statements as st
from progress.edge.xapi.api import (
    finish,
    json_response,
    preprocess,
    register_errors,
    xapi_request,
)

cors = CORSConfig(
    allow_origin="*",
    allow_headers=CORS_ALLOW_HEADERS,
    expose_headers=CORS_EXPOSE_HEADERS,
    max_age=600,
)
app = APIGatewayRestResolver(cors=cors, strip_prefixes=["/xapi"])


@app.route("/about", method=["GET", "HEAD"])
def about() -> Response[Any]:
    """ABOUT-001..004: no auth and no version header needed."""
    return json_response(orjson.dumps({"version": [XAPI_VERSION, "1.0.2", "1.0.1", "1.0.0"]}))


@app.put("/statements")
def put_statement() -> Response[Any]:
    request, principal = xapi_request(app.current_event.raw_event)
    statement_id = request.params.get("statementId")
    if statement_id is None:
        raise InvalidParameter("statementId: required for PUT")
    st.check_put_params(request.params)
    body = st.parse_statements_body(request, put_id=statement_id)
    services().statements.store(principal, body.statements, body.attachments)
    count(Metric.STATEMENTS_STORED)
    return Response(status_code=204)


@app.post("/statements")
def post_statements() -> Response[Any]:
    request, principal = xapi_request(app.current_event.raw_event)
    if request.params:
        raise InvalidParameter(f"{', '.join(sorted(request.params))}: not allowed on POST")
    body = st.parse_statements_body(request)
    result = services().statements.store(principal, body.statements, body.attachments)
    count(Metric.STATEMENTS_STORED, len(result.ids))
    return json_response(orjson.dumps(result.ids))


@app.route("/statements", method=["GET", "HEAD"])
def get_statements() -> Response[Any]:
    request, principal = xapi_request(app.current_event.raw_event)
    svc = services()
    wanted = st.parse_get(request.params, svc.cursors)
    langs = request.header("Accept-Language")
    if isinstance(wanted, st.SingleGet):
        found = svc.statements.get(principal, wanted.statement_id, voided=wanted.voided)
        body, statements = st.render_statement(found, wanted.format, langs), [found]
    else:
        with timed(Metric.STATEMENT_QUERY_LATENCY):
            page = svc.statements.query(principal, wanted.query, wanted.after)
        more = (
            "" if page.next is None else st.more_url(request.path, svc.cursors, wanted, page.next)
        )
        body, statements = st.render_result(page, more, wanted.format, langs), page.statements
    headers = st.last_modified(statements)
    if wanted.attachments:
        held = svc.statements.attachments(principal, {h for s in statements for h in s.attachments})
        content_type, multipart = st.with_attachments(body, statements, held)
        return Response(200, content_type, multipart, headers)
    return json_response(body, headers=headers)


# ---------------------------------------------------------------------------------------------
# Document resources (C§2.2-2.3, C§2.6-2.7, concurrency C§3.1), /activities (C§2.5) and
# /agents (C§2.4). Parsing lives in progress.edge.xapi.documents, rules in progress.app.documents.


@app.route("/activities/state", method=["GET", "HEAD"])
@app.route("/activities/profile", method=["GET", "HEAD"])
@app.route("/agents/profile", method=["GET", "HEAD"])
def get_document() -> Response[str] | Response[bytes]:
    request, principal = xapi_request(app.current_event.raw_event)
    target = docs.parse_target(request)
    if isinstance(target, docs.Many):
        ids, newest = services().documents.ids(principal, target.scope, target.since_us)
        return docs.json_resource(ids, newest)
    return docs.document_response(services().documents.get(principal, target))


@app.put("/activities/state")
@app.put("/activities/profile")
@app.put("/agents/profile")
def put_document() -> Response[None]:
    request, principal = xapi_request(app.current_event.raw_event)
    key = docs.parse_key(request)
    content_type = request.header("Content-Type")
    services().documents.put(principal, key, request.body, content_type, docs.precondition(request))
    return Response(status_code=204)


@app.post("/activities/state")
@app.post("/activities/profile")
@app.post("/agents/profile")
def post_document() -> Response[None]:
    request, principal = xapi_request(app.current_event.raw_event)
    key = docs.parse_key(request)
    content_type = request.header("Content-Type")
    services().documents.post(
        principal, key, request.body, content_type, docs.precondition(request)
    )
    return Response(status_code=204)


@app.delete("/activities/state")
@app.delete("/activities/profile")
@app.delete("/agents/profile")
def delete_document() -> Response[None]:
    request, principal = xapi_request(app.current_event.raw_event)
    target = docs.parse_target(request)
    if isinstance(target, docs.Many):
        services().documents.delete_all(principal, target.scope)
    else:
        services().documents.delete(principal, target, docs.precondition(request))
    return Response(status_code=204)


@app.route("/activities", method=["GET", "HEAD"])
def get_activity() -> Response[str]:
    request, principal = xapi_request(app.current_event.raw_event)
    activity_id = docs.parse_activity_id(request)
    return docs.json_resource(services().activities.get(principal, activity_id))


@app.route("/agents", method=["GET", "HEAD"])
def get_agent() -> Response[str]:
    request, _ = xapi_request(app.current_event.raw_event)
    return docs.json_resource(agent_person(docs.parse_person_agent(request)))


# ---------------------------------------------------------------------------------------------


register_errors(app, "xAPI resource")


@with_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    routed = preprocess(event)
    if isinstance(routed, dict):
        return finish(routed, app.resolve(routed, context))
    return finish(event, routed[0])
