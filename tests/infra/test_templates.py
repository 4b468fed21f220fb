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
from infra.service import TABLE_DATA_ACTIONS
from infra.stages import STAGES, Stage
from progress.adapters.dynamodb.table import ATTRIBUTE_DEFINITIONS, TABLE_KEY_SCHEMA
from progress.catalog import FUNCTIONS
from progress.settings import (
    ENV_BACKEND,
    ENV_CURSOR_SECRET,
    ENV_CURSOR_SECRET_ARN,
    ENV_TABLE_NAME,
)
from tests.infra.conftest import Assembly
from tests.infra.test_divergence import functions_of

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
