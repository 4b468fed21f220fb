"""One contract for every DocumentStore adapter (memory, SQLite on a file, DynamoDB on moto).

The ``document_store`` fixture (tests/conftest.py) is parametrized over all adapters, so each test
below runs against each of them.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable
from typing import Any

import pytest

from progress.app.ports import DocumentStore
from progress.domain.documents import (
    ANY,
    Document,
    DocumentKey,
    DocumentKind,
    DocumentScope,
    Precondition,
)
from progress.domain.errors import BadRequest, PreconditionFailed

T1, T2 = "tenant-one", "tenant-two"
ACTIVITY = "http://example.com/activities/1"
AGENT = "mbox:mailto:ada@example.com"
STATE = DocumentScope(DocumentKind.STATE, activity_id=ACTIVITY, agent=AGENT)
REGISTERED = DocumentScope(
    DocumentKind.STATE,
    activity_id=ACTIVITY,
    agent=AGENT,
    registration="6d5b8c1e-0d9a-4e1b-9f43-2f7c9f0d1a11",
)
ACTIVITY_PROFILE = DocumentScope(DocumentKind.ACTIVITY_PROFILE, activity_id=ACTIVITY)
AGENT_PROFILE = DocumentScope(DocumentKind.AGENT_PROFILE, agent=AGENT)
BASE_US = 1_750_000_000_000_000


def doc(
    content: bytes | dict[str, object], n: int = 0, ctype: str = "application/json"
) -> Document:
    raw = json.dumps(content).encode() if isinstance(content, dict) else content
    return Document.of(raw, ctype, BASE_US + n)


def if_match(*etags: str) -> Precondition:
    return Precondition(if_match=frozenset(etags))


def if_none_match(*etags: str) -> Precondition:
    return Precondition(if_none_match=frozenset(etags))


def content(store: DocumentStore, tenant: str, k: DocumentKey) -> Any:
    got = store.get(tenant, k)
    assert got is not None
    return json.loads(got.content)


def key(doc_id: str = "s1", scope: DocumentScope = STATE) -> DocumentKey:
    return DocumentKey(scope, doc_id)


def test_put_then_get_returns_bytes_type_etag_and_updated(document_store: DocumentStore) -> None:
    """DOC-002, CONC-002: stored as sent; the ETag is the lowercase hex SHA-1 of the bytes."""
    written = doc({"x": "foo"}, 1, "application/json; charset=utf-8")
    document_store.put(T1, key(), written, ANY)
    got = document_store.get(T1, key())
    assert got == written
    assert got is not None
    assert got.etag == hashlib.sha1(got.content, usedforsecurity=False).hexdigest()
    assert document_store.get(T1, key("other")) is None


@pytest.mark.parametrize("size", [256, 1_000_000])
def test_binary_documents_round_trip_byte_exact(document_store: DocumentStore, size: int) -> None:
    """DOC-002: arbitrary bytes, including documents bigger than one DynamoDB item."""
    content = os.urandom(size)
    document_store.put(T1, key(), doc(content, ctype="application/octet-stream"), ANY)
    got = document_store.get(T1, key())
    assert got is not None
    assert got.content == content
    assert got.content_type == "application/octet-stream"


def test_replacing_large_with_small_and_back_keeps_only_the_latest(
    document_store: DocumentStore,
) -> None:
    """PUT replaces (DOC-006), whatever the sizes of the old and new documents."""
    big, small = os.urandom(800_000), b"small"
    for n, content in enumerate((big, small, big[::-1], small + b"!")):
        document_store.put(T1, key(), doc(content, n), ANY)
        got = document_store.get(T1, key())
        assert got is not None
        assert got.content == content


def test_tenants_with_the_same_keys_never_see_each_other(document_store: DocumentStore) -> None:
    """TEN-001: every key is tenant-scoped -- reads, lists, deletes, preconditions."""
    document_store.put(T1, key(), doc({"t": 1}), ANY)
    document_store.put(T2, key(), doc({"t": 2}), ANY)
    assert content(document_store, T1, key()) == {"t": 1}
    assert content(document_store, T2, key()) == {"t": 2}
    with pytest.raises(PreconditionFailed):
        document_store.put(T2, key(), doc({"t": 3}), if_match(doc({"t": 1}).etag))
    document_store.delete_all(T1, STATE)
    assert document_store.get(T1, key()) is None
    assert document_store.ids(T2, STATE, None).keys() == {"s1"}


def test_scopes_are_distinct_registration_and_resource_included(
    document_store: DocumentStore,
) -> None:
    """STATE-005: with and without registration are different documents; so are the same id
    under the State, Activity Profile and Agent Profile resources."""
    scopes = (STATE, REGISTERED, ACTIVITY_PROFILE, AGENT_PROFILE)
    for n, scope in enumerate(scopes):
        document_store.put(T1, key("same", scope), doc({"n": n}), ANY)
    for n, scope in enumerate(scopes):
        assert content(document_store, T1, key("same", scope)) == {"n": n}
        assert list(document_store.ids(T1, scope, None)) == ["same"]


def test_if_match_with_the_current_etag_replaces(document_store: DocumentStore) -> None:
    """CONC-003: If-Match holding the current ETag lets the PUT through."""
    first = doc({"v": 1})
    document_store.put(T1, key(), first, ANY)
    document_store.put(T1, key(), doc({"v": 2}, 1), if_match(first.etag, "0" * 40))
    assert content(document_store, T1, key()) == {"v": 2}


@pytest.mark.parametrize(
    ("exists", "precondition"),
    [
        (True, if_match("1" * 40)),  # CONC-003: stale ETag
        (False, if_match("1" * 40)),  # If-Match and no document
        (False, if_match("*")),  # If-Match: * needs a document
        (True, if_none_match("*")),  # CONC-004
    ],
)
def test_failed_precondition_raises_and_changes_nothing(
    document_store: DocumentStore, exists: bool, precondition: Precondition
) -> None:
    """CONC-003/004/005: 412 and no modification, for PUT, POST (merge) and DELETE alike."""
    original = doc({"v": 1})
    if exists:
        document_store.put(T1, key(), original, ANY)
    with pytest.raises(PreconditionFailed):
        document_store.put(T1, key(), doc({"v": 2}, 1), precondition)
    with pytest.raises(PreconditionFailed):
        document_store.put(T1, key(), doc({"w": 2}, 1), precondition, merge=True)
    if exists or precondition.if_match is not None:
        with pytest.raises(PreconditionFailed):
            document_store.delete(T1, key(), precondition)
    assert document_store.get(T1, key()) == (original if exists else None)


def test_if_none_match_star_creates_and_if_match_star_replaces(
    document_store: DocumentStore,
) -> None:
    """CONC-004: If-None-Match: * succeeds when nothing is stored; If-Match: * when something is."""
    document_store.put(T1, key(), doc({"v": 1}), if_none_match("*"))
    document_store.put(T1, key(), doc({"v": 2}, 1), if_match("*"))
    assert content(document_store, T1, key()) == {"v": 2}


def test_if_none_match_with_the_current_etag_fails(document_store: DocumentStore) -> None:
    """RFC 7232 3.2: If-None-Match listing the current ETag fails; another ETag passes."""
    first = doc({"v": 1})
    document_store.put(T1, key(), first, ANY)
    with pytest.raises(PreconditionFailed):
        document_store.put(T1, key(), doc({"v": 2}, 1), if_none_match(first.etag))
    document_store.put(T1, key(), doc({"v": 3}, 2), if_none_match("0" * 40))


def test_merge_sets_top_level_properties_and_creates_when_absent(
    document_store: DocumentStore,
) -> None:
    """DOC-004, DOC-006: POST creates; POST again merges one level deep (objects replaced)."""
    document_store.put(T1, key(), doc({"x": "foo", "y": "bar", "o": {"a": 1}}), ANY, merge=True)
    document_store.put(T1, key(), doc({"x": "bash", "z": "faz", "o": {"b": 2}}, 1), ANY, merge=True)
    got = document_store.get(T1, key())
    assert got is not None
    assert json.loads(got.content) == {"x": "bash", "y": "bar", "z": "faz", "o": {"b": 2}}
    assert got.etag == hashlib.sha1(got.content, usedforsecurity=False).hexdigest()
    assert got.updated_us == BASE_US + 1


def test_merge_with_if_match_uses_the_current_etag(document_store: DocumentStore) -> None:
    """CONC-005: POST honours If-Match like PUT."""
    first = doc({"a": 1})
    document_store.put(T1, key(), first, ANY)
    document_store.put(T1, key(), doc({"b": 2}, 1), if_match(first.etag), merge=True)
    assert content(document_store, T1, key()) == {"a": 1, "b": 2}


@pytest.mark.parametrize(
    ("stored", "posted"),
    [
        (doc(b"plain text", ctype="text/plain"), doc({"a": 1})),  # stored is not JSON
        (doc({"a": 1}), doc(b"abcdefg", ctype="not/json")),  # posted is not JSON
        (doc(b"[1, 2]"), doc({"a": 1})),  # stored JSON, but not an object
        (doc({"a": 1}), doc(b'{"a": 1}[')),  # posted claims JSON, is not
    ],
)
def test_merge_needing_non_objects_raises_bad_request_and_changes_nothing(
    document_store: DocumentStore, stored: Document, posted: Document
) -> None:
    """DOC-005: either side not an application/json object -> 400, document untouched."""
    document_store.put(T1, key(), stored, ANY)
    with pytest.raises(BadRequest):
        document_store.put(T1, key(), posted, ANY, merge=True)
    assert document_store.get(T1, key()) == stored


def test_ids_lists_the_scope_with_since_exclusive(document_store: DocumentStore) -> None:
    """DOC-007, STATE-003: ids of the scope only, ``since`` strictly before ``updated``."""
    for n, doc_id in enumerate(("a", "b", "c")):
        document_store.put(T1, key(doc_id), doc({"n": n}, n), ANY)
    document_store.put(T1, key("elsewhere", REGISTERED), doc({}, 9), ANY)
    assert document_store.ids(T1, STATE, None) == {"a": BASE_US, "b": BASE_US + 1, "c": BASE_US + 2}
    assert document_store.ids(T1, STATE, BASE_US + 1) == {"c": BASE_US + 2}
    assert document_store.ids(T1, STATE, BASE_US + 2) == {}
    assert document_store.ids(T1, AGENT_PROFILE, None) == {}


def test_delete_removes_one_and_absent_is_not_an_error(document_store: DocumentStore) -> None:
    """DOC-006, STATE-004: DELETE single -> gone; deleting nothing is fine."""
    first = doc({"a": 1})
    document_store.put(T1, key("a"), first, ANY)
    document_store.put(T1, key("b"), doc({"b": 1}), ANY)
    document_store.delete(T1, key("a"), if_match(first.etag))
    document_store.delete(T1, key("a"), ANY)
    assert document_store.get(T1, key("a")) is None
    assert list(document_store.ids(T1, STATE, None)) == ["b"]


def test_delete_all_empties_one_scope_only(document_store: DocumentStore) -> None:
    """STATE-004/005: DELETE without stateId removes the scope's documents, big ones included,
    and leaves the registration's scope alone."""
    document_store.put(T1, key("a"), doc({"a": 1}), ANY)
    document_store.put(T1, key("big"), doc(os.urandom(500_000)), ANY)
    document_store.put(T1, key("a", REGISTERED), doc({"r": 1}), ANY)
    document_store.delete_all(T1, STATE)
    assert document_store.ids(T1, STATE, None) == {}
    assert document_store.get(T1, key("big")) is None
    assert list(document_store.ids(T1, REGISTERED, None)) == ["a"]


