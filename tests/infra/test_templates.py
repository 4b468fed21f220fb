"""What matters in the synthesized templates, asserted with ``aws_cdk.assertions``: the table
(tenant-hash key schema from table.py, stream, PITR, customer-managed key, replicas), encryption
by tier, the functions' shared shape, least privilege per function, the API and the alarms."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from infra.observability import AlarmKind
from infra.service import TABLE_DATA_ACTIONS, consumer_names
from infra.stages import STAGES, Stage
from progress.adapters.dynamodb.table import (
    ATTRIBUTE_DEFINITIONS,
    OUTBOX_ATTRIBUTE,
    TABLE_KEY_SCHEMA,
    TTL_ATTRIBUTE,
)
from progress.catalog import FUNCTIONS, Access, Trigger
from progress.settings import (
    ENV_BACKEND,
    ENV_CERTIFICATE_BUCKET,
    ENV_CURSOR_SECRET,
    ENV_CURSOR_SECRET_ARN,
    ENV_EVENT_BUS_NAME,
    ENV_EXPORT_BUCKET,
    ENV_PUBLIC_BASE_URL,
    ENV_TABLE_NAME,
)
from tests.infra.conftest import Assembly
from tests.infra.test_divergence import functions_of, refers_to

pytestmark = pytest.mark.infra

REPO = Path(__file__).resolve().parents[2]
HIPAA = next(s for s in STAGES if s.hipaa)
PLAIN = next(s for s in STAGES if not s.hipaa)


def template(assembly: Assembly, stage: Stage) -> Template:
    return Template.from_json(assembly.template(stage.stack_name))


def logical_id(assembly: Assembly, stage: Stage, kind: str) -> str:
    (only,) = assembly.resources(stage.stack_name, kind)
    return only


def statements(assembly: Assembly, stage: Stage, function: str) -> list[dict[str, Any]]:
    """Every statement of the policies attached to a function's role."""
    tpl = assembly.template(stage.stack_name)
    role = tpl["Resources"][functions_of(tpl)[function]]["Properties"]["Role"]["Fn::GetAtt"][0]
    return [
        statement
        for policy in assembly.resources(stage.stack_name, "AWS::IAM::Policy").values()
        if {"Ref": role} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def granted(stmts: list[dict[str, Any]], prefix: str) -> set[str]:
    actions = set()
    for statement in stmts:
        listed = statement["Action"]
        actions |= {
            a for a in ([listed] if isinstance(listed, str) else listed) if a.startswith(prefix)
        }
    return actions


@pytest.mark.parametrize("stage", STAGES, ids=[s.name for s in STAGES])
def test_table_has_the_tenant_hash_key_schema_of_table_py_stream_pitr_and_its_own_key(
    assembly: Assembly, stage: Stage
) -> None:
    data_key = next(
        name
        for name in assembly.resources(stage.stack_name, "AWS::KMS::Key")
        if name.startswith("KeysData")
    )
    replicas = [
        Match.object_like(
            {
                "Region": region,
                "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                "DeletionProtectionEnabled": stage.deletion_protection,
                "SSESpecification": {"KMSMasterKeyId": Match.any_value()},
            }
        )
        for region in (*stage.replica_regions, stage.region)
    ]
    template(assembly, stage).has_resource_properties(
        "AWS::DynamoDB::GlobalTable",
        {
            "KeySchema": TABLE_KEY_SCHEMA,
            "AttributeDefinitions": ATTRIBUTE_DEFINITIONS,
            "BillingMode": "PAY_PER_REQUEST",
            "StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"},
            "TimeToLiveSpecification": {"AttributeName": TTL_ATTRIBUTE, "Enabled": True},
            "SSESpecification": {"SSEEnabled": True, "SSEType": "KMS"},
            "Replicas": Match.array_with(replicas),
            "GlobalSecondaryIndexes": Match.absent(),
        },
    )
    table = assembly.resources(stage.stack_name, "AWS::DynamoDB::GlobalTable")
    (props,) = [t["Properties"] for t in table.values()]
    assert len(props["Replicas"]) == 1 + len(stage.replica_regions)
    home = next(r for r in props["Replicas"] if r["Region"] == stage.region)
    assert home["SSESpecification"]["KMSMasterKeyId"] == {"Fn::GetAtt": [data_key, "Arn"]}


