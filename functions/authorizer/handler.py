"""API Gateway REQUEST authorizer of every /xapi method but OPTIONS (see progress.edge.authorizer:
why it has no identity source, and what it does without an Authorization header)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from progress.bootstrap import services
from progress.edge.authorizer import authorize
from progress.edge.observability import with_metrics


@with_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return authorize(event, services().auth)
