"""The internal admin API through its Lambda handler, on SQLite (a real file) and DynamoDB (moto):
scopes and tenant isolation, Idempotency-Key semantics, cursor paging, bad input, and the
committed OpenAPI document."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import orjson
import pytest

from progress import bootstrap
from progress.app.ports import AttemptChange, ProgressCommit
from progress.domain.errors import Unauthorized
from progress.domain.tenancy import Scope
from progress.local import openapi
from progress.local.server import Handler, LambdaContext, load_handler, to_event
from tests.api.conftest import Reply, _build, basic
from tests.contract.test_progress_stores import fact, opened


@dataclass
class Admin:
    handler: Handler
    auth: str | None

    def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
    ) -> Reply:
        sent = {"Content-Type": "application/json", **(headers or {})}
        if self.auth:
            sent["Authorization"] = self.auth
        data = orjson.dumps(json) if json is not None else (body or b"")
        target = path + ("?" + urlencode(params) if params else "")
        response = self.handler(to_event(method, target, sent, data), LambdaContext("admin_api"))
        raw = response.get("body") or ""
        payload = base64.b64decode(raw) if response.get("isBase64Encoded") else raw.encode()
        out = dict(response.get("headers") or {})
        for name, values in (response.get("multiValueHeaders") or {}).items():
            out[name] = ", ".join(values)
        return Reply(int(response["statusCode"]), out, payload)


@dataclass
class World:
    services: bootstrap.Services
    handler: Handler
    operator: Admin
    alpha: Admin  # admin of tenant alpha
    beta: Admin  # admin of tenant beta

    def as_(self, tenant: str, *scopes: Scope) -> Admin:
        cred, secret = self.services.tenants.create_credential(tenant, frozenset(scopes))
        return Admin(self.handler, basic(cred.key, secret))


@pytest.fixture(params=["sqlite", "dynamodb"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[World]:
    for svc in _build(request.param, tmp_path):
        bootstrap.install(svc)
        handler = load_handler("admin_api")
        svc.tenants.create_tenant("ops")
        admins = []
        for tenant in ("alpha", "beta"):
            svc.tenants.create_tenant(tenant)
            cred, secret = svc.tenants.create_credential(tenant, frozenset({Scope.ADMIN}))
            admins.append(Admin(handler, basic(cred.key, secret)))
        cred, secret = svc.tenants.create_credential("ops", frozenset({Scope.OPERATOR}))
        try:
            yield World(svc, handler, Admin(handler, basic(cred.key, secret)), *admins)
        finally:
            bootstrap.install(None)
            svc.close()


def _message(reply: Reply) -> str:
    return str(reply.json()["error"]["message"])


# ------------------------------------------------------------------------------ authorization


def test_no_credentials_get_401_and_xapi_credentials_get_403(world: World) -> None:
    assert Admin(world.handler, None).call("GET", "/admin/tenants").status == 401
    xapi_only = world.as_("alpha", Scope.ALL)
    reply = xapi_only.call("GET", "/admin/tenants/alpha/credentials")
    assert reply.status == 403
    assert "tenant" in _message(reply)


def test_an_admin_administers_its_own_tenant_only(world: World) -> None:
    """TEN-001: an admin of alpha can neither read nor change beta."""
    assert world.alpha.call("GET", "/admin/tenants/alpha/credentials").status == 200
    assert world.alpha.call("GET", "/admin/tenants/beta/credentials").status == 403
    created = world.alpha.call("POST", "/admin/tenants/beta/credentials", json={"scopes": ["all"]})
    assert created.status == 403
    assert world.services.tenants.list_credentials("beta", None, 10)[0].scopes == {Scope.ADMIN}
    assert world.alpha.call("GET", "/admin/tenants").status == 403  # operators only
    assert world.operator.call("GET", "/admin/tenants/beta/credentials").status == 200


def test_only_an_operator_may_grant_the_operator_scope(world: World) -> None:
    reply = world.alpha.call(
        "POST", "/admin/tenants/alpha/credentials", json={"scopes": ["operator"]}
    )
    assert reply.status == 403
    assert "operator" in _message(reply)


# ------------------------------------------------------------------------------ tenants


def test_operator_creates_lists_and_reads_tenants(world: World) -> None:
    created = world.operator.call("POST", "/admin/tenants", json={"id": "gamma", "name": "G"})
    assert created.status == 201
    assert created.json()["name"] == "G"
    assert created.header("Location") == "/admin/tenants/gamma"
    again = world.operator.call("POST", "/admin/tenants", json={"id": "gamma"})
    assert again.status == 200  # it existed: nothing created twice
    assert again.json()["name"] == "G"
    renamed = world.operator.call("POST", "/admin/tenants", json={"id": "gamma", "name": "H"})
    assert renamed.status == 409
    assert "another name" in _message(renamed)
    assert world.operator.call("GET", "/admin/tenants/gamma").json()["name"] == "G"
    ids: list[str] = []
    params = {"limit": "2"}
    while True:
        page = world.operator.call("GET", "/admin/tenants", params=params).json()
        ids += [t["id"] for t in page["items"]]
        if page["next"] is None:
            break
        params = {"limit": "2", "cursor": page["next"]}
    assert ids == ["alpha", "beta", "gamma", "ops"]
    assert world.operator.call("GET", "/admin/tenants/nope").status == 404


def test_bad_tenant_documents_get_400_naming_the_field(world: World) -> None:
    for body, field in (
        ({"id": "Bad Id"}, "body.id"),
        ({"id": "ok", "colour": "red"}, "body.colour"),
        ({}, "body.id"),
    ):
        reply = world.operator.call("POST", "/admin/tenants", json=body)
        assert reply.status == 400, body
        assert _message(reply).startswith(field), _message(reply)
    reply = world.operator.call("POST", "/admin/tenants", body=b"{not json")
    assert reply.status == 400
    reply = world.operator.call("POST", "/admin/tenants", body=b'{"id": "\xc8"}')
    assert reply.status == 400  # not UTF-8: found by schemathesis as a 500
    assert _message(reply).startswith("body")
    assert world.services.tenants.list_tenants(None, 10)[-1].id == "ops"  # nothing created


# ------------------------------------------------------------------------------ idempotency


def test_same_idempotency_key_and_body_replays_the_first_response(world: World) -> None:
    key = {"Idempotency-Key": str(uuid.uuid4())}
    path, body = "/admin/tenants/alpha/credentials", {"scopes": ["statements/write"]}
    first = world.alpha.call("POST", path, json=body, headers=key)
    second = world.alpha.call("POST", path, json=body, headers=key)
    assert first.status == second.status == 201
    assert second.header("Idempotent-Replayed") == "true"
    assert first.header("Idempotent-Replayed") is None
    assert first.json()["secret"]
    # The same credential again, but never its secret: only a hash of it is stored anywhere.
    assert second.json() == {**first.json(), "secret": None}
    keys = [c.key for c in world.services.tenants.list_credentials("alpha", None, 100)]
    assert keys.count(first.json()["key"]) == 1
    assert len(keys) == 2  # the fixture's admin + one, not two
    secret = first.json()["secret"]
    assert world.services.auth.authenticate(basic(first.json()["key"], secret)).tenant_id == "alpha"


def test_the_idempotency_store_never_holds_a_new_credentials_secret(
    world: World, tmp_path: Path
) -> None:
    created = world.alpha.call(
        "POST",
        "/admin/tenants/alpha/credentials",
        json={"scopes": ["state"]},
        headers={"Idempotency-Key": "secret-check"},
    )
    secret = created.json()["secret"].encode()
    if world.services.settings.backend == "sqlite":
        rows = world.services.statement_store._db.conn.execute(  # type: ignore[attr-defined]
            "SELECT response FROM idempotency"
        ).fetchall()
        assert rows
        assert all(secret not in (r[0] or "").encode() for r in rows)
    else:
        client = world.services.statement_store._client  # type: ignore[attr-defined]
        items = client.scan(TableName=world.services.settings.table_name)["Items"]
        assert any("IDEMPOTENCY" in i["pk"]["S"] for i in items)
        assert secret not in orjson.dumps(items)
    for path in tmp_path.rglob("*"):  # every file of the backend (SQLite, WAL), as bytes
        if path.is_file():
            assert secret not in path.read_bytes(), path


def test_one_credentials_idempotency_key_never_replays_to_another(world: World) -> None:
    other = world.as_("alpha", Scope.ADMIN)
    key = {"Idempotency-Key": "same-key"}
    path, body = "/admin/tenants/alpha/credentials", {"scopes": ["state"]}
    mine = world.alpha.call("POST", path, json=body, headers=key)
    theirs = other.call("POST", path, json=body, headers=key)
    assert mine.status == theirs.status == 201
    assert theirs.header("Idempotent-Replayed") is None
    assert theirs.json()["key"] != mine.json()["key"]


def test_same_idempotency_key_with_another_body_is_422_and_changes_nothing(world: World) -> None:
    key = {"Idempotency-Key": "k-1"}
    path = "/admin/tenants/alpha/credentials"
    assert world.alpha.call("POST", path, json={"scopes": ["state"]}, headers=key).status == 201
    reply = world.alpha.call("POST", path, json={"scopes": ["define"]}, headers=key)
    assert reply.status == 422
    assert "Idempotency-Key" in _message(reply)
    scopes = [c.scopes for c in world.services.tenants.list_credentials("alpha", None, 100)]
    assert frozenset({Scope.DEFINE}) not in scopes


def test_idempotency_keys_of_two_tenants_do_not_meet(world: World) -> None:
    key = {"Idempotency-Key": "shared"}
    a = world.alpha.call(
        "POST", "/admin/tenants/alpha/credentials", json={"scopes": ["state"]}, headers=key
    )
    b = world.beta.call(
        "POST", "/admin/tenants/beta/credentials", json={"scopes": ["state"]}, headers=key
    )
    assert a.status == b.status == 201
    assert a.json()["key"] != b.json()["key"]
    assert b.header("Idempotent-Replayed") is None


def test_a_replayed_revocation_answers_as_the_first_did(world: World) -> None:
    cred, secret = world.services.tenants.create_credential("alpha", frozenset({Scope.ALL}))
    world.services.auth.authenticate(basic(cred.key, secret))  # cached as verified
    path = f"/admin/tenants/alpha/credentials/{cred.key}"
    key = {"Idempotency-Key": "revoke-1"}
    assert world.alpha.call("DELETE", path, headers=key).status == 204
    replay = world.alpha.call("DELETE", path, headers=key)
    assert replay.status == 204
    assert replay.header("Idempotent-Replayed") == "true"
    assert world.alpha.call("DELETE", path).status == 404  # without the key: it is gone
    with pytest.raises(Unauthorized):
        world.services.auth.authenticate(basic(cred.key, secret))


def test_a_malformed_idempotency_key_is_400(world: World) -> None:
    reply = world.operator.call(
        "POST", "/admin/tenants", json={"id": "delta"}, headers={"Idempotency-Key": "x" * 300}
    )
    assert reply.status == 400
    assert "Idempotency-Key" in _message(reply)
    assert world.operator.call("GET", "/admin/tenants/delta").status == 404


# ------------------------------------------------------------------------------ paging


def test_credential_pages_cover_every_key_once_and_cursors_are_tamper_proof(world: World) -> None:
    for _ in range(5):
        world.services.tenants.create_credential("alpha", frozenset({Scope.STATE}))
    seen: list[str] = []
    params = {"limit": "2"}
    pages = 0
    while True:
        page = world.alpha.call("GET", "/admin/tenants/alpha/credentials", params=params).json()
        pages += 1
        seen += [c["key"] for c in page["items"]]
        assert all("secret" not in c for c in page["items"])
        if page["next"] is None:
            break
        cursor = page["next"]
        params = {"limit": "2", "cursor": cursor}
    assert pages == 3
    assert len(seen) == len(set(seen)) == 6
    assert seen == sorted(seen)
    tampered = cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB")
    bad = world.alpha.call("GET", "/admin/tenants/alpha/credentials", params={"cursor": tampered})
    assert bad.status == 400
    assert _message(bad).startswith("cursor:")
    elsewhere = world.operator.call(
        "GET", "/admin/tenants/beta/credentials", params={"cursor": cursor}
    )
    assert elsewhere.status == 400  # a cursor of alpha's list is not one of beta's


@pytest.mark.parametrize("limit", ["0", "501", "ten"])
def test_a_bad_limit_is_400_naming_it(world: World, limit: str) -> None:
    reply = world.alpha.call("GET", "/admin/tenants/alpha/credentials", params={"limit": limit})
    assert reply.status == 400
    assert _message(reply).startswith("limit")


# ------------------------------------------------------------------------------ rules, learners


def test_rules_round_trip_and_bad_rules_change_nothing(world: World) -> None:
    path = "/admin/tenants/alpha/rules"
    default = world.alpha.call("GET", path).json()
    bad = world.alpha.call("PUT", path, json={"masteryScore": 7})
    assert bad.status == 400
    assert world.alpha.call("GET", path).json() == default
    good = world.alpha.call("PUT", path, json={"masteryScore": 0.8})
    assert good.status == 200
    assert world.alpha.call("GET", path).json()["masteryScore"] == 0.8


def test_listing_attempts_needs_exactly_one_of_agent_or_activity(world: World) -> None:
    reply = world.alpha.call("GET", "/admin/tenants/alpha/attempts")
    assert reply.status == 400
    assert "agent or activity" in _message(reply)
    agent = orjson.dumps({"mbox": "mailto:nobody@example.com"}).decode()
    empty = world.alpha.call("GET", "/admin/tenants/alpha/attempts", params={"agent": agent})
    assert empty.status == 200
    assert empty.json() == {"items": [], "next": None}
    unknown = world.alpha.call("GET", "/admin/tenants/alpha/learners", params={"agent": agent})
    assert unknown.status == 404


LEARNERS = (
    ("mbox:mailto:ann@example.com", {"mbox": "mailto:ann@example.com"}),
    (
        "sha1:ebd31e95054c018b10727ccffd2ef2ec3a016ee9",
        {"mbox_sha1sum": "ebd31e95054c018b10727ccffd2ef2ec3a016ee9"},
    ),
    ("openid:https://openid.example.com/cy", {"openid": "https://openid.example.com/cy"}),
    (
        "acct:https://lms.example.com|dee",
        {"account": {"homePage": "https://lms.example.com", "name": "dee"}},
    ),
    ("mbox:mailto:eve@example.com", {"mbox": "mailto:eve@example.com"}),
)


def _with_attempts(world: World, tenant: str, learners: list[str]) -> None:
    """An attempt for each learner (two for the first), straight into the attempt store."""
    for n, learner in enumerate([*learners, learners[0]]):
        f = fact(n, tenant=tenant, learner=learner, activity=f"http://example.com/c{n}")
        attempt = opened(f)
        world.services.attempt_store.commit(
            ProgressCommit(tenant, (AttemptChange(attempt, 0, None),))
        )


def _learner_pages(admin: Admin, tenant: str, limit: int) -> tuple[list[dict[str, Any]], str]:
    """Every learner, following ``more``; and the first page's cursor."""
    path = f"/admin/tenants/{tenant}/learners"
    seen: list[dict[str, Any]] = []
    first = ""
    params = {"limit": str(limit)}
    for _ in range(20):
        reply = admin.call("GET", path, params=params)
        assert reply.status == 200, reply.body
        page = reply.json()
        assert set(page) == {"items", "next"}
        assert len(page["items"]) <= limit
        seen += page["items"]
        if page["next"] is None:
            return seen, first
        first = first or page["next"]
        params = {"limit": str(limit), "cursor": page["next"]}
    raise AssertionError("the learner list never ended")


