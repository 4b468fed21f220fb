"""Glue every xAPI route shares: decode the event, check the version, authenticate, respond."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response

from progress.bootstrap import services
from progress.domain.errors import DomainError, NotFound
from progress.domain.statements import format_stored
from progress.domain.tenancy import Principal
from progress.edge.errors import status_of
from progress.edge.http import (
    CONSISTENT_THROUGH,
    VERSION_HEADER,
    XAPI_VERSION,
    Request,
    check_version,
    rewrite_alternate_syntax,
)

logger = logging.getLogger("progress.xapi")
JSON_TYPE = "application/json"


def xapi_request(event: dict[str, Any]) -> tuple[Request, Principal]:
    """Decode, check X-Experience-API-Version (VER-003) and authenticate (C§4)."""
    svc = services()
    request = Request.from_event(event, svc.settings.max_body_bytes)
    check_version(request.headers)
    return request, svc.auth.authenticate(request.header("Authorization"))


def json_response(
    body: bytes, status: int = 200, headers: dict[str, str] | None = None
) -> Response[str]:
    """A JSON response; Powertools wants JSON bodies as text (bytes would be re-serialized)."""
    return Response(
        status_code=status, content_type=JSON_TYPE, body=body.decode(), headers=headers or {}
    )


def error_response(exc: DomainError) -> Response[str]:
    status = status_of(exc)
    headers = {"WWW-Authenticate": 'Basic realm="xAPI"'} if status == 401 else {}
    if status == 503:
        headers["Retry-After"] = "1"
    return json_response(
        orjson.dumps({"error": {"status": status, "message": exc.message}}), status, headers
    )


def unexpected_response(exc: Exception) -> Response[str]:
    logger.exception("unhandled error", extra={"error_type": type(exc).__name__})
    return json_response(
        orjson.dumps({"error": {"status": 500, "message": "internal error; it has been logged"}}),
        500,
    )


def register_errors(app: APIGatewayRestResolver, resource: str = "resource") -> None:
    """The one error mapping of every API function: unknown routes 404, domain errors their
    status (``progress.edge.errors``), anything else a logged 500 that reveals nothing."""

    @app.not_found
    def not_found(_: Exception) -> Response[Any]:
        path = app.current_event.path
        return error_response(NotFound(f"{path}: no such {resource}"))

    @app.exception_handler(DomainError)  # type: ignore[untyped-decorator]
    def domain_error(exc: DomainError) -> Response[Any]:
        return error_response(exc)

    @app.exception_handler(Exception)  # type: ignore[untyped-decorator]
    def unexpected(exc: Exception) -> Response[Any]:
        return unexpected_response(exc)


def consistent_through() -> str:
    return format_stored(services().statements.consistent_through_us())


def finish(event: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    """Headers on every response (VER-001, SAPI-054); HEAD answers without a body (RES-003)."""
    extra = {VERSION_HEADER: XAPI_VERSION}
    if "/statements" in str(event.get("path", "")):
        extra[CONSISTENT_THROUGH] = consistent_through()
    multi = response.get("multiValueHeaders")
    if isinstance(multi, dict):
        for name, value in extra.items():
            multi[name] = [value]
    else:
        response["headers"] = {**(response.get("headers") or {}), **extra}
    if event.get("httpMethod") == "HEAD":
        response["body"] = ""
        response["isBase64Encoded"] = False
    return response


def preprocess(event: dict[str, Any]) -> dict[str, Any] | tuple[dict[str, Any]]:
    """Alternate request syntax (C§1.3) before routing.

    Returns the event to route, or a one-tuple holding the finished error response.
    """
    try:
        return rewrite_alternate_syntax(event, services().settings.max_body_bytes)
    except DomainError as exc:
        response = error_response(exc)
        return (
            {
                "statusCode": response.status_code,
                "headers": dict(response.headers),
                "body": response.body,
                "isBase64Encoded": False,
            },
        )
