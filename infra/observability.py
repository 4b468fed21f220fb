"""Dashboards (ingestion, query, projection) and alarms to one SNS topic.

Every alarm names its runbook section (docs/runbook.md, one ``## <kind>`` per ``AlarmKind``);
tests/infra checks that each kind has one.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.nag import hipaa_tier_off
from infra.stages import Stage
from progress import catalog
from progress.catalog import METRICS_NAMESPACE, Metric

FIVE_MINUTES = Duration.minutes(5)
MINUTE = Duration.minutes(1)
API_5XX_RATE = 0.01  # 1% of requests
API_LATENCY_P95_MS = 1000
ITERATOR_AGE_MS = 60_000  # the relay is a minute behind the table


class AlarmKind(StrEnum):
    """One runbook section each: docs/runbook.md ``## <value>``."""

    API_5XX_RATE = "api-5xx-rate"
    API_LATENCY_P95 = "api-latency-p95"
    FUNCTION_ERRORS = "function-errors"
    FUNCTION_THROTTLES = "function-throttles"
    DLQ_DEPTH = "dlq-depth"
    ITERATOR_AGE = "stream-iterator-age"


def app_metric(
    metric: Metric, service: str, statistic: str, period: Duration = MINUTE
) -> cw.Metric:
    """A Powertools (EMF) metric of one function: namespace ``progress``, dimension service."""
    return cw.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name=metric,
        dimensions_map={"service": service},
        statistic=statistic,
        period=period,
    )


def emitters(metric: Metric) -> list[str]:
    """The catalog functions that emit ``metric`` (the handlers name their service after
    their function, so the EMF dimension ``service`` is the function's name)."""
    if metric is Metric.OUTBOX_LAG:  # the outbox relay(s): commit -> published
        return [f.name for f in catalog.FUNCTIONS if f.trigger is catalog.Trigger.STREAM]
    if metric is Metric.PROJECTION_LAG:  # the consumer of progress.statement.stored.v1
        return sorted(
            {r.target for r in catalog.rules_for("progress", "progress.statement.stored.v1")}
        )
    raise KeyError(metric)


