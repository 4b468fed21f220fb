"""The API Gateway REQUEST authorizer (functions/authorizer) on real storage: SQLite and DynamoDB
(moto), with credentials made by the tenant admin use case."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from progress.domain.tenancy import Scope
from progress.local.server import LambdaContext, load_handler
from tests.api.conftest import Lrs, basic

METHOD_ARN = "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/GET/xapi/statements"


def request(headers: dict[str, str] | None) -> dict[str, Any]:
    """A REQUEST authorizer event, as API Gateway sends it (no body, the method's ARN)."""
    return {
        "type": "REQUEST",
        "methodArn": METHOD_ARN,
        "resource": "/xapi/{proxy+}",
        "path": "/xapi/statements",
        "httpMethod": "GET",
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in (headers or {}).items()},
        "queryStringParameters": None,
        "requestContext": {"requestId": "r-1", "stage": "prod"},
    }


def authorize(headers: dict[str, str] | None) -> dict[str, Any]:
    result: dict[str, Any] = load_handler("authorizer")(request(headers), LambdaContext("a"))
    return result


def test_valid_credentials_are_allowed_on_this_method_with_tenant_and_scopes(lrs: Lrs) -> None:
    """C§4, TEN-002: the credential's tenant and scopes travel to the handler as context."""
    cred, secret = lrs.services.tenants.create_credential(
        "alpha", frozenset({Scope.STATEMENTS_WRITE, Scope.STATE}), label="player"
    )
    answer = authorize({"authorization": basic(cred.key, secret)})  # any header case
    assert answer["principalId"] == cred.key
    assert answer["context"] == {
        "tenant": "alpha",
        "key": cred.key,
        "scopes": "state statements/write",
    }
    (statement,) = answer["policyDocument"]["Statement"]
    assert statement == {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": METHOD_ARN}


@pytest.mark.parametrize(
    "header",
    [
        "wrong-secret",
        "Basic " + base64.b64encode(b"no-such-key:x").decode(),
        "Bearer abc",
        "Basic %%%",
    ],
)
def test_wrong_or_malformed_credentials_are_api_gateways_unauthorized(
    lrs: Lrs, header: str
) -> None:
    """The one exception message API Gateway turns into 401 (its UNAUTHORIZED response)."""
    if header == "wrong-secret":
        cred, _ = lrs.services.tenants.create_credential("alpha", frozenset({Scope.ALL}))
        header = basic(cred.key, "not-the-secret")
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorize({"Authorization": header})


@pytest.mark.parametrize("headers", [None, {}, {"X-Experience-API-Version": "1.0.3"}])
def test_no_authorization_header_is_let_through_as_anonymous(
    lrs: Lrs, headers: dict[str, str] | None
) -> None:
    """ALT-001 and ABOUT-001 need it: the alternate syntax carries Authorization in the form,
    and /about needs none. The handler authenticates such requests itself."""
    answer = authorize(headers)
    assert answer["principalId"] == "anonymous"
    assert answer["context"] == {"anonymous": "true"}
    assert lrs.anonymous().get("/statements").status == 401