def test_learners_without_agent_are_listed_page_by_page(world: World) -> None:
    _with_attempts(world, "alpha", [key for key, _ in LEARNERS])
    _with_attempts(world, "beta", ["mbox:mailto:zed@example.com"])
    expected = dict(LEARNERS)
    everything, _ = _learner_pages(world.alpha, "alpha", 100)
    assert len(everything) == len(LEARNERS)
    for limit in (1, 2):
        seen, cursor = _learner_pages(world.alpha, "alpha", limit)
        assert seen == everything  # each learner once, in one stable order
        assert cursor
    for item in everything:
        assert item["agent"] == expected[item["id"]]
        query = urlencode({"agent": orjson.dumps(item["agent"]).decode()})
        assert item["learner"] == f"/admin/tenants/alpha/learners?{query}"
        assert item["transcript"] == f"/admin/tenants/alpha/transcript?{query}"
    ann = next(i for i in everything if i["id"] == LEARNERS[0][0])
    summary = world.alpha.call("GET", ann["learner"])  # the lookup the item points at
    assert summary.status == 200, summary.body
    assert summary.json()["learner"]["id"] == ann["id"]
    assert world.alpha.call("GET", ann["transcript"]).status == 200
    beta, _ = _learner_pages(world.operator, "beta", 1)
    assert [i["id"] for i in beta] == ["mbox:mailto:zed@example.com"]
    empty = world.operator.call("GET", "/admin/tenants/ops/learners")
    assert empty.status == 200
    assert empty.json() == {"items": [], "next": None}