# ------------------------------------------------------------------------------ concurrency

ROUNDS = 50


def _race(*writers: Callable[[], None]) -> list[BaseException | None]:
    """Run the writers at the same instant on their own threads; what each raised (or None)."""
    barrier = threading.Barrier(len(writers))
    results: list[BaseException | None] = [None] * len(writers)

    def run(i: int) -> None:
        barrier.wait()
        try:
            writers[i]()
        except BaseException as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(writers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.mark.parametrize("writers", [2, 4])
def test_puts_with_the_same_if_match_exactly_one_wins(
    document_store: DocumentStore, writers: int
) -> None:
    """CONC-003 under contention: the precondition is checked in the write itself, so of the
    clients holding the same ETag one succeeds and the others get 412 -- in every round. (A
    read-then-write store lets two through within a few rounds, more often with 4 writers.)"""
    for n in range(ROUNDS):
        k = key(f"race-{writers}-{n}")
        base = doc({"round": n})
        document_store.put(T1, k, base, ANY)
        docs = [doc({"by": i, "n": n}, 1) for i in range(writers)]
        results = _race(
            *(lambda k=k, d=d, e=base.etag: document_store.put(T1, k, d, if_match(e)) for d in docs)
        )
        assert sorted(type(r).__name__ for r in results) == ["NoneType"] + [
            "PreconditionFailed"
        ] * (writers - 1)
        assert document_store.get(T1, k) == docs[results.index(None)]


def test_concurrent_merges_lose_no_property(document_store: DocumentStore) -> None:
    """DOC-004 under contention: POST merges are read-merge-write, yet atomic -- every
    concurrently posted property ends up in the document."""
    for n in range(ROUNDS // 5):
        k = key(f"merge-{n}")
        writers = [
            lambda k=k, i=i: document_store.put(T1, k, doc({f"p{i}": i}, i), ANY, merge=True)
            for i in range(4)
        ]
        assert _race(*writers) == [None] * 4
        got = document_store.get(T1, k)
        assert got is not None
        assert json.loads(got.content) == {f"p{i}": i for i in range(4)}
