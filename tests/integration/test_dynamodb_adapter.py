"""DynamoDB-specific behaviour the port contract cannot see: chunked transactions, shards, item
size limits and the tenant prefix of every key. Runs on moto (in-process)."""

from __future__ import annotations

import hashlib
import random
import uuid
from typing import TYPE_CHECKING, Any

import pytest

from progress.adapters.dynamodb import DynamoStatementStore, DynamoTenantStore
from progress.adapters.dynamodb.table import ITEM_LIMIT, TENANT_REGISTRY_PK, attachment_pk
from progress.app.ports import DuplicateIds
from progress.domain.errors import PayloadTooLarge
from progress.domain.statements import ALL, Attachment, NewStatement, Position, StatementQuery
from progress.domain.tenancy import Credential, Scope, Tenant, tenant_hash
from tests.contract.test_statement_store import BASE_US, make, voiding
from tests.integration.conftest import TABLE, raw_items

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

pytestmark = pytest.mark.dynamodb

T1, T2 = "tenant-one", "tenant-two"


def scan_ids(store: DynamoStatementStore, tenant: str, key: str = ALL, **q: Any) -> list[str]:
    rows, exhausted = store.scan(tenant, key, StatementQuery(**q), None, 1000)
    assert exhausted
    return [r.id for r in rows]


def ref(n: int, target: str) -> NewStatement:
    return make(n, obj={"objectType": "StatementRef", "id": target})


def test_a_batch_larger_than_one_transaction_is_stored_whole(dynamo: DynamoDBClient) -> None:
    store = DynamoStatementStore(dynamo, TABLE)
    batch = [make(n) for n in range(230)]
    store.insert(T1, batch, {}, [])
    assert scan_ids(store, T1, ascending=True) == [r.id for r in batch]


def test_a_late_duplicate_rolls_back_the_chunks_already_written(dynamo: DynamoDBClient) -> None:
    """SAPI-014 across transactions: chunk 1 (refs and a voiding marker included) is undone when
    chunk 2 meets a stored id; the duplicates of chunk 3, never attempted, are named too."""
    store = DynamoStatementStore(dynamo, TABLE)
    first, second = make(0), make(1)
    store.insert(T1, [first, second], {}, [])
    before = raw_items(dynamo)
    batch = [make(n) for n in range(2, 260)]
    batch[5] = ref(5, first.id)
    batch[6] = voiding(6, first.id)
    batch[150] = make(150, sid=first.id)  # chunk 2: indexes 99..198
    batch[240] = make(240, sid=second.id)  # chunk 3
    with pytest.raises(DuplicateIds) as info:
        store.insert(T1, batch, {}, [])
    assert info.value.ids == {first.id, second.id}
    new_ids = [r.id for r in batch if r.id not in info.value.ids]
    assert store.get(T1, new_ids) == {}
    assert not store.get(T1, [first.id])[first.id].voided
    assert store.referrers(T1, [first.id]) == {}
    assert scan_ids(store, T1, ascending=True) == [first.id, second.id]
    marker = {"pk": {"S": f"{tenant_hash(T1)}#S#{first.id}"}, "sk": {"S": "R"}}
    after = [i for i in raw_items(dynamo) if i != marker]  # an emptied marker may stay
    assert sorted(after, key=repr) == sorted(before, key=repr)


def test_refs_to_one_target_in_one_batch_share_one_marker_update(dynamo: DynamoDBClient) -> None:
    store = DynamoStatementStore(dynamo, TABLE)
    target = make(0)
    refs = [ref(1, target.id), ref(2, target.id), voiding(3, target.id)]
    store.insert(T1, [target, *refs], {}, [])
    assert store.referrers(T1, [target.id]) == {target.id: sorted(r.id for r in refs)}
    assert store.get(T1, [target.id])[target.id].voided


def test_index_shards_are_merged_in_stored_order(dynamo: DynamoDBClient) -> None:
    """Ties on ``stored`` are ordered by id, in every shard and across them."""
    store = DynamoStatementStore(dynamo, TABLE, index_shards=4)
    recs = [make(n % 7) for n in range(40)]
    shuffled = random.sample(recs, len(recs))
    for start in range(0, 40, 10):
        store.insert(T1, shuffled[start : start + 10], {}, [])
    shards = {i["pk"]["S"].rsplit("#", 1)[1] for i in raw_items(dynamo) if "#X#" in i["pk"]["S"]}
    assert shards == {"0", "1", "2", "3"}
    newest_first = [sid for _, sid in sorted(((r.stored_us, r.id) for r in recs), reverse=True)]
    assert scan_ids(store, T1) == newest_first
    assert scan_ids(store, T1, ascending=True) == newest_first[::-1]
    window = [r for r in recs if BASE_US + 1 < r.stored_us <= BASE_US + 5]
    assert scan_ids(store, T1, since_us=BASE_US + 1, until_us=BASE_US + 5) == [
        sid for _, sid in sorted(((r.stored_us, r.id) for r in window), reverse=True)
    ]
    paged: list[str] = []
    after: Position | None = None
    while True:
        rows, exhausted = store.scan(T1, ALL, StatementQuery(), after, 7)
        paged += [r.id for r in rows]
        if exhausted:
            break
        after = Position(rows[-1].stored_us, rows[-1].id)
    assert paged == newest_first