class Observability(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: Stage,
        api: apigw.RestApi,
        table: dynamodb.TableV2,
        functions: Mapping[str, lambda_.Function],
        queues: Mapping[str, sqs.IQueue],
        key: kms.IKey | None,
    ) -> None:
        super().__init__(scope, construct_id)
        self._stage = stage
        self.topic = sns.Topic(
            self,
            "Alarms",
            display_name=f"progress {stage.name} alarms",
            master_key=key,
            enforce_ssl=True,
        )
        if key is None:
            hipaa_tier_off(self.topic, stage.name, "HIPAA.Security-SNSEncryptedKMS")
        if stage.alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(stage.alarm_email))
        self._api_alarms(api)
        for name, fn in functions.items():
            self._alarm(
                f"{name}-errors",
                AlarmKind.FUNCTION_ERRORS,
                f"{name} failed (crash, timeout or out of memory).",
                fn.metric_errors(period=FIVE_MINUTES),
                1,
            )
            self._alarm(
                f"{name}-throttles",
                AlarmKind.FUNCTION_THROTTLES,
                f"{name} was throttled.",
                fn.metric_throttles(period=FIVE_MINUTES),
                1,
            )
            if catalog.function(name).trigger is catalog.Trigger.STREAM:
                age = fn.metric("IteratorAge", statistic="Maximum", period=MINUTE)
                self._alarm(
                    f"{name}-iterator-age",
                    AlarmKind.ITERATOR_AGE,
                    f"{name} is more than a minute behind the table stream.",
                    age,
                    ITERATOR_AGE_MS,
                    periods=5,
                    datapoints=3,
                )
        for name, queue in queues.items():
            depth = queue.metric_approximate_number_of_messages_visible(
                statistic="Maximum", period=FIVE_MINUTES
            )
            self._alarm(
                f"{name}-dlq-depth",
                AlarmKind.DLQ_DEPTH,
                f"Messages wait in the dead-letter queue {name}.",
                depth,
                1,
            )
        self._dashboards(api, table, functions, queues)

    def _alarm(
        self,
        construct_id: str,
        kind: AlarmKind,
        what: str,
        metric: cw.IMetric,
        threshold: float,
        *,
        periods: int = 1,
        datapoints: int = 1,
    ) -> None:
        alarm = cw.Alarm(
            self,
            construct_id,
            alarm_name=f"progress-{self._stage.name}-{construct_id}",
            alarm_description=f"{what} Runbook: docs/runbook.md#{kind}",
            metric=metric,
            threshold=threshold,
            evaluation_periods=periods,
            datapoints_to_alarm=datapoints,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(cw_actions.SnsAction(self.topic))
        alarm.add_ok_action(cw_actions.SnsAction(self.topic))

    def _api_alarms(self, api: apigw.RestApi) -> None:
        # 5XXError's Average is the fraction of requests that got a 5xx.
        rate = api.metric_server_error(statistic="Average", period=FIVE_MINUTES)
        self._alarm(
            "api-5xx-rate",
            AlarmKind.API_5XX_RATE,
            f"More than {API_5XX_RATE:.0%} of API requests got a 5xx.",
            rate,
            API_5XX_RATE,
            periods=3,
            datapoints=2,
        )
        p95 = api.metric_latency(statistic="p95", period=FIVE_MINUTES)
        self._alarm(
            "api-latency-p95",
            AlarmKind.API_LATENCY_P95,
            f"API p95 latency above {API_LATENCY_P95_MS} ms.",
            p95,
            API_LATENCY_P95_MS,
            periods=3,
            datapoints=3,
        )

    def _dashboards(
        self,
        api: apigw.RestApi,
        table: dynamodb.TableV2,
        functions: Mapping[str, lambda_.Function],
        queues: Mapping[str, sqs.IQueue],
    ) -> None:
        name = f"progress-{self._stage.name}"
        stored = app_metric(Metric.STATEMENTS_STORED, "xapi_api", "Sum")
        durations = [
            fn.metric_duration(statistic="p95", period=MINUTE, label=f"{n} p95")
            for n, fn in functions.items()
        ]
        ingestion = cw.Dashboard(self, "Ingestion", dashboard_name=f"{name}-ingestion")
        ingestion.add_widgets(
            cw.GraphWidget(
                title="Statements stored per second",
                left=[
                    cw.MathExpression(
                        expression="stored / PERIOD(stored)",
                        using_metrics={"stored": stored},
                        label="statements/s",
                        period=MINUTE,
                    )
                ],
            ),
            cw.GraphWidget(
                title="API requests, 4xx, 5xx (per minute)",
                left=[
                    api.metric_count(period=MINUTE, label="requests"),
                    api.metric_client_error(period=MINUTE, label="4xx"),
                    api.metric_server_error(period=MINUTE, label="5xx"),
                ],
            ),
            cw.GraphWidget(
                title="p95 latency (ms): API Gateway and Lambda",
                left=[
                    api.metric_latency(statistic="p95", period=MINUTE, label="API p95"),
                    api.metric_integration_latency(
                        statistic="p95", period=MINUTE, label="integration p95"
                    ),
                    *durations,
                ],
            ),
            cw.GraphWidget(
                title="Lambda errors and throttles",
                left=[
                    m
                    for n, fn in functions.items()
                    for m in (
                        fn.metric_errors(period=MINUTE, label=f"{n} errors"),
                        fn.metric_throttles(period=MINUTE, label=f"{n} throttles"),
                    )
                ],
            ),
            cw.GraphWidget(
                title="Table: consumed write units, throttled requests",
                left=[table.metric_consumed_write_capacity_units(period=MINUTE)],
                right=[table.metric("WriteThrottleEvents", period=MINUTE, statistic="Sum")],
            ),
        )
        query = cw.Dashboard(self, "Query", dashboard_name=f"{name}-query")
        query.add_widgets(
            cw.GraphWidget(
                title="GET /statements query latency (ms, measured in the handler)",
                left=[
                    app_metric(Metric.STATEMENT_QUERY_LATENCY, "xapi_api", s)
                    for s in ("p50", "p95", "p99")
                ],
            ),
            cw.GraphWidget(
                title="GET latency p95 (ms, API Gateway, every GET resource)",
                left=[
                    cw.Metric(
                        namespace="AWS/ApiGateway",
                        metric_name="Latency",
                        statistic="p95",
                        period=MINUTE,
                        label=f"GET {route.prefix}/{{proxy+}}",
                        dimensions_map={
                            "ApiName": api.rest_api_name,
                            "Stage": self._stage.name,
                            "Method": "GET",
                            "Resource": f"{route.prefix}/{{proxy+}}",
                        },
                    )
                    for route in catalog.ROUTES
                ],
            ),
            cw.GraphWidget(
                title="Table: consumed read units",
                left=[table.metric_consumed_read_capacity_units(period=MINUTE)],
            ),
        )
        projection = cw.Dashboard(self, "Projection", dashboard_name=f"{name}-projection")
        streams = [n for n in functions if catalog.function(n).trigger is catalog.Trigger.STREAM]
        projection.add_widgets(
            cw.GraphWidget(
                title="Outbox lag p95 (ms): commit -> published on the bus",
                left=[
                    app_metric(Metric.OUTBOX_LAG, service, "p95", period=MINUTE)
                    for service in emitters(Metric.OUTBOX_LAG)
                ],
            ),
            cw.GraphWidget(
                title="Projection lag p95 (ms): event time -> projected",
                left=[
                    app_metric(Metric.PROJECTION_LAG, service, "p95", period=MINUTE)
                    for service in emitters(Metric.PROJECTION_LAG)
                ],
            ),
            cw.GraphWidget(
                title="Outbox relay: stream iterator age (ms, max)",
                left=[
                    functions[n].metric(
                        "IteratorAge", statistic="Maximum", period=MINUTE, label=f"{n} max"
                    )
                    for n in streams
                ],
            ),
            cw.GraphWidget(
                title="Dead-letter queues: messages waiting",
                left=[
                    q.metric_approximate_number_of_messages_visible(period=MINUTE, label=n)
                    for n, q in queues.items()
                ],
            ),
        )