def test_hipaa_tier_encrypts_logs_queues_topic_bus_and_buckets_with_customer_keys(
    assembly: Assembly,
) -> None:
    tpl = template(assembly, HIPAA)
    key_ref = {"Fn::GetAtt": [Match.string_like_regexp("^Keys"), "Arn"]}
    for kind, prop in (
        ("AWS::Logs::LogGroup", "KmsKeyId"),
        ("AWS::SQS::Queue", "KmsMasterKeyId"),
        ("AWS::SNS::Topic", "KmsMasterKeyId"),
        ("AWS::Events::EventBus", "KmsKeyIdentifier"),
    ):
        tpl.all_resources_properties(kind, {prop: key_ref})
    tpl.has_resource_properties("AWS::SecretsManager::Secret", {"KmsKeyId": key_ref})
    buckets = assembly.resources(HIPAA.stack_name, "AWS::S3::Bucket").values()
    algorithms = sorted(
        b["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
            "ServerSideEncryptionByDefault"
        ]["SSEAlgorithm"]
        for b in buckets
    )
    assert algorithms == ["AES256", "aws:kms", "aws:kms", "aws:kms"]  # access logs: SSE-S3 only


def test_without_the_hipaa_tier_the_table_and_secret_keep_their_customer_key(
    assembly: Assembly,
) -> None:
    tpl = template(assembly, PLAIN)
    tpl.resource_count_is("AWS::KMS::Key", 1)
    key_ref = {"Fn::GetAtt": [Match.string_like_regexp("^KeysData"), "Arn"]}
    tpl.has_resource_properties("AWS::SecretsManager::Secret", {"KmsKeyId": key_ref})
    tpl.all_resources_properties("AWS::SQS::Queue", {"SqsManagedSseEnabled": True})
    tpl.resource_count_is("AWS::Backup::BackupPlan", 0)


@pytest.mark.parametrize("stage", STAGES, ids=[s.name for s in STAGES])
def test_buckets_block_public_access_and_refuse_plain_http(
    assembly: Assembly, stage: Stage
) -> None:
    tpl = template(assembly, stage)
    block = dict.fromkeys(
        ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"),
        True,
    )
    tpl.all_resources_properties(
        "AWS::S3::Bucket",
        {"PublicAccessBlockConfiguration": block, "VersioningConfiguration": {"Status": "Enabled"}},
    )
    deny_http = Match.object_like(
        {"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    )
    tpl.all_resources_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with([deny_http]),
                "Version": Match.any_value(),
            }
        },
    )
    assert len(assembly.resources(stage.stack_name, "AWS::S3::BucketPolicy")) == 4


@pytest.mark.parametrize("stage", STAGES, ids=[s.name for s in STAGES])
def test_every_function_comes_from_the_one_factory(assembly: Assembly, stage: Stage) -> None:
    tpl = template(assembly, stage)
    layer = logical_id(assembly, stage, "AWS::Lambda::LayerVersion")
    tpl.all_resources_properties(
        "AWS::Lambda::Function",
        {
            "Runtime": "python3.12",
            "Architectures": ["arm64"],
            "TracingConfig": {"Mode": "Active"},
            "LoggingConfig": Match.object_like(
                {"LogFormat": "JSON", "LogGroup": Match.any_value()}
            ),
            "Layers": [{"Ref": layer}],
            "Environment": {
                "Variables": Match.object_like(
                    {
                        ENV_BACKEND: "dynamodb",
                        ENV_TABLE_NAME: {"Ref": Match.string_like_regexp("^DataTable")},
                        ENV_CURSOR_SECRET_ARN: {"Ref": Match.string_like_regexp("^DataCursor")},
                        ENV_CURSOR_SECRET: Match.absent(),  # the key itself never sits here
                    }
                )
            },
        },
    )
    tpl.resource_count_is("AWS::Lambda::Function", len(FUNCTIONS))
    tpl.has_resource_properties(
        "AWS::Logs::LogGroup", {"RetentionInDays": stage.log_retention_days}
    )
    roles = assembly.resources(stage.stack_name, "AWS::IAM::Role").values()
    lambda_roles = [r for r in roles if "lambda.amazonaws.com" in json.dumps(r)]
    assert len(lambda_roles) == len(FUNCTIONS)
    assert all("ManagedPolicyArns" not in r["Properties"] for r in lambda_roles)


