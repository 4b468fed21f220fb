"""Gate: every ``statemachines/*.asl.json`` is valid Amazon States Language (npm asl-validator),
checked with its placeholders substituted as infra substitutes them."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from infra.workflows import STATEMACHINES_DIR, substitutions
from progress import catalog

pytestmark = pytest.mark.infra

REPO = Path(__file__).resolve().parents[2]
ASL_VALIDATOR = REPO / "node_modules" / ".bin" / "asl-validator"
DEFINITIONS = sorted(STATEMACHINES_DIR.glob("*.asl.json"))
SAMPLE = {
    "StartAt": "Erase",
    "States": {
        "Erase": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "${erase_arn}", "Payload.$": "$"},
            "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 3}],
            "Next": "Done",
        },
        "Done": {"Type": "Succeed"},
    },
}


def asl_validator(definition: str) -> subprocess.CompletedProcess[str]:
    if not ASL_VALIDATOR.exists():
        pytest.fail("asl-validator is not installed: run `make test` (it runs `npm ci`)")
    return subprocess.run(
        [str(ASL_VALIDATOR), "--json-definition", definition],
        capture_output=True,
        text=True,
        check=False,
    )


def substituted(text: str, values: dict[str, str]) -> str:
    """What Step Functions receives: every ``${name}`` replaced (an unknown one fails)."""
    return re.sub(r"\$\{(\w+)\}", lambda m: values[m.group(1)], text)


def test_asl_validator_runs_and_tells_valid_from_invalid() -> None:
    """Holds with no state machine in the repository yet: the gate itself works."""
    valid = substituted(json.dumps(SAMPLE), {"erase_arn": "arn:aws:lambda:eu-west-1:1:function:x"})
    assert asl_validator(valid).returncode == 0
    unreachable = {**SAMPLE, "StartAt": "Missing"}
    assert asl_validator(json.dumps(unreachable)).returncode != 0


@pytest.mark.parametrize("path", DEFINITIONS, ids=[p.name for p in DEFINITIONS])
def test_state_machine_definition_is_valid_asl(path: Path) -> None:
    spec = next(s for s in catalog.STATE_MACHINES if s.definition == path.name)
    arns = {
        name: f"arn:aws:lambda:eu-west-1:123456789012:function:progress-{name}"
        for name in spec.tasks
    }
    values = substitutions(spec, arns, "progress-table", "progress-bus")
    result = asl_validator(substituted(path.read_text(), values))
    assert result.returncode == 0, result.stdout + result.stderr
