"""Consumer of progress.completion.recorded.v1: issues, revises or revokes the completion's one
certificate (PDF + JSON in the certificate bucket). Raising makes Lambda retry, then DLQ."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from progress.app.dispatch import envelope_of
from progress.bootstrap import services
from progress.edge.observability import with_metrics


@with_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    issued = services().certificates.handle(envelope_of(event))
    if issued is None:
        return {"certificate": None}
    return {"certificate": issued.id, "revoked": issued.revoked, "version": issued.attempt_version}