@pytest.mark.parametrize("stage", STAGES, ids=[s.name for s in STAGES])
def test_the_authorizer_may_only_read_credential_items(assembly: Assembly, stage: Stage) -> None:
    stmts = statements(assembly, stage, "authorizer")
    assert granted(stmts, "dynamodb:") == {"dynamodb:GetItem"}
    (lookup,) = [s for s in stmts if "dynamodb:GetItem" in json.dumps(s["Action"])]
    assert lookup["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["CRED#*"]}}
    assert granted(stmts, "kms:") == {"kms:Decrypt", "kms:DescribeKey"}
    assert not granted(stmts, "secretsmanager:")
    assert not granted(stmts, "events:")


@pytest.mark.parametrize("stage", STAGES, ids=[s.name for s in STAGES])
def test_the_xapi_function_gets_item_access_to_the_table_and_the_cursor_secret_only(
    assembly: Assembly, stage: Stage
) -> None:
    stmts = statements(assembly, stage, "xapi_api")
    assert granted(stmts, "dynamodb:") == set(TABLE_DATA_ACTIONS)
    (data,) = [s for s in stmts if "dynamodb:GetItem" in json.dumps(s["Action"])]
    # The table itself: no index/* (there are no indexes) and no other table.
    assert data["Resource"]["Fn::GetAtt"][0].startswith("DataTable")
    (kms,) = [s for s in stmts if "kms:Decrypt" in json.dumps(s["Action"])]
    assert kms["Condition"] == {
        "StringEquals": {"kms:ViaService": f"dynamodb.{stage.region}.amazonaws.com"}
    }
    assert granted(stmts, "secretsmanager:") == {
        "secretsmanager:DescribeSecret",
        "secretsmanager:GetSecretValue",
    }
    assert not granted(stmts, "events:")
    assert all(s["Resource"] != "*" or granted([s], "xray:") for s in stmts)


# Certificate ids are HMACs under a key derived from the cursor secret (bootstrap): the
# certificates consumer issues them; the progress API verifies them and, with the admin API and
# the exporter, writes certificate links (transcripts, completion exports). Without the grant
# the function fails on AWS at its first certificate; nothing local shows it (the local modes
# read a key file). The certificates function once lacked it.
CERTIFICATE_ID_FUNCTIONS = ("certificates", "progress_api", "admin_api", "exporter")


@pytest.mark.parametrize("stage", STAGES, ids=[s.name for s in STAGES])
@pytest.mark.parametrize("function", CERTIFICATE_ID_FUNCTIONS)
def test_functions_deriving_certificate_ids_may_read_the_cursor_secret(
    assembly: Assembly, stage: Stage, function: str
) -> None:
    stmts = statements(assembly, stage, function)
    assert "secretsmanager:GetSecretValue" in granted(stmts, "secretsmanager:")
    (read,) = [s for s in stmts if "secretsmanager:GetSecretValue" in json.dumps(s["Action"])]
    assert json.dumps(read["Resource"]).startswith('{"Ref": "DataCursor')  # that secret only


@pytest.mark.parametrize("stage", STAGES, ids=[s.name for s in STAGES])
def test_the_api_passes_binary_bodies_through_an_uncached_authorizer(
    assembly: Assembly, stage: Stage
) -> None:
    tpl = template(assembly, stage)
    tpl.has_resource_properties(
        "AWS::ApiGateway::RestApi",
        {"BinaryMediaTypes": ["*/*"], "EndpointConfiguration": {"Types": ["REGIONAL"]}},
    )
    tpl.has_resource_properties(
        "AWS::ApiGateway::Authorizer",
        {"Type": "REQUEST", "AuthorizerResultTtlInSeconds": 0, "IdentitySource": Match.absent()},
    )
    tpl.has_resource_properties(
        "AWS::ApiGateway::Stage",
        {
            "StageName": stage.name,
            "TracingEnabled": True,
            "AccessLogSetting": Match.object_like({"Format": Match.string_like_regexp("tenant")}),
            "MethodSettings": [
                Match.object_like(
                    {
                        "DataTraceEnabled": False,
                        "ThrottlingRateLimit": stage.throttle_rate,
                        "ThrottlingBurstLimit": stage.throttle_burst,
                    }
                )
            ],
        },
    )
    tpl.has_resource_properties(
        "AWS::ApiGateway::GatewayResponse",
        {
            "ResponseType": "UNAUTHORIZED",
            "StatusCode": "401",
            "ResponseParameters": Match.object_like(
                {"gatewayresponse.header.X-Experience-API-Version": "'1.0.3'"}
            ),
        },
    )


@pytest.mark.parametrize("stage", STAGES, ids=[s.name for s in STAGES])
def test_every_alarm_notifies_the_topic_and_names_a_runbook_section(
    assembly: Assembly, stage: Stage
) -> None:
    runbook = (REPO / "docs" / "runbook.md").read_text()
    sections = set(re.findall(r"^## `([a-z0-9-]+)`$", runbook, re.MULTILINE))
    assert sections >= {kind.value for kind in AlarmKind}
    topic = {"Ref": logical_id(assembly, stage, "AWS::SNS::Topic")}
    alarms = assembly.resources(stage.stack_name, "AWS::CloudWatch::Alarm").values()
    kinds = set()
    for alarm in alarms:
        props = alarm["Properties"]
        assert props["AlarmActions"] == [topic]
        (kind,) = re.findall(r"docs/runbook\.md#([a-z0-9-]+)", props["AlarmDescription"])
        kinds.add(kind)
    assert kinds >= {"api-5xx-rate", "api-latency-p95", "function-errors", "dlq-depth"}
    assert kinds <= sections
    names = {
        d["Properties"]["DashboardName"]
        for d in assembly.resources(stage.stack_name, "AWS::CloudWatch::Dashboard").values()
    }
    assert names == {f"progress-{stage.name}-{v}" for v in ("ingestion", "query", "projection")}


def by_trigger(trigger: Trigger) -> list[str]:
    return [spec.name for spec in FUNCTIONS if spec.trigger is trigger]


def function_props(assembly: Assembly, stage: Stage, name: str) -> dict[str, Any]:
    tpl = assembly.template(stage.stack_name)
    props: dict[str, Any] = tpl["Resources"][functions_of(tpl)[name]]["Properties"]
    return props


def queue_named(assembly: Assembly, stage: Stage, name: str) -> str:
    (found,) = [
        logical
        for logical, q in assembly.resources(stage.stack_name, "AWS::SQS::Queue").items()
        if q["Properties"]["QueueName"] == f"progress-{stage.name}-{name}-dlq"
    ]
    return found


@pytest.mark.parametrize("stage", STAGES, ids=[s.name for s in STAGES])
def test_the_relay_reads_the_stream_from_the_horizon_in_filtered_bisected_batches(
    assembly: Assembly, stage: Stage
) -> None:
    (relay,) = by_trigger(Trigger.STREAM)
    tpl = assembly.template(stage.stack_name)
    mappings = assembly.resources(stage.stack_name, "AWS::Lambda::EventSourceMapping")
    (props,) = [m["Properties"] for m in mappings.values()]
    assert props["FunctionName"] == {"Ref": functions_of(tpl)[relay]}
    assert props["EventSourceArn"]["Fn::GetAtt"][0].startswith("DataTable")
    assert props["EventSourceArn"]["Fn::GetAtt"][1] == "StreamArn"
    assert props["StartingPosition"] == "TRIM_HORIZON"  # never skips what is in the stream
    assert props["BatchSize"] == 100
    assert props["BisectBatchOnFunctionError"] is True
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["ParallelizationFactor"] in (1, 2, 3, 4)
    # Bounded, and given up on while the record is still in the 24 h stream: to the DLQ.
    assert 0 < props["MaximumRetryAttempts"] <= 100
    assert 3600 <= props["MaximumRecordAgeInSeconds"] < 24 * 3600
    dlq = queue_named(assembly, stage, relay)
    assert props["DestinationConfig"] == {
        "OnFailure": {"Destination": {"Fn::GetAtt": [dlq, "Arn"]}}
    }
    (pattern,) = [json.loads(f["Pattern"]) for f in props["FilterCriteria"]["Filters"]]
    # Exists matches leaf nodes only: the Binary elements of the outbox List, not the List.
    assert pattern == {
        "eventName": ["INSERT", "MODIFY"],
        "dynamodb": {"NewImage": {OUTBOX_ATTRIBUTE: {"L": {"B": [{"exists": True}]}}}},
    }
    env = function_props(assembly, stage, relay)["Environment"]["Variables"]
    assert env[ENV_EVENT_BUS_NAME] == {"Ref": logical_id(assembly, stage, "AWS::Events::EventBus")}


@pytest.mark.parametrize("stage", STAGES, ids=[s.name for s in STAGES])
def test_the_relay_reads_the_stream_and_puts_events_on_the_bus_and_nothing_else(
    assembly: Assembly, stage: Stage
) -> None:
    (relay,) = by_trigger(Trigger.STREAM)
    stmts = statements(assembly, stage, relay)
    bus = logical_id(assembly, stage, "AWS::Events::EventBus")
    (put,) = [s for s in stmts if granted([s], "events:")]
    assert put["Action"] == "events:PutEvents"
    assert put["Resource"] == {"Fn::GetAtt": [bus, "Arn"]}
    (stream,) = [s for s in stmts if granted([s], "dynamodb:")]
    assert granted([stream], "dynamodb:") == {
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
        "dynamodb:ListStreams",
    }
    assert stream["Resource"]["Fn::GetAtt"][1] == "StreamArn"
    data_key = [s for s in stmts if "KeysData" in json.dumps(s["Resource"])]
    assert granted(data_key, "kms:") == {"kms:Decrypt", "kms:DescribeKey"}  # the stream's key
    assert not granted(stmts, "s3:")
    assert not granted(stmts, "secretsmanager:")


@pytest.mark.parametrize("stage", STAGES, ids=[s.name for s in STAGES])
def test_every_consumer_retries_twice_then_fails_into_its_own_encrypted_dlq(
    assembly: Assembly, stage: Stage
) -> None:
    tpl = assembly.template(stage.stack_name)
    configs = assembly.resources(stage.stack_name, "AWS::Lambda::EventInvokeConfig").values()
    assert by_trigger(Trigger.EVENT)
    for name in by_trigger(Trigger.EVENT):
        dlq = queue_named(assembly, stage, name)
        props = function_props(assembly, stage, name)
        assert props["DeadLetterConfig"] == {"TargetArn": {"Fn::GetAtt": [dlq, "Arn"]}}
        (config,) = [
            c["Properties"]
            for c in configs
            if c["Properties"]["FunctionName"] == {"Ref": functions_of(tpl)[name]}
        ]
        assert config["MaximumRetryAttempts"] == 2
        queue = tpl["Resources"][dlq]["Properties"]
        assert queue["MessageRetentionPeriod"] == 14 * 24 * 3600
        if stage.hipaa:
            assert queue["KmsMasterKeyId"]["Fn::GetAtt"][0].startswith("KeysMessaging")
        else:
            assert queue["SqsManagedSseEnabled"] is True
    # The admin CLI's DEAD_LETTER_QUEUES: exactly the consumers, each to its own queue URL.
    output = tpl["Outputs"]["DeadLetterQueues"]["Value"]["Fn::Join"][1]
    refs = [part["Ref"] for part in output if isinstance(part, dict)]
    assert refs == [queue_named(assembly, stage, name) for name in consumer_names()]
    text = "".join(p if isinstance(p, str) else "URL" for p in output)
    assert json.loads(text) == dict.fromkeys(consumer_names(), "URL")


@pytest.mark.parametrize("stage", STAGES, ids=[s.name for s in STAGES])
def test_the_sweeper_runs_on_a_scheduler_schedule_with_a_retry_policy_and_a_dlq(
    assembly: Assembly, stage: Stage
) -> None:
    tpl = assembly.template(stage.stack_name)
    for name in by_trigger(Trigger.SCHEDULE):
        spec = next(f for f in FUNCTIONS if f.name == name)
        assert spec.schedule_minutes is not None
        period = spec.schedule_minutes * 60
        dlq = queue_named(assembly, stage, name)
        (schedule,) = [
            s["Properties"]
            for s in assembly.resources(stage.stack_name, "AWS::Scheduler::Schedule").values()
            if refers_to(s["Properties"]["Target"]["Arn"], functions_of(tpl)[name])
        ]
        assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
        target = schedule["Target"]
        assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [dlq, "Arn"]}}
        assert target["RetryPolicy"]["MaximumEventAgeInSeconds"] <= period
        role = tpl["Resources"][target["RoleArn"]["Fn::GetAtt"][0]]["Properties"]
        (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
        assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
        assert set(trust["Condition"]["StringEquals"]) == {"aws:SourceAccount", "aws:SourceArn"}
        # The function's own asynchronous failures land in the same queue, bounded by the period.
        props = function_props(assembly, stage, name)
        assert props["DeadLetterConfig"] == {"TargetArn": {"Fn::GetAtt": [dlq, "Arn"]}}
        Template.from_json(tpl).has_resource_properties(
            "AWS::Lambda::EventInvokeConfig",
            {
                "FunctionName": {"Ref": functions_of(tpl)[name]},
                "MaximumEventAgeInSeconds": period,
            },
        )


@pytest.mark.parametrize("stage", STAGES, ids=[s.name for s in STAGES])
def test_the_certificate_bucket_is_private_tls_only_versioned_logged_and_expires_old_versions(
    assembly: Assembly, stage: Stage
) -> None:
    buckets = assembly.resources(stage.stack_name, "AWS::S3::Bucket")
    (bucket,) = [name for name in buckets if name.startswith("DataCertificates")]
    (logs,) = [name for name in buckets if name.startswith("DataAccessLogs")]
    props = buckets[bucket]["Properties"]
    assert props["PublicAccessBlockConfiguration"] == dict.fromkeys(
        ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"),
        True,
    )
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": logs}
    (rule,) = props["LifecycleConfiguration"]["Rules"]
    assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] > 0
    (sse,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    if stage.hipaa:
        assert sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
        key = sse["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]["Fn::GetAtt"][0]
        assert key.startswith("KeysData")
    else:
        assert sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    (policy,) = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in assembly.resources(stage.stack_name, "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": bucket}
    ]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in policy
    )
    assert not any(s["Effect"] == "Allow" and s.get("Principal") == "*" for s in policy)
    for spec in FUNCTIONS:
        stmts = statements(assembly, stage, spec.name)
        env = function_props(assembly, stage, spec.name)["Environment"]["Variables"]
        on_bucket = [s for s in stmts if granted([s], "s3:") and refers_to(s["Resource"], bucket)]
        if Access.CERTIFICATES not in spec.access:
            assert not on_bucket, spec.name
            assert ENV_CERTIFICATE_BUCKET not in env, spec.name
            continue
        assert granted(on_bucket, "s3:") == {"s3:GetObject", "s3:PutObject", "s3:ListBucket"}
        assert granted(stmts, "s3:") == granted(on_bucket, "s3:")  # no other bucket
        assert env[ENV_CERTIFICATE_BUCKET] == {"Ref": bucket}
        # The API's URL from its id and the stage name: never the Stage or Deployment resource,
        # which depend on the methods, which depend on these functions (a cycle).
        url = json.dumps(env[ENV_PUBLIC_BASE_URL])
        assert refers_to(
            env[ENV_PUBLIC_BASE_URL], logical_id(assembly, stage, "AWS::ApiGateway::RestApi")
        )
        assert "Deployment" not in url
        assert url.endswith(f'"/{stage.name}"]]}}')


