"""State, Activity Profile and Agent Profile (C§2.2-2.3, C§2.6-2.7, concurrency C§3.1),
/activities (C§2.5) and /agents (C§2.4) over the Lambda handler, on SQLite and DynamoDB (moto)."""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any
from urllib.parse import urlencode

import pytest

from progress.domain.tenancy import Scope
from tests.api.conftest import Client, Lrs, Reply

ACT = "http://example.com/activities/doc-test"
AGENT = {"objectType": "Agent", "mbox": "mailto:ada@example.com"}
REG = "6d5b8c1e-0d9a-4e1b-9f43-2f7c9f0d1a11"


def state(**extra: str) -> dict[str, str]:
    return {"activityId": ACT, "agent": json.dumps(AGENT), **extra}


def sha1(body: bytes) -> str:
    return hashlib.sha1(body, usedforsecurity=False).hexdigest()


def send(
    client: Client, method: str, path: str, params: dict[str, str], body: Any = None, **headers: str
) -> Reply:
    if isinstance(body, dict):
        return client.request(method, path, params=params, json=body, headers=headers)
    return client.request(method, path, params=params, body=body, headers=headers)


# ------------------------------------------------------------------------------ State


def test_state_put_get_head_delete(lrs: Lrs) -> None:
    """STATE-001..004, DOC-002/003, CONC-001/002 (XAPI-00187..00192, 1.1 HEAD)."""
    params = state(stateId="bookmark")
    assert send(lrs.a, "PUT", "/activities/state", params, {"page": 3}).status == 204
    got = lrs.a.get("/activities/state", params=params)
    assert got.status == 200
    assert got.json() == {"page": 3}
    assert got.header("Content-Type") == "application/json"
    assert got.header("ETag") == f'"{sha1(got.body)}"'
    assert got.header("Last-Modified")
    head = lrs.a.request("HEAD", "/activities/state", params=params)
    assert head.status == 200
    assert head.body == b""
    assert head.header("ETag") == got.header("ETag")
    assert lrs.a.request("DELETE", "/activities/state", params=params).status == 204
    assert lrs.a.get("/activities/state", params=params).status == 404


@pytest.mark.parametrize("size", [64, 700_000])
def test_binary_state_round_trips_byte_exact(lrs: Lrs, size: int) -> None:
    """DOC-002, ATT-012: any bytes and content type, returned exactly (also beyond one DynamoDB
    item)."""
    content = os.urandom(size)
    params = state(stateId=f"blob-{size}")
    reply = send(
        lrs.a, "PUT", "/activities/state", params, content, **{"Content-Type": "image/png"}
    )
    assert reply.status == 204
    got = lrs.a.get("/activities/state", params=params)
    assert got.body == content
    assert got.header("Content-Type") == "image/png"
    assert got.header("ETag") == f'"{sha1(content)}"'


def test_post_merges_json_and_refuses_non_json_without_changing_anything(lrs: Lrs) -> None:
    """DOC-004/005 (XAPI-00229, XAPI-00232..00234)."""
    params = state(stateId="vars")
    assert send(lrs.a, "POST", "/activities/state", params, {"x": "foo", "y": "bar"}).status == 204
    assert send(lrs.a, "POST", "/activities/state", params, {"x": "bash", "z": "faz"}).status == 204
    assert lrs.a.get("/activities/state", params=params).json() == {
        "x": "bash",
        "y": "bar",
        "z": "faz",
    }
    bad = send(lrs.a, "POST", "/activities/state", params, b"abc", **{"Content-Type": "text/plain"})
    assert bad.status == 400
    assert "Content-Type" in bad.json()["error"]["message"]
    broken = send(
        lrs.a, "POST", "/activities/state", params, b'{"a":', **{"Content-Type": "application/json"}
    )
    assert broken.status == 400
    assert lrs.a.get("/activities/state", params=params).json() == {
        "x": "bash",
        "y": "bar",
        "z": "faz",
    }


def test_state_ids_since_and_delete_all(lrs: Lrs) -> None:
    """DOC-003, DOC-007, STATE-003/004/005: ids of the scope (registration apart), ``since``
    exclusive, DELETE without stateId empties the scope only."""
    for sid in ("a", "b"):
        assert send(lrs.a, "PUT", "/activities/state", state(stateId=sid), {"s": sid}).status == 204
    assert (
        send(lrs.a, "PUT", "/activities/state", state(stateId="r", registration=REG), {}).status
        == 204
    )
    listed = lrs.a.get("/activities/state", params=state())
    assert listed.status == 200
    assert listed.json() == ["a", "b"]
    assert listed.header("ETag") == f'"{sha1(listed.body)}"'
    assert listed.header("Last-Modified")
    assert lrs.a.get("/activities/state", params=state(registration=REG)).json() == ["r"]
    later = lrs.a.get("/activities/state", params=state(since="2999-01-01T00:00:00Z"))
    assert later.json() == []
    assert lrs.a.request("DELETE", "/activities/state", params=state()).status == 204
    assert lrs.a.get("/activities/state", params=state()).json() == []
    assert lrs.a.get("/activities/state", params=state(registration=REG)).json() == ["r"]


