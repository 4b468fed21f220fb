"""DynamoDB-specific behaviour of the progress adapters that the port contract cannot see: the
outbox relay rule on the table's stream, the Lambda record shape, key prefixes, transaction races,
and listing items following an attempt's start. Runs on moto (in-process)."""

from __future__ import annotations

import base64
import threading
from typing import TYPE_CHECKING, Any

import orjson
import pytest

from progress.adapters.dynamodb.progress import (
    DynamoAttemptStore,
    DynamoCertificateStore,
    DynamoRulesStore,
)
from progress.adapters.dynamodb.statements import DynamoStatementStore
from progress.adapters.dynamodb.stream import StreamReader, outbox_envelopes
from progress.adapters.dynamodb.table import TTL_ATTRIBUTE, hash32
from progress.app.ports import (
    AttemptChange,
    AttemptFilter,
    InboxEntry,
    ProgressCommit,
    VersionConflict,
)
from progress.domain.attempts import Attempt
from progress.domain.events import StatementStored, envelope
from progress.domain.progress_rules import COMPLETED, DEFAULT_RULES, RESUMED, ProgressRules
from progress.domain.statements import NewStatement, index_keys
from progress.domain.tenancy import tenant_hash
from tests.contract.test_progress_stores import BASE, MIN, cert, fact, opened
from tests.integration.conftest import TABLE, raw_items

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

pytestmark = pytest.mark.dynamodb

T1, T2 = "tenant-one", "tenant-two"
ANN = "mbox:mailto:ann@example.com"


def relay(reader: StreamReader) -> list[dict[str, Any]]:
    """What the relay would publish from the records written since the last call."""
    return [env for record in reader.poll() for env in outbox_envelopes(record)]


def save(store: DynamoAttemptStore, attempt: Attempt, expected: int, **extra: Any) -> None:
    """Commit ``attempt`` (loaded at version ``expected``) with the events it recorded."""
    store.commit(
        ProgressCommit(
            attempt.key.tenant,
            (AttemptChange(attempt, expected, attempt.expires_at_us(DEFAULT_RULES)),),
            tuple(envelope(e) for e in attempt.events),
            **extra,
        )
    )


def statement(n: int, tenant: str = T1) -> NewStatement:
    f = fact(n, COMPLETED, tenant=tenant)
    body = {
        "id": f.id,
        "actor": {"mbox": "mailto:ann@example.com"},
        "verb": {"id": f.verb},
        "object": {"id": f.activity_id},
    }
    return NewStatement(
        id=f.id,
        stored_us=f.stored_us,
        body=orjson.dumps(body),
        keys=index_keys(body),
        event=orjson.dumps(envelope(StatementStored(f))),
    )


# ------------------------------------------------------------------------- the relay rule


def test_inherit_on_a_statement_with_an_outbox_does_not_republish(dynamo: DynamoDBClient) -> None:
    """An UpdateItem on a Statement item (SAPI-040 key inheritance) is a MODIFY record whose
    outbox is unchanged: nothing to publish. The INSERT published the row once."""
    reader = StreamReader.for_table(TABLE)
    statements = DynamoStatementStore(dynamo, TABLE)
    stored = statement(1)
    statements.insert(T1, [stored], {}, [])
    assert [e["data"]["statement_id"] for e in relay(reader)] == [stored.id]
    statements.inherit(T1, stored.id, [frozenset({"o:http://example.com/other"})])
    records = reader.poll()
    modified = [r for r in records if r["eventName"] == "MODIFY"]
    assert len(modified) == 1
    assert "outbox" in modified[0]["dynamodb"]["NewImage"]
    assert [env for r in records for env in outbox_envelopes(r)] == []


def test_an_attempt_saved_three_times_publishes_each_writes_events_once(
    dynamo: DynamoDBClient,
) -> None:
    """Each write replaces the item's outbox with its own events; a write that records none
    leaves no outbox attribute, so its MODIFY publishes nothing (not the previous events)."""
    reader = StreamReader.for_table(TABLE)
    store = DynamoAttemptStore(dynamo, TABLE)
    attempt = opened(fact(1))
    save(store, attempt, 0)
    assert [e["type"] for e in relay(reader)] == ["progress.attempt.opened.v1"]

    loaded = store.get(T1, attempt.id)
    assert loaded is not None
    loaded.apply(fact(2, RESUMED), DEFAULT_RULES)  # bookkeeping: no event
    assert loaded.events == []
    save(store, loaded, 1)
    assert relay(reader) == []
    item = next(i for i in raw_items(dynamo) if i.get("aid", {}).get("S") == attempt.id)
    assert "outbox" not in item

    again = store.get(T1, attempt.id)
    assert again is not None
    again.apply(fact(3, COMPLETED), DEFAULT_RULES)
    save(store, again, 2)
    assert [e["type"] for e in relay(reader)] == ["progress.completion.recorded.v1"]
    assert relay(reader) == []