@pytest.mark.parametrize("stage", STAGES, ids=[s.name for s in STAGES])
def test_export_files_are_written_by_the_exporter_signed_by_link_holders_and_expire(
    assembly: Assembly, stage: Stage
) -> None:
    buckets = assembly.resources(stage.stack_name, "AWS::S3::Bucket")
    (bucket,) = [name for name in buckets if name.startswith("DataExports")]
    (rule,) = buckets[bucket]["Properties"]["LifecycleConfiguration"]["Rules"]
    assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 2}
    assert rule["ExpirationInDays"] == 30
    assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] > 0
    writers = [spec.name for spec in FUNCTIONS if Access.EXPORTS in spec.access]
    assert writers == ["exporter"]
    for spec in FUNCTIONS:
        stmts = statements(assembly, stage, spec.name)
        env = function_props(assembly, stage, spec.name)["Environment"]["Variables"]
        on_bucket = [s for s in stmts if refers_to(s["Resource"], bucket)]
        if Access.EXPORTS in spec.access:
            expected = {"s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject", "s3:ListBucket"}
            kms = {"kms:Decrypt", "kms:GenerateDataKey"}
        elif Access.EXPORT_LINKS in spec.access:
            expected, kms = {"s3:GetObject"}, {"kms:Decrypt"}
        else:
            assert not on_bucket, spec.name
            assert ENV_EXPORT_BUCKET not in env, spec.name
            continue
        assert granted(on_bucket, "s3:") == expected, spec.name
        for statement in on_bucket:  # objects under exports/ only; the bucket itself: list
            resource = json.dumps(statement["Resource"])
            assert resource.endswith('"/*/exports/*"]]}') or statement["Action"] == "s3:ListBucket"
        assert env[ENV_EXPORT_BUCKET] == {"Ref": bucket}
        via_s3 = [
            s
            for s in stmts
            if s.get("Condition", {}).get("StringEquals", {}).get("kms:ViaService")
            == f"s3.{stage.region}.amazonaws.com"
        ]
        if stage.hipaa and Access.CERTIFICATES not in spec.access:
            assert granted(via_s3, "kms:") == kms, spec.name


