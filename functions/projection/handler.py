"""Consumer of progress.statement.stored.v1 (EventBridge rule → asynchronous invocation):
projects the Statement onto attempts and completion records. Raising makes Lambda retry, then
send the event to this function's DLQ with the error as its reason."""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from progress.app.dispatch import envelope_of
from progress.bootstrap import services
from progress.catalog import Metric
from progress.domain.facts import parse_timestamp_us
from progress.edge.observability import record_ms, with_metrics


@with_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    env = envelope_of(event)
    result = services().progress.handle(env)
    occurred = parse_timestamp_us(env.get("time"))
    if occurred is not None:
        record_ms(Metric.PROJECTION_LAG, max(0.0, time.time() * 1000 - occurred / 1000))
    return {"outcome": result.outcome.value, "events": result.events, "reason": result.reason}
