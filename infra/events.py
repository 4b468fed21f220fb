"""The service's event bus, its schema registry (fed from ``schemas/events/``), the rules of
``progress.catalog.RULES``, the schedules of ``Trigger.SCHEDULE`` functions and the dead-letter
queues."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aws_cdk import Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_eventschemas as eventschemas
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as scheduler_targets
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.nag import acknowledge
from infra.stages import Stage
from progress import catalog

REPO = Path(__file__).resolve().parents[1]
SCHEMAS_DIR = REPO / "schemas" / "events"


def schema_files() -> list[Path]:
    """Every event contract; zero files is fine (events arrive with issue 4)."""
    return sorted(SCHEMAS_DIR.glob("*.json"))


DRAFT4 = "http://json-schema.org/draft-04/schema#"
# Keywords newer than Draft 4 that have no faithful Draft 4 spelling: a contract using one fails
# the synthesis here, so the gap is decided on purpose instead of registered silently.
_NOT_IN_DRAFT4 = frozenset(
    [
        "$defs",
        "$ref",
        "$anchor",
        "$dynamicRef",
        "if",
        "then",
        "else",
        "prefixItems",
        "unevaluatedProperties",
        "unevaluatedItems",
        "dependentRequired",
        "dependentSchemas",
        "contains",
        "minContains",
        "maxContains",
        "propertyNames",
        "exclusiveMinimum",
        "exclusiveMaximum",
    ]
)
_SCHEMA_MAPS = frozenset({"properties", "patternProperties", "definitions"})
_SCHEMA_LISTS = frozenset({"allOf", "anyOf", "oneOf"})
_SCHEMAS = frozenset({"items", "additionalItems", "additionalProperties", "not"})


def draft4(schema: dict[str, Any]) -> dict[str, Any]:
    """The registry's form of a contract: EventBridge's schema registry takes JSON Schema
    Draft 4 (or OpenAPI 3) only, while ``schemas/events/`` are Draft 2020-12. ``$schema`` and
    ``$id`` become Draft 4's, ``const: x`` becomes ``enum: [x]``; anything else newer is refused.
    """
    if unsupported := sorted(_NOT_IN_DRAFT4 & schema.keys()):
        raise ValueError(
            f"{unsupported}: no Draft 4 form for the schema registry (infra/events.py)"
        )
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "$schema":
            out[key] = DRAFT4
        elif key == "$id":
            out["id"] = value
        elif key == "const":
            out["enum"] = [value]
        elif key in _SCHEMA_MAPS:
            out[key] = {name: draft4(sub) for name, sub in value.items()}
        elif key in _SCHEMA_LISTS:
            out[key] = [draft4(sub) for sub in value]
        elif key in _SCHEMAS and isinstance(value, dict):
            out[key] = draft4(value)
        else:  # keywords whose values are data, not schemas (enum, required, default, ...)
            out[key] = value
    return out


def schedule_minutes(spec: catalog.Function) -> int:
    """The period of a ``Trigger.SCHEDULE`` function, checked (the catalog leaves it optional)."""
    if spec.schedule_minutes is None or spec.schedule_minutes < 1:
        raise ValueError(f"{spec.name}: a Trigger.SCHEDULE function needs schedule_minutes >= 1")
    return spec.schedule_minutes


def dead_letter_queue(
    scope: Construct,
    construct_id: str,
    name: str,
    key: kms.IKey | None,
    *,
    of_a_function: bool = False,
) -> sqs.Queue:
    """A DLQ: encrypted, TLS-only, messages kept the SQS maximum (14 days) for redrive.

    ``of_a_function``: the queue is a Lambda function's ``DeadLetterConfig``, which cdk-nag
    recognizes as a DLQ by itself (no acknowledgment needed, and test_nag rejects stale ones).
    """
    queue = sqs.Queue(
        scope,
        construct_id,
        queue_name=name,
        encryption=sqs.QueueEncryption.KMS if key else sqs.QueueEncryption.SQS_MANAGED,
        encryption_master_key=key,
        enforce_ssl=True,
        retention_period=Duration.days(14),
    )
    if not of_a_function:
        acknowledge(
            queue,
            ["AwsSolutions-SQS3"],
            "This queue is itself a dead-letter queue (of a stream mapping or an EventBridge "
            "target); what lands here is redriven by an operator (docs/runbook.md), not by "
            "another DLQ.",
        )
    return queue


class Events(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, stage: Stage, key: kms.IKey | None
    ) -> None:
        super().__init__(scope, construct_id)
        self._stage = stage
        self._key = key
        self.bus = events.EventBus(
            self, "Bus", event_bus_name=f"progress-{stage.name}", kms_key=key
        )
        # Events EventBridge could not deliver to any rule target of the bus.
        self.targets_dlq = dead_letter_queue(
            self, "TargetsDlq", f"progress-{stage.name}-event-targets-dlq", key
        )
        registry = eventschemas.CfnRegistry(
            self,
            "Registry",
            registry_name=f"progress-{stage.name}",
            description="Contracts of the events progress publishes (schemas/events/)",
        )
        for path in schema_files():
            name = path.name.removesuffix(".json")
            eventschemas.CfnSchema(
                self,
                "Schema" + re.sub(r"[^A-Za-z0-9]", "", name.title()),
                registry_name=registry.attr_registry_name,
                schema_name=name,
                type="JSONSchemaDraft4",
                content=json.dumps(draft4(json.loads(path.read_text())), indent=2),
            )

    def add_rules(self, functions: Mapping[str, lambda_.IFunction]) -> dict[str, events.Rule]:
        """One Rule per ``catalog.RULES`` entry, delivering to its consumer (retried for a day,
        then into ``targets_dlq``)."""
        rules = {}
        for spec in catalog.RULES:
            rule = events.Rule(
                self,
                spec.name,
                event_bus=self.bus,
                description=spec.description,
                event_pattern=events.EventPattern(
                    source=[spec.source], detail_type=list(spec.detail_types)
                ),
            )
            rule.add_target(
                targets.LambdaFunction(
                    functions[spec.target],
                    dead_letter_queue=self.targets_dlq,
                    retry_attempts=185,  # EventBridge's maximum
                    max_event_age=Duration.hours(24),
                )
            )
            rules[spec.name] = rule
        return rules

    def add_schedules(
        self, functions: Mapping[str, lambda_.IFunction], dlqs: Mapping[str, sqs.IQueue]
    ) -> dict[str, scheduler.Schedule]:
        """One EventBridge Scheduler schedule per ``Trigger.SCHEDULE`` function: ``rate(N
        minutes)``, no flexible window.

        Scheduler rather than a scheduled rule on the default bus: it is what AWS builds
        scheduled invocations on (rules' ``schedule`` is the legacy path and counts against the
        bus' 300 rules), it needs no resource policy on the function (it invokes with a role of
        this stack, confined to this account's default schedule group), and it has its own
        retry policy and DLQ for invocations it cannot deliver. Its retries are bounded by the
        period: a run that cannot start before the next one is due is superseded by it, and
        lands in the function's DLQ (alarmed) instead of piling up behind it.
        """
        stack = Stack.of(self)
        schedules = {}
        for spec in catalog.FUNCTIONS:
            if spec.trigger is not catalog.Trigger.SCHEDULE:
                continue
            period = Duration.minutes(schedule_minutes(spec))
            name = f"progress-{self._stage.name}-{spec.name}"
            group_arn = stack.format_arn(
                service="scheduler", resource="schedule-group", resource_name="default"
            )
            role = iam.Role(
                self,
                f"{spec.name}-scheduler-role",
                assumed_by=iam.ServicePrincipal(
                    "scheduler.amazonaws.com",
                    conditions={
                        "StringEquals": {
                            "aws:SourceAccount": stack.account,
                            "aws:SourceArn": group_arn,
                        }
                    },
                ),
                description=f"EventBridge Scheduler: invoke {name} every {period.to_minutes()} "
                "minutes, dead-letter to its DLQ",
            )
            dlq = dlqs[spec.name]
            if self._key is not None:  # the DLQ is encrypted under the messaging key
                self._key.grant(role, "kms:Decrypt", "kms:GenerateDataKey")
            schedules[spec.name] = scheduler.Schedule(
                self,
                f"{spec.name}-schedule",
                schedule_name=name,
                description=spec.description,
                schedule=scheduler.ScheduleExpression.rate(period),
                target=scheduler_targets.LambdaInvoke(
                    functions[spec.name],
                    role=role,
                    dead_letter_queue=dlq,
                    retry_attempts=3,
                    max_event_age=period,
                ),
            )
            function = functions[spec.name].node.default_child
            assert isinstance(function, lambda_.CfnFunction)
            acknowledge(
                role,
                [f"AwsSolutions-IAM5[Resource::<{stack.get_logical_id(function)}.Arn>:*]"],
                "CDK's grantInvoke for the schedule's target: lambda:InvokeFunction on this one "
                "function, its ARN and its versions/aliases (ARN:*); the schedule invokes the "
                "unqualified ARN only and no other function is reachable.",
            )
            acknowledge(
                role,
                ["HIPAA.Security-IAMNoInlinePolicy"],
                "CDK's policy of this scheduler role alone: invoke the one scheduled function "
                "and send to its dead-letter queue; a managed policy would be shared, not "
                "narrower.",
            )
        return schedules