def test_learner_cursors_are_tamper_proof_and_bound_to_their_list_and_tenant(
    world: World,
) -> None:
    _with_attempts(world, "alpha", [key for key, _ in LEARNERS])
    path = "/admin/tenants/alpha/learners"
    _, cursor = _learner_pages(world.alpha, "alpha", 2)
    tampered = cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB")
    for bad in (tampered, cursor[:10], "not a cursor"):
        reply = world.alpha.call("GET", path, params={"cursor": bad})
        assert reply.status == 400, bad
        assert _message(reply).startswith("cursor:")
    elsewhere = world.operator.call(
        "GET", "/admin/tenants/beta/learners", params={"cursor": cursor}
    )
    assert elsewhere.status == 400  # a cursor of alpha's learners is not one of beta's
    assert "another list" in _message(elsewhere)
    credentials = world.alpha.call(
        "GET", "/admin/tenants/alpha/credentials", params={"cursor": cursor}
    )
    assert credentials.status == 400  # nor one of another list
    for _ in range(3):
        world.services.tenants.create_credential("alpha", frozenset({Scope.STATE}))
    page = world.alpha.call("GET", "/admin/tenants/alpha/credentials", params={"limit": "1"})
    other = world.alpha.call("GET", path, params={"cursor": page.json()["next"]})
    assert other.status == 400
    assert "another list than learners" in _message(other)
    agent = orjson.dumps(LEARNERS[0][1]).decode()
    with_agent = world.alpha.call("GET", path, params={"agent": agent, "cursor": cursor})
    assert with_agent.status == 400
    assert _message(with_agent).startswith("cursor:")
    for limit in ("0", "501", "ten"):
        reply = world.alpha.call("GET", path, params={"limit": limit})
        assert reply.status == 400
        assert _message(reply).startswith("limit")