def test_outbox_envelopes_reads_the_record_lambda_delivers() -> None:
    """Lambda renders Binary values as base64 text; boto3 hands out bytes: both are read."""
    first = {"id": "e1", "type": "progress.attempt.opened.v1", "data": {"attempt_id": "a1"}}
    second = {"id": "e2", "type": "progress.attempt.closed.v1", "data": {"attempt_id": "a1"}}

    def image(*envelopes: dict[str, Any], raw: bool = False) -> dict[str, Any]:
        rows = [orjson.dumps(e) for e in envelopes]
        values: list[Any] = rows if raw else [base64.b64encode(r).decode() for r in rows]
        return {
            "pk": {"S": "0123456789abcdef#AT#x"},
            "sk": {"S": "00000001"},
            "outbox": {"L": [{"B": v} for v in values]},
        }

    def record(name: str, **images: Any) -> dict[str, Any]:
        return {
            "eventID": "7de3041dd709b024af6f29e4fa13d34c",
            "eventName": name,
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-1",
            "dynamodb": {
                "ApproximateCreationDateTime": 1750000000,
                "Keys": {"pk": {"S": "0123456789abcdef#AT#x"}, "sk": {"S": "00000001"}},
                **images,
                "SequenceNumber": "111",
                "SizeBytes": 26,
                "StreamViewType": "NEW_AND_OLD_IMAGES",
            },
            "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2025",
        }

    assert outbox_envelopes(record("INSERT", NewImage=image(first, second))) == [first, second]
    assert outbox_envelopes(record("INSERT", NewImage=image(first, raw=True))) == [first]
    unchanged = record("MODIFY", NewImage=image(first), OldImage=image(first))
    assert outbox_envelopes(unchanged) == []
    changed = record("MODIFY", NewImage=image(second), OldImage=image(first))
    assert outbox_envelopes(changed) == [second]
    bare = {"pk": {"S": "p"}, "sk": {"S": "s"}}
    assert outbox_envelopes(record("MODIFY", NewImage=bare, OldImage=image(first))) == []
    assert outbox_envelopes(record("INSERT", NewImage=bare)) == []
    assert outbox_envelopes(record("REMOVE", OldImage=image(first))) == []


def test_the_stream_reader_continues_where_it_stopped_in_lambdas_shape(
    dynamo: DynamoDBClient,
) -> None:
    """Records written after a poll come with the next poll, also after a cancelled
    transaction (which on moto blinds iterators handed out before it)."""
    reader = StreamReader.for_table(TABLE)
    store = DynamoAttemptStore(dynamo, TABLE)
    save(store, opened(fact(1)), 0)
    first = reader.poll()
    assert {r["eventName"] for r in first} == {"INSERT"}
    assert reader.poll() == []
    with pytest.raises(VersionConflict):
        save(store, opened(fact(1)), 0)
    save(store, opened(fact(2, learner="mbox:mailto:bob@example.com")), 0)
    second = reader.poll()
    assert second
    assert {r["eventID"] for r in second}.isdisjoint(r["eventID"] for r in first)
    attempt_insert = next(r for r in second if "outbox" in r["dynamodb"]["NewImage"])
    assert attempt_insert["eventSource"] == "aws:dynamodb"
    assert attempt_insert["eventSourceARN"] == reader.stream_arn
    assert isinstance(attempt_insert["dynamodb"]["ApproximateCreationDateTime"], int)
    snap = attempt_insert["dynamodb"]["NewImage"]["snap"]["B"]
    assert isinstance(snap, str)
    assert orjson.loads(base64.b64decode(snap))["seq"] == 1
    orjson.dumps(second)  # JSON all the way down, as Lambda delivers it


# ------------------------------------------------------------------------------ keys


def test_every_progress_item_key_starts_with_the_tenant_hash_but_sweep_and_cert(
    dynamo: DynamoDBClient,
) -> None:
    attempts = DynamoAttemptStore(dynamo, TABLE)
    for tenant in (T1, T2):
        attempt = opened(fact(1, tenant=tenant))
        save(attempts, attempt, 0, inbox=InboxEntry("projection", "e1"))
        loaded = attempts.get(tenant, attempt.id)
        assert loaded is not None
        loaded.apply(fact(3, COMPLETED, tenant=tenant), DEFAULT_RULES)
        save(attempts, loaded, 1)
        DynamoRulesStore(dynamo, TABLE).put_rules(tenant, ProgressRules.from_json({}))
    DynamoCertificateStore(dynamo, TABLE).save(cert(1), InboxEntry("certificates", "e1"))
    prefixes = (tenant_hash(T1), tenant_hash(T2))
    kinds = set()
    for item in raw_items(dynamo):
        pk, sk = item["pk"]["S"], item["sk"]["S"]
        assert pk.startswith((*prefixes, "SWEEP#", "CERT#")), pk
        assert "example.com" not in pk + sk  # learner and activity ids are hashed
        kinds.add(pk.split("#")[0] if pk.startswith(("SWEEP#", "CERT#")) else pk.split("#")[1])
    assert kinds == {"AT", "AI", "AL", "AA", "AN", "LN", "I", "RULES", "SWEEP", "CERT"}