@pytest.mark.parametrize("stage", STAGES, ids=[s.name for s in STAGES])
def test_every_dlq_and_the_relay_lag_are_alarmed(assembly: Assembly, stage: Stage) -> None:
    alarms = [
        a["Properties"]
        for a in assembly.resources(stage.stack_name, "AWS::CloudWatch::Alarm").values()
    ]
    for logical, queue in assembly.resources(stage.stack_name, "AWS::SQS::Queue").items():
        (depth,) = [
            a
            for a in alarms
            if a.get("MetricName") == "ApproximateNumberOfMessagesVisible"
            and a["Dimensions"]
            == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [logical, "QueueName"]}}]
        ]
        assert depth["Threshold"] == 1
        assert depth["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert "docs/runbook.md#dlq-depth" in depth["AlarmDescription"], queue
    tpl = assembly.template(stage.stack_name)
    for relay in by_trigger(Trigger.STREAM):
        (age,) = [a for a in alarms if a.get("MetricName") == "IteratorAge"]
        assert age["Dimensions"] == [
            {"Name": "FunctionName", "Value": {"Ref": functions_of(tpl)[relay]}}
        ]
        assert "docs/runbook.md#stream-iterator-age" in age["AlarmDescription"]
    # The lag metrics of the functions that emit them (EMF dimension service = function name).
    metrics = [
        [part for part in metric if isinstance(part, str)]
        for widget in dashboard(assembly, stage, "projection")["widgets"]
        for metric in widget["properties"].get("metrics", [])
    ]
    assert ["progress", "OutboxLag", "service", "outbox_relay"] in metrics
    assert ["progress", "ProjectionLag", "service", "projection"] in metrics


def dashboard(assembly: Assembly, stage: Stage, name: str) -> dict[str, Any]:
    """A dashboard's body, its CloudFormation references replaced by a placeholder."""
    (body,) = [
        d["Properties"]["DashboardBody"]
        for d in assembly.resources(stage.stack_name, "AWS::CloudWatch::Dashboard").values()
        if d["Properties"]["DashboardName"] == f"progress-{stage.name}-{name}"
    ]
    parts = body["Fn::Join"][1] if isinstance(body, dict) else [body]
    parsed: dict[str, Any] = json.loads("".join(p if isinstance(p, str) else "REF" for p in parts))
    return parsed
