"""The Statement resource over the Lambda handler (C§2.1), on SQLite and DynamoDB (moto)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from progress.domain.tenancy import Scope
from tests.api.conftest import Lrs

VERB = "http://adlnet.gov/expapi/verbs/experienced"
VOIDED = "http://adlnet.gov/expapi/verbs/voided"


def stmt(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "actor": {"objectType": "Agent", "mbox": "mailto:ada@example.com", "name": "Ada"},
        "verb": {"id": VERB, "display": {"en-US": "experienced"}},
        "object": {
            "id": "http://example.com/activities/intro",
            "definition": {"name": {"en-US": "Intro", "fr-FR": "Introduction"}},
        },
    }
    base.update(overrides)
    return base


def post(lrs: Lrs, *statements: dict[str, Any]) -> list[str]:
    reply = lrs.a.post("/statements", json=list(statements))
    assert reply.status == 200, reply.body
    ids: list[str] = reply.json()
    return ids


def count(lrs: Lrs, **params: str) -> int:
    reply = lrs.a.get("/statements", params=params)
    assert reply.status == 200, reply.body
    return len(reply.json()["statements"])


# ------------------------------------------------------------------------------ writes


def test_post_assigns_id_stored_authority_version_and_timestamp(lrs: Lrs) -> None:
    """STMT-001, STMT-080, STMT-082, STMT-090, STMT-091, STMT-092, STMT-093, STMT-094 (the
    credential as an Agent with an account IFI), STMT-102, SAPI-010."""
    (sid,) = post(lrs, stmt())
    got = lrs.a.get("/statements", params={"statementId": sid})
    assert got.status == 200
    body = got.json()
    assert body["id"] == sid
    assert body["version"] == "1.0.0"
    assert body["timestamp"] == body["stored"]
    assert body["authority"]["account"]["name"]
    assert body["authority"]["objectType"] == "Agent"
    assert got.header("X-Experience-API-Consistent-Through")
    assert got.header("Last-Modified")


def test_post_returns_ids_in_request_order(lrs: Lrs) -> None:
    """SAPI-010."""
    given = [str(uuid.uuid4()) for _ in range(5)]
    ids = post(lrs, *(stmt(id=i) for i in given[:2]), stmt(), *(stmt(id=i) for i in given[2:]))
    assert ids[:2] == given[:2]
    assert ids[3:] == given[2:]
    assert len(ids) == 6


def test_submitted_authority_and_stored_are_overwritten(lrs: Lrs) -> None:
    """STMT-082, STMT-093: stored and authority come from the LRS."""
    forged = {"mbox": "mailto:boss@example.com"}
    (sid,) = post(lrs, stmt(authority=forged, stored="2001-01-01T00:00:00Z"))
    body = lrs.a.get("/statements", params={"statementId": sid}).json()
    assert body["authority"] != forged
    assert not body["stored"].startswith("2001")


def test_put_stores_under_statement_id_and_is_idempotent(lrs: Lrs) -> None:
    """SAPI-001, SAPI-002, SAPI-004: same Statement again -> 204, nothing changes."""
    sid = str(uuid.uuid4())
    first = lrs.a.put("/statements", params={"statementId": sid}, json=stmt())
    assert first.status == 204
    before = lrs.a.get("/statements", params={"statementId": sid}).body
    again = lrs.a.put("/statements", params={"statementId": sid}, json=stmt(id=sid))
    assert again.status == 204
    assert lrs.a.get("/statements", params={"statementId": sid}).body == before


def test_put_of_a_different_statement_under_a_stored_id_is_409_and_changes_nothing(
    lrs: Lrs,
) -> None:
    """SAPI-003, SAPI-004, IMM-002."""
    sid = str(uuid.uuid4())
    assert lrs.a.put("/statements", params={"statementId": sid}, json=stmt()).status == 204
    before = lrs.a.get("/statements", params={"statementId": sid}).body
    other = stmt(verb={"id": "http://example.com/verbs/other"})
    reply = lrs.a.put("/statements", params={"statementId": sid}, json=other)
    assert reply.status == 409
    assert sid in reply.json()["error"]["message"]
    assert lrs.a.get("/statements", params={"statementId": sid}).body == before


def test_equivalent_resend_differing_only_in_allowed_ways_is_accepted(lrs: Lrs) -> None:
    """IMM-001/002: contextActivities object vs array, timestamp zone, member order."""
    sid = str(uuid.uuid4())
    first = stmt(
        id=sid,
        timestamp="2026-01-01T12:00:00+02:00",
        context={"contextActivities": {"parent": {"id": "http://example.com/course"}}},
    )
    second = stmt(
        id=sid,
        timestamp="2026-01-01T10:00:00.000Z",
        context={"contextActivities": {"parent": [{"id": "http://example.com/course"}]}},
    )
    assert post(lrs, first) == [sid]
    assert post(lrs, second) == [sid]


def test_offline_replay_of_a_batch_stores_only_the_new_statements(lrs: Lrs) -> None:
    """SAPI-003: an offline client resends a batch that was half stored: no 409, no dupes."""
    old = [stmt(id=str(uuid.uuid4())) for _ in range(3)]
    post(lrs, *old)
    new = [stmt(id=str(uuid.uuid4())) for _ in range(2)]
    assert post(lrs, *old, *new) == [s["id"] for s in old + new]
    assert count(lrs) == 5


def test_put_needs_a_statement_id_that_matches_the_body(lrs: Lrs) -> None:
    """SAPI-001, SAPI-002."""
    missing = lrs.a.put("/statements", json=stmt())
    assert missing.status == 400
    assert "statementId" in missing.json()["error"]["message"]
    mismatch = lrs.a.put(
        "/statements", params={"statementId": str(uuid.uuid4())}, json=stmt(id=str(uuid.uuid4()))
    )
    assert mismatch.status == 400


def test_a_batch_with_one_bad_statement_stores_nothing(lrs: Lrs) -> None:
    """SAPI-014, ERR-005: the 400 names the Statement and field at fault."""
    good = stmt(id=str(uuid.uuid4()))
    bad = stmt(actor={"mbox": "ada@example.com"})
    reply = lrs.a.post("/statements", json=[good, bad])
    assert reply.status == 400
    assert "statements[1].actor.mbox" in reply.json()["error"]["message"]
    assert lrs.a.get("/statements", params={"statementId": good["id"]}).status == 404


def test_a_batch_repeating_an_id_is_rejected(lrs: Lrs) -> None:
    """SAPI-013."""
    sid = str(uuid.uuid4())
    reply = lrs.a.post("/statements", json=[stmt(id=sid), stmt(id=sid)])
    assert reply.status == 400
    assert count(lrs) == 0


@pytest.mark.parametrize(
    ("body", "content_type", "status", "needle"),
    [
        (b"{not json", "application/json", 400, "malformed JSON"),
        (b'"a string"', "application/json", 400, "expected a Statement"),
        (b"", "application/json", 400, "empty"),
        (b"{}", "text/plain", 400, "Content-Type"),
        (b"a=b", "application/x-www-form-urlencoded", 400, "alternate syntax"),
    ],
)
def test_malformed_bodies_get_a_400_naming_the_problem(
    lrs: Lrs, body: bytes, content_type: str, status: int, needle: str
) -> None:
    """ERR-001, ERR-003."""
    reply = lrs.a.post("/statements", body=body, headers={"Content-Type": content_type})
    assert reply.status == status
    assert needle in reply.json()["error"]["message"]


def test_oversized_body_is_413(lrs: Lrs) -> None:
    """ERR-008, ATT-011: over MAX_BODY_BYTES -> 413 naming the limit."""
    limit = lrs.services.settings.max_body_bytes
    reply = lrs.a.post(
        "/statements", body=b" " * (limit + 1), headers={"Content-Type": "application/json"}
    )
    assert reply.status == 413
    assert str(limit) in reply.json()["error"]["message"]


# ------------------------------------------------------------------------------ headers, auth


@pytest.mark.parametrize("version", ["1.0", "1.0.0", "1.0.2", "1.0.3", "1.0.9"])
def test_any_1_0_x_version_is_accepted_and_answered_with_1_0_3(lrs: Lrs, version: str) -> None:
    """VER-001, VER-002: authoring tools still send 1.0.2."""
    reply = lrs.a.get("/statements", headers={"X-Experience-API-Version": version})
    assert reply.status == 200
    assert reply.header("X-Experience-API-Version") == "1.0.3"


@pytest.mark.parametrize("version", [None, "0.95", "1.1.0", "2.0.0", "1.0.x", "banana"])
def test_missing_or_unsupported_version_is_400(lrs: Lrs, version: str | None) -> None:
    """VER-003."""
    reply = lrs.a.get("/statements", headers={"X-Experience-API-Version": version})
    assert reply.status == 400
    assert "X-Experience-API-Version" in reply.json()["error"]["message"]


def test_about_needs_neither_auth_nor_version(lrs: Lrs) -> None:
    """ABOUT-001..004."""
    client = lrs.anonymous()
    client.defaults.clear()
    reply = client.get("/about")
    assert reply.status == 200
    assert set(reply.json()) == {"version"}
    assert "1.0.3" in reply.json()["version"]


@pytest.mark.parametrize(
    "auth", [None, "Basic bm9wZTpub3Bl", "Bearer abc", "Basic !!!", "Basic " + "a2V5"]
)
def test_bad_or_missing_credentials_are_401(lrs: Lrs, auth: str | None) -> None:
    """AUTH-001, ERR-001."""
    client = lrs.anonymous()
    client.auth = auth
    reply = client.get("/statements")
    assert reply.status == 401
    assert reply.header("WWW-Authenticate")


def test_scopes_limit_what_a_credential_may_do(lrs: Lrs) -> None:
    """AUTH-002, ERR-006: 403 for a scope the credential lacks; nothing stored."""
    reader = lrs.client("alpha", frozenset({Scope.STATEMENTS_READ}))
    writer = lrs.client("alpha", frozenset({Scope.STATEMENTS_WRITE}))
    assert reader.post("/statements", json=stmt()).status == 403
    assert count(lrs) == 0
    assert writer.post("/statements", json=stmt()).status == 200
    assert writer.get("/statements").status == 403
    assert reader.get("/statements").status == 200


def test_read_mine_sees_only_what_its_credential_stored(lrs: Lrs) -> None:
    """statements/read/mine: filtered to Statements whose authority is this credential."""
    mine = lrs.client(
        "alpha", frozenset({Scope.STATEMENTS_WRITE, Scope.STATEMENTS_READ_MINE}), label="au"
    )
    (other_id,) = post(lrs, stmt())
    own = mine.post("/statements", json=stmt()).json()[0]
    listed = [s["id"] for s in mine.get("/statements").json()["statements"]]
    assert listed == [own]
    assert mine.get("/statements", params={"statementId": other_id}).status == 404
    assert mine.get("/statements", params={"statementId": own}).status == 200


def test_cors_preflight_needs_no_auth_and_allows_xapi_headers(lrs: Lrs) -> None:
    """CORS-001: browser-hosted cmi5 AUs call the LRS cross-origin."""
    client = lrs.anonymous()
    reply = client.request(
        "OPTIONS",
        "/statements",
        headers={
            "Origin": "https://content.example.com",
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "authorization,x-experience-api-version",
        },
    )
    assert reply.status in (200, 204)
    allowed = (reply.header("Access-Control-Allow-Headers") or "").lower()
    assert "x-experience-api-version" in allowed
    assert "authorization" in allowed
    exposed = reply.header("Access-Control-Expose-Headers") or ""
    got = lrs.a.get("/statements", headers={"Origin": "https://content.example.com"})
    assert got.header("Access-Control-Allow-Origin") == "*"
    assert "X-Experience-API-Consistent-Through" in (
        exposed + (got.header("Access-Control-Expose-Headers") or "")
    )


def test_head_is_get_without_a_body(lrs: Lrs) -> None:
    """RES-003."""
    post(lrs, stmt())
    reply = lrs.a.request("HEAD", "/statements")
    assert reply.status == 200
    assert reply.body == b""
    assert reply.header("X-Experience-API-Consistent-Through")


# ------------------------------------------------------------------------------ reads


def test_unknown_or_miscased_parameters_are_400(lrs: Lrs) -> None:
    """SAPI-036, ERR-004."""
    for params in ({"Verb": VERB}, {"foo": "bar"}, {"limit": "-1"}, {"ascending": "yes"}):
        reply = lrs.a.get("/statements", params=params)
        assert reply.status == 400, params
        assert next(iter(params)) in reply.json()["error"]["message"]


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"agent": "{bad json"}, "agent"),
        ({"agent": '{"name": "no ifi"}'}, "agent"),
        ({"verb": "not an iri"}, "verb"),
        ({"registration": "1234"}, "registration"),
        ({"since": "yesterday"}, "since"),
        ({"statementId": "nope"}, "statementId"),
        ({"statementId": str(uuid.uuid4()), "voidedStatementId": str(uuid.uuid4())}, "together"),
        ({"statementId": str(uuid.uuid4()), "verb": VERB}, "verb"),
    ],
)
def test_parameters_are_validated_like_statement_values(
    lrs: Lrs, params: dict[str, str], needle: str
) -> None:
    """GEN-010, SAPI-021, SAPI-022, SAPI-037."""
    reply = lrs.a.get("/statements", params=params)
    assert reply.status == 400
    assert needle in reply.json()["error"]["message"]


def test_filters_combine_with_and(lrs: Lrs) -> None:
    """SAPI-024..027, SAPI-036."""
    reg = str(uuid.uuid4())
    bob = {"mbox": "mailto:bob@example.com"}
    post(
        lrs,
        stmt(),
        stmt(actor=bob),
        stmt(actor=bob, verb={"id": "http://example.com/verbs/passed"}),
        stmt(actor=bob, context={"registration": reg}),
        stmt(object={"objectType": "Agent", "mbox": "mailto:bob@example.com"}),
    )
    agent = '{"mbox": "mailto:bob@example.com"}'
    assert count(lrs, agent=agent) == 4  # actor or object
    assert count(lrs, agent=agent, verb=VERB) == 3
    assert count(lrs, registration=reg) == 1
    assert count(lrs, activity="http://example.com/activities/intro") == 4
    assert count(lrs, agent=agent, registration=reg, verb=VERB) == 1


def test_related_filters_look_into_context_authority_and_substatements(lrs: Lrs) -> None:
    """SAPI-028, SAPI-029."""
    course = "http://example.com/course"
    teacher = {"mbox": "mailto:teacher@example.com"}
    post(
        lrs,
        stmt(context={"contextActivities": {"grouping": [{"id": course}]}, "instructor": teacher}),
        stmt(
            object={
                "objectType": "SubStatement",
                "actor": teacher,
                "verb": {"id": VERB},
                "object": {"id": course},
            }
        ),
    )
    agent = '{"mbox": "mailto:teacher@example.com"}'
    assert count(lrs, activity=course) == 0
    assert count(lrs, activity=course, related_activities="true") == 2
    assert count(lrs, agent=agent) == 0
    assert count(lrs, agent=agent, related_agents="true") == 2


def test_group_matches_an_agent_filter_through_its_members(lrs: Lrs) -> None:
    """SAPI-024: a Group whose members include the Agent matches."""
    group = {
        "objectType": "Group",
        "member": [{"mbox": "mailto:x@example.com"}, {"mbox": "mailto:y@example.com"}],
    }
    post(lrs, stmt(actor=group))
    assert count(lrs, agent='{"mbox": "mailto:y@example.com"}') == 1


def test_since_until_ascending_and_more_paging(lrs: Lrs) -> None:
    """SAPI-030, SAPI-031, SAPI-032, SAPI-035, SAPI-050."""
    ids = [post(lrs, stmt())[0] for _ in range(7)]
    stored = {
        sid: lrs.a.get("/statements", params={"statementId": sid}).json()["stored"] for sid in ids
    }
    newest_first = [s["id"] for s in lrs.a.get("/statements").json()["statements"]]
    assert newest_first == ids[::-1]
    window = lrs.a.get(
        "/statements",
        params={"since": stored[ids[1]], "until": stored[ids[4]], "ascending": "true"},
    ).json()
    assert [s["id"] for s in window["statements"]] == ids[2:5]
    seen: list[str] = []
    page = lrs.a.get("/statements", params={"limit": "3", "ascending": "true"}).json()
    while True:
        seen += [s["id"] for s in page["statements"]]
        if not page["more"]:
            break
        assert page["more"].startswith("/xapi/statements?")
        query = page["more"].split("?", 1)[1]
        page = lrs.a.get("/statements?" + query).json()
    assert seen == ids


def test_a_tampered_more_cursor_is_400(lrs: Lrs) -> None:
    """SAPI-051: cursors are signed."""
    for _ in range(3):
        post(lrs, stmt())
    more = lrs.a.get("/statements", params={"limit": "1"}).json()["more"]
    token = more.split("more=", 1)[1]
    forged = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    assert lrs.a.get("/statements", params={"more": forged}).status == 400


def test_voiding_hides_the_target_from_queries_and_statement_id(lrs: Lrs) -> None:
    """VOID-001, VOID-002, VOID-006, VOID-007, VOID-008, SAPI-023."""
    (target,) = post(lrs, stmt())
    (voider,) = post(
        lrs, stmt(verb={"id": VOIDED}, object={"objectType": "StatementRef", "id": target})
    )
    assert lrs.a.get("/statements", params={"statementId": target}).status == 404
    voided = lrs.a.get("/statements", params={"voidedStatementId": target})
    assert voided.status == 200
    assert voided.json()["id"] == target
    assert lrs.a.get("/statements", params={"voidedStatementId": voider}).status == 404
    listed = [s["id"] for s in lrs.a.get("/statements").json()["statements"]]
    assert listed == [voider]
    # SAPI-040: the voiding Statement matches the filters its target matches.
    by_activity = lrs.a.get(
        "/statements", params={"activity": "http://example.com/activities/intro"}
    ).json()
    assert [s["id"] for s in by_activity["statements"]] == [voider]


def test_voiding_a_statement_that_arrives_later(lrs: Lrs) -> None:
    """VOID-004: the voiding Statement may come first (offline clients)."""
    target = str(uuid.uuid4())
    post(lrs, stmt(verb={"id": VOIDED}, object={"objectType": "StatementRef", "id": target}))
    post(lrs, stmt(id=target))
    assert lrs.a.get("/statements", params={"statementId": target}).status == 404
    assert lrs.a.get("/statements", params={"voidedStatementId": target}).status == 200


def test_a_voiding_statement_cannot_be_voided(lrs: Lrs) -> None:
    """VOID-002."""
    (target,) = post(lrs, stmt())
    (voider,) = post(
        lrs, stmt(verb={"id": VOIDED}, object={"objectType": "StatementRef", "id": target})
    )
    reply = lrs.a.post(
        "/statements",
        json=stmt(verb={"id": VOIDED}, object={"objectType": "StatementRef", "id": voider}),
    )
    assert reply.status == 400


def test_formats_ids_and_canonical(lrs: Lrs) -> None:
    """SAPI-033, SAPI-056, STMT-031 (exact: display as received), STMT-032 (ids: no display),
    STMT-033 (canonical: one language)."""
    (sid,) = post(lrs, stmt())
    ids = lrs.a.get("/statements", params={"statementId": sid, "format": "ids"}).json()
    assert ids["object"] == {"id": "http://example.com/activities/intro"}
    assert ids["verb"] == {"id": VERB}
    assert ids["actor"] == {"objectType": "Agent", "mbox": "mailto:ada@example.com"}
    canonical = lrs.a.get(
        "/statements",
        params={"statementId": sid, "format": "canonical"},
        headers={"Accept-Language": "fr-FR, en;q=0.5"},
    ).json()
    assert canonical["object"]["definition"]["name"] == {"fr-FR": "Introduction"}
    exact = lrs.a.get("/statements", params={"statementId": sid}).json()
    assert exact["object"]["definition"]["name"] == {"en-US": "Intro", "fr-FR": "Introduction"}
    assert exact["verb"] == {"id": VERB, "display": {"en-US": "experienced"}}


def test_context_activities_come_back_as_arrays(lrs: Lrs) -> None:
    """STMT-074."""
    (sid,) = post(lrs, stmt(context={"contextActivities": {"parent": {"id": "http://e.com/p"}}}))
    body = lrs.a.get("/statements", params={"statementId": sid}).json()
    assert body["context"]["contextActivities"]["parent"] == [{"id": "http://e.com/p"}]


def test_alternate_syntax_get_with_form_fields(lrs: Lrs) -> None:
    """ALT-001..005: POST ?method=GET, headers and parameters as form fields."""
    (sid,) = post(lrs, stmt())
    client = lrs.anonymous()
    client.defaults.clear()
    from urllib.parse import urlencode

    form = urlencode(
        {
            "statementId": sid,
            "Authorization": lrs.a.auth,
            "X-Experience-API-Version": "1.0.3",
        }
    ).encode()
    reply = client.request(
        "POST",
        "/statements?method=GET",
        body=form,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert reply.status == 200
    assert reply.json()["id"] == sid
    bad = client.request(
        "POST",
        "/statements?method=GET&statementId=" + sid,
        body=form,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert bad.status == 400


# ------------------------------------------------------------------------------ tenants


def test_tenants_never_see_or_change_each_others_statements(lrs: Lrs) -> None:
    """TEN-001: ids, reads, queries, voiding and cursors are per tenant."""
    sid = str(uuid.uuid4())
    assert lrs.a.put("/statements", params={"statementId": sid}, json=stmt()).status == 204
    a_before = lrs.a.get("/statements", params={"statementId": sid}).body
    # B cannot read A's statement, by id or by query.
    assert lrs.b.get("/statements", params={"statementId": sid}).status == 404
    assert lrs.b.get("/statements").json()["statements"] == []
    # B can use the same id for its own, different, statement: no 409 across tenants.
    other = stmt(verb={"id": "http://example.com/verbs/other"})
    assert lrs.b.put("/statements", params={"statementId": sid}, json=other).status == 204
    # B voiding "that id" voids only B's statement.
    void = stmt(verb={"id": VOIDED}, object={"objectType": "StatementRef", "id": sid})
    assert lrs.b.post("/statements", json=void).status == 200
    assert lrs.b.get("/statements", params={"statementId": sid}).status == 404
    assert lrs.a.get("/statements", params={"statementId": sid}).body == a_before
    # A cursor issued to A, replayed by B, pages through B's data only.
    for _ in range(2):
        post(lrs, stmt())
    more = lrs.a.get("/statements", params={"limit": "1"}).json()["more"]
    query = more.split("?", 1)[1]
    b_page = lrs.b.get("/statements?" + query).json()
    a_ids = {s["id"] for s in lrs.a.get("/statements").json()["statements"]}
    assert not a_ids & {s["id"] for s in b_page["statements"]}


# ------------------------------------------------------------------------------ data rules


def test_exact_format_returns_values_as_received(lrs: Lrs) -> None:
    """GEN-015: no property comes back changed (beyond the D§2.3.1 exceptions): key order,
    unicode, numbers, extension values (nulls included, GEN-018) are kept."""
    extensions = {
        "http://example.com/ext/z": {"b": [1, 2.5, -0.001, 1e20], "a": None},
        "http://example.com/ext/a": "ünïcødé ✓ \u2028",
    }
    sent = stmt(result={"score": {"raw": 7, "min": 0, "max": 10}, "extensions": extensions})
    (sid,) = post(lrs, sent)
    got = lrs.a.get("/statements", params={"statementId": sid}).json()
    for key in sent:
        assert got[key] == sent[key], key
    assert list(got["result"]["extensions"]) == list(extensions)
    assert list(got)[: len(sent)] == list(sent)


def test_structure_is_checked_but_never_meaning(lrs: Lrs) -> None:
    """GEN-016: unknown verbs, activity types and extensions are stored, not judged."""
    odd = stmt(
        verb={"id": "urn:example:verbs:teleported", "display": {"tlh": "jIH"}},
        object={
            "id": "urn:isbn:0451450523",
            "definition": {"type": "http://example.com/types/nonsense"},
        },
        context={"extensions": {"http://example.com/ext/anything": [{"x": []}]}},
    )
    assert len(post(lrs, odd)) == 1


def test_iris_compare_as_plain_strings(lrs: Lrs) -> None:
    """GEN-019: no scheme- or case-based normalisation of IRIs in filters."""
    post(lrs, stmt(verb={"id": "http://example.com/Verbs/Did"}))
    assert count(lrs, verb="http://example.com/Verbs/Did") == 1
    assert count(lrs, verb="http://example.com/verbs/did") == 0
    assert count(lrs, verb="HTTP://example.com/Verbs/Did") == 0


def test_verbs_and_activities_are_keyed_by_id_never_by_display_or_definition(lrs: Lrs) -> None:
    """STMT-034: reports key on the verb IRI; STMT-043: one activity id is one Activity,
    whatever definitions different authors send."""
    post(
        lrs,
        stmt(verb={"id": VERB, "display": {"en-US": "experienced"}}),
        stmt(
            verb={"id": VERB, "display": {"en-GB": "went through"}},
            object={
                "id": "http://example.com/activities/intro",
                "definition": {"name": {"de": "Einführung"}, "type": "http://e.com/t/other"},
            },
        ),
    )
    assert count(lrs, verb=VERB) == 2
    assert count(lrs, activity="http://example.com/activities/intro") == 2


def test_response_patterns_have_no_length_limits(lrs: Lrs) -> None:
    """STMT-048: long patterns and many correctResponsesPattern entries are accepted."""
    definition = {
        "interactionType": "fill-in",
        "correctResponsesPattern": ["x" * 20_000] + [f"answer {i}" for i in range(2_000)],
    }
    obj = {"id": "http://example.com/q/long", "definition": definition}
    (sid,) = post(lrs, stmt(object=obj, result={"response": "y" * 50_000}))
    got = lrs.a.get("/statements", params={"statementId": sid}).json()
    assert got["object"]["definition"] == definition


def test_attachment_data_comes_only_with_attachments_true(lrs: Lrs) -> None:
    """STMT-111, SAPI-034: without attachments=true the reply is plain JSON, no raw data."""
    att = {
        "usageType": "http://example.com/usage/link",
        "display": {"en-US": "slides"},
        "contentType": "application/pdf",
        "length": 1234,
        "sha2": "a" * 64,
        "fileUrl": "http://example.com/slides.pdf",
    }
    (sid,) = post(lrs, stmt(attachments=[att]))
    plain = lrs.a.get("/statements", params={"statementId": sid})
    assert plain.header("Content-Type") == "application/json"
    assert plain.json()["attachments"] == [att]
