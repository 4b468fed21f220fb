"""Ready for the GDPR saga: with a catalog shaped like it -- a state machine with a Lambda task
next to issue 4's relay, consumers, sweeper and event schemas -- the same stack code wires it,
and the gates still pass. (Issue 4's pieces are real now: tests/infra/test_templates.py checks
them on the real catalog.)

The preview function exists only in a temporary folder: nothing here is a real handler.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import infra.events
import infra.lambdas
import infra.workflows
from infra.stages import STAGES
from progress import catalog
from progress.catalog import Access, Function, StateMachine, Trigger
from tests.infra.conftest import Assembly, cfn_lint, synthesize
from tests.infra.test_divergence import functions_of

pytestmark = pytest.mark.infra

REPO = Path(__file__).resolve().parents[2]
PREVIEW_FUNCTIONS = (
    Function("erase_learner", Trigger.TASK, frozenset({Access.TABLE_DATA}), "erasure step"),
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
SCHEMA_NAME = "progress.learner.erased.v1"
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
    (root / "schemas" / f"{SCHEMA_NAME}.json").write_text(json.dumps(SCHEMA))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(catalog, "FUNCTIONS", catalog.FUNCTIONS + PREVIEW_FUNCTIONS)
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


def test_the_schema_is_registered_and_the_task_function_is_alarmed(preview: Assembly) -> None:
    schema = resource(preview, "AWS::EventSchemas::Schema")
    assert schema["SchemaName"] == SCHEMA_NAME
    assert json.loads(schema["Content"]) == SCHEMA
    alarms = {
        a["Properties"]["AlarmName"]
        for a in preview.resources(PROD.stack_name, "AWS::CloudWatch::Alarm").values()
    }
    assert {"progress-prod-erase_learner-errors", "progress-prod-erase_learner-throttles"} <= alarms
