"""One stage of the service: every function of ``progress.catalog`` with its wiring and grants."""

from __future__ import annotations

import os

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.api import Api
from infra.events import Events, dead_letter_queue
from infra.lambdas import LambdaFactory, core_layer
from infra.nag import acknowledge
from infra.observability import Observability
from infra.stages import Stage
from infra.storage import Data, Keys, ReplicaKeyStack
from infra.workflows import Workflows
from progress import catalog
from progress.adapters.dynamodb.table import credential_pk
from progress.catalog import Access, Trigger
from progress.settings import (
    ENV_BACKEND,
    ENV_CONSISTENCY_LAG_MS,
    ENV_CURSOR_SECRET_ARN,
    ENV_POWERTOOLS_METRICS_NAMESPACE,
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
        self.api = Api(self, "Api", stage=stage, functions=self.functions, logs_key=keys.logs)
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
        CfnOutput(self, "TableName", value=self.data.table.table_name)
        CfnOutput(self, "EventBusName", value=self.events.bus.event_bus_name)
        for name, bucket in self.data.buckets.items():
            CfnOutput(self, f"{name.capitalize()}Bucket", value=bucket.bucket_name)
        self._acknowledge_stack_findings(stage)

    def _build(
        self, factory: LambdaFactory, spec: catalog.Function, keys: Keys
    ) -> lambda_.Function:
        """The factory's function plus what its trigger needs."""
        if spec.trigger is Trigger.EVENT:  # asynchronous: failures after retries go to a DLQ
            dlq = self._dlq(spec, keys)
            fn = factory.build(spec, dead_letter_queue=dlq, retry_attempts=2)
            if keys.messaging is not None:  # Lambda sends to the DLQ with the function's role
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
            fn.add_event_source(
                sources.DynamoEventSource(
                    self.data.table,
                    starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                    batch_size=100,
                    bisect_batch_on_error=True,
                    report_batch_item_failures=True,
                    retry_attempts=10,
                    max_record_age=Duration.hours(24),
                    on_failure=sources.SqsDlq(dlq),
                )
            )
        return fn

    def _dlq(self, spec: catalog.Function, keys: Keys) -> sqs.Queue:
        name = f"progress-{self._stage.name}-{spec.name}-dlq"
        self.queues[spec.name] = queue = dead_letter_queue(self, name, name, keys.messaging)
        return queue

    def _grant(self, access: Access, fn: lambda_.Function) -> None:
        """The narrowest grant per ``catalog.Access``."""
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
        else:  # Access.PUBLISH_EVENTS
            self.events.bus.grant_put_events_to(fn)
            return
        if key is not None:
            fn.add_to_role_policy(
                iam.PolicyStatement(
                    actions=kms_actions, resources=[key.key_arn], conditions=via_dynamodb
                )
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
