"""API Gateway (REST): one proxy resource per ``progress.catalog.ROUTES`` entry, behind the
route's Lambda REQUEST authorizer (except CORS preflight), or public where the route has none."""

from __future__ import annotations

import json
from collections.abc import Mapping

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.nag import acknowledge, hipaa_tier_off
from infra.stages import Stage
from progress import catalog
from progress.edge.authorizer import DENIED_BODY, DENIED_HEADERS
from progress.edge.http import VERSION_HEADER, XAPI_VERSION

F = apigw.AccessLogField
ACCESS_LOG = {
    "requestId": F.context_request_id(),
    "time": F.context_request_time(),
    "ip": F.context_identity_source_ip(),
    "method": F.context_http_method(),
    "path": F.context_path(),  # never the query string: it may carry learner identifiers
    "status": F.context_status(),
    "bytes": F.context_response_length(),
    "latencyMs": F.context_response_latency(),
    "integrationLatencyMs": F.context_integration_latency(),
    "tenant": F.context_authorizer("tenant"),
    "key": F.context_authorizer("key"),
    "error": F.context_error_message(),
}
# Headers on API Gateway's own error responses (401 from the authorizer, 429 throttling, 5xx),
# so that browser content can read them (CORS) and they still look like xAPI answers.
_GATEWAY_HEADERS = {"Access-Control-Allow-Origin": "*", VERSION_HEADER: XAPI_VERSION}


# Why each route without an authorizer may be public (a new public route must say why here).
PUBLIC_ROUTE_REASONS = {
    "/certificates": (
        "whoever holds a certificate, e.g. an employer, checks it by its id, an unguessable "
        "UUIDv5, without an account. Read-only, no listing, throttled with the stage; it shows "
        "only what the certificate states."
    ),
    "/exports": (
        "an export download URL is the credential: an HMAC-signed token of tenant, export id "
        "and expiry, handed out by the authorized admin API (403 when tampered with, 410 once "
        "expired). Read-only, one file per token, no listing, throttled with the stage; on AWS "
        "downloads are S3 presigned URLs and this route only serves the local runtime's."
    ),
}


def _quoted(headers: Mapping[str, str]) -> dict[str, str]:
    return {name: f"'{value}'" for name, value in headers.items() if name != "Content-Type"}


