"""Ready for issue 4 (events) and the GDPR saga: with a catalog shaped like theirs -- an outbox
relay on the table stream, a consumer behind a rule, a state machine with a Lambda task, an event
schema -- the same stack code wires each of them, and the gates still pass.

The preview functions exist only in a temporary folder: nothing here is a real handler.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

import infra.events
import infra.lambdas
import infra.workflows
from infra.stages import STAGES
from progress import catalog
from progress.catalog import Access, Function, Rule, StateMachine, Trigger
from tests.infra.conftest import Assembly, cfn_lint, synthesize
from tests.infra.test_divergence import functions_of, refers_to

pytestmark = pytest.mark.infra

REPO = Path(__file__).resolve().parents[2]
PREVIEW_FUNCTIONS = (
    Function("outbox_relay", Trigger.STREAM, frozenset({Access.PUBLISH_EVENTS}), "relay"),
    Function("projection", Trigger.EVENT, frozenset({Access.TABLE_DATA}), "projection"),
    Function("erase_learner", Trigger.TASK, frozenset({Access.TABLE_DATA}), "erasure step"),
)
RULE = Rule(
    "completions-to-projection",
    "progress",
    ("progress.completion.recorded.v1",),
    "projection",
    "completions feed the projection",
)
MACHINE = StateMachine("gdpr_erasure", ("erase_learner",), "erase a learner")
ASL = {
    "StartAt": "Erase",
    "States": {
        "Erase": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "${erase_learner_arn}", "Payload.$": "$"},
            "End": True,
        }
    },
}
SCHEMA = {"$schema": "http://json-schema.org/draft-04/schema#", "type": "object"}
PROD = next(s for s in STAGES if s.hipaa)


@pytest.fixture(scope="module")
def preview(tmp_path_factory: pytest.TempPathFactory) -> Assembly:
    root = tmp_path_factory.mktemp("preview")
    functions = root / "functions"
    for spec in catalog.FUNCTIONS:
        (functions / spec.name).parent.mkdir(parents=True, exist_ok=True)
        (functions / spec.name).symlink_to(REPO / "functions" / spec.name)
    for spec in PREVIEW_FUNCTIONS:
        (functions / spec.name).mkdir()
        (functions / spec.name / "handler.py").write_text("def lambda_handler(e, c): ...\n")
    (root / "statemachines").mkdir()
    (root / "statemachines" / MACHINE.definition).write_text(json.dumps(ASL))
    (root / "schemas").mkdir()
    (root / "schemas" / "progress.completion.recorded.v1.json").write_text(json.dumps(SCHEMA))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(catalog, "FUNCTIONS", catalog.FUNCTIONS + PREVIEW_FUNCTIONS)
        patch.setattr(catalog, "RULES", (RULE,))
        patch.setattr(catalog, "STATE_MACHINES", (MACHINE,))
        patch.setattr(infra.lambdas, "FUNCTIONS_DIR", functions)
        patch.setattr(infra.workflows, "STATEMACHINES_DIR", root / "statemachines")
        patch.setattr(infra.events, "SCHEMAS_DIR", root / "schemas")
        return synthesize(root / "cdk.out")


def resource(preview: Assembly, kind: str, **where: Any) -> dict[str, Any]:
    found: dict[str, Any]
    (found,) = [
        r["Properties"]
        for r in preview.resources(PROD.stack_name, kind).values()
        if all(json.dumps(v) in json.dumps(r["Properties"].get(k)) for k, v in where.items())
    ]
    return found


def test_the_preview_passes_cdk_nag_and_cfn_lint(preview: Assembly) -> None:
    report = "\n".join(f"{finding} at {path}" for finding, path in preview.findings)
    assert not preview.findings, report
    problems = [p for stack, tpl in preview.templates.items() for p in cfn_lint(stack, tpl)]
    assert not problems, "\n".join(problems)


def test_the_relay_reads_the_stream_in_bisected_batches_with_a_dlq(preview: Assembly) -> None:
    template = preview.template(PROD.stack_name)
    relay = functions_of(template)["outbox_relay"]
    Template.from_json(template).has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "FunctionName": {"Ref": relay},
            "EventSourceArn": {"Fn::GetAtt": [Match.string_like_regexp("^DataTable"), "StreamArn"]},
            "StartingPosition": "TRIM_HORIZON",
            "BisectBatchOnFunctionError": True,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "DestinationConfig": {"OnFailure": {"Destination": Match.any_value()}},
        },
    )
    stmts = json.dumps(
        [
            p
            for p in preview.resources(PROD.stack_name, "AWS::IAM::Policy").values()
            if refers_to(
                p["Properties"]["Roles"],
                template["Resources"][relay]["Properties"]["Role"]["Fn::GetAtt"][0],
            )
        ]
    )
    assert "events:PutEvents" in stmts
    assert "dynamodb:PutItem" not in stmts


def test_a_rule_delivers_to_its_consumer_whose_failures_reach_its_own_dlq(
    preview: Assembly,
) -> None:
    template = preview.template(PROD.stack_name)
    consumer = functions_of(template)["projection"]
    rule = resource(preview, "AWS::Events::Rule")
    assert rule["EventPattern"] == {
        "source": ["progress"],
        "detail-type": ["progress.completion.recorded.v1"],
    }
    (target,) = rule["Targets"]
    assert refers_to(target["Arn"], consumer)
    assert "DeadLetterConfig" in target
    props = template["Resources"][consumer]["Properties"]
    assert "DeadLetterConfig" in props
    role = props["Role"]["Fn::GetAtt"][0]
    policies = [
        p
        for p in preview.resources(PROD.stack_name, "AWS::IAM::Policy").values()
        if refers_to(p["Properties"]["Roles"], role)
    ]
    assert "kms:GenerateDataKey" in json.dumps(policies)  # to write into its encrypted DLQ
    names = {
        q["Properties"]["QueueName"]
        for q in preview.resources(PROD.stack_name, "AWS::SQS::Queue").values()
    }
    assert names == {
        f"progress-prod-{n}-dlq" for n in ("event-targets", "projection", "outbox_relay")
    }


def test_a_state_machine_gets_its_task_arns_substituted_logging_and_tracing(
    preview: Assembly,
) -> None:
    template = preview.template(PROD.stack_name)
    machine = resource(preview, "AWS::StepFunctions::StateMachine")
    assert json.loads(machine["DefinitionString"]) == ASL
    assert set(machine["DefinitionSubstitutions"]) == {
        "erase_learner_arn",
        "table_name",
        "event_bus_name",
    }
    erase = functions_of(template)["erase_learner"]
    assert machine["DefinitionSubstitutions"]["erase_learner_arn"] == {"Fn::GetAtt": [erase, "Arn"]}
    assert machine["TracingConfiguration"] == {"Enabled": True}
    assert machine["LoggingConfiguration"]["Level"] == "ALL"
    assert machine["LoggingConfiguration"]["IncludeExecutionData"] is False  # HIPAA tier


def test_the_schema_is_registered_and_every_new_piece_is_alarmed(preview: Assembly) -> None:
    schema = resource(preview, "AWS::EventSchemas::Schema")
    assert schema["SchemaName"] == "progress.completion.recorded.v1"
    assert json.loads(schema["Content"]) == SCHEMA
    alarms = {
        a["Properties"]["AlarmName"]
        for a in preview.resources(PROD.stack_name, "AWS::CloudWatch::Alarm").values()
    }
    assert {
        "progress-prod-outbox_relay-iterator-age",
        "progress-prod-projection-dlq-depth",
        "progress-prod-outbox_relay-dlq-depth",
        "progress-prod-event-targets-dlq-depth",
    } <= alarms
