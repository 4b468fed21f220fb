"""Step Functions state machines: one per ``progress.catalog.STATE_MACHINES`` entry, loaded from
``statemachines/<name>.asl.json`` with its ``${...}`` placeholders substituted."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.nag import acknowledge, hipaa_tier_off, role_dependency_is_implied
from infra.stages import Stage
from progress import catalog

REPO = Path(__file__).resolve().parents[1]
STATEMACHINES_DIR = REPO / "statemachines"


def substitutions(
    spec: catalog.StateMachine, function_arns: Mapping[str, str], table_name: str, bus_name: str
) -> dict[str, str]:
    """The ``${...}`` values of a definition (the convention of ``catalog.StateMachine``)."""
    values = {f"{name}_arn": function_arns[name] for name in spec.tasks}
    return {**values, "table_name": table_name, "event_bus_name": bus_name}


class Workflows(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: Stage,
        functions: Mapping[str, lambda_.IFunction],
        table_name: str,
        bus: events.IEventBus,
        logs_key: kms.IKey | None,
    ) -> None:
        super().__init__(scope, construct_id)
        arns = {name: fn.function_arn for name, fn in functions.items()}
        self.machines: dict[str, sfn.StateMachine] = {}
        for spec in catalog.STATE_MACHINES:
            log_group = logs.LogGroup(
                self,
                f"{spec.name}-logs",
                # Step Functions' documented prefix: keeps the logs resource policy small.
                log_group_name=f"/aws/vendedlogs/states/progress-{stage.name}-{spec.name}",
                retention=stage.retention,
                encryption_key=logs_key,
                removal_policy=stage.removal_policy,
            )
            if logs_key is None:
                hipaa_tier_off(log_group, stage.name, "HIPAA.Security-CloudWatchLogGroupEncrypted")
            machine = sfn.StateMachine(
                self,
                spec.name,
                state_machine_name=f"progress-{stage.name}-{spec.name}",
                comment=spec.description,
                # Inline (not an S3 asset): the template shows it and cfn-lint checks it.
                definition_body=sfn.DefinitionBody.from_string(
                    (STATEMACHINES_DIR / spec.definition).read_text()
                ),
                definition_substitutions=substitutions(spec, arns, table_name, bus.event_bus_name),
                tracing_enabled=True,
                logs=sfn.LogOptions(
                    destination=log_group,
                    level=sfn.LogLevel.ALL,
                    # Inputs and outputs may name learners: on the HIPAA tier they stay out.
                    include_execution_data=not stage.hipaa,
                ),
            )
            cfn = machine.node.default_child
            assert isinstance(cfn, sfn.CfnStateMachine)
            role_dependency_is_implied(cfn)
            # The unqualified ARNs the definition names (grant_invoke would add every version).
            machine.add_to_role_policy(
                iam.PolicyStatement(
                    actions=["lambda:InvokeFunction"],
                    resources=[functions[name].function_arn for name in spec.tasks],
                )
            )
            acknowledge(
                machine.role,
                ["AwsSolutions-IAM5[Resource::*]"],
                "X-Ray tracing and CloudWatch Logs log delivery (CreateLogDelivery and "
                "friends) support no resource-level permissions; resource * is the only form.",
            )
            acknowledge(
                machine.role,
                ["HIPAA.Security-IAMNoInlinePolicy"],
                "CDK's per-state-machine policy, attached to this one role and holding only "
                "its log delivery, tracing and task invocations.",
            )
            self.machines[spec.name] = machine