def test_the_learner_registry_is_written_once_per_new_attempt_and_hashed(
    dynamo: DynamoDBClient,
) -> None:
    """A new attempt puts its learner's registry item (``{th}#LN#{shard}``, sk = the learner's
    hash); updates do not touch it. Positions are hashes: no learner identifier in a cursor."""
    store = DynamoAttemptStore(dynamo, TABLE)
    first = opened(fact(1))
    save(store, first, 0)
    loaded = store.get(T1, first.id)
    assert loaded is not None
    loaded.apply(fact(2, COMPLETED), DEFAULT_RULES)
    save(store, loaded, 1)
    save(store, opened(fact(3, activity="http://example.com/other")), 0)
    registry = [i for i in raw_items(dynamo) if i["pk"]["S"].split("#")[1] == "LN"]
    assert len(registry) == 1
    assert registry[0]["lrn"] == {"S": ANN}
    assert registry[0]["sk"]["S"] == hash32(ANN)
    save(store, opened(fact(4, learner="mbox:mailto:bob@example.com")), 0)
    page, position = store.learners(T1, None, 1)
    assert position is not None
    assert position == hash32(page[0])
    assert "example.com" not in position


def test_learners_written_under_two_shard_counts_are_listed_once(dynamo: DynamoDBClient) -> None:
    """Changing ``listing_shards`` can leave a learner registered in two shards until a re-layout
    (see the design doc): the merged listing drops the repeat."""
    learners = [f"mbox:mailto:l{n}@example.com" for n in range(8)]
    before, after = (DynamoAttemptStore(dynamo, TABLE, listing_shards=n) for n in (4, 3))
    for n, learner in enumerate(learners):
        save(before, opened(fact(n, learner=learner)), 0)
        save(after, opened(fact(n, learner=learner, activity="http://example.com/b")), 0)
    registry = [i for i in raw_items(dynamo) if i["pk"]["S"].split("#")[1] == "LN"]
    assert len(registry) > len(learners)  # some learners sit in two shards
    for limit in (1, 3, 100):
        seen: list[str] = []
        position: str | None = None
        while True:
            page, position = after.learners(T1, position, limit)
            seen += page
            if position is None:
                break
        assert sorted(seen) == sorted(learners), limit