def test_another_tenants_admin_may_not_list_learners(world: World) -> None:
    _with_attempts(world, "alpha", [LEARNERS[0][0]])
    reply = world.beta.call("GET", "/admin/tenants/alpha/learners")
    assert reply.status == 403
    assert "tenant" in _message(reply)
    xapi_only = world.as_("alpha", Scope.ALL)
    assert xapi_only.call("GET", "/admin/tenants/alpha/learners").status == 403
    assert world.alpha.call("GET", "/admin/tenants/nope/learners").status == 403
    assert world.operator.call("GET", "/admin/tenants/nope/learners").status == 404


def test_a_learner_looked_up_by_agent_answers_as_before(world: World) -> None:
    _with_attempts(world, "alpha", [LEARNERS[0][0]])
    agent = orjson.dumps(LEARNERS[0][1]).decode()
    reply = world.alpha.call("GET", "/admin/tenants/alpha/learners", params={"agent": agent})
    assert reply.status == 200, reply.body
    found = reply.json()
    assert set(found) == {"learner", "totals", "transcript"}
    assert found["learner"]["id"] == LEARNERS[0][0]
    assert found["transcript"] == f"/admin/tenants/alpha/transcript?{urlencode({'agent': agent})}"
    bad = world.alpha.call("GET", "/admin/tenants/alpha/learners", params={"agent": "{}"})
    assert bad.status == 400
    assert _message(bad).startswith("agent")


