"""The gates' hooks in the app: cdk-nag's packs, the one way to acknowledge a finding, and the
one cfn-lint exception.

A finding not acknowledged makes synthesis fail (``make synth``, ``cdk deploy`` and the tests).
An acknowledgment names the exact finding and says why it is right here;
tests/infra/test_nag.py rejects reasons that say nothing and acknowledgments nothing needs.
"""

from __future__ import annotations

from collections.abc import Iterable

from aws_cdk import Acknowledgment, CfnResource, Validations
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks
from constructs import IConstruct


def add_packs(scope: IConstruct) -> None:
    Validations.of(scope).add_plugins(AwsSolutionsChecks(scope), HIPAASecurityChecks(scope))


def acknowledge(construct: IConstruct, findings: Iterable[str], reason: str) -> None:
    """Acknowledge each finding (``Rule`` or ``Rule[finding]``) on ``construct`` and below."""
    Validations.of(construct).acknowledge(
        *(Acknowledgment(id=finding, reason=reason) for finding in findings)
    )


# What a stage without the HIPAA tier uses instead of a customer-managed key, per finding.
_TIER_OFF = {
    "HIPAA.Security-CloudWatchLogGroupEncrypted": (
        "the log group is encrypted by CloudWatch Logs with AWS-owned keys"
    ),
    "HIPAA.Security-S3DefaultEncryptionKMS": "the bucket is encrypted with SSE-S3 (AES-256)",
    "HIPAA.Security-SNSEncryptedKMS": (
        "the alarm topic carries alarm names and states only, never data"
    ),
}


def hipaa_tier_off(construct: IConstruct, stage_name: str, finding: str) -> None:
    """Acknowledge a HIPAA key finding on a stage without the HIPAA tier."""
    acknowledge(
        construct,
        [finding],
        f"HIPAA tier off for stage {stage_name} (infra/stages.py), which must hold no PHI: "
        f"{_TIER_OFF[finding]}. On the HIPAA tier a customer-managed key is used.",
    )


def role_dependency_is_implied(resource: CfnResource) -> None:
    """CDK makes a function or state machine DependsOn its whole role construct, so that the
    role's policy exists before it runs; cfn-lint's W3005 notes that the role half of that is
    already implied by the GetAtt of the role's ARN. Redundant, harmless, and CDK's to emit."""
    resource.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3005"]}})