@pytest.mark.parametrize(
    ("method", "params", "headers", "named"),
    [
        ("PUT", {"agent": json.dumps(AGENT), "stateId": "s"}, {}, "activityId"),
        ("PUT", state(stateId="s", activityId="not an iri"), {}, "activityId"),
        ("GET", {"activityId": ACT, "stateId": "s"}, {}, "agent"),
        ("POST", state(stateId="s", agent='{"objectType": "Agent"'), {}, "agent"),
        ("DELETE", state(agent=json.dumps({"name": "no ifi"})), {}, "agent"),
        ("PUT", state(stateId="s", registration="not-a-uuid"), {}, "registration"),
        ("PUT", state(), {}, "stateId"),
        ("POST", state(), {}, "stateId"),
        ("GET", state(since="not a timestamp"), {}, "since"),
        ("GET", state(limit="3"), {}, "limit"),
        ("PUT", state(stateId="s"), {"If-Match": '"unterminated'}, "If-Match"),
        ("PUT", state(stateId="s"), {"If-None-Match": ""}, "If-None-Match"),
    ],
)
def test_bad_input_is_400_naming_the_culprit_and_stores_nothing(
    lrs: Lrs, method: str, params: dict[str, str], headers: dict[str, str], named: str
) -> None:
    """STATE-006, ERR-004 (XAPI-00196..00215, XAPI-00235)."""
    reply = send(lrs.a, method, "/activities/state", params, {"a": 1}, **headers)
    assert reply.status == 400
    assert named in reply.json()["error"]["message"]
    assert lrs.a.get("/activities/state", params=state()).json() == []


def test_body_beyond_the_service_limit_is_413(lrs: Lrs) -> None:
    """Documents share the request body limit (MAX_BODY_BYTES)."""
    too_big = b"x" * (lrs.services.settings.max_body_bytes + 1)
    reply = send(lrs.a, "PUT", "/activities/state", state(stateId="big"), too_big)
    assert reply.status == 413
    assert lrs.a.get("/activities/state", params=state()).json() == []


def test_alternate_request_syntax_reaches_documents(lrs: Lrs) -> None:
    """C§1.3: POST ?method=PUT with the parameters and content in the form."""
    form = urlencode({**state(stateId="alt"), "content": '{"via": "form"}'})
    reply = lrs.a.request(
        "POST",
        "/activities/state",
        params={"method": "PUT"},
        body=form.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert reply.status == 204, reply.body
    assert lrs.a.get("/activities/state", params=state(stateId="alt")).json() == {"via": "form"}


# ------------------------------------------------------------------------------ profiles


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/activities/profile", {"activityId": ACT, "profileId": "p"}),
        ("/agents/profile", {"agent": json.dumps(AGENT), "profileId": "p"}),
    ],
)
def test_profile_concurrency(lrs: Lrs, path: str, params: dict[str, str]) -> None:
    """CONC-003..006, APROF-003, AGPROF-003 (XAPI-00322, ADL 2.6/2.7 'fails without ETag')."""
    assert send(lrs.a, "PUT", path, params, {"v": 0}).status == 400  # new, no header
    assert send(lrs.a, "PUT", path, params, {"v": 1}, **{"If-None-Match": "*"}).status == 204
    assert send(lrs.a, "PUT", path, params, {"v": 2}, **{"If-None-Match": "*"}).status == 412
    conflict = send(lrs.a, "PUT", path, params, {"v": 2})
    assert conflict.status == 409
    assert "If-Match" in conflict.json()["error"]["message"]
    etag = lrs.a.get(path, params=params).header("ETag")
    assert etag is not None
    stale = '"' + "1" * 40 + '"'
    assert send(lrs.a, "PUT", path, params, {"v": 3}, **{"If-Match": stale}).status == 412
    assert send(lrs.a, "POST", path, params, {"w": 3}, **{"If-Match": stale}).status == 412
    assert lrs.a.request("DELETE", path, params=params, headers={"If-Match": stale}).status == 412
    assert lrs.a.get(path, params=params).json() == {"v": 1}
    assert send(lrs.a, "PUT", path, params, {"v": 4}, **{"If-Match": etag}).status == 204
    assert send(lrs.a, "PUT", path, params, {"v": 5}, **{"If-Match": etag}).status == 412
    assert send(lrs.a, "POST", path, params, {"w": 5}).status == 204  # POST: header optional
    assert lrs.a.get(path, params=params).json() == {"v": 4, "w": 5}
    listed = lrs.a.get(path, params={k: v for k, v in params.items() if k != "profileId"})
    assert listed.json() == ["p"]
    assert lrs.a.request("DELETE", path, params=params).status == 204
    assert lrs.a.get(path, params=params).status == 404


def test_profile_delete_needs_the_profile_id(lrs: Lrs) -> None:
    """APROF-001: no multiple-document DELETE on profiles (XAPI-00265, XAPI-00300)."""
    reply = lrs.a.request("DELETE", "/activities/profile", params={"activityId": ACT})
    assert reply.status == 400
    assert "profileId" in reply.json()["error"]["message"]