# ------------------------------------------------------------------------------ dead letters


def test_dead_letters_are_listed_and_discarded_by_operators(world: World) -> None:
    envelope = {"id": str(uuid.uuid4()), "type": "progress.statement.stored.v1", "tenant": "alpha"}
    world.services.dead_letters.add("projection", envelope, "boom: bad data", 3)
    assert world.alpha.call("GET", "/admin/dead-letters").status == 403
    listed = world.operator.call("GET", "/admin/dead-letters").json()
    assert [(d["event_id"], d["reason"], d["attempts"]) for d in listed["items"]] == [
        (envelope["id"], "boom: bad data", 3)
    ]
    letter = listed["items"][0]["id"]
    assert world.operator.call("DELETE", f"/admin/dead-letters/{letter}").status == 204
    assert world.operator.call("GET", "/admin/dead-letters").json()["items"] == []
    assert world.operator.call("DELETE", f"/admin/dead-letters/{letter}").status == 404


def test_redrive_needs_a_consumer_or_ids(world: World) -> None:
    reply = world.operator.call("POST", "/admin/dead-letters/redrive", json={})
    assert reply.status == 400


# ------------------------------------------------------------------------------ the document


def test_the_committed_openapi_document_is_the_one_the_code_generates() -> None:
    """Run `make openapi` and commit schemas/openapi/admin-api.json when this fails."""
    assert openapi.DOCUMENT.read_text() == openapi.render()


