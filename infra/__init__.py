"""progress on AWS (CDK): ``new_app`` + ``build`` assemble the stages of ``infra.stages``."""

from __future__ import annotations

from typing import Any

from aws_cdk import App

from infra.nag import add_packs
from infra.service import ServiceStack
from infra.stages import STAGES, Stage

# CDK feature flags, set here rather than in cdk.json so that `python app.py`, `cdk synth` and
# the tests build the same templates.
FEATURE_FLAGS = {
    # S3 server access logs delivered under a bucket policy, not the legacy ACL.
    "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": True,
    # One statement per action set and resource, not one per grant call.
    "@aws-cdk/aws-iam:minimizePolicies": True,
}


def new_app(outdir: str | None = None, **context: Any) -> App:
    """Context ``aws:cdk:bundling-stacks=[]`` skips the layer build (tests)."""
    return App(outdir=outdir, context={**FEATURE_FLAGS, **context})


def build(app: App, stages: tuple[Stage, ...] = STAGES) -> dict[str, ServiceStack]:
    """One ServiceStack per stage (plus its replica-key stacks), checked by cdk-nag on synth."""
    stacks = {stage.name: ServiceStack(app, stage) for stage in stages}
    add_packs(app)
    return stacks
