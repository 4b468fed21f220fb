"""The one Lambda factory, and the layer that carries ``progress`` and its pinned dependencies.

Every function gets the same runtime, architecture, tracing, JSON logging, log retention,
layer and environment; only its catalog entry (memory, timeout) and its grants differ.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import jsii
from aws_cdk import AssetHashType, BundlingOptions, Duration, ILocalBundling
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.nag import hipaa_tier_off, role_dependency_is_implied
from infra.stages import Stage
from progress import catalog
from progress.settings import ENV_POWERTOOLS_SERVICE_NAME

REPO = Path(__file__).resolve().parents[1]
FUNCTIONS_DIR = REPO / "functions"
LAYER_SOURCE = REPO / "layers" / "core" / "python"
RUNTIME = lambda_.Runtime.PYTHON_3_12
PYTHON_VERSION = "3.12"  # the layer's wheels are built for exactly this runtime
PLATFORM = "manylinux2014_aarch64"  # arm64 Lambda (Amazon Linux 2023, glibc 2.34)


def runtime_requirements() -> list[str]:
    """``[project.dependencies]`` of pyproject.toml: what the layer ships (no dev tools)."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return list(project["dependencies"])


def layer_fingerprint() -> str:
    """The layer's asset hash: its requirements, pins, target platform and package sources."""
    digest = hashlib.sha256()
    parts = [PLATFORM, PYTHON_VERSION, *runtime_requirements()]
    parts.append((REPO / "constraints.txt").read_text())
    for part in parts:
        digest.update(part.encode() + b"\0")
    for path in sorted((LAYER_SOURCE / "progress").rglob("*.py")):
        digest.update(path.relative_to(LAYER_SOURCE).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


@jsii.implements(ILocalBundling)
class PipLayerBundling:
    """Builds the layer without Docker: pip fetches wheels for Lambda's platform (no source
    builds, so the host's compilers never matter), pinned by constraints.txt."""

    def try_bundle(self, output_dir: str, options: BundlingOptions) -> bool:
        """jsii passes ``options`` as one struct (its Python protocol shows them as keywords)."""
        target = Path(output_dir) / "python"
        subprocess.run(  # noqa: S603 - a fixed command line; inputs are repository files
            [
                sys.executable,
                *("-m", "pip", "install", "--quiet", "--disable-pip-version-check"),
                *("--no-compile", "--only-binary=:all:", "--implementation", "cp"),
                *("--platform", PLATFORM, "--python-version", PYTHON_VERSION),
                *("--target", str(target), "--constraint", str(REPO / "constraints.txt")),
                *runtime_requirements(),
            ],
            check=True,
        )
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
        shutil.copytree(LAYER_SOURCE / "progress", target / "progress", ignore=ignore)
        return True


def core_layer(scope: Construct) -> lambda_.LayerVersion:
    """``/opt/python``: ``progress`` plus its pinned third-party dependencies.

    Tests skip bundling (context ``aws:cdk:bundling-stacks: []``); ``make synth`` runs it.
    """
    code = lambda_.Code.from_asset(
        str(LAYER_SOURCE),
        asset_hash=layer_fingerprint(),
        asset_hash_type=AssetHashType.CUSTOM,
        bundling=BundlingOptions(
            image=RUNTIME.bundling_image, local=cast(ILocalBundling, PipLayerBundling())
        ),
    )
    return lambda_.LayerVersion(
        scope,
        "CoreLayer",
        code=code,
        compatible_runtimes=[RUNTIME],
        compatible_architectures=[lambda_.Architecture.ARM_64],
        description="progress package and its pinned runtime dependencies",
    )


class LambdaFactory(Construct):
    """Builds each function of ``progress.catalog.FUNCTIONS`` the same way."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: Stage,
        layer: lambda_.ILayerVersion,
        environment: Mapping[str, str],
        logs_key: kms.IKey | None,
    ) -> None:
        super().__init__(scope, construct_id)
        self._stage = stage
        self._layer = layer
        self._environment = dict(environment)
        self._logs_key = logs_key

    def build(self, spec: catalog.Function, **extra: Any) -> lambda_.Function:
        """``extra``: trigger-specific Function props (e.g. a dead-letter queue)."""
        name = f"progress-{self._stage.name}-{spec.name}"
        log_group = logs.LogGroup(
            self,
            f"{spec.name}-logs",
            log_group_name=f"/progress/{self._stage.name}/{spec.name}",
            retention=self._stage.retention,
            encryption_key=self._logs_key,
            removal_policy=self._stage.removal_policy,
        )
        if self._logs_key is None:
            hipaa_tier_off(
                log_group, self._stage.name, "HIPAA.Security-CloudWatchLogGroupEncrypted"
            )
        # An explicit role: no AWS managed policy, just what the grants of the catalog add.
        role = iam.Role(
            self,
            f"{spec.name}-role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"progress {self._stage.name} {spec.name}: "
            + ", ".join(sorted(spec.access)),
        )
        log_group.grant_write(role)
        fn = lambda_.Function(
            self,
            spec.name,
            function_name=name,
            description=spec.description,
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler="handler.lambda_handler",
            code=lambda_.Code.from_asset(
                str(FUNCTIONS_DIR / spec.name), exclude=["__pycache__", "*.pyc"]
            ),
            layers=[self._layer],
            memory_size=spec.memory_mb,
            timeout=Duration.seconds(spec.timeout_s),
            tracing=lambda_.Tracing.ACTIVE,
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=lambda_.ApplicationLogLevel.INFO,
            system_log_level_v2=lambda_.SystemLogLevel.WARN,
            log_group=log_group,
            role=role,
            environment={**self._environment, ENV_POWERTOOLS_SERVICE_NAME: spec.name},
            reserved_concurrent_executions=self._stage.reserved_concurrency.get(spec.name),
            **extra,
        )
        cfn = fn.node.default_child
        assert isinstance(cfn, lambda_.CfnFunction)
        role_dependency_is_implied(cfn)
        return fn
