"""The infrastructure gates' harness: the CDK app of every stage, synthesized once per session
(per xdist worker) and offline, with cdk-nag on and asset bundling off."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# jsii would print a banner about Node 20's end of life on every start.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

ACKNOWLEDGED = "aws:cdk:acknowledged-rules"


def region_of(stack: str) -> str:
    """The region a stack of ``infra.stages.STAGES`` deploys to."""
    from infra.stages import STAGES

    for stage in STAGES:
        if stack == stage.stack_name:
            return stage.region
        for region in stage.replica_regions:
            if stack == f"{stage.stack_name}-keys-{region}":
                return region
    raise KeyError(stack)


def cfn_lint(stack: str, template: dict[str, Any]) -> list[str]:
    """cfn-lint's errors and warnings for a template, checked against its own region."""
    from cfnlint.api import lint
    from cfnlint.config import ManualArgs

    matches = lint(json.dumps(template), config=ManualArgs(regions=[region_of(stack)]))
    return [f"{stack}: {match}" for match in matches]


@dataclass(frozen=True)
class Assembly:
    """What one synthesis produced: templates by stack name, cdk-nag's findings and every
    acknowledgment (construct path, finding, reason)."""

    outdir: Path
    templates: dict[str, dict[str, Any]]
    findings: list[tuple[str, str]]  # (finding, construct path)
    acknowledgments: list[tuple[str, str, str]]

    def template(self, stack: str) -> dict[str, Any]:
        return self.templates[stack]

    def resources(self, stack: str, kind: str) -> dict[str, dict[str, Any]]:
        items = self.templates[stack]["Resources"].items()
        return {name: r for name, r in items if r["Type"] == kind}


def synthesize(outdir: Path) -> Assembly:
    """Synthesize every stage into ``outdir``; a failed cdk-nag validation is recorded, not
    raised (test_nag reports it)."""
    from infra import build, new_app

    app = new_app(outdir=str(outdir), **{"aws:cdk:bundling-stacks": []})
    build(app)
    try:
        app.synth()
    except RuntimeError as exc:
        if "ValidationFailed" not in str(exc):
            raise
    templates = {
        path.name.removesuffix(".template.json"): json.loads(path.read_text())
        for path in outdir.glob("*.template.json")
    }
    findings = []
    report = outdir / "validation-report.json"
    if report.exists():
        for plugin in json.loads(report.read_text())["pluginReports"]:
            for violation in plugin["violations"]:
                for construct in violation["violatingConstructs"]:
                    findings.append((violation["ruleName"], construct["constructPath"]))
    acknowledgments = []
    for path in outdir.glob("*.metadata.json"):
        for construct, entries in json.loads(path.read_text()).items():
            for entry in entries:
                if entry["type"] == ACKNOWLEDGED:
                    for finding, reason in entry["data"].items():
                        acknowledgments.append(
                            (construct.lstrip("/"), finding.partition("::")[2], reason)
                        )
    return Assembly(outdir, templates, findings, acknowledgments)


@pytest.fixture(scope="session")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> Assembly:
    return synthesize(tmp_path_factory.mktemp("cdk.out"))


@pytest.fixture(scope="session")
def unacknowledged(tmp_path_factory: pytest.TempPathFactory) -> Assembly:
    """The same app with every acknowledgment dropped: what cdk-nag finds unaided."""
    from aws_cdk import Validations

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Validations, "acknowledge", lambda self, *rules: None)
        return synthesize(tmp_path_factory.mktemp("cdk.out.bare"))
