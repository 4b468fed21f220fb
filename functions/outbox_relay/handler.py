"""Table stream → EventBridge: publishes the outbox rows (the ``outbox`` attribute) of new and
changed items, in stream order. Failures are reported per record (ReportBatchItemFailures): the
first record whose events were not all accepted, and every later one, are retried — never
dropped; consumers' inboxes absorb the events published twice."""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from progress.adapters.dynamodb.stream import outbox_envelopes
from progress.bootstrap import services
from progress.catalog import Metric
from progress.edge.observability import record_ms, with_metrics


@with_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    records = event.get("Records") or []
    owners: list[int] = []
    envelopes: list[dict[str, Any]] = []
    for index, record in enumerate(records):
        for env in outbox_envelopes(record):
            owners.append(index)
            envelopes.append(env)
    results = services().bus.publish(envelopes) if envelopes else []
    failed = sorted({owners[i] for i, error in enumerate(results) if error is not None})
    now_ms = time.time() * 1000
    for record in records[: failed[0] if failed else len(records)]:
        created = record.get("dynamodb", {}).get("ApproximateCreationDateTime")
        if isinstance(created, int | float):
            record_ms(Metric.OUTBOX_LAG, max(0.0, now_ms - created * 1000))
    if not failed:
        return {"batchItemFailures": []}
    return {
        "batchItemFailures": [
            {"itemIdentifier": r["dynamodb"]["SequenceNumber"]} for r in records[failed[0] :]
        ]
    }
