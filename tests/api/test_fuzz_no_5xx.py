"""Bad input never reaches a 500, and a rejected request changes nothing (property-based)."""

from __future__ import annotations

import base64
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from progress import bootstrap
from progress.domain.tenancy import Scope
from progress.edge.xapi.statements import QUERY_PARAMS, SINGLE_PARAMS
from progress.local.server import Handler, LambdaContext, load_handler, to_event
from progress.settings import Settings

# Every parameter the Statement and document resources know, plus some they must refuse.
PARAMS = sorted(
    QUERY_PARAMS
    | SINGLE_PARAMS
    | {"more", "activityId", "stateId", "profileId", "method", "Verb", "unknown"}
)
PATHS = [
    "/xapi/statements",
    "/xapi/activities/state",
    "/xapi/activities/profile",
    "/xapi/agents/profile",
    "/xapi/activities",
    "/xapi/agents",
    "/xapi/about",
    "/xapi/nothing",
]
CONTENT_TYPES = [
    "application/json",
    "application/json; charset=utf-8",
    "multipart/mixed; boundary=abc",
    "multipart/mixed",
    "application/x-www-form-urlencoded",
    "text/plain",
    "",
]
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=25,
)
# Statement-shaped objects get deeper into validation than arbitrary JSON does.
statementish = st.fixed_dictionaries(
    {
        "actor": st.one_of(
            st.fixed_dictionaries({"mbox": st.sampled_from(["mailto:a@b.c", "a@b.c", ""])}),
            json_values,
        ),
        "verb": st.one_of(st.fixed_dictionaries({"id": st.text(max_size=30)}), json_values),
        "object": st.one_of(
            st.fixed_dictionaries(
                {
                    "objectType": st.sampled_from(["Activity", "StatementRef", "Agent", "x"]),
                    "id": st.text(max_size=40),
                }
            ),
            json_values,
        ),
    },
    optional={"id": st.text(max_size=40), "context": json_values, "result": json_values},
)
param_values = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["true", "false", "0", "-1", "2026-01-01T00:00:00Z", "{}", '{"mbox":1}']),
    json_values.map(lambda v: orjson.dumps(v).decode()),
)


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[Handler, dict[str, str], bootstrap.Services]]:
    with tempfile.TemporaryDirectory() as tmp:
        svc = bootstrap.build(Settings(backend="sqlite", data_dir=Path(tmp)))
        bootstrap.install(svc)
        svc.tenants.create_tenant("fuzz")
        cred, secret = svc.tenants.create_credential("fuzz", frozenset({Scope.ALL}))
        auth = "Basic " + base64.b64encode(f"{cred.key}:{secret}".encode()).decode()
        headers = {"Authorization": auth, "X-Experience-API-Version": "1.0.3"}
        try:
            yield load_handler("xapi_api"), headers, svc
        finally:
            bootstrap.install(None)
            svc.close()


def _count(handler: Handler, headers: dict[str, str]) -> int:
    reply = handler(to_event("GET", "/xapi/statements", headers, b""), LambdaContext("f"))
    return len(orjson.loads(reply["body"])["statements"])


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    method=st.sampled_from(["GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS"]),
    path=st.sampled_from(PATHS),
    params=st.dictionaries(st.sampled_from(PARAMS), param_values, max_size=4),
    body=st.one_of(
        st.binary(max_size=200),
        st.sampled_from(
            [
                b'{"a": 123456789012345678901234567890}',
                b"[1e400]",
                b'{"a": "\\ud800"}',
                b"[[[[" * 300,
            ]
        ),
        json_values.map(orjson.dumps),
        statementish.map(orjson.dumps),
        st.lists(statementish, max_size=3).map(orjson.dumps),
    ),
    content_type=st.sampled_from(CONTENT_TYPES),
    extra=st.dictionaries(
        st.sampled_from(
            ["If-Match", "If-None-Match", "Accept-Language", "X-Experience-API-Version"]
        ),
        st.text(max_size=20),
        max_size=2,
    ),
)
def test_no_request_gets_a_5xx(
    world: tuple[Handler, dict[str, str], bootstrap.Services],
    method: str,
    path: str,
    params: dict[str, str],
    body: bytes,
    content_type: str,
    extra: dict[str, str],
) -> None:
    handler, headers, _ = world
    hdrs: dict[str, Any] = {**headers, **extra}
    if content_type:
        hdrs["Content-Type"] = content_type
    target = path + ("?" + urlencode(params) if params else "")
    before = _count(handler, headers)
    reply = handler(to_event(method, target, hdrs, body), LambdaContext("f"))
    status = int(reply["statusCode"])
    assert status < 500, (status, reply.get("body"))
    if status >= 400 and path == "/xapi/statements":
        assert _count(handler, headers) == before
