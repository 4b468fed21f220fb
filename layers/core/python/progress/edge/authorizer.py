"""The API Gateway REQUEST authorizer (C§4): HTTP Basic key:secret -> tenant and scopes.

The authorizer has no identity source, so API Gateway calls it on every request and cannot
cache its answer (an authorizer without identity sources must have a result TTL of 0). That is
the price of the xAPI alternate request syntax (C§1.3): its Authorization travels inside the
form body, which an authorizer never sees. So:

* with an ``Authorization`` header: verify it; Allow with {tenant, key, scopes}, or raise
  ``Unauthorized`` and API Gateway answers 401 (``DENIED_*`` below) without calling the handler;
* without one: Allow as anonymous. The handler authenticates every request itself (from the
  header or the form), so an anonymous request gets 401 there unless it is ``GET /xapi/about``
  or carries valid credentials in its form.

A verified credential is cached per container by ``Authenticator``, so scrypt runs once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import orjson

from progress.app.auth import Authenticator
from progress.catalog import Metric
from progress.domain.errors import Unauthorized
from progress.edge.http import CORS_EXPOSE_HEADERS, VERSION_HEADER, XAPI_VERSION, header
from progress.edge.observability import count

# What API Gateway answers when the authorizer raises "Unauthorized" (the UNAUTHORIZED gateway
# response, built from these in infra/api.py) and what the local runtime answers in its place.
DENIED_STATUS: Final = 401
DENIED_HEADERS: Final[Mapping[str, str]] = {
    "Content-Type": "application/json",
    "WWW-Authenticate": 'Basic realm="xAPI"',
    VERSION_HEADER: XAPI_VERSION,
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": ",".join(CORS_EXPOSE_HEADERS),
}
DENIED_BODY: Final = orjson.dumps(
    {"error": {"status": 401, "message": "Authorization: unknown key or wrong secret"}}
).decode()


def authorize(event: Mapping[str, Any], auth: Authenticator) -> dict[str, Any]:
    """The authorizer's response to a REQUEST event; raises ``Exception("Unauthorized")``, the
    one error API Gateway turns into 401."""
    value = header(event.get("headers"), "Authorization")
    if value is None:
        return _allow(event, "anonymous", {"anonymous": "true"})
    try:
        principal = auth.authenticate(value)
    except Unauthorized:
        count(Metric.CREDENTIALS_REJECTED)
        raise Exception("Unauthorized") from None  # the message is API Gateway's contract
    scopes = " ".join(sorted(principal.scopes))
    context = {"tenant": principal.tenant_id, "key": principal.key, "scopes": scopes}
    return _allow(event, principal.key, context)


def _allow(event: Mapping[str, Any], principal_id: str, context: dict[str, str]) -> dict[str, Any]:
    """Allow exactly the method being called: with caching off, no policy is ever reused."""
    return {
        "principalId": principal_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": event["methodArn"]}
            ],
        },
        "context": context,
    }
