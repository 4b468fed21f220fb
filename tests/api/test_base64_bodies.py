"""API Gateway with binary media types ``*/*`` (infra/api.py: documents and attachments are
bytes) hands every request body to the handler base64-encoded, JSON and forms included."""

from __future__ import annotations

import base64
from typing import Any

import orjson

from progress.local.server import LambdaContext, to_event
from tests.api.conftest import VERSION, Lrs

STATEMENT = {
    "actor": {"mbox": "mailto:b64@example.com"},
    "verb": {"id": "http://adlnet.gov/expapi/verbs/attempted"},
    "object": {"id": "http://example.com/b64"},
}


def as_api_gateway(method: str, target: str, headers: dict[str, str], body: bytes) -> Any:
    event = to_event(method, target, headers, body)
    event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
    return event


def test_a_base64_json_statement_is_stored(lrs: Lrs) -> None:
    headers = {**VERSION, "Authorization": str(lrs.a.auth), "Content-Type": "application/json"}
    event = as_api_gateway("POST", "/xapi/statements", headers, orjson.dumps(STATEMENT))
    response = lrs.handler(event, LambdaContext("xapi_api"))
    assert response["statusCode"] == 200
    (statement_id,) = orjson.loads(response["body"])
    assert lrs.a.get("/statements", params={"statementId": statement_id}).status == 200


def test_a_base64_alternate_syntax_form_carries_its_credentials(lrs: Lrs) -> None:
    """ALT-001..006 through API Gateway: the form, credentials inside, arrives base64."""
    auth = str(lrs.a.auth).replace(" ", "%20")
    form = f"Authorization={auth}&X-Experience-API-Version=1.0.3".encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    event = as_api_gateway("POST", "/xapi/statements?method=GET", headers, form)
    response = lrs.handler(event, LambdaContext("xapi_api"))
    assert response["statusCode"] == 200
    assert "statements" in orjson.loads(response["body"])
