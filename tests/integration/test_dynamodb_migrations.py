"""Statement item formats: v1 <-> v2 through ``backfill`` loses nothing, and backfill repairs the
index items a crash between the transaction and the index writes leaves missing."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import pytest

from progress.adapters.dynamodb import (
    BackfillStats,
    DynamoStatementStore,
    backfill,
)
from progress.domain.statements import ALL, NewStatement, StatementQuery
from tests.contract.test_statement_store import make, voiding
from tests.integration.conftest import TABLE

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import WriteRequestTypeDef

pytestmark = pytest.mark.dynamodb

T1, T2 = "tenant-one", "tenant-two"
SPECIAL = "http://example.com/verbs/special"
KEYS = (
    ALL,
    f"v:{SPECIAL}",
    "o:http://example.com/activities/1",
    "a:mbox:mailto:learner0@example.com",
)


def statement_items(client: DynamoDBClient) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for page in client.get_paginator("scan").paginate(TableName=TABLE):
        items += [i for i in page["Items"] if i["sk"]["S"] == "S"]
    return items


def seed(store: DynamoStatementStore) -> list[str]:
    """Plain, referring, voiding and inheriting Statements in two tenants; their ids."""
    ids: list[str] = []
    for tenant in (T1, T2):
        plain = [make(n) for n in range(8)]
        target = make(20, verb=SPECIAL)
        late_id = str(uuid.uuid4())
        ref = make(21, obj={"objectType": "StatementRef", "id": target.id})
        late_ref = make(22, obj={"objectType": "StatementRef", "id": late_id})
        store.insert(tenant, [*plain, target], {}, [])
        void = voiding(23, plain[0].id)
        store.insert(tenant, [ref, late_ref, void], {ref.id: (ref.keys, target.keys)}, [])
        late = make(24, verb=SPECIAL, sid=late_id)
        store.insert(tenant, [late], {}, [])
        store.inherit(tenant, late_ref.id, [late.keys])
        ids += [r.id for r in (*plain, target, ref, late_ref, void, late)]
    return ids


def snapshot(store: DynamoStatementStore, ids: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for tenant in (T1, T2):
        out[f"{tenant} get"] = store.get(tenant, ids)
        out[f"{tenant} referrers"] = store.referrers(tenant, ids)
        for key in KEYS:
            for ascending in (False, True):
                rows, _ = store.scan(tenant, key, StatementQuery(ascending=ascending), None, 1000)
                out[f"{tenant} {key} {ascending}"] = rows
    return out


def test_up_down_up_loses_nothing(dynamo: DynamoDBClient) -> None:
    store = DynamoStatementStore(dynamo, TABLE)
    ids = seed(store)
    before = snapshot(store, ids)
    assert all(before[f"{T1} {key} False"] for key in KEYS)
    seen: list[int] = []
    for target in (2, 1, 2):
        stats = backfill(
            dynamo, TABLE, target_version=target, progress=lambda s: seen.append(s.scanned)
        )
        assert stats.migrated == stats.scanned == len(ids)
        assert stats.conflicts == 0
        assert seen[-1] == len(ids)
        items = statement_items(dynamo)
        assert {i["v"]["N"] for i in items} == {str(target)}
        assert {next(iter(i["groups"])) for i in items} == {"B" if target == 2 else "L"}
        assert snapshot(store, ids) == before


def test_backfill_restores_missing_index_items(dynamo: DynamoDBClient) -> None:
    """The crash window between the statement transaction and the index writes."""
    store = DynamoStatementStore(dynamo, TABLE)
    ids = seed(store)
    before = snapshot(store, ids)
    index: list[WriteRequestTypeDef] = [
        {"DeleteRequest": {"Key": {"pk": i["pk"], "sk": i["sk"]}}}
        for page in dynamo.get_paginator("scan").paginate(TableName=TABLE)
        for i in page["Items"]
        if "#X#" in i["pk"]["S"]
    ]
    for start in range(0, len(index), 25):
        dynamo.batch_write_item(RequestItems={TABLE: index[start : start + 25]})
    assert snapshot(store, ids) != before
    stats = backfill(dynamo, TABLE, target_version=1)
    assert stats == BackfillStats(scanned=len(ids), migrated=0, conflicts=0, index_items=len(index))
    assert snapshot(store, ids) == before


def test_segments_split_the_work(dynamo: DynamoDBClient) -> None:
    ids = seed(DynamoStatementStore(dynamo, TABLE))
    parts = [
        backfill(dynamo, TABLE, target_version=2, segment=s, total_segments=3, reindex=False)
        for s in range(3)
    ]
    assert sum(p.migrated for p in parts) == len(ids)
    assert {i["v"]["N"] for i in statement_items(dynamo)} == {"2"}


def test_the_adapter_writes_and_extends_items_of_either_version(dynamo: DynamoDBClient) -> None:
    v2 = DynamoStatementStore(dynamo, TABLE, write_version=2)
    target = make(1, verb=SPECIAL)
    referrer: NewStatement = make(2, obj={"objectType": "StatementRef", "id": target.id})
    v2.insert(T1, [referrer], {}, [])
    assert {i["v"]["N"] for i in statement_items(dynamo)} == {"2"}
    v2.insert(T1, [target], {}, [])
    backfill(dynamo, TABLE, target_version=1)
    v2.inherit(T1, referrer.id, [target.keys])  # a v2 writer extends a v1 item as v1
    assert {i["v"]["N"] for i in statement_items(dynamo)} == {"1"}
    got = v2.get(T1, [referrer.id])[referrer.id]
    assert got.key_groups == (referrer.keys, target.keys)
    rows, _ = v2.scan(T1, f"v:{SPECIAL}", StatementQuery(), None, 10)
    assert [r.id for r in rows] == [referrer.id, target.id]


def test_unknown_versions_are_refused(dynamo: DynamoDBClient) -> None:
    with pytest.raises(ValueError, match="version"):
        backfill(dynamo, TABLE, target_version=3)
    with pytest.raises(ValueError, match="version"):
        DynamoStatementStore(dynamo, TABLE, write_version=0)