def test_an_attachment_of_one_megabyte_round_trips(dynamo: DynamoDBClient) -> None:
    store = DynamoStatementStore(dynamo, TABLE)
    data = random.randbytes(1 << 20)
    att = Attachment(hashlib.sha256(data).hexdigest(), "application/pdf", data)
    store.insert(T1, [make(1)], {}, [att])
    assert store.attachments(T1, [att.sha2]) == {att.sha2: att}
    items = [
        i for i in raw_items(dynamo) if i["pk"]["S"] == attachment_pk(tenant_hash(T1), att.sha2)
    ]
    assert sorted(i["sk"]["S"] for i in items) == ["B", "B#0000", "B#0001", "B#0002"]
    assert all(len(i.get("data", {}).get("B", b"")) < ITEM_LIMIT for i in items)


def test_a_statement_over_the_item_limit_is_refused_before_anything_is_written(
    dynamo: DynamoDBClient,
) -> None:
    store = DynamoStatementStore(dynamo, TABLE)
    small = make(1)
    huge = NewStatement(
        id=str(uuid.uuid4()), stored_us=BASE_US, body=b"x" * ITEM_LIMIT, keys=small.keys
    )
    with pytest.raises(PayloadTooLarge):
        store.insert(T1, [small, huge], {}, [])
    assert raw_items(dynamo) == []


def test_every_partition_key_starts_with_a_tenant_hash(dynamo: DynamoDBClient) -> None:
    """TEN-001 at the storage level: IAM dynamodb:LeadingKeys can confine each tenant."""
    statements = DynamoStatementStore(dynamo, TABLE)
    tenants = DynamoTenantStore(dynamo, TABLE)
    for tenant in (T1, T2):
        target = make(1)
        late_target_id = str(uuid.uuid4())
        data = random.randbytes(500_000)
        att = Attachment(hashlib.sha256(data).hexdigest(), "text/plain", data)
        statements.insert(
            tenant, [target, voiding(2, target.id), ref(3, late_target_id)], {}, [att]
        )
        statements.insert(tenant, [make(4, sid=late_target_id)], {}, [])
        statements.inherit(
            tenant,
            statements.referrers(tenant, [late_target_id])[late_target_id][0],
            [frozenset({"v:x"})],
        )
        tenants.put_tenant(Tenant(tenant, tenant.upper(), "2026-11-25T00:00:00Z"))
        tenants.put_credential(
            Credential(
                f"key-{tenant}", tenant, "h", frozenset({Scope.ALL}), "app", "2026-11-25T00:00:00Z"
            )
        )
    prefixes = {tenant_hash(T1), tenant_hash(T2)}
    pks = [i["pk"]["S"] for i in raw_items(dynamo)]
    # The control plane: credential lookups (the authorizer knows only the key) and the
    # operator's tenant registry; neither holds learner data.
    assert {pk.split("#", 1)[0] for pk in pks} == prefixes | {"CRED", TENANT_REGISTRY_PK}
    assert all(
        pk[:16] in prefixes or pk.startswith("CRED#") or pk == TENANT_REGISTRY_PK for pk in pks
    )
    assert sum(pk.startswith("CRED#") for pk in pks) == 2
    assert sum(pk == TENANT_REGISTRY_PK for pk in pks) == 2  # one registry item per tenant


def test_a_tenant_never_sees_another_tenants_statements_under_the_same_ids(
    dynamo: DynamoDBClient,
) -> None:
    store = DynamoStatementStore(dynamo, TABLE)
    in_a = [make(n, verb="http://example.com/verbs/a-only") for n in range(5)]
    in_b = [make(n, sid=a.id) for n, a in enumerate(in_a)]
    store.insert(T1, in_a, {}, [])
    store.insert(T2, in_b, {}, [])
    rows, _ = store.scan(T2, ALL, StatementQuery(), None, 100)
    assert sorted(r.body for r in rows) == sorted(b.body for b in in_b)
    assert scan_ids(store, T2, "v:http://example.com/verbs/a-only") == []
    assert scan_ids(store, T1, "v:http://example.com/verbs/a-only") == [a.id for a in in_a][::-1]
    assert store.get(T2, [in_a[0].id])[in_a[0].id].body == in_b[0].body


def test_a_resent_batch_repairs_index_items_lost_in_a_crash(dynamo: DynamoDBClient) -> None:
    """The Statement transaction committed but the index writes did not (process killed in
    between). The client, having seen no 200, resends: the LRS answers 200 and the Statements
    become findable again."""
    from progress.app.clock import MonotonicClock
    from progress.app.statements import StatementService
    from progress.domain.tenancy import Principal

    store = DynamoStatementStore(dynamo, TABLE)
    service = StatementService(store, MonotonicClock())
    who = Principal("acme", "k", frozenset({Scope.ALL}), "app", "http://lrs/c")
    batch = [
        {
            "id": str(uuid.uuid4()),
            "actor": {"mbox": "mailto:offline@example.com"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/attempted"},
            "object": {"id": f"http://example.com/a/{i}"},
        }
        for i in range(3)
    ]
    service.store(who, batch)
    th = tenant_hash("acme")
    lost = [i for i in raw_items(dynamo) if "#X#" in i["pk"]["S"] and i["pk"]["S"].startswith(th)]
    assert lost
    for item in lost:
        dynamo.delete_item(TableName=TABLE, Key={"pk": item["pk"], "sk": item["sk"]})
    assert scan_ids(store, "acme") == []
    assert service.store(who, batch).ids == [s["id"] for s in batch]
    assert sorted(scan_ids(store, "acme")) == sorted(str(s["id"]) for s in batch)
