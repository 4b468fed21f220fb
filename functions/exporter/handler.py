"""Consumer of progress.export.requested.v1: writes (or resumes) the export file. Idempotent by
the job's status and lease; near the invocation's end it checkpoints and publishes a
continuation. A failure is recorded on the job (status failed, with the reason)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from progress.app.dispatch import envelope_of
from progress.bootstrap import services
from progress.edge.observability import with_metrics


@with_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    job = services().exports.handle(
        envelope_of(event), remaining_s=lambda: context.get_remaining_time_in_millis() / 1000
    )
    return {"export": job.id, "status": job.status, "rows": job.rows}