class Api(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: Stage,
        functions: Mapping[str, lambda_.IFunction],
        logs_key: kms.IKey | None,
    ) -> None:
        super().__init__(scope, construct_id)
        access_log = logs.LogGroup(
            self,
            "AccessLog",
            log_group_name=f"/progress/{stage.name}/api-access",
            retention=stage.retention,
            encryption_key=logs_key,
            removal_policy=stage.removal_policy,
        )
        if logs_key is None:
            hipaa_tier_off(access_log, stage.name, "HIPAA.Security-CloudWatchLogGroupEncrypted")
        self.rest_api = apigw.RestApi(
            self,
            "RestApi",
            rest_api_name=f"progress-{stage.name}",
            description="progress xAPI 1.0.3 LRS",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            # Documents and attachments are arbitrary bytes: pass every body through as base64.
            binary_media_types=["*/*"],
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=RemovalPolicy.RETAIN,
            deploy_options=apigw.StageOptions(
                stage_name=stage.name,
                tracing_enabled=True,
                metrics_enabled=True,  # per-method metrics: the GET latency of the dashboards
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,  # would log request bodies: Statements may hold PHI
                access_log_destination=apigw.LogGroupLogDestination(access_log),
                access_log_format=apigw.AccessLogFormat.custom(json.dumps(ACCESS_LOG)),
                throttling_rate_limit=stage.throttle_rate,
                throttling_burst_limit=stage.throttle_burst,
            ),
        )
        self._acknowledge(stage)
        # No identity source, hence no caching (TTL 0): see progress.edge.authorizer. With an
        # identity source, API Gateway would answer 401 itself to every request without an
        # Authorization header: the alternate request syntax and GET /xapi/about would break.
        authorizers = {}
        for name in sorted({r.authorizer for r in catalog.ROUTES if r.authorizer}):
            authorizer = apigw.RequestAuthorizer(
                self,
                f"{name}-authorizer",
                handler=functions[name],
                identity_sources=[],
                results_cache_ttl=Duration.seconds(0),
            )
            # CDK writes "" for no sources; the property is optional when caching is off.
            cfn = authorizer.node.default_child
            assert isinstance(cfn, apigw.CfnAuthorizer)
            cfn.add_property_deletion_override("IdentitySource")
            authorizers[name] = authorizer
        for route in catalog.ROUTES:
            integration = apigw.LambdaIntegration(
                functions[route.function], allow_test_invoke=False
            )
            resource = self.rest_api.root.resource_for_path(route.prefix)
            for target in (resource, resource.add_resource("{proxy+}")):
                method = target.add_method(
                    "ANY",
                    integration,
                    authorizer=authorizers[route.authorizer] if route.authorizer else None,
                    authorization_type=(
                        apigw.AuthorizationType.CUSTOM
                        if route.authorizer
                        else apigw.AuthorizationType.NONE
                    ),
                )
                if route.authorizer:
                    acknowledge(
                        method,
                        ["AwsSolutions-COG4"],
                        "Clients authenticate with the tenant's HTTP Basic credentials (xAPI "
                        "1.0.3 C§4, the same for every authorized route), which a Cognito user "
                        "pool cannot verify; the Lambda authorizer checks them against the "
                        "tenant's scrypt-hashed credentials.",
                    )
                else:
                    acknowledge(
                        method,
                        ["AwsSolutions-APIG4", "AwsSolutions-COG4"],
                        f"{route.prefix} is public on purpose ({route.description}): "
                        + PUBLIC_ROUTE_REASONS[route.prefix],
                    )
                # The handler answers CORS preflight; browsers send it without credentials.
                preflight = target.add_method("OPTIONS", integration)
                acknowledge(
                    preflight,
                    ["AwsSolutions-APIG4"],
                    "CORS preflight: browsers send OPTIONS without credentials (Fetch "
                    "standard), so it cannot be authorized; the handler only answers the "
                    "CORS headers and touches no data.",
                )
        self.rest_api.add_gateway_response(
            "Unauthorized",
            type=apigw.ResponseType.UNAUTHORIZED,
            status_code="401",
            response_headers=_quoted(DENIED_HEADERS),
            templates={"application/json": DENIED_BODY},
        )
        for kind, response_type in (
            ("Default4xx", apigw.ResponseType.DEFAULT_4_XX),
            ("Default5xx", apigw.ResponseType.DEFAULT_5_XX),
        ):
            self.rest_api.add_gateway_response(
                kind, type=response_type, response_headers=_quoted(_GATEWAY_HEADERS)
            )

    def _acknowledge(self, stage: Stage) -> None:
        acknowledge(
            self.rest_api,
            ["AwsSolutions-APIG2"],
            "Requests are validated by the handler against xAPI 1.0.3, which answers 400 with "
            "a message naming the field at fault (an ADL conformance requirement); API Gateway "
            "models would duplicate that with different, non-xAPI error bodies.",
        )
        acknowledge(
            self.rest_api,
            [
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AmazonAPIGatewayPushToCloudWatchLogs]"
            ],
            "API Gateway's account-level logging role: the AWS-documented managed policy is "
            "the only one API Gateway's log delivery is specified against.",
        )
        acknowledge(
            self.rest_api.deployment_stage,
            ["AwsSolutions-APIG3"],
            "No WAF yet: AWS managed rule groups block legitimate xAPI traffic (bodies over "
            "8 KB, HTML in activity definitions). Every request is authenticated and the stage "
            f"is throttled ({stage.throttle_rate:g}/s, burst {stage.throttle_burst}); a tuned "
            "WebACL is a README follow-up.",
        )
        acknowledge(
            self.rest_api.deployment_stage,
            ["HIPAA.Security-APIGWCacheEnabledAndEncrypted"],
            "Caching is off on purpose: xAPI responses depend on the caller's credentials and "
            "must reflect writes at once (Consistent-Through); a cache would serve stale or "
            "another credential's data.",
        )
        acknowledge(
            self.rest_api.deployment_stage,
            ["HIPAA.Security-APIGWSSLEnabled"],
            "A client certificate authenticates API Gateway to HTTP backends; every "
            "integration here is a Lambda proxy invoked through IAM, so there is no backend "
            "to present it to. Clients reach the API over TLS only.",
        )
