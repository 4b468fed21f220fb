"""Keys, the single table, the cursor secret and the buckets.

The table's key schema is not restated here: it comes from
``progress.adapters.dynamodb.table`` (the definition tests and local mode create tables with).
"""

from __future__ import annotations

from aws_cdk import Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_backup as backup
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.nag import acknowledge, hipaa_tier_off
from infra.stages import Stage
from progress.adapters.dynamodb.table import (
    ATTRIBUTE_DEFINITIONS,
    TABLE_KEY_SCHEMA,
    TTL_ATTRIBUTE,
)

_ATTRIBUTE_TYPES = {
    "S": dynamodb.AttributeType.STRING,
    "N": dynamodb.AttributeType.NUMBER,
    "B": dynamodb.AttributeType.BINARY,
}
BUCKETS = ("attachments", "exports", "certificates")
# Export files copy learner data out of the table: they are kept long enough to be fetched and
# archived by whoever asked, then expire (a job's URL then answers 404; request a new export).
# Multipart uploads a worker never completed (it failed or was replaced) are aborted.
EXPORT_RETENTION_DAYS = 30
EXPORT_ABORT_UPLOADS_DAYS = 2


def table_key(role: str) -> dynamodb.Attribute:
    """The ``HASH`` or ``RANGE`` attribute of table.py's key schema, with its type."""
    name = next(k["AttributeName"] for k in TABLE_KEY_SCHEMA if k["KeyType"] == role)
    kind = next(a["AttributeType"] for a in ATTRIBUTE_DEFINITIONS if a["AttributeName"] == name)
    return dynamodb.Attribute(name=name, type=_ATTRIBUTE_TYPES[kind])


def replica_key_alias(stage: Stage) -> str:
    """The alias of the table key in each replica region (``ReplicaKeyStack``)."""
    return f"alias/progress-{stage.name}-table"


def _key(scope: Construct, construct_id: str, description: str, stage: Stage) -> kms.Key:
    return kms.Key(
        scope,
        construct_id,
        description=f"progress {stage.name}: {description}",
        enable_key_rotation=True,
        removal_policy=RemovalPolicy.RETAIN,  # data encrypted under it may outlive the stack
    )


class Keys(Construct):
    """Customer-managed KMS keys. ``data`` always (table, its stream and backups, the cursor
    secret); on the HIPAA tier also ``data`` for the buckets, ``logs`` for every log group and
    ``messaging`` for queues, the alarm topic and the event bus."""

    def __init__(self, scope: Construct, construct_id: str, *, stage: Stage) -> None:
        super().__init__(scope, construct_id)
        self.data = _key(self, "Data", "table, backups, cursor secret, buckets", stage)
        self.logs: kms.Key | None = None
        self.messaging: kms.Key | None = None
        if not stage.hipaa:
            return
        region, account = Stack.of(self).region, Stack.of(self).account
        self.logs = _key(self, "Logs", "CloudWatch log groups", stage)
        # The key policy CloudWatch Logs documents for encrypted log groups of this account.
        self.logs.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal(f"logs.{region}.amazonaws.com")],
                actions=[
                    "kms:Encrypt*",
                    "kms:Decrypt*",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:Describe*",
                ],
                resources=["*"],
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": (
                            f"arn:{Aws.PARTITION}:logs:{region}:{account}:log-group:*"
                        )
                    }
                },
            )
        )
        self.messaging = _key(self, "Messaging", "queues, alarm topic, event bus", stage)
        # CloudWatch alarms publish to the encrypted topic; EventBridge writes to the encrypted
        # dead-letter queue of its targets.
        for service in ("cloudwatch.amazonaws.com", "events.amazonaws.com"):
            self.messaging.grant(
                iam.ServicePrincipal(service), "kms:Decrypt", "kms:GenerateDataKey"
            )


class ReplicaKeyStack(Stack):
    """The table key of one replica region (KMS keys are regional). Deployed before the stage's
    service stack, which names it by alias."""

    def __init__(self, scope: Construct, stage: Stage, region: str, account: str | None) -> None:
        super().__init__(
            scope,
            f"{stage.stack_name}-keys-{region}",
            env={"account": account, "region": region},
            description=f"progress {stage.name}: table replica key in {region}",
            termination_protection=stage.deletion_protection,
        )
        key = _key(self, "Table", f"table replica in {region}", stage)
        key.add_alias(replica_key_alias(stage))