def test_the_openapi_document_is_3_1_and_covers_every_route() -> None:
    doc = orjson.loads(openapi.DOCUMENT.read_bytes())
    assert doc["openapi"] == "3.1.0"
    paths = doc["paths"]
    for path, method in (
        ("/admin/tenants", "post"),
        ("/admin/tenants/{tenant}/credentials/{key}", "delete"),
        ("/admin/tenants/{tenant}/exports", "post"),
        ("/admin/tenants/{tenant}/transcript", "get"),
        ("/admin/dead-letters/redrive", "post"),
    ):
        assert method in paths[path], (path, method)
    writes = [
        op for ops in paths.values() for m, op in ops.items() if m in ("post", "put", "delete")
    ]
    for op in writes:
        names = [p["name"].lower() for p in op.get("parameters", [])]
        assert "idempotency-key" in names, op["operationId"]


def test_a_learner_agent_beyond_json_numbers_is_400_not_500(world: World) -> None:
    """Found by schemathesis: an integer past 64 bits inside ``agent`` once gave a 500."""
    reply = world.alpha.call(
        "POST",
        "/admin/tenants/alpha/credentials",
        body=b'{"scopes": ["statements/read/mine"], "agent": {"x": -133595783624474023165952}}',
    )
    assert reply.status == 400
    assert _message(reply).startswith("agent")
