"""One stage of the service: every function of ``progress.catalog`` with its wiring and grants."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from aws_cdk import Aws, CfnOutput, CfnResource, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.api import Api
from infra.events import Events, dead_letter_queue, schedule_minutes
from infra.lambdas import LambdaFactory, core_layer
from infra.nag import acknowledge
from infra.observability import Observability
from infra.stages import Stage
from infra.storage import Data, Keys, ReplicaKeyStack
from infra.workflows import Workflows
from progress import catalog
from progress.adapters.dynamodb.table import OUTBOX_ATTRIBUTE, credential_pk
from progress.catalog import Access, Trigger
from progress.settings import (
    ENV_BACKEND,
    ENV_CERTIFICATE_BUCKET,
    ENV_CONSISTENCY_LAG_MS,
    ENV_CURSOR_SECRET_ARN,
    ENV_DEAD_LETTER_QUEUES,
    ENV_EVENT_BUS_NAME,
    ENV_EXPORT_BUCKET,
    ENV_POWERTOOLS_METRICS_NAMESPACE,
    ENV_PUBLIC_BASE_URL,
    ENV_TABLE_NAME,
)

# Every item action the DynamoDB adapters use (TransactWriteItems is authorized as its
# Put/Update/Delete/ConditionCheck parts). No Scan: backfills run from the admin CLI.
TABLE_DATA_ACTIONS = sorted(
    f"dynamodb:{action}"
    for action in (
        "BatchGetItem",
        "BatchWriteItem",
        "ConditionCheckItem",
        "DeleteItem",
        "GetItem",
        "PutItem",
        "Query",
        "UpdateItem",
    )
)

# The certificate documents (progress.adapters.blobs.S3BlobStore: put and get, nothing else).
# ListBucket, on the bucket and not its objects, makes S3 answer NoSuchKey (404) rather than
# AccessDenied (403) for a key that does not exist, which is how the store reports "absent".
CERTIFICATE_OBJECT_ACTIONS = ["s3:GetObject", "s3:PutObject"]
# Export files (progress.adapters.blobs.S3ExportFiles), keys ``<tenant hash>/exports/<id>.<ext>``.
# The exporter writes them in multipart uploads (CreateMultipartUpload, UploadPart and
# CompleteMultipartUpload are all authorized as s3:PutObject), aborts a failed one, and reads a
# resumed file back to hash it; ListBucket as for certificates (404, not 403, when absent).
EXPORT_OBJECT_ACTIONS = ["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"]
# Whoever presigns a download URL lends it their identity: the URL can do what the signer may.
EXPORT_LINK_ACTIONS = ["s3:GetObject"]
EXPORT_KEYS = "*/exports/*"

# The relay's event source mapping on the table stream (NEW_AND_OLD_IMAGES, kept 24 h by
# DynamoDB). Nothing may be dropped silently:
# * TRIM_HORIZON: a new or re-created mapping starts at the oldest record still in the stream,
#   never at "now", so no committed outbox row is skipped.
# * Bounded retries + bisect: a failing batch is halved on each error (100 -> 1 record in 7
#   halvings), so a poison record is isolated, and after RELAY_RETRY_ATTEMPTS attempts its
#   batch's pointer (shard, first/last sequence number) goes to the on-failure SQS queue
#   (alarmed) instead of blocking its shard -- every later change of those items -- for hours.
#   A bus outage that outlasts the attempts (each PutEvents is already retried by the SDK) ends
#   up there too: replayable, not lost.
# * A bounded record age, well under the stream's 24 h: with infinite retries and age (-1),
#   Lambda "retries until the record expires", and an expired record leaves the stream without
#   reaching any destination. With 12 h, a record the relay has not got to (disabled, throttled,
#   or behind a long backlog; the iterator-age alarm fires after a minute) is given up on while
#   it still exists: its pointer goes to the on-failure queue, leaving at least 12 h to replay
#   it from the stream (docs/runbook.md, "dlq-depth").
# * ReportBatchItemFailures: the relay returns the first record it could not publish and every
#   later one; Lambda retries from there, so earlier records are not published again.
# * Parallelization 2: two concurrent batches per shard. Records of one item (one partition
#   key) stay in order, the order the outbox needs; more would only multiply PutEvents calls on
#   a path that is not CPU-bound.
RELAY_BATCH_SIZE = 100
RELAY_RETRY_ATTEMPTS = 10
RELAY_MAX_RECORD_AGE = Duration.hours(12)
RELAY_PARALLELIZATION = 2
# EVENT consumers: Lambda retries a failed asynchronous invocation twice, then the event goes
# to the consumer's own DLQ (progress-admin dlq redrive).
CONSUMER_RETRY_ATTEMPTS = 2


def outbox_filter() -> Mapping[str, Any]:
    """Only inserted or modified items whose new image has outbox rows invoke the relay.

    ``OUTBOX_ATTRIBUTE`` (table.py) is a List of Binary, written in the same transaction as the
    change it announces; the relay (``progress.adapters.dynamodb.stream``) still skips a MODIFY
    whose outbox equals the old image's, which a filter cannot compare.

    Lambda's ``exists`` matches leaf nodes only ("Using the Exists operator", Lambda developer
    guide, DynamoDB event filtering): ``{"outbox": [{"exists": true}]}`` never matches a List,
    so the pattern descends to the Binary elements of the List. An item without the attribute,
    or with an empty list, does not match; neither do REMOVE records (no new image).
    """
    return lambda_.FilterCriteria.filter(
        {
            "eventName": lambda_.FilterRule.or_("INSERT", "MODIFY"),
            "dynamodb": {"NewImage": {OUTBOX_ATTRIBUTE: {"L": {"B": lambda_.FilterRule.exists()}}}},
        }
    )


# A function DLQ catches failed asynchronous invocations only; these triggers invoke otherwise.
_NO_FUNCTION_DLQ = {
    Trigger.API: (
        "Invoked synchronously by API Gateway: a failure returns 5xx to the client, who "
        "retries (xAPI statement ids make retries idempotent), and raises the 5xx alarm."
    ),
    Trigger.AUTHORIZER: (
        "Invoked synchronously by API Gateway: a failure returns 500 to the client, who "
        "retries, and raises the authorizer's error alarm."
    ),
    Trigger.STREAM: (
        "Invoked by the stream's event source mapping: failed batches are bisected, retried, "
        "then sent to the mapping's own on-failure SQS queue (alarmed), not to a function DLQ."
    ),
    Trigger.TASK: (
        "Invoked synchronously by Step Functions: the state machine's Retry/Catch handle a "
        "failure and its execution history keeps it; there is no asynchronous event to keep."
    ),
}


class ServiceStack(Stack):
    def __init__(self, scope: Construct, stage: Stage) -> None:
        account = stage.account or os.environ.get("CDK_DEFAULT_ACCOUNT")
        super().__init__(
            scope,
            stage.stack_name,
            env={"account": account, "region": stage.region},
            description=f"progress xAPI LRS, stage {stage.name}",
            termination_protection=stage.deletion_protection,
        )
        self._stage = stage
        for region in stage.replica_regions:
            self.add_stack_dependency(ReplicaKeyStack(scope, stage, region, account))
        keys = Keys(self, "Keys", stage=stage)
        self.data = Data(self, "Data", stage=stage, keys=keys)
        self.events = Events(self, "Events", stage=stage, key=keys.messaging)
        factory = LambdaFactory(
            self,
            "Functions",
            stage=stage,
            layer=core_layer(self),
            environment={
                ENV_BACKEND: "dynamodb",
                ENV_TABLE_NAME: self.data.table.table_name,
                # The ARN, not the value: functions that sign cursors read it at first use, so
                # the key is never in the function configuration (progress.bootstrap).
                ENV_CURSOR_SECRET_ARN: self.data.cursor_secret.secret_arn,
                ENV_CONSISTENCY_LAG_MS: str(stage.consistency_lag_ms),
                ENV_POWERTOOLS_METRICS_NAMESPACE: catalog.METRICS_NAMESPACE,
            },
            logs_key=keys.logs,
        )
        self.queues: dict[str, sqs.IQueue] = {"event-targets": self.events.targets_dlq}
        self.functions: dict[str, lambda_.Function] = {}
        for spec in catalog.FUNCTIONS:
            fn = self._build(factory, spec, keys)
            for access in sorted(spec.access):
                self._grant(access, fn)
            self.functions[spec.name] = fn
        self.rules = self.events.add_rules(self.functions)
        self.schedules = self.events.add_schedules(self.functions, self.queues)
        self.api = Api(self, "Api", stage=stage, functions=self.functions, logs_key=keys.logs)
        self.public_base_url = self._public_base_url(stage)
        for spec in catalog.FUNCTIONS:
            # Links the service hands out: certificate verification, transcripts, downloads.
            if Access.CERTIFICATES in spec.access or spec.trigger is Trigger.API:
                self.functions[spec.name].add_environment(ENV_PUBLIC_BASE_URL, self.public_base_url)
        self.workflows = Workflows(
            self,
            "Workflows",
            stage=stage,
            functions=self.functions,
            table_name=self.data.table.table_name,
            bus=self.events.bus,
            logs_key=keys.logs,
        )
        Observability(
            self,
            "Observability",
            stage=stage,
            api=self.api.rest_api,
            table=self.data.table,
            functions=self.functions,
            queues=self.queues,
            key=keys.messaging,
        )
        CfnOutput(self, "XapiEndpoint", value=self.api.rest_api.url_for_path("/xapi"))
        CfnOutput(
            self,
            "PublicBaseUrl",
            value=self.public_base_url,
            description=f"{ENV_PUBLIC_BASE_URL}: where certificate verification links point",
        )
        CfnOutput(self, "TableName", value=self.data.table.table_name)
        CfnOutput(self, "EventBusName", value=self.events.bus.event_bus_name)
        CfnOutput(
            self,
            "DeadLetterQueues",
            value=self.to_json_string(
                {name: self.queues[name].queue_url for name in consumer_names()}
            ),
            description=f"{ENV_DEAD_LETTER_QUEUES} of progress-admin dlq list|redrive: "
            "consumer -> URL of its dead-letter queue (docs/runbook.md, dlq-depth)",
        )
        for name, bucket in self.data.buckets.items():
            CfnOutput(self, f"{name.capitalize()}Bucket", value=bucket.bucket_name)
        self._acknowledge_stack_findings(stage)

    def _public_base_url(self, stage: Stage) -> str:
        """The stage's custom domain if it has one, else the API's execute-api URL, spelled from
        the RestApi id and the stage *name*: ``rest_api.url`` would reference the deployment
        stage, which depends on every method, which depends on the functions (a cycle)."""
        if stage.public_base_url:
            return stage.public_base_url.rstrip("/")
        api_id = self.api.rest_api.rest_api_id
        return f"https://{api_id}.execute-api.{self.region}.{Aws.URL_SUFFIX}/{stage.name}"

    def _build(
        self, factory: LambdaFactory, spec: catalog.Function, keys: Keys
    ) -> lambda_.Function:
        """The factory's function plus what its trigger needs."""
        if spec.trigger is Trigger.EVENT:  # asynchronous: failures after retries go to a DLQ
            dlq = self._dlq(spec, keys)
            fn = factory.build(spec, dead_letter_queue=dlq, retry_attempts=CONSUMER_RETRY_ATTEMPTS)
            if keys.messaging is not None:  # Lambda sends to the DLQ with the function's role
                keys.messaging.grant(fn, "kms:Decrypt", "kms:GenerateDataKey")
            return fn
        if spec.trigger is Trigger.SCHEDULE:
            # EventBridge Scheduler invokes asynchronously: a failed run is retried while it is
            # still the current one (max event age = the period), then lands in the DLQ; the
            # next run sweeps what this one missed. The schedule itself: Events.add_schedules.
            period = Duration.minutes(schedule_minutes(spec))
            dlq = self._dlq(spec, keys)
            fn = factory.build(
                spec,
                dead_letter_queue=dlq,
                retry_attempts=CONSUMER_RETRY_ATTEMPTS,
                max_event_age=period,
            )
            if keys.messaging is not None:
                keys.messaging.grant(fn, "kms:Decrypt", "kms:GenerateDataKey")
            return fn
        fn = factory.build(spec)
        if spec.trigger is Trigger.STREAM:  # the outbox relay
            dlq = self._dlq(spec, keys)
            if keys.messaging is not None and fn.role is not None:
                acknowledge(
                    fn.role,
                    [
                        "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
                        "AwsSolutions-IAM5[Action::kms:ReEncrypt*]",
                    ],
                    "CDK's grant for the mapping's on-failure queue, which is encrypted under "
                    "the messaging key: the KMS action families SQS uses to encrypt a message, "
                    "on that one key's ARN only.",
                )
            # Grants stream read on the table's stream ARN and kms:Decrypt on its key.
            fn.add_event_source(
                sources.DynamoEventSource(
                    self.data.table,
                    starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                    batch_size=RELAY_BATCH_SIZE,
                    bisect_batch_on_error=True,
                    report_batch_item_failures=True,
                    retry_attempts=RELAY_RETRY_ATTEMPTS,
                    max_record_age=RELAY_MAX_RECORD_AGE,
                    parallelization_factor=RELAY_PARALLELIZATION,
                    filters=[outbox_filter()],
                    on_failure=sources.SqsDlq(dlq),
                )
            )
        return fn

    def _dlq(self, spec: catalog.Function, keys: Keys) -> sqs.Queue:
        name = f"progress-{self._stage.name}-{spec.name}-dlq"
        queue = dead_letter_queue(
            self,
            name,
            name,
            keys.messaging,
            of_a_function=spec.trigger in (Trigger.EVENT, Trigger.SCHEDULE),
        )
        self.queues[spec.name] = queue
        return queue

    def _grant(self, access: Access, fn: lambda_.Function) -> None:
        """The narrowest grant per ``catalog.Access``, and the settings that go with it."""
        table, key = self.data.table, self.data.table.encryption_key
        # The table key is usable by the function only through DynamoDB.
        via_dynamodb = {"StringEquals": {"kms:ViaService": f"dynamodb.{self.region}.amazonaws.com"}}
        if access is Access.TABLE_DATA:
            # Items of every tenant: a multi-tenant function cannot be confined with
            # dynamodb:LeadingKeys (the tenant is known only after authentication, per request).
            fn.add_to_role_policy(
                iam.PolicyStatement(actions=TABLE_DATA_ACTIONS, resources=[table.table_arn])
            )
            kms_actions = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"]
        elif access is Access.CREDENTIAL_LOOKUP:
            fn.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["dynamodb:GetItem"],
                    resources=[table.table_arn],
                    conditions={
                        "ForAllValues:StringLike": {"dynamodb:LeadingKeys": [credential_pk("*")]}
                    },
                )
            )
            kms_actions = ["kms:Decrypt", "kms:DescribeKey"]
        elif access is Access.CURSOR_SECRET:
            self.data.cursor_secret.grant_read(fn)
            return
        elif access is Access.DEAD_LETTERS:
            # The consumers' DLQs only (receive, change visibility, delete; their key's decrypt).
            names = consumer_names()
            for name in names:
                self.queues[name].grant_consume_messages(fn)
            fn.add_environment(
                ENV_DEAD_LETTER_QUEUES,
                self.to_json_string({name: self.queues[name].queue_url for name in names}),
            )
            return
        elif access is Access.PUBLISH_EVENTS:
            self.events.bus.grant_put_events_to(fn)  # events:PutEvents on this bus only
            fn.add_environment(ENV_EVENT_BUS_NAME, self.events.bus.event_bus_name)
            return
        elif access in (Access.EXPORTS, Access.EXPORT_LINKS):
            self._grant_exports(fn, write=access is Access.EXPORTS)
            return
        else:  # Access.CERTIFICATES
            self._grant_certificates(fn)
            return
        if key is not None:
            fn.add_to_role_policy(
                iam.PolicyStatement(
                    actions=kms_actions, resources=[key.key_arn], conditions=via_dynamodb
                )
            )

    def _grant_exports(self, fn: lambda_.Function, *, write: bool) -> None:
        bucket = self.data.buckets["exports"]
        actions = EXPORT_OBJECT_ACTIONS if write else EXPORT_LINK_ACTIONS
        fn.add_to_role_policy(
            iam.PolicyStatement(actions=actions, resources=[bucket.arn_for_objects(EXPORT_KEYS)])
        )
        if write:
            fn.add_to_role_policy(
                iam.PolicyStatement(actions=["s3:ListBucket"], resources=[bucket.bucket_arn])
            )
        fn.add_environment(ENV_EXPORT_BUCKET, bucket.bucket_name)
        if bucket.encryption_key is not None:  # HIPAA tier: the data key, only through S3
            fn.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["kms:Decrypt", "kms:GenerateDataKey"] if write else ["kms:Decrypt"],
                    resources=[bucket.encryption_key.key_arn],
                    conditions={
                        "StringEquals": {"kms:ViaService": f"s3.{self.region}.amazonaws.com"}
                    },
                )
            )
        assert fn.role is not None
        acknowledge(
            fn.role,
            [
                f"AwsSolutions-IAM5[Resource::<{self.get_logical_id(_cfn(bucket))}.Arn>/"
                f"{EXPORT_KEYS}]"
            ],
            "Export files are objects <tenant hash>/exports/<export id>.<ndjson|csv>, created "
            "per export request: no fixed list of keys exists to grant. "
            + (
                "Put (multipart), Get and AbortMultipartUpload only (no delete, no ACLs), "
                if write
                else "GetObject only, to presign download URLs (no write, no list), "
            )
            + "under the exports/ keys of this one bucket.",
        )

    def _grant_certificates(self, fn: lambda_.Function) -> None:
        bucket = self.data.buckets["certificates"]
        fn.add_to_role_policy(
            iam.PolicyStatement(
                actions=CERTIFICATE_OBJECT_ACTIONS, resources=[bucket.arn_for_objects("*")]
            )
        )
        fn.add_to_role_policy(
            iam.PolicyStatement(actions=["s3:ListBucket"], resources=[bucket.bucket_arn])
        )
        fn.add_environment(ENV_CERTIFICATE_BUCKET, bucket.bucket_name)
        if bucket.encryption_key is not None:  # HIPAA tier: the data key, only through S3
            fn.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["kms:Decrypt", "kms:GenerateDataKey"],
                    resources=[bucket.encryption_key.key_arn],
                    conditions={
                        "StringEquals": {"kms:ViaService": f"s3.{self.region}.amazonaws.com"}
                    },
                )
            )
        assert fn.role is not None
        acknowledge(
            fn.role,
            [f"AwsSolutions-IAM5[Resource::<{self.get_logical_id(_cfn(bucket))}.Arn>/*]"],
            "Certificate documents are objects <tenant hash>/<certificate UUIDv5>/v<version>"
            ".pdf|.json, created as certificates are issued or revised: no fixed list of keys "
            "exists to grant. GetObject/PutObject only (no delete, no ACLs), in this one bucket.",
        )

    def _acknowledge_stack_findings(self, stage: Stage) -> None:
        """Findings that hold for every function or for the whole stage, with their reasons."""
        for name, fn in self.functions.items():
            spec = catalog.function(name)
            role = fn.role
            assert role is not None
            acknowledge(
                role,
                ["AwsSolutions-IAM5[Resource::*]"],
                "X-Ray PutTraceSegments/PutTelemetryRecords (active tracing) support no "
                "resource-level permissions; resource * is the only form AWS accepts.",
            )
            acknowledge(
                role,
                ["HIPAA.Security-IAMNoInlinePolicy"],
                "The flagged policy is CDK's per-function policy, attached to exactly one role "
                "and holding only that function's least-privilege grants (asserted by "
                "tests/infra): a shared managed policy would widen it, not narrow it.",
            )
            acknowledge(
                fn,
                ["AwsSolutions-L1"],
                "python3.12 on purpose: the layer's wheels are built for it (infra/lambdas.py "
                "PYTHON_VERSION) and it is the runtime closest to the tested Python (CI runs "
                "3.11; requires-python >= 3.11). Supported by Lambda until 2028; moving up is a "
                "deliberate change of RUNTIME and PYTHON_VERSION together.",
            )
            acknowledge(
                fn,
                ["HIPAA.Security-LambdaInsideVPC"],
                "The functions reach only AWS APIs (DynamoDB, KMS, Secrets Manager, X-Ray, "
                "CloudWatch) over TLS with IAM auth and no private network resource exists; "
                "a VPC would add NAT or endpoints without reducing exposure.",
            )
            if stage.reserved_concurrency.get(name) is None:
                acknowledge(
                    fn,
                    ["HIPAA.Security-LambdaConcurrency"],
                    f"Reserved concurrency is opt-in per stage (infra/stages.py "
                    f"reserved_concurrency): reserving it in {stage.name} would take capacity "
                    "from the account pool, and new accounts start with too little to reserve; "
                    "API Gateway stage throttling bounds load instead.",
                )
            if spec.trigger in _NO_FUNCTION_DLQ:
                acknowledge(fn, ["HIPAA.Security-LambdaDLQ"], _NO_FUNCTION_DLQ[spec.trigger])


def _cfn(construct: Construct) -> CfnResource:
    resource = construct.node.default_child
    assert isinstance(resource, CfnResource)
    return resource


def consumer_names() -> list[str]:
    """The functions rules deliver to: each has its own DLQ, redriven by progress-admin."""
    return [spec.name for spec in catalog.FUNCTIONS if spec.trigger is Trigger.EVENT]
