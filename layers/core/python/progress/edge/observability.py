"""Powertools metrics (CloudWatch EMF) for the handlers, by the names in ``progress.catalog``.

On Lambda a handler wrapped in ``with_metrics`` prints one EMF line per invocation, and infra/
charts and alarms on those names. Where nobody collects them (``make run``, tests: both set
POWERTOOLS_METRICS_DISABLED=true) every call here is a no-op: Powertools would otherwise still
print a line every 100 values and share one metric set between the local server's threads.
"""

from __future__ import annotations

import functools
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

from progress.catalog import METRICS_NAMESPACE, Metric

# The dimension `service` comes from POWERTOOLS_SERVICE_NAME: infra sets it to the function name.
metrics = Metrics(namespace=METRICS_NAMESPACE)
# Most requests (document reads, about) record nothing; that is not worth a warning each time.
warnings.filterwarnings("ignore", message="No application metrics to publish")

H = TypeVar("H", bound=Callable[[Any, Any], Any])


def count(metric: Metric, value: float = 1) -> None:
    if not is_metrics_disabled():
        metrics.add_metric(name=metric, unit=MetricUnit.Count, value=value)


def record_ms(metric: Metric, value_ms: float) -> None:
    """A latency measured elsewhere (e.g. from an event's time to now), in milliseconds."""
    if not is_metrics_disabled():
        metrics.add_metric(name=metric, unit=MetricUnit.Milliseconds, value=value_ms)


@contextmanager
def timed(metric: Metric) -> Iterator[None]:
    """Records the block's duration in milliseconds when it completes."""
    start = time.perf_counter()
    yield
    if not is_metrics_disabled():
        elapsed_ms = (time.perf_counter() - start) * 1000
        metrics.add_metric(name=metric, unit=MetricUnit.Milliseconds, value=elapsed_ms)


def with_metrics(handler: H) -> H:
    """Flush the invocation's metrics (and a ColdStart metric) after ``handler``."""
    flushing = metrics.log_metrics(handler, capture_cold_start_metric=True)

    @functools.wraps(handler)
    def wrapper(event: Any, context: Any) -> Any:
        return handler(event, context) if is_metrics_disabled() else flushing(event, context)

    return wrapper  # type: ignore[return-value]
