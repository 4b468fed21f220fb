"""Attempts and completion records per learner and per activity (/progress, authorized),
certificate verification (/certificates, public) and export downloads by signed URL (/exports,
public: the URL is the credential). See progress.edge.progress_api."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.utilities.typing import LambdaContext

from progress.app.certificates import certificate_id
from progress.bootstrap import services
from progress.domain.formats import parse_accept_language
from progress.edge import heap
from progress.edge import progress_api as pa
from progress.edge.http import Request
from progress.edge.observability import with_metrics
from progress.edge.xapi.api import (
    json_response,
    register_errors,
)

app = APIGatewayRestResolver()


def _listing(completions: bool) -> Response[str]:
    svc = services()
    request = Request.from_event(app.current_event.raw_event, svc.settings.max_body_bytes)
    principal = svc.auth.authenticate(request.header("Authorization"))
    pa.require_reader(principal)
    where, after, limit, carried = pa.parse_listing(
        dict(request.params), svc.cursors, completions=completions
    )
    rows, position = svc.progress.list(principal.tenant_id, where, after, limit)
    if completions:
        base = svc.settings.public_base_url
        items = []
        for r in rows:
            record = pa.completion_json(r)
            if record is None:
                continue
            cert = certificate_id(svc.certificate_id_key, principal.tenant_id, record["id"])
            items.append(
                {
                    **record,
                    "attempt_id": r.attempt_id,
                    "learner": r.key.learner,
                    "activity_id": r.key.activity_id,
                    # Issued by the certificates consumer shortly after (eventually consistent).
                    "certificate": f"{base}/certificates/{cert}"
                    if record["completed"] or record["passed"]
                    else None,
                }
            )
        path, name = "/progress/completions", "completions"
    else:
        items = [pa.attempt_json(r) for r in rows]
        path, name = "/progress/attempts", "attempts"
    return json_response(pa.page_body(path, name, items, position, carried, svc.cursors))


@app.get("/progress/attempts")
def attempts() -> Response[str]:
    return _listing(completions=False)


@app.get("/progress/completions")
def completions() -> Response[str]:
    return _listing(completions=True)


@app.get("/progress/transcript")
def transcript() -> Response[Any]:
    svc = services()
    request = Request.from_event(app.current_event.raw_event, svc.settings.max_body_bytes)
    principal = svc.auth.authenticate(request.header("Authorization"))
    langs = parse_accept_language(request.header("Accept-Language"))
    query, kind = pa.parse_transcript(
        dict(request.params), request.header("Accept"), langs, own=principal.learner
    )
    pa.require_transcript_reader(principal, query.learner)
    content = svc.transcripts.transcript(principal.tenant_id, query)
    base = svc.settings.public_base_url
    return pa.transcript_response(content, kind, base, "/progress/transcript", request.params)


@app.get("/certificates/<certificate>")
def certificate(certificate: str) -> Response[Any]:
    kind = "pdf" if certificate.endswith(".pdf") else "json"
    service = services().certificates
    found = service.get(certificate.removesuffix(".pdf"))
    data, content_type = service.document(found, kind)
    if kind == "json":
        return json_response(data)
    return Response(
        status_code=200,
        content_type=content_type,
        body=data,
        headers={"Content-Disposition": f'inline; filename="certificate-{found.id}.pdf"'},
    )


@app.get("/exports/<token>")
def export_download(token: str) -> Response[Any]:
    """A signed, expiring download URL of a done export (the local runtime's; on AWS the URL
    is S3's own presigned one). 403 when tampered with, 410 when expired."""
    download = services().exports.open_download(token)
    return Response(
        status_code=200,
        content_type=download.content_type,
        body=b"".join(download.chunks),  # local files; Lambda could not return more than 6 MB
        headers={
            "Content-Disposition": f'attachment; filename="{download.filename}"',
            "Cache-Control": "private, no-store",
        },
    )


register_errors(app)


@with_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


heap.settle()  # what the imports and the app built lives as long as the container
