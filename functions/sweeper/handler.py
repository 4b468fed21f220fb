"""Scheduled: closes attempts past their inactivity timeout (their events go out through the
outbox like any other change)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from progress.bootstrap import services
from progress.edge.observability import with_metrics


@with_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    svc = services()
    closed = 0
    while True:  # sweep in pages until nothing is due or the invocation nears its end
        done = svc.progress.sweep(limit=200)
        closed += done
        if done < 200 or context.get_remaining_time_in_millis() < 30_000:
            return {"closed": closed}
