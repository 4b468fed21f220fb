"""One contract for every StatementStore adapter (memory, SQLite, DynamoDB on moto).

The ``statement_store`` fixture (tests/conftest.py) is parametrized over all adapters, so each
test below runs against each of them.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
import pytest

from progress.app.ports import DuplicateIds, StatementStore
from progress.domain.statements import (
    ALL,
    Attachment,
    NewStatement,
    Position,
    StatementQuery,
    index_keys,
    is_voiding,
    statement_ref_target,
)

T1, T2 = "tenant-one", "tenant-two"
BASE_US = 1_750_000_000_000_000


def make(
    n: int,
    *,
    verb: str = "http://adlnet.gov/expapi/verbs/experienced",
    obj: dict[str, Any] | None = None,
    sid: str | None = None,
) -> NewStatement:
    sid = sid or str(uuid.uuid4())
    body = {
        "id": sid,
        "actor": {"mbox": f"mailto:learner{n % 3}@example.com"},
        "verb": {"id": verb},
        "object": obj or {"id": f"http://example.com/activities/{n % 2}"},
        "stored": f"#{n}",
    }
    return NewStatement(
        id=sid,
        stored_us=BASE_US + n,
        body=orjson.dumps(body),
        keys=index_keys(body),
        ref_target=statement_ref_target(body),
        voiding=is_voiding(body),
    )


def voiding(n: int, target: str) -> NewStatement:
    return make(
        n,
        verb="http://adlnet.gov/expapi/verbs/voided",
        obj={"objectType": "StatementRef", "id": target},
    )


def scan_all(store: StatementStore, tenant: str, key: str = ALL, **q: Any) -> list[str]:
    rows, exhausted = store.scan(tenant, key, StatementQuery(**q), None, 1000)
    assert exhausted
    return [r.id for r in rows]


def test_insert_then_get_returns_the_same_bytes_and_keys(statement_store: StatementStore) -> None:
    rec = make(1)
    statement_store.insert(T1, [rec], {}, [])
    got = statement_store.get(T1, [rec.id])[rec.id]
    assert got.body == rec.body
    assert got.stored_us == rec.stored_us
    assert got.key_groups == (rec.keys,)
    assert not got.voided


def test_get_leaves_out_unknown_ids(statement_store: StatementStore) -> None:
    assert statement_store.get(T1, [str(uuid.uuid4())]) == {}


def test_duplicate_id_rejects_the_whole_batch_and_names_the_id(
    statement_store: StatementStore,
) -> None:
    """SAPI-003/SAPI-014: nothing of a batch with a stored id is written; the id is reported."""
    first = make(1)
    statement_store.insert(T1, [first], {}, [])
    fresh = make(2)
    with pytest.raises(DuplicateIds) as info:
        statement_store.insert(T1, [fresh, make(3, sid=first.id)], {}, [])
    assert info.value.ids == {first.id}
    assert statement_store.get(T1, [fresh.id]) == {}
    assert statement_store.get(T1, [first.id])[first.id].body == first.body


def test_same_id_in_two_tenants_is_two_statements(statement_store: StatementStore) -> None:
    """TEN-001: ids, reads and scans are per tenant."""
    a = make(1)
    b = make(2, sid=a.id)
    statement_store.insert(T1, [a], {}, [])
    statement_store.insert(T2, [b], {}, [])
    assert statement_store.get(T1, [a.id])[a.id].body == a.body
    assert statement_store.get(T2, [a.id])[a.id].body == b.body
    assert scan_all(statement_store, T1) == [a.id]
    assert scan_all(statement_store, T2) == [a.id]
    assert scan_all(statement_store, "tenant-three") == []


def test_scan_orders_by_stored_and_honours_since_until(statement_store: StatementStore) -> None:
    """SAPI-030/031/035: since exclusive, until inclusive, newest first unless ascending."""
    recs = [make(n) for n in range(6)]
    statement_store.insert(T1, recs, {}, [])
    ids = [r.id for r in recs]
    assert scan_all(statement_store, T1) == ids[::-1]
    assert scan_all(statement_store, T1, ascending=True) == ids
    assert scan_all(statement_store, T1, since_us=BASE_US + 1, until_us=BASE_US + 4) == [
        ids[4],
        ids[3],
        ids[2],
    ]


def test_scan_by_key_finds_only_matching(statement_store: StatementStore) -> None:
    recs = [make(n) for n in range(6)]
    statement_store.insert(T1, recs, {}, [])
    key = "o:http://example.com/activities/1"
    assert scan_all(statement_store, T1, key, ascending=True) == [recs[n].id for n in (1, 3, 5)]


def test_scan_pages_with_a_position_and_reports_exhaustion(
    statement_store: StatementStore,
) -> None:
    recs = [make(n) for n in range(5)]
    statement_store.insert(T1, recs, {}, [])
    q = StatementQuery(ascending=True)
    page1, done1 = statement_store.scan(T1, ALL, q, None, 2)
    assert [r.id for r in page1] == [recs[0].id, recs[1].id]
    assert not done1
    after = Position(page1[-1].stored_us, page1[-1].id)
    page2, _ = statement_store.scan(T1, ALL, q, after, 2)
    assert [r.id for r in page2] == [recs[2].id, recs[3].id]
    after = Position(page2[-1].stored_us, page2[-1].id)
    page3, done3 = statement_store.scan(T1, ALL, q, after, 2)
    assert [r.id for r in page3] == [recs[4].id]
    assert done3


def test_voiding_marks_the_target_voided_but_never_a_voiding_statement(
    statement_store: StatementStore,
) -> None:
    """VOID-002."""
    target = make(1)
    statement_store.insert(T1, [target], {}, [])
    void = voiding(2, target.id)
    statement_store.insert(T1, [void], {}, [])
    got = statement_store.get(T1, [target.id, void.id])
    assert got[target.id].voided
    assert not got[void.id].voided


def test_voiding_before_the_target_arrives_still_voids_it(statement_store: StatementStore) -> None:
    """VOID-004: a voiding Statement may precede its target; the target is voided on arrival."""
    target_id = str(uuid.uuid4())
    statement_store.insert(T1, [voiding(1, target_id)], {}, [])
    statement_store.insert(T1, [make(2, sid=target_id)], {}, [])
    assert statement_store.get(T1, [target_id])[target_id].voided


def test_voiding_does_not_cross_tenants(statement_store: StatementStore) -> None:
    target = make(1)
    statement_store.insert(T1, [target], {}, [])
    statement_store.insert(T2, [make(1, sid=target.id)], {}, [])
    statement_store.insert(T2, [voiding(2, target.id)], {}, [])
    assert not statement_store.get(T1, [target.id])[target.id].voided
    assert statement_store.get(T2, [target.id])[target.id].voided


def test_referrers_and_inherit_make_a_ref_findable_under_its_target_keys(
    statement_store: StatementStore,
) -> None:
    """SAPI-040: a StatementRef Statement matches filters its target matches."""
    target_id = str(uuid.uuid4())
    ref = make(1, obj={"objectType": "StatementRef", "id": target_id})
    statement_store.insert(T1, [ref], {}, [])
    assert statement_store.referrers(T1, [target_id]) == {target_id: [ref.id]}
    assert statement_store.referrers(T2, [target_id]) == {}
    target = make(2, verb="http://example.com/verbs/special", sid=target_id)
    statement_store.insert(T1, [target], {}, [])
    key = "v:http://example.com/verbs/special"
    assert scan_all(statement_store, T1, key) == [target_id]
    statement_store.inherit(T1, ref.id, [target.keys])
    assert scan_all(statement_store, T1, key) == [target_id, ref.id]
    got = statement_store.get(T1, [ref.id])[ref.id]
    assert got.key_groups == (ref.keys, target.keys)
    assert got.matches({key})


def test_insert_with_inherited_groups_indexes_them(statement_store: StatementStore) -> None:
    target = make(1, verb="http://example.com/verbs/special")
    statement_store.insert(T1, [target], {}, [])
    ref = make(2, obj={"objectType": "StatementRef", "id": target.id})
    statement_store.insert(T1, [ref], {ref.id: (ref.keys, target.keys)}, [])
    assert scan_all(statement_store, T1, "v:http://example.com/verbs/special") == [
        ref.id,
        target.id,
    ]


def test_attachments_are_stored_per_tenant(statement_store: StatementStore) -> None:
    data = bytes(range(256)) * 4
    att = Attachment(sha2="ab" * 32, content_type="application/octet-stream", data=data)
    statement_store.insert(T1, [make(1)], {}, [att])
    assert statement_store.attachments(T1, {att.sha2}) == {att.sha2: att}
    assert statement_store.attachments(T2, {att.sha2}) == {}