class Data(Construct):
    """The table (global table with the stage's replicas), the cursor secret and the buckets."""

    def __init__(self, scope: Construct, construct_id: str, *, stage: Stage, keys: Keys) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        replica_keys = {
            region: stack.format_arn(
                service="kms",
                region=region,
                resource="alias",
                resource_name=replica_key_alias(stage).removeprefix("alias/"),
            )
            for region in stage.replica_regions
        }
        self.table = dynamodb.TableV2(
            self,
            "Table",
            partition_key=table_key("HASH"),
            sort_key=table_key("RANGE"),
            billing=dynamodb.Billing.on_demand(),
            dynamo_stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
            time_to_live_attribute=TTL_ATTRIBUTE,  # inbox rows expire (adapters set it)
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryptionV2.customer_managed_key(
                keys.data, replica_key_arns=replica_keys or None
            ),
            replicas=[dynamodb.ReplicaTableProps(region=r) for r in stage.replica_regions],
            deletion_protection=stage.deletion_protection,
            removal_policy=stage.removal_policy,
        )
        self.cursor_secret = secretsmanager.Secret(
            self,
            "CursorSecret",
            description=f"progress {stage.name}: HMAC key of xAPI `more` cursors",
            encryption_key=keys.data,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64, exclude_punctuation=True
            ),
            removal_policy=stage.removal_policy,
        )
        reason = (
            "The cursor HMAC key signs xAPI `more` links, which must stay valid for 24 h "
            "(SAPI-051); rotating it would break every outstanding link unless the codec "
            "verified with two keys. Rotation is a manual runbook procedure instead "
            "(docs/runbook.md, 'Rotate the cursor secret')."
        )
        acknowledge(
            self.cursor_secret,
            ["AwsSolutions-SMG4", "HIPAA.Security-SecretsManagerRotationEnabled"],
            reason,
        )
        self.buckets = self._buckets(stage, keys)
        if stage.hipaa:
            self._backups(stage, keys)

    def _buckets(self, stage: Stage, keys: Keys) -> dict[str, s3.Bucket]:
        access_logs = s3.Bucket(
            self,
            "AccessLogs",
            # S3 server access log delivery writes only to SSE-S3 buckets.
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(stage.log_retention_days))],
            removal_policy=stage.removal_policy,
        )
        acknowledge(
            access_logs,
            ["HIPAA.Security-S3DefaultEncryptionKMS"],
            "S3 server access log delivery supports only SSE-S3 destination buckets; the logs "
            "hold request metadata, never object content.",
        )
        buckets = {}
        kms_key = keys.data if stage.hipaa else None
        for name in BUCKETS:
            exports = name == "exports"
            buckets[name] = s3.Bucket(
                self,
                name.capitalize(),
                encryption=s3.BucketEncryption.KMS if kms_key else s3.BucketEncryption.S3_MANAGED,
                encryption_key=kms_key,
                bucket_key_enabled=kms_key is not None,
                block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
                enforce_ssl=True,
                minimum_tls_version=1.2,
                versioned=True,
                object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
                server_access_logs_bucket=access_logs,
                server_access_logs_prefix=f"{name}/",
                lifecycle_rules=[
                    s3.LifecycleRule(
                        noncurrent_version_expiration=Duration.days(30),
                        expiration=Duration.days(EXPORT_RETENTION_DAYS) if exports else None,
                        abort_incomplete_multipart_upload_after=(
                            Duration.days(EXPORT_ABORT_UPLOADS_DAYS) if exports else None
                        ),
                    )
                ],
                removal_policy=stage.removal_policy,
            )
            if kms_key is None:
                hipaa_tier_off(buckets[name], stage.name, "HIPAA.Security-S3DefaultEncryptionKMS")
        for bucket in [access_logs, *buckets.values()]:
            acknowledge(
                bucket,
                ["HIPAA.Security-S3BucketReplicationEnabled"],
                "Cross-region copies of the data are the table's job (a global table with the "
                "stage's replicas; attachments live there today). These buckets wait for exports "
                "and certificates, regenerated from the table, and for large attachments, whose "
                "replication comes with the feature that writes them; access logs are regional.",
            )
        return buckets

    def _backups(self, stage: Stage, keys: Keys) -> None:
        """HIPAA tier: AWS Backup on top of PITR (35 days): daily, weekly and monthly recovery
        points kept up to 7 years, in a vault under the data key."""
        vault = backup.BackupVault(
            self, "Vault", encryption_key=keys.data, removal_policy=RemovalPolicy.RETAIN
        )
        plan = backup.BackupPlan.daily_weekly_monthly7_year_retention(self, "Backups", vault)
        selection = plan.add_selection(
            "Table", resources=[backup.BackupResource.from_arn(self.table.table_arn)]
        )
        acknowledge(
            selection,
            [
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup]"
            ],
            "AWS Backup's documented service-role policy: AWS keeps its per-service backup "
            "actions current; the selection limits it to this table.",
        )