def test_inbox_items_carry_the_tables_time_to_live(dynamo: DynamoDBClient) -> None:
    store = DynamoAttemptStore(dynamo, TABLE)
    store.commit(ProgressCommit(T1, inbox=InboxEntry("projection", "e1")))
    (item,) = raw_items(dynamo)
    ttl = dynamo.describe_time_to_live(TableName=TABLE)["TimeToLiveDescription"]
    assert ttl.get("AttributeName") == TTL_ATTRIBUTE
    days = (int(item[TTL_ATTRIBUTE]["N"]) - BASE // 10**6) / 86_400
    assert days > 35  # BASE is mid-2025: the row lives ~35 days from now


# ------------------------------------------------------------------------------ races


def test_two_stores_committing_the_same_version_one_conflicts(dynamo: DynamoDBClient) -> None:
    """Two containers load version 1 and commit concurrently: one TransactWriteItems wins."""
    setup = DynamoAttemptStore(dynamo, TABLE)
    attempt = opened(fact(1))
    save(setup, attempt, 0)
    stores = [DynamoAttemptStore(dynamo, TABLE) for _ in range(2)]
    loaded = [s.get(T1, attempt.id) for s in stores]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def run(store: DynamoAttemptStore, mine: Attempt | None, n: int) -> None:
        assert mine is not None
        mine.apply(fact(n, COMPLETED), DEFAULT_RULES)
        barrier.wait()
        try:
            save(store, mine, 1)
            outcomes.append("saved")
        except VersionConflict:
            outcomes.append("conflict")

    threads = [
        threading.Thread(target=run, args=(s, a, n))
        for s, a, n in zip(stores, loaded, (2, 3), strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict", "saved"]
    stored = setup.get(T1, attempt.id)
    assert stored is not None
    assert stored.version == 2


def test_a_stale_remembered_start_is_a_conflict_not_a_lost_listing(
    dynamo: DynamoDBClient,
) -> None:
    """A store remembers (version, started_us) of what it loaded. If the attempt was rebuilt
    meanwhile (clear + replay) with the same version but another start, the commit's condition
    on ``st`` fails: a VersionConflict, after which a reload commits cleanly."""
    old = DynamoAttemptStore(dynamo, TABLE)
    save(old, opened(fact(5)), 0)
    stale = old.get(T1, opened(fact(5)).id)
    assert stale is not None
    other = DynamoAttemptStore(dynamo, TABLE)
    other.clear(T1, "projection")
    rebuilt = opened(fact(5, at=BASE + 4 * MIN))  # the same id and version, an earlier start
    save(other, rebuilt, 0)
    stale.apply(fact(6, COMPLETED), DEFAULT_RULES)
    with pytest.raises(VersionConflict):
        save(old, stale, 1)
    fresh = old.get(T1, rebuilt.id)
    assert fresh is not None
    assert fresh.started_us == BASE + 4 * MIN
    fresh.apply(fact(6, COMPLETED), DEFAULT_RULES)
    save(old, fresh, 1)
    listed, _ = old.list(T1, AttemptFilter(learner=ANN), None, 10)
    assert [(s.attempt_id, s.started_us, s.version) for s in listed] == [
        (rebuilt.id, BASE + 4 * MIN, 2)
    ]


# ------------------------------------------------------------------------------ listings


@pytest.mark.parametrize("remembered", [True, False], ids=["remembered", "read"])
def test_listing_items_move_when_a_late_statement_moves_the_start_earlier(
    dynamo: DynamoDBClient, remembered: bool
) -> None:
    """started_us is the earliest Statement time counted: a late Statement from before it
    moves the attempt's listing sk. Old listing items go in the same transaction."""
    writer = DynamoAttemptStore(dynamo, TABLE)
    attempt = opened(fact(5))
    save(writer, attempt, 0)
    store = writer if remembered else DynamoAttemptStore(dynamo, TABLE)
    loaded = store.get(T1, attempt.id) if remembered else writer.get(T1, attempt.id)
    assert loaded is not None
    loaded.apply(fact(2), DEFAULT_RULES)  # happened before the first Statement seen
    assert loaded.started_us == BASE + 2 * MIN
    save(store, loaded, 1)
    listing = sorted(
        i["sk"]["S"] for i in raw_items(dynamo) if i["pk"]["S"].split("#")[1] in ("AL", "AA")
    )
    assert len(listing) == 2
    assert all(sk.endswith(attempt.id) for sk in listing)
    assert all(int(sk[:18]) - 10**17 == BASE + 2 * MIN for sk in listing)
    for where in (AttemptFilter(learner=ANN), AttemptFilter(activity_id=attempt.key.activity_id)):
        page, more = store.list(T1, where, None, 10)
        assert [(s.attempt_id, s.started_us) for s in page] == [(attempt.id, BASE + 2 * MIN)]
        assert more is None


def test_listings_keep_statement_times_before_1970_in_order(dynamo: DynamoDBClient) -> None:
    """A client's timestamp may lie before 1970: listing keys are offset to stay in order."""
    store = DynamoAttemptStore(dynamo, TABLE)
    early = opened(fact(1, at=-5 * MIN))
    later = opened(fact(2, at=3 * MIN, learner=ANN, activity="http://example.com/other"))
    save(store, early, 0)
    save(store, later, 0)
    page, _ = store.list(T1, AttemptFilter(learner=ANN), None, 10)
    assert [s.attempt_id for s in page] == [later.id, early.id]


def test_due_orders_equal_expiries_by_tenant_id_like_the_memory_twin(
    dynamo: DynamoDBClient,
) -> None:
    """The sweeper's sk orders ties by tenant *hash*; ``due`` returns them by tenant id."""
    tenants = sorted(("tenant-a", "tenant-b", "tenant-c", "tenant-d"), key=tenant_hash)
    assert tenants != sorted(tenants)  # the hash order differs from the name order
    store = DynamoAttemptStore(dynamo, TABLE)
    made = {}
    for tenant in tenants:
        attempt = opened(fact(1, tenant=tenant))
        save(store, attempt, 0)
        made[tenant] = attempt.id
    expires = opened(fact(1)).expires_at_us(DEFAULT_RULES)
    assert expires is not None
    assert store.due(expires, 2) == [(t, made[t]) for t in sorted(tenants)[:2]]
    assert store.due(expires, 10) == [(t, made[t]) for t in sorted(tenants)]


def test_a_commit_with_outbox_rows_but_no_attempt_is_refused(dynamo: DynamoDBClient) -> None:
    store = DynamoAttemptStore(dynamo, TABLE)
    row = {"id": "e1", "type": "progress.attempt.opened.v1", "data": {}}
    with pytest.raises(ValueError, match="outbox"):
        store.commit(ProgressCommit(T1, outbox=(row,), inbox=InboxEntry("projection", "e1")))
    assert raw_items(dynamo) == []
