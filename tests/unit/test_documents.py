"""Pure rules of the document resources, /activities and /agents, and their use cases on the
in-memory stores."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from progress.adapters.memory import MemoryActivityStore, MemoryDocumentStore
from progress.app.clock import MonotonicClock
from progress.app.documents import ActivityService, DocumentService, agent_person
from progress.domain.activities import activity, batch_definitions, definition_fields
from progress.domain.documents import (
    ANY,
    Document,
    DocumentKey,
    DocumentKind,
    DocumentScope,
    Precondition,
    merge_json,
)
from progress.domain.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidParameter,
    PreconditionFailed,
)
from progress.domain.tenancy import Principal, Scope
from progress.edge.http import Request
from progress.edge.xapi.documents import Many, parse_target, precondition

ACT = "http://example.com/activities/1"
AGENT = '{"mbox": "mailto:Ada@Example.com"}'
E1, E2 = "a" * 40, "b" * 40


def principal(*scopes: Scope) -> Principal:
    return Principal("t", "key", frozenset(scopes or {Scope.ALL}), "app", "https://lrs.invalid")


# ------------------------------------------------------------------------------ domain


@pytest.mark.parametrize(
    ("pre", "current", "holds"),
    [
        (ANY, None, True),
        (ANY, E1, True),
        (Precondition(if_match=frozenset({E1})), E1, True),
        (Precondition(if_match=frozenset({E1, E2})), E2, True),
        (Precondition(if_match=frozenset({E1})), E2, False),
        (Precondition(if_match=frozenset({E1})), None, False),
        (Precondition(if_match=frozenset({"*"})), E1, True),
        (Precondition(if_match=frozenset({"*"})), None, False),
        (Precondition(if_match=frozenset({"W/" + E1})), E1, False),  # weak never matches
        (Precondition(if_none_match=frozenset({"*"})), None, True),
        (Precondition(if_none_match=frozenset({"*"})), E1, False),
        (Precondition(if_none_match=frozenset({E1})), E1, False),
        (Precondition(if_none_match=frozenset({E1})), E2, True),
    ],
)
def test_precondition_follows_rfc_7232(pre: Precondition, current: str | None, holds: bool) -> None:
    """CONC-003/004/005."""
    assert pre.holds(current) is holds


def test_etag_is_lowercase_hex_sha1_of_the_bytes() -> None:
    """CONC-002."""
    content = b'{"a": 1}'
    assert (
        Document.of(content, None, 0).etag
        == hashlib.sha1(content, usedforsecurity=False).hexdigest()
    )
    assert Document.of(content, None, 0).content_type == "application/octet-stream"


def test_merge_is_one_level_deep() -> None:
    """DOC-004 (XAPI-00183/00184): posted top-level properties replace whole values."""
    current = Document.of(b'{"car": {"make": "Ford"}, "driver": "Dale"}', "application/json", 1)
    posted = Document.of(b'{"car": {"model": "Ram"}, "x": 1}', "application/json", 2)
    merged = merge_json(current, posted)
    assert json.loads(merged.content) == {"car": {"model": "Ram"}, "driver": "Dale", "x": 1}
    assert merged.etag == Document.of(merged.content, None, 0).etag
    assert merged.updated_us == 2


@pytest.mark.parametrize(
    ("stored", "posted", "message"),
    [
        ((b"{}", "text/plain"), (b"{}", "application/json"), "stored document is 'text/plain'"),
        ((b"{}", "application/json"), (b"abc", "not/json"), "Content-Type: 'not/json'"),
        ((b"[]", "application/json"), (b"{}", "application/json"), "stored document: must be"),
        ((b"{}", "application/json"), (b"{", "application/json"), "body: not valid JSON"),
        ((b"{}", "application/json"), (b'{"a": NaN}', "application/json"), "body: not valid"),
    ],
)
def test_merge_refuses_what_is_not_two_json_objects(
    stored: tuple[bytes, str], posted: tuple[bytes, str], message: str
) -> None:
    """DOC-005: the error names what is at fault."""
    with pytest.raises(BadRequest, match=message):
        merge_json(Document.of(*stored, 1), Document.of(*posted, 2))


def test_scope_keys_are_unambiguous() -> None:
    """Fields are delimited by JSON encoding, so no two scopes share a key."""
    a = DocumentScope(DocumentKind.STATE, activity_id="x|y", agent="z")
    b = DocumentScope(DocumentKind.STATE, activity_id="x", agent="y|z")
    assert a.key != b.key


def test_batch_definitions_cover_objects_context_and_substatements_later_wins() -> None:
    """ACT-001: definitions of every Activity in the batch, merged in Statement order."""
    sub = {
        "objectType": "SubStatement",
        "object": {"id": "http://a/sub", "definition": {"name": {"en": "sub"}}},
        "context": {
            "contextActivities": {
                "parent": {"id": "http://a/p", "definition": {"type": "http://t/1"}}
            }
        },
    }
    statements: list[dict[str, Any]] = [
        {"object": {"id": ACT, "definition": {"name": {"en": "one"}, "type": "http://t/a"}}},
        {
            "object": sub,
            "context": {
                "contextActivities": {
                    "grouping": [{"id": ACT, "definition": {"name": {"fr": "un"}}}]
                }
            },
        },
        {"object": {"id": ACT, "definition": {"type": "http://t/b"}}},
        {"object": {"id": "http://a/bare"}},
        {"object": {"objectType": "Agent", "mbox": "mailto:a@b.c"}},
    ]
    assert batch_definitions(statements) == {
        ACT: {"name/en": "one", "name/fr": "un", "type": "http://t/b"},
        "http://a/sub": {"name/en": "sub"},
        "http://a/p": {"type": "http://t/1"},
    }


def test_activity_round_trips_a_full_definition() -> None:
    """ACT-001 (ADL 'complete Activity Object'): what was sent comes back equal."""
    definition = {
        "name": {"en-US": "x"},
        "description": {"en-US": "y"},
        "type": "http://t",
        "interactionType": "choice",
        "correctResponsesPattern": ["a"],
        "choices": [{"id": "a", "description": {"en-US": "A"}}],
        "extensions": {"http://e/1": {"k": [1, 2]}},
    }
    got = activity(ACT, definition_fields(definition))
    assert got == {"objectType": "Activity", "id": ACT, "definition": definition}
    assert activity(ACT, {}) == {"objectType": "Activity", "id": ACT}  # ACT-002


def test_person_holds_the_agent_as_arrays() -> None:
    """AGT-002/003."""
    agent = {"objectType": "Agent", "name": "Ada", "account": {"homePage": "http://h", "name": "a"}}
    assert agent_person(agent) == {
        "objectType": "Person",
        "name": ["Ada"],
        "account": [{"homePage": "http://h", "name": "a"}],
    }


# ------------------------------------------------------------------------------ edge parsing


def request(method: str, path: str, params: dict[str, str], **headers: str) -> Request:
    return Request(method, "/xapi" + path, headers, params, b"")


def test_state_target_keys_on_the_agent_ifi_and_lowercases_registration() -> None:
    """STATE-005/007: mbox domain case does not make another agent; registration normalised."""
    reg = "6D5B8C1E-0D9A-4E1B-9F43-2F7C9F0D1A11"
    got = parse_target(
        request(
            "GET",
            "/activities/state",
            {"activityId": ACT, "agent": AGENT, "registration": reg, "stateId": "s"},
        )
    )
    assert got == DocumentKey(
        DocumentScope(DocumentKind.STATE, ACT, "mbox:mailto:Ada@example.com", reg.lower()), "s"
    )


def test_id_lists_and_delete_all_are_many_targets() -> None:
    """STATE-003/004, DOC-007."""
    get = parse_target(
        request("GET", "/activities/profile", {"activityId": ACT, "since": "2024-01-01T00:00:00Z"})
    )
    assert isinstance(get, Many)
    assert get.since_us == 1_704_067_200_000_000
    delete = parse_target(
        request("DELETE", "/activities/state", {"activityId": ACT, "agent": AGENT})
    )
    assert delete == Many(DocumentScope(DocumentKind.STATE, ACT, "mbox:mailto:Ada@example.com"))


@pytest.mark.parametrize(
    ("method", "path", "params", "message"),
    [
        ("GET", "/activities/state", {"agent": AGENT}, "activityId: required"),
        (
            "GET",
            "/activities/state",
            {"activityId": "nope", "agent": AGENT},
            "activityId: 'nope' is not an IRI",
        ),
        ("GET", "/activities/state", {"activityId": ACT}, "agent: required"),
        ("GET", "/activities/state", {"activityId": ACT, "agent": "{bad"}, "agent: not valid JSON"),
        ("GET", "/activities/state", {"activityId": ACT, "agent": '{"name": "x"}'}, "agent"),
        (
            "GET",
            "/activities/state",
            {"activityId": ACT, "agent": AGENT, "registration": "r"},
            "registration",
        ),
        (
            "GET",
            "/activities/state",
            {"activityId": ACT, "agent": AGENT, "since": "yesterday"},
            "since",
        ),
        (
            "GET",
            "/activities/state",
            {"activityId": ACT, "agent": AGENT, "stateId": "s", "since": "2024-01-01T00:00:00Z"},
            "since: only",
        ),
        (
            "PUT",
            "/activities/state",
            {"activityId": ACT, "agent": AGENT},
            "stateId: required for PUT",
        ),
        (
            "POST",
            "/activities/state",
            {"activityId": ACT, "agent": AGENT, "stateId": ""},
            "stateId: must not be empty",
        ),
        (
            "PUT",
            "/activities/state",
            {"activityId": ACT, "agent": AGENT, "stateId": "s", "since": "x"},
            "since: not a parameter",
        ),
        ("DELETE", "/agents/profile", {"agent": AGENT}, "profileId: required for DELETE"),
        (
            "GET",
            "/activities/profile",
            {"activityId": ACT, "agent": AGENT},
            "agent: not a parameter",
        ),
        ("GET", "/agents/profile", {"agent": AGENT, "foo": "1"}, "foo: not a parameter"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(
    method: str, path: str, params: dict[str, str], message: str
) -> None:
    """STATE-006, ERR-004."""
    with pytest.raises(InvalidParameter, match=message):
        parse_target(request(method, path, params))


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (f'"{E1}"', frozenset({E1})),
        (f'"{E1}", "{E2}"', frozenset({E1, E2})),
        (f'"{E1.upper()}"', frozenset({E1})),
        (E1, frozenset({E1})),  # quotes dropped by some clients
        (f'W/"{E1}"', frozenset({"W/" + E1})),
        (" * ", frozenset({"*"})),
    ],
)
def test_if_match_parsing(header: str, expected: frozenset[str]) -> None:
    assert (
        precondition(request("PUT", "/activities/state", {}, **{"If-Match": header})).if_match
        == expected
    )


def test_if_none_match_compares_weakly() -> None:
    pre = precondition(request("PUT", "/agents/profile", {}, **{"If-None-Match": f'W/"{E1}"'}))
    assert pre.if_none_match == frozenset({E1})


@pytest.mark.parametrize("header", ['"abc', f'"{E1}" "{E2}"', "", 'a"b'])
def test_malformed_etags_are_400_naming_the_header(header: str) -> None:
    with pytest.raises(InvalidParameter, match="If-Match"):
        precondition(request("PUT", "/activities/state", {}, **{"If-Match": header}))


# ------------------------------------------------------------------------------ use cases

STATE_KEY = DocumentKey(DocumentScope(DocumentKind.STATE, ACT, "mbox:mailto:a@b.c"), "s")
PROFILE_KEY = DocumentKey(DocumentScope(DocumentKind.ACTIVITY_PROFILE, ACT), "p")


@pytest.fixture
def documents() -> DocumentService:
    return DocumentService(MemoryDocumentStore(), MonotonicClock())


def test_profile_put_without_precondition_is_409_when_it_exists_400_when_not(
    documents: DocumentService,
) -> None:
    """CONC-006 (XAPI-00322 'Return 409 conflict'), ADL 2.6/2.7 'fails without ETag header'."""
    who = principal()
    with pytest.raises(BadRequest, match="If-None-Match"):
        documents.put(who, PROFILE_KEY, b"{}", "application/json", ANY)
    documents.put(
        who, PROFILE_KEY, b"{}", "application/json", Precondition(if_none_match=frozenset({"*"}))
    )
    with pytest.raises(Conflict, match="If-Match set to its ETag"):
        documents.put(who, PROFILE_KEY, b'{"x": 1}', "application/json", ANY)
    assert documents.get(who, PROFILE_KEY).content == b"{}"


def test_state_put_needs_no_precondition_but_honours_one(documents: DocumentService) -> None:
    """CONC-007: State may be written without concurrency headers (C§3.1.s3)."""
    who = principal()
    documents.put(who, STATE_KEY, b"1", "text/plain", ANY)
    documents.put(who, STATE_KEY, b"2", "text/plain", ANY)
    with pytest.raises(PreconditionFailed):
        documents.put(who, STATE_KEY, b"3", "text/plain", Precondition(if_match=frozenset({E1})))
    assert documents.get(who, STATE_KEY).content == b"2"


def test_post_of_invalid_json_is_400_even_for_a_new_document(documents: DocumentService) -> None:
    """DOC-005 (XAPI-00314)."""
    with pytest.raises(BadRequest, match="body"):
        documents.post(principal(), PROFILE_KEY, b'{"a": 1}[', "application/json", ANY)


@pytest.mark.parametrize(
    ("scopes", "key", "write", "allowed"),
    [
        ({Scope.STATE}, STATE_KEY, True, True),
        ({Scope.STATE}, PROFILE_KEY, False, False),
        ({Scope.PROFILE}, PROFILE_KEY, True, True),
        ({Scope.PROFILE}, STATE_KEY, False, False),
        ({Scope.ALL_READ}, STATE_KEY, False, True),
        ({Scope.ALL_READ}, PROFILE_KEY, True, False),
        ({Scope.STATEMENTS_WRITE}, STATE_KEY, True, False),
    ],
)
def test_document_scopes(
    documents: DocumentService, scopes: set[Scope], key: DocumentKey, write: bool, allowed: bool
) -> None:
    """C§4.2: ``state`` for State, ``profile`` for profiles, ``all/read`` reads both."""
    who = principal(*scopes)
    pre = Precondition(if_none_match=frozenset({"*"}))

    def call() -> None:
        if write:
            documents.put(who, key, b"{}", "application/json", pre)
        else:
            documents.ids(who, key.scope, None)

    if allowed:
        call()
    else:
        with pytest.raises(Forbidden):
            call()


def test_definitions_need_the_define_scope() -> None:
    """C§4.2 define: without it, Statements leave canonical Activities alone."""
    service = ActivityService(MemoryActivityStore())
    statements = [{"object": {"id": ACT, "definition": {"name": {"en": "x"}}}}]
    service.record(principal(Scope.STATEMENTS_WRITE), statements)
    assert service.get(principal(), ACT) == {"objectType": "Activity", "id": ACT}
    service.record(principal(Scope.STATEMENTS_WRITE, Scope.DEFINE), statements)
    assert service.get(principal(), ACT)["definition"] == {"name": {"en": "x"}}


def test_repeated_definitions_are_written_once_per_process() -> None:
    """The ingest path skips rewriting a definition this process wrote last."""

    class Counting(MemoryActivityStore):
        calls = 0

        def merge(self, tenant: str, definitions: Any) -> None:
            Counting.calls += 1
            super().merge(tenant, definitions)

    service = ActivityService(Counting())
    first = [{"object": {"id": ACT, "definition": {"name": {"en": "x"}}}}]
    changed = [{"object": {"id": ACT, "definition": {"name": {"en": "y"}}}}]
    for batch in (first, first, changed, first):
        service.record(principal(), batch)
    assert Counting.calls == 3
    assert service.get(principal(), ACT)["definition"] == {"name": {"en": "x"}}
