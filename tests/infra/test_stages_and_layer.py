"""Stage configuration is checked before anything is built, and the layer is what Lambda arm64
runs: the pinned runtime dependencies (never dev tools) plus ``progress``, built without Docker."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import BundlingOptions, DockerImage

import infra.lambdas
from infra.lambdas import (
    PLATFORM,
    PYTHON_VERSION,
    RUNTIME,
    PipLayerBundling,
    layer_fingerprint,
    runtime_requirements,
)
from infra.stages import HIPAA_MIN_RETENTION_DAYS, STAGES, Stage

pytestmark = pytest.mark.infra

REPO = Path(__file__).resolve().parents[2]


def test_stages_are_distinct_and_the_hipaa_ones_keep_logs_long_enough() -> None:
    assert len({s.name for s in STAGES}) == len(STAGES)
    assert any(s.hipaa for s in STAGES)
    assert all(s.log_retention_days >= HIPAA_MIN_RETENTION_DAYS for s in STAGES if s.hipaa)


def test_a_bad_stage_is_refused_with_every_problem_named() -> None:
    with pytest.raises(ValueError, match="stage Prod!") as refused:
        Stage(
            name="Prod!",
            region="mars-1",
            replica_regions=("eu-west-1", "eu-west-1"),
            hipaa=True,
            log_retention_days=10,
            reserved_concurrency={"no_such_function": 5},
            public_base_url="http://certificates.example.com",
        )
    message = str(refused.value)
    for part in (
        "region 'mars-1'",
        "replica_regions",
        "log_retention_days",
        "no_such_function",
        "public_base_url",
    ):
        assert part in message
    ok = Stage(name="x1", region="eu-west-1", public_base_url="https://progress.example.com/v1")
    assert ok.public_base_url == "https://progress.example.com/v1"


def test_the_layer_has_a_pin_for_every_runtime_dependency() -> None:
    pinned = {
        line.split("==")[0].lower().replace("_", "-")
        for line in (REPO / "constraints.txt").read_text().splitlines()
        if "==" in line
    }
    for requirement in runtime_requirements():
        name = re.split(r"[<>=!~\[ ]", requirement, maxsplit=1)[0].lower().replace("_", "-")
        assert name in pinned, f"{requirement}: not pinned in constraints.txt"
    assert not {"moto", "pytest", "aws-cdk-lib"} & {r.split(">")[0] for r in runtime_requirements()}


def test_the_layer_is_built_by_pip_for_lambda_arm64_and_carries_progress(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commands: list[list[str]] = []

    def pip(command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        commands.append(command)
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(subprocess, "run", pip)
    options = BundlingOptions(image=DockerImage.from_registry("unused"))
    assert PipLayerBundling().try_bundle(str(tmp_path), options)
    (command,) = commands
    text = " ".join(command)
    assert RUNTIME.name == f"python{PYTHON_VERSION}"
    for flag in (
        f"--platform {PLATFORM}",
        f"--python-version {PYTHON_VERSION}",
        "--only-binary=:all:",
        f"--target {tmp_path / 'python'}",
        f"--constraint {REPO / 'constraints.txt'}",
    ):
        assert flag in text
    assert command[-len(runtime_requirements()) :] == runtime_requirements()
    assert (tmp_path / "python" / "progress" / "catalog.py").exists()
    assert not list((tmp_path / "python" / "progress").rglob("__pycache__"))


def test_the_layer_hash_follows_its_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "progress").mkdir()
    module = tmp_path / "progress" / "x.py"
    module.write_text("A = 1\n")
    monkeypatch.setattr(infra.lambdas, "LAYER_SOURCE", tmp_path)
    before = layer_fingerprint()
    assert layer_fingerprint() == before
    module.write_text("A = 2\n")
    assert layer_fingerprint() != before