def test_tenants_never_see_or_change_each_others_documents(lrs: Lrs) -> None:
    """TEN-001: same parameters, two tenants, two documents."""
    params = state(stateId="shared")
    assert send(lrs.a, "PUT", "/activities/state", params, {"tenant": "a"}).status == 204
    assert lrs.b.get("/activities/state", params=params).status == 404
    assert lrs.b.get("/activities/state", params=state()).json() == []
    assert send(lrs.b, "PUT", "/activities/state", params, {"tenant": "b"}).status == 204
    assert lrs.b.request("DELETE", "/activities/state", params=state()).status == 204
    assert lrs.a.get("/activities/state", params=params).json() == {"tenant": "a"}


def test_scopes_guard_documents(lrs: Lrs) -> None:
    """C§4.2: ``state`` / ``profile`` scopes; statements/write alone is not enough."""
    writer = lrs.client("alpha", frozenset({Scope.STATEMENTS_WRITE}))
    stater = lrs.client("alpha", frozenset({Scope.STATE}))
    assert send(writer, "PUT", "/activities/state", state(stateId="s"), {}).status == 403
    assert send(stater, "PUT", "/activities/state", state(stateId="s"), {}).status == 204
    profile = {"activityId": ACT, "profileId": "p"}
    assert stater.get("/activities/profile", params=profile).status == 403


# ----------------------------------------------------------------------- /activities and /agents


def statement(obj: dict[str, Any]) -> dict[str, Any]:
    return {
        "actor": AGENT,
        "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
        "object": obj,
    }


def test_activities_returns_the_definition_merged_from_statements(lrs: Lrs) -> None:
    """ACT-001 (XAPI-00254), STMT-044, STMT-045: languages from two Statements both returned; newest
    type wins."""
    first = {"id": ACT, "definition": {"name": {"en-US": "meeting"}, "type": "http://t/a"}}
    second = {"id": ACT, "definition": {"name": {"fr-FR": "réunion"}, "type": "http://t/b"}}
    parent = {"id": "http://example.com/course", "definition": {"name": {"en-US": "course"}}}
    batch = [
        statement(first),
        {**statement(second), "context": {"contextActivities": {"parent": parent}}},
    ]
    assert lrs.a.post("/statements", json=batch).status == 200
    got = lrs.a.get("/activities", params={"activityId": ACT})
    assert got.status == 200
    assert got.json() == {
        "objectType": "Activity",
        "id": ACT,
        "definition": {"name": {"en-US": "meeting", "fr-FR": "réunion"}, "type": "http://t/b"},
    }
    assert got.header("ETag") == f'"{sha1(got.body)}"'
    course = lrs.a.get("/activities", params={"activityId": parent["id"]}).json()
    assert course["definition"] == parent["definition"]
    assert lrs.b.get("/activities", params={"activityId": ACT}).json() == {
        "objectType": "Activity",
        "id": ACT,
    }


def test_activities_unknown_and_bad_requests(lrs: Lrs) -> None:
    """ACT-002 (unknown -> bare Activity), XAPI-00250 (activityId required)."""
    unknown = lrs.a.get("/activities", params={"activityId": "http://example.com/never"})
    assert unknown.status == 200
    assert unknown.json() == {"objectType": "Activity", "id": "http://example.com/never"}
    assert lrs.a.request("HEAD", "/activities", params={"activityId": ACT}).body == b""
    assert lrs.a.get("/activities").status == 400
    assert lrs.a.get("/activities", params={"activityId": ACT, "x": "1"}).status == 400


def test_definitions_from_credentials_without_define_are_not_canonical(lrs: Lrs) -> None:
    """C§4.2 ``define``: Statements are stored, the canonical Activity is not updated."""
    writer = lrs.client("alpha", frozenset({Scope.STATEMENTS_WRITE}))
    obj = {"id": "http://example.com/undefined", "definition": {"name": {"en": "x"}}}
    assert writer.post("/statements", json=[statement(obj)]).status == 200
    got = lrs.a.get("/activities", params={"activityId": obj["id"]}).json()
    assert "definition" not in got


def test_agents_returns_a_person(lrs: Lrs) -> None:
    """AGT-001..003 (XAPI-00236..00249): the Agent as a Person; Groups and bad agents -> 400."""
    agent = {"objectType": "Agent", "name": "Ada", "account": {"homePage": "http://h", "name": "a"}}
    got = lrs.a.get("/agents", params={"agent": json.dumps(agent)})
    assert got.status == 200
    assert got.json() == {"objectType": "Person", "name": ["Ada"], "account": [agent["account"]]}
    assert got.header("ETag")
    group = {"objectType": "Group", "mbox": "mailto:team@example.com"}
    assert lrs.a.get("/agents", params={"agent": json.dumps(group)}).status == 400
    assert lrs.a.get("/agents", params={"agent": '{"name": "no ifi"}'}).status == 400
    assert lrs.a.get("/agents").status == 400
