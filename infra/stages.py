"""Stage configuration: one typed record per deployable stage, checked when the app is built.

`cdk deploy progress-<stage>` deploys a stage (README "Deploy"). The account is the one of the
CLI's credentials (CDK_DEFAULT_ACCOUNT) unless a stage pins one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from aws_cdk import RemovalPolicy
from aws_cdk import aws_logs as logs

from progress.catalog import FUNCTIONS

# CloudWatch Logs accepts only these retention periods; these are the ones offered here.
RETENTION: Mapping[int, logs.RetentionDays] = MappingProxyType(
    {
        7: logs.RetentionDays.ONE_WEEK,
        14: logs.RetentionDays.TWO_WEEKS,
        30: logs.RetentionDays.ONE_MONTH,
        90: logs.RetentionDays.THREE_MONTHS,
        365: logs.RetentionDays.ONE_YEAR,
        731: logs.RetentionDays.TWO_YEARS,
        1827: logs.RetentionDays.FIVE_YEARS,
        2192: logs.RetentionDays.SIX_YEARS,
        3653: logs.RetentionDays.TEN_YEARS,
    }
)
# The HIPAA conformance pack's cw-loggroup-retention-period-check minimum.
HIPAA_MIN_RETENTION_DAYS = 365
_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")


@dataclass(frozen=True)
class Stage:
    name: str
    region: str
    account: str | None = None
    replica_regions: tuple[str, ...] = ()
    # HIPAA tier: customer-managed KMS keys for everything that holds data or logs (table,
    # buckets, queues, topic, bus, log groups, secret), a daily/monthly AWS Backup plan, and log
    # retention >= HIPAA_MIN_RETENTION_DAYS. Off: the table and the secret keep their
    # customer-managed key; the rest uses AWS-managed encryption.
    hipaa: bool = False
    log_retention_days: int = 30
    alarm_email: str | None = None
    deletion_protection: bool = False  # table deletion protection; buckets and keys retained
    throttle_rate: float = 100.0  # API Gateway steady requests/s for the stage
    throttle_burst: int = 200
    consistency_lag_ms: int = 1500  # >= clock skew + write time between Lambdas (README)
    reserved_concurrency: Mapping[str, int] = field(default_factory=dict)
    # Where certificate verification links point (PUBLIC_BASE_URL): the stage's custom domain
    # once it has one. None: the API's own execute-api URL of this stage.
    public_base_url: str | None = None

    def __post_init__(self) -> None:
        problems = [
            f"region {region!r}: not an AWS region name"
            for region in (self.region, *self.replica_regions)
            if not _REGION.match(region)
        ]
        if not re.fullmatch(r"[a-z][a-z0-9]{1,15}", self.name):
            problems.append(f"name {self.name!r}: 2-16 lowercase letters/digits")
        if self.region in self.replica_regions or len(set(self.replica_regions)) != len(
            self.replica_regions
        ):
            problems.append("replica_regions: distinct, and without the primary region")
        if self.log_retention_days not in RETENTION:
            problems.append(f"log_retention_days: one of {sorted(RETENTION)}")
        if self.hipaa and self.log_retention_days < HIPAA_MIN_RETENTION_DAYS:
            problems.append(f"log_retention_days: >= {HIPAA_MIN_RETENTION_DAYS} on the HIPAA tier")
        known = {fn.name for fn in FUNCTIONS}
        if unknown := sorted(set(self.reserved_concurrency) - known):
            problems.append(f"reserved_concurrency: unknown functions {unknown}")
        if self.public_base_url is not None and not re.fullmatch(
            r"https://[a-z0-9.-]+(/[A-Za-z0-9._~/-]*)?", self.public_base_url
        ):
            problems.append(f"public_base_url {self.public_base_url!r}: an https:// URL")
        if problems:
            raise ValueError(f"stage {self.name}: " + "; ".join(problems))

    @property
    def stack_name(self) -> str:
        return f"progress-{self.name}"

    @property
    def retention(self) -> logs.RetentionDays:
        return RETENTION[self.log_retention_days]

    @property
    def removal_policy(self) -> RemovalPolicy:
        """What deleting the stack does to data and logs: kept where deletion is protected."""
        return RemovalPolicy.RETAIN if self.deletion_protection else RemovalPolicy.DESTROY


STAGES: tuple[Stage, ...] = (
    Stage(name="dev", region="eu-west-1", log_retention_days=14),
    Stage(
        name="prod",
        region="eu-west-1",
        replica_regions=("eu-central-1",),
        hipaa=True,
        # Six years: access logs are the record of who read PHI (45 CFR 164.316(b)(2)(i)).
        log_retention_days=2192,
        deletion_protection=True,
        throttle_rate=1000.0,
        throttle_burst=2000,
    ),
)


def stage(name: str) -> Stage:
    for candidate in STAGES:
        if candidate.name == name:
            return candidate
    raise KeyError(f"{name}: no such stage in infra/stages.py")
