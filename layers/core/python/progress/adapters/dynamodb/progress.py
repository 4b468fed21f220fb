"""``AttemptStore``, ``RulesStore`` and ``CertificateStore`` on the single DynamoDB table. Item
shapes, the cost of every access pattern and the outbox rule: docs/dynamodb-design.md, section
"Progress: attempts, outbox, inbox".

A ``ProgressCommit`` is one TransactWriteItems: each attempt item (conditional on the version it
was loaded at) carrying, in its ``outbox`` attribute, the envelopes that write announces; the
attempt's listing and sweeper entries; for a new attempt, its learner's registry entry; the
consumer's inbox item. The table's stream hands the ``outbox`` of each write to the relay
(``progress.adapters.dynamodb.stream``).
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any, Final

import orjson
from botocore.exceptions import ClientError

from progress.adapters.dynamodb.table import (
    ITEM_LIMIT,
    OUTBOX_ATTRIBUTE,
    TTL_ATTRIBUTE,
    activity_listing_pk,
    attempt_pk,
    attempt_pointer_pk,
    attempt_sk,
    backoff,
    batch_delete,
    certificate_pk,
    hash32,
    inbox_pk,
    key_of,
    learner_listing_pk,
    learner_registry_pk,
    learner_registry_sk,
    learner_shard,
    listing_sk,
    query_items,
    rules_pk,
    sweep_pk,
    sweep_sk,
    tenant_listing_pk,
)
from progress.app.ports import (
    AlreadyProcessed,
    AttemptChange,
    AttemptFilter,
    AttemptSummary,
    Certificate,
    InboxEntry,
    ListPosition,
    ProgressCommit,
    VersionConflict,
)
from progress.domain.attempts import Attempt
from progress.domain.errors import ServiceUnavailable
from progress.domain.facts import AttemptKey, Score
from progress.domain.progress_rules import ProgressRules
from progress.domain.tenancy import tenant_hash

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import (
        QueryInputTypeDef,
        ScanInputTypeDef,
        TransactWriteItemTypeDef,
    )

    from progress.adapters.dynamodb.table import Item

ATTEMPT_POINTER_SK: Final = "A"
LEARNER_ATTRIBUTE: Final = "lrn"  # S: the learner key of a learner registry item
INBOX_SK: Final = "I"
RULES_SK: Final = "R"
CERTIFICATE_SK: Final = "C"
# Inbox rows guard against redelivery: EventBridge retries for 24 h and the DLQs keep messages
# 14 days, so a row older than that guards nothing. TTL deletes it (within days, for free).
INBOX_TTL_S: Final = 35 * 24 * 3600

_TX_ITEMS: Final = 100  # TransactWriteItems limit
_TX_ATTEMPTS: Final = 6
_TRANSIENT: Final = frozenset(
    {"None", "TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"}
)
_CONDITION_FAILED: Final = "ConditionalCheckFailed"
_ITEM_OVERHEAD: Final = 400  # names, keys, numbers: room for everything but snapshot and outbox
_LOADED_MAX: Final = 10_000  # (version, started_us) remembered per loaded attempt

# The role of each operation of a transaction, to tell which condition failed.
_ATTEMPT, _INBOX, _OTHER = "attempt", "inbox", "other"


class DynamoAttemptStore:
    """Attempts, their listing and sweeper entries and the consumers' inbox (port contract:
    ``progress.app.ports.AttemptStore``). ``listing_shards`` spreads each Activity's listing
    and ``sweep_shards`` the sweeper's index over that many partitions: both are table-wide
    constants (see the design doc before changing one)."""

    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        *,
        listing_shards: int = 4,
        sweep_shards: int = 4,
    ) -> None:
        if listing_shards < 1 or sweep_shards < 1:
            raise ValueError("listing_shards and sweep_shards must be >= 1")
        self._client = client
        self._table = table_name
        self._listing_shards = listing_shards
        self._sweep_shards = sweep_shards
        # (tenant hash, attempt id) -> (version, started_us) as last loaded or committed here:
        # saves a read per commit (started_us decides whether listing items move). Never trusted
        # blindly: the commit is conditional on both values.
        self._loaded: dict[tuple[str, str], tuple[int, int]] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------------------------ reads

    def route(self, tenant: str, key: AttemptKey, at_us: int) -> Attempt | None:
        """Newest first, stopping at the first attempt whose window holds ``at_us`` or starts
        before it: the windows of a key tile the time line, so no older one can hold it. A
        Statement for the current attempt reads one item."""
        th = tenant_hash(tenant)
        latest: Attempt | None = None
        for attempt in self._newest_first(th, key):
            latest = latest or attempt
            if attempt.covers(at_us):
                return attempt
            if attempt.opened_after_us is None or at_us > attempt.opened_after_us:
                break
        return latest

    def _newest_first(self, th: str, key: AttemptKey) -> Iterator[Attempt]:
        request: QueryInputTypeDef = {
            "TableName": self._table,
            "KeyConditionExpression": "#pk = :pk",
            "ExpressionAttributeNames": {"#pk": "pk"},
            "ExpressionAttributeValues": {":pk": {"S": attempt_pk(th, _key_hash(key))}},
            "ScanIndexForward": False,
            "ConsistentRead": True,
            "Limit": 1,  # the latest attempt is nearly always the answer: read it alone first
        }
        while True:
            response = self._client.query(**request)
            for item in response["Items"]:
                attempt = self._decode(th, item)
                if attempt.key == key:
                    yield attempt
            last = response.get("LastEvaluatedKey")
            if not last:
                return
            request |= {"ExclusiveStartKey": last, "Limit": 8}

    def get(self, tenant: str, attempt_id: str) -> Attempt | None:
        """Two GetItems: the id's pointer item, then the attempt item it names."""
        th = tenant_hash(tenant)
        pointer = self._client.get_item(
            TableName=self._table,
            Key=key_of(attempt_pointer_pk(th, attempt_id), ATTEMPT_POINTER_SK),
            ConsistentRead=True,
        ).get("Item")
        if pointer is None:
            return None
        item = self._client.get_item(
            TableName=self._table,
            Key=key_of(pointer["apk"]["S"], pointer["ask"]["S"]),
            ConsistentRead=True,
        ).get("Item")
        if item is None:
            return None
        attempt = self._decode(th, item)
        return attempt if attempt.id == attempt_id else None

    def _decode(self, th: str, item: Item) -> Attempt:
        attempt = Attempt.restore(orjson.loads(item["snap"]["B"]))
        self._remember(th, attempt)
        return attempt

    def processed(self, tenant: str, entry: InboxEntry) -> bool:
        key = key_of(inbox_pk(tenant_hash(tenant), entry.consumer, entry.event_id), INBOX_SK)
        found = self._client.get_item(
            TableName=self._table,
            Key=key,
            ConsistentRead=True,
            ProjectionExpression="#pk",
            ExpressionAttributeNames={"#pk": "pk"},
        )
        return "Item" in found

    def due(self, now_us: int, limit: int) -> list[tuple[str, str]]:
        """One Query per sweeper shard for the entries due by ``now_us``, merged by (expiry,
        tenant, attempt id). Each shard is read to ``limit`` entries plus any that tie with the
        last one's expiry (the sk orders ties by tenant hash, the result by tenant)."""
        if limit < 1:
            return []
        found: list[tuple[int, str, str]] = []
        for shard in range(self._sweep_shards):
            found += self._due_in(shard, now_us, limit)
        found.sort()
        return [(tenant, attempt_id) for _, tenant, attempt_id in found[:limit]]

    def _due_in(self, shard: int, now_us: int, limit: int) -> list[tuple[int, str, str]]:
        request: QueryInputTypeDef = {
            "TableName": self._table,
            "KeyConditionExpression": "#pk = :pk AND #sk < :hi",
            "ExpressionAttributeNames": {"#pk": "pk", "#sk": "sk", "#t": "tenant", "#a": "aid"},
            "ExpressionAttributeValues": {
                ":pk": {"S": sweep_pk(shard)},
                ":hi": {"S": f"{now_us + 1:017d}"},
            },
            "ProjectionExpression": "#sk, #t, #a",
            "ConsistentRead": True,
            "Limit": limit + 1,
        }
        out: list[tuple[int, str, str]] = []
        for item in query_items(self._client, request):
            expires = int(item["sk"]["S"][:17])
            if len(out) >= limit and expires > out[-1][0]:
                break
            out.append((expires, item["tenant"]["S"], item["aid"]["S"]))
        return out

    # ----------------------------------------------------------------------------------- writes

    def commit(self, commit: ProgressCommit) -> None:
        if not commit.attempts:
            if commit.outbox:
                raise ValueError(
                    "outbox rows travel on an attempt item: a commit without "
                    "attempts cannot carry them"
                )
            if commit.inbox is None:
                return
        ids = [change.attempt.id for change in commit.attempts]
        if len(set(ids)) != len(ids):
            raise ValueError("a commit saves each attempt once")
        th = tenant_hash(commit.tenant)
        outboxes = _split_outbox(commit)
        ops: list[TransactWriteItemTypeDef] = []
        roles: list[str] = []
        for change in commit.attempts:
            self._attempt_ops(th, commit, change, outboxes[change.attempt.id], ops, roles)
        # A new attempt registers its learner: an unconditional Put, the same item every time
        # (idempotent), once per learner (a transaction may touch an item only once).
        new_learners = {c.attempt.key.learner for c in commit.attempts if c.expected_version == 0}
        for learner in sorted(new_learners):
            ops.append(_put(self._table, self._registry_item(th, learner)))
            roles.append(_OTHER)
        if commit.inbox is not None:
            ops.append(_inbox_put(self._table, th, commit.inbox))
            roles.append(_INBOX)
        if len(ops) > _TX_ITEMS:
            raise ValueError(f"a commit of {len(ops)} items exceeds one transaction (100)")
        failed = _transact(self._client, ops)
        if failed:
            self._forget(th, ids)
            if commit.inbox is not None and any(roles[i] == _INBOX for i in failed):
                raise AlreadyProcessed(commit.inbox.event_id)
            raise VersionConflict(", ".join(ids))
        for change in commit.attempts:
            self._remember(th, change.attempt)

    def _attempt_ops(
        self,
        th: str,
        commit: ProgressCommit,
        change: AttemptChange,
        outbox: Sequence[bytes],
        ops: list[TransactWriteItemTypeDef],
        roles: list[str],
    ) -> None:
        attempt = change.attempt
        if attempt.key.tenant != commit.tenant:
            raise ValueError(f"attempt {attempt.id} belongs to another tenant than the commit")
        pk, sk = attempt_pk(th, _key_hash(attempt.key)), attempt_sk(attempt.seq)
        snapshot = attempt.snapshot()
        body = orjson.dumps(snapshot)
        item: Item = {
            **key_of(pk, sk),
            "snap": {"B": body},
            "ver": {"N": str(attempt.version)},
            "st": {"N": str(attempt.started_us)},
            "tenant": {"S": commit.tenant},
            "aid": {"S": attempt.id},
            "state": {"S": attempt.state.value},
        }
        if outbox:
            item[OUTBOX_ATTRIBUTE] = {"L": [{"B": row} for row in outbox]}
        size = len(body) + sum(len(row) + 3 for row in outbox) + _ITEM_OVERHEAD
        if size > ITEM_LIMIT:
            raise ValueError(f"attempt {attempt.id}: about {size} bytes exceed the item limit")
        previous_started: int | None = None
        if change.expected_version == 0:
            ops.append(_put(self._table, item, "attribute_not_exists(#pk)", {"#pk": "pk"}))
            pointer: Item = {
                **key_of(attempt_pointer_pk(th, attempt.id), ATTEMPT_POINTER_SK),
                "apk": {"S": pk},
                "ask": {"S": sk},
            }
            ops.append(_put(self._table, pointer, "attribute_not_exists(#pk)", {"#pk": "pk"}))
            roles += [_ATTEMPT, _ATTEMPT]
        else:
            previous_started = self._started(th, commit, change, key_of(pk, sk))
            ops.append(
                _put(
                    self._table,
                    item,
                    "#v = :v AND #st = :st",
                    {"#v": "ver", "#st": "st"},
                    {
                        ":v": {"N": str(change.expected_version)},
                        ":st": {"N": str(previous_started)},
                    },
                )
            )
            roles.append(_ATTEMPT)
        summary = _summary(snapshot)
        done = attempt.completion is not None and attempt.completion.achieved
        shard = _shard(attempt.id, self._listing_shards)
        for listing in (
            learner_listing_pk(th, attempt.key.learner),
            activity_listing_pk(th, attempt.key.activity_id, shard),
            tenant_listing_pk(th, shard),
        ):
            entry: Item = {
                **key_of(listing, listing_sk(attempt.started_us, attempt.id)),
                "sum": {"B": summary},
                "done": {"BOOL": done},
            }
            ops.append(_put(self._table, entry))
            roles.append(_OTHER)
            if previous_started is not None and previous_started != attempt.started_us:
                old = key_of(listing, listing_sk(previous_started, attempt.id))
                ops.append({"Delete": {"TableName": self._table, "Key": old}})
                roles.append(_OTHER)
        if change.expires_at_us != change.previous_expires_at_us:
            sweep = sweep_pk(_shard(attempt.id, self._sweep_shards))
            if change.previous_expires_at_us is not None:
                old = key_of(sweep, sweep_sk(change.previous_expires_at_us, th, attempt.id))
                ops.append({"Delete": {"TableName": self._table, "Key": old}})
                roles.append(_OTHER)
            if change.expires_at_us is not None:
                due: Item = {
                    **key_of(sweep, sweep_sk(change.expires_at_us, th, attempt.id)),
                    "tenant": {"S": commit.tenant},
                    "aid": {"S": attempt.id},
                }
                ops.append(_put(self._table, due))
                roles.append(_OTHER)

    def _registry_item(self, th: str, learner: str) -> Item:
        shard = learner_shard(learner, self._listing_shards)
        return {
            **key_of(learner_registry_pk(th, shard), learner_registry_sk(learner)),
            LEARNER_ATTRIBUTE: {"S": learner},
        }

    def _started(self, th: str, commit: ProgressCommit, change: AttemptChange, key: Item) -> int:
        """``started_us`` of the stored attempt at ``change.expected_version``: remembered from
        the load, else read (then a stale version fails here, before any write)."""
        attempt = change.attempt
        with self._lock:
            loaded = self._loaded.get((th, attempt.id))
        if loaded is not None and loaded[0] == change.expected_version:
            return loaded[1]
        item = self._client.get_item(
            TableName=self._table,
            Key=key,
            ConsistentRead=True,
            ProjectionExpression="#v, #st",
            ExpressionAttributeNames={"#v": "ver", "#st": "st"},
        ).get("Item")
        if item is None or int(item["ver"]["N"]) != change.expected_version:
            if commit.inbox is not None and self.processed(commit.tenant, commit.inbox):
                raise AlreadyProcessed(commit.inbox.event_id)
            raise VersionConflict(attempt.id)
        return int(item["st"]["N"])

    def _remember(self, th: str, attempt: Attempt) -> None:
        with self._lock:
            self._loaded.pop((th, attempt.id), None)
            self._loaded[(th, attempt.id)] = (attempt.version, attempt.started_us)
            if len(self._loaded) > _LOADED_MAX:
                del self._loaded[next(iter(self._loaded))]  # the least recently stored

    def _forget(self, th: str, attempt_ids: Sequence[str]) -> None:
        with self._lock:
            for attempt_id in attempt_ids:
                self._loaded.pop((th, attempt_id), None)

    def clear(self, tenant: str, consumer: str) -> None:
        """A Scan of the whole table (filtered to the tenant's attempt, pointer, listing and
        learner registry items, ``consumer``'s inbox items and the tenant's sweeper entries),
        deleting what it finds 25 keys per BatchWriteItem. An admin operation before a replay:
        it reads every item of every tenant once."""
        th = tenant_hash(tenant)
        prefixes = {
            ":at": attempt_pk(th, ""),
            ":ai": attempt_pointer_pk(th, ""),
            ":al": f"{th}#AL#",
            ":aa": f"{th}#AA#",
            ":an": f"{th}#AN#",
            ":ln": f"{th}#LN#",
            ":in": inbox_pk(th, consumer, ""),
            ":sw": "SWEEP#",
        }
        request: ScanInputTypeDef = {
            "TableName": self._table,
            "FilterExpression": (
                "begins_with(#pk, :at) OR begins_with(#pk, :ai) OR begins_with(#pk, :al)"
                " OR begins_with(#pk, :aa) OR begins_with(#pk, :an) OR begins_with(#pk, :ln)"
                " OR (begins_with(#pk, :in) AND #c = :c)"
                " OR (begins_with(#pk, :sw) AND #t = :t)"
            ),
            "ProjectionExpression": "#pk, #sk",
            "ExpressionAttributeNames": {
                "#pk": "pk",
                "#sk": "sk",
                "#c": "consumer",
                "#t": "tenant",
            },
            "ExpressionAttributeValues": {
                **{name: {"S": value} for name, value in prefixes.items()},
                ":c": {"S": consumer},
                ":t": {"S": tenant},
            },
            "ConsistentRead": True,
        }
        while True:
            page = self._client.scan(**request)
            batch_delete(
                self._client,
                self._table,
                [key_of(i["pk"]["S"], i["sk"]["S"]) for i in page["Items"]],
            )
            last = page.get("LastEvaluatedKey")
            if not last:
                break
            request["ExclusiveStartKey"] = last
        with self._lock:
            for cached in [k for k in self._loaded if k[0] == th]:
                del self._loaded[cached]

    # ------------------------------------------------------------------------------ listings

    def learners(self, tenant: str, after: str | None, limit: int) -> tuple[list[str], str | None]:
        """The learner registry: one Query per shard ``{th}#LN#{n}``, ascending from just after
        ``after`` (a registry sk, i.e. the hash of the last learner of the previous page),
        merged by sk. Hash order: learner identifiers never appear in keys, so neither in
        positions. Reads ``limit + 1`` learners to know whether there is more."""
        if limit < 1:
            return [], None
        th = tenant_hash(tenant)
        streams = [
            self._registry(learner_registry_pk(th, shard), after, limit + 1)
            for shard in range(self._listing_shards)
        ]
        rows: list[tuple[str, str]] = []
        for sk, learner in heapq.merge(*streams):
            if rows and rows[-1][0] == sk:
                continue  # the same learner under two shard counts (a re-layout in progress)
            rows.append((sk, learner))
            if len(rows) > limit:
                break
        page = rows[:limit]
        more = len(rows) > limit
        return [learner for _, learner in page], page[-1][0] if more else None

    def _registry(self, pk: str, after: str | None, page: int) -> Iterator[tuple[str, str]]:
        condition, names, values = _key_condition(pk, ">", after)
        names |= {"#sk": "sk", "#l": LEARNER_ATTRIBUTE}
        request: QueryInputTypeDef = {
            "TableName": self._table,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ProjectionExpression": "#sk, #l",
            "ConsistentRead": True,
            "Limit": page,
        }
        for item in query_items(self._client, request):
            yield item["sk"]["S"], item[LEARNER_ATTRIBUTE]["S"]

    def list(
        self, tenant: str, where: AttemptFilter, after: ListPosition | None, limit: int
    ) -> tuple[list[AttemptSummary], ListPosition | None]:
        """One Query per listing partition (the learner's; the Activity's or the tenant's
        shards), newest first below ``after``, merged; ``completed`` is a FilterExpression on
        ``done``. Reads ``limit + 1`` matches to know whether there is more."""
        th = tenant_hash(tenant)
        if where.learner is not None:
            pks = [learner_listing_pk(th, where.learner)]
        elif where.activity_id is not None:
            pks = [
                activity_listing_pk(th, where.activity_id, shard)
                for shard in range(self._listing_shards)
            ]
        else:  # every attempt of the tenant (exports)
            pks = [tenant_listing_pk(th, shard) for shard in range(self._listing_shards)]
        bound = None if after is None else listing_sk(after.started_us, after.attempt_id)
        streams = [self._listing(pk, bound, where, limit + 1) for pk in pks]
        merged = heapq.merge(*streams, key=lambda s: (s.started_us, s.attempt_id), reverse=True)
        rows = list(itertools.islice(merged, limit + 1))
        page = rows[:limit]
        more = len(rows) > limit and bool(page)
        return page, ListPosition(page[-1].started_us, page[-1].attempt_id) if more else None

    def _listing(
        self, pk: str, bound: str | None, where: AttemptFilter, page: int
    ) -> Iterator[AttemptSummary]:
        condition, names, values = _key_condition(pk, "<", bound)
        request: QueryInputTypeDef = {
            "TableName": self._table,
            "KeyConditionExpression": condition,
            "ScanIndexForward": False,
            "ConsistentRead": True,
            "Limit": page,
        }
        if where.completed:
            request["FilterExpression"] = "#d = :d"
            names["#d"] = "done"
            values[":d"] = {"BOOL": True}
        request["ExpressionAttributeNames"] = names
        request["ExpressionAttributeValues"] = values
        for item in query_items(self._client, request):
            summary = AttemptSummary.of(Attempt.restore(orjson.loads(item["sum"]["B"])))
            if _matches(summary, where):
                yield summary


class DynamoRulesStore:
    """One item per tenant: ``{th}#RULES`` / ``R``, the rules as JSON."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def get_rules(self, tenant: str) -> ProgressRules | None:
        item = self._client.get_item(
            TableName=self._table,
            Key=key_of(rules_pk(tenant_hash(tenant)), RULES_SK),
            ConsistentRead=True,
        ).get("Item")
        return None if item is None else ProgressRules.from_json(orjson.loads(item["rules"]["S"]))

    def put_rules(self, tenant: str, rules: ProgressRules) -> None:
        item: Item = {
            **key_of(rules_pk(tenant_hash(tenant)), RULES_SK),
            "rules": {"S": orjson.dumps(rules.to_json()).decode()},
        }
        self._client.put_item(TableName=self._table, Item=item)


class DynamoCertificateStore:
    """Certificates under ``CERT#{id}`` (verification knows only the id) and the certificate
    consumer's inbox items (``{th}#I#...``, as ``DynamoAttemptStore`` writes them)."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def save(self, certificate: Certificate, inbox: InboxEntry) -> bool:
        """One transaction: the inbox put and the certificate put, conditional on no stored
        certificate or a lower ``attempt_version``. If only the certificate's condition fails,
        the inbox item is written alone (conditionally) and nothing else changes."""
        th = tenant_hash(certificate.tenant)
        inbox_op = _inbox_put(self._table, th, inbox)
        item: Item = {
            **key_of(certificate_pk(certificate.id), CERTIFICATE_SK),
            "cert": {"B": orjson.dumps(asdict(certificate))},
            "av": {"N": str(certificate.attempt_version)},
            "tenant": {"S": certificate.tenant},
        }
        certificate_op = _put(
            self._table,
            item,
            "attribute_not_exists(#pk) OR #av < :av",
            {"#pk": "pk", "#av": "av"},
            {":av": {"N": str(certificate.attempt_version)}},
        )
        failed = _transact(self._client, [inbox_op, certificate_op])
        if 0 in failed:
            raise AlreadyProcessed(inbox.event_id)
        if not failed:
            return True
        if _transact(self._client, [inbox_op]):
            raise AlreadyProcessed(inbox.event_id)
        return False

    def get(self, certificate_id: str) -> Certificate | None:
        item = self._client.get_item(
            TableName=self._table,
            Key=key_of(certificate_pk(certificate_id), CERTIFICATE_SK),
            ConsistentRead=True,
        ).get("Item")
        if item is None:
            return None
        fields = orjson.loads(item["cert"]["B"])
        score = fields.pop("score")
        return Certificate(**fields, score=None if score is None else Score(**score))


# -------------------------------------------------------------------------------- helpers


def _key_condition(
    pk: str, op: str, bound: str | None
) -> tuple[str, dict[str, str], dict[str, Any]]:
    """A Query's key condition on one partition, with ``sk <op> bound`` when bounded: the
    expression, its names and its values."""
    if bound is None:
        return "#pk = :pk", {"#pk": "pk"}, {":pk": {"S": pk}}
    names = {"#pk": "pk", "#sk": "sk"}
    return f"#pk = :pk AND #sk {op} :b", names, {":pk": {"S": pk}, ":b": {"S": bound}}


def _key_hash(key: AttemptKey) -> str:
    """The attempt key's partition: the tenant is in the prefix, the rest hashed (128 bits)."""
    parts = [key.learner, key.activity_id, key.registration, key.session]
    return hash32(orjson.dumps(parts).decode())


def _shard(attempt_id: str, shards: int) -> int:
    return zlib.crc32(attempt_id.encode()) % shards


def _summary(snapshot: dict[str, Any]) -> bytes:
    """What a listing item holds: the snapshot without the per-Statement bookkeeping, which
    ``Attempt.restore`` then ``AttemptSummary.of`` turn back into the summary."""
    return orjson.dumps({**snapshot, "statement_ids": [], "voided_ids": [], "outcomes": []})


def _matches(summary: AttemptSummary, where: AttemptFilter) -> bool:
    """Re-checks what the partition stands for (keys are hashes) and ``completed``."""
    if where.learner is not None and summary.key.learner != where.learner:
        return False
    if where.activity_id is not None and summary.key.activity_id != where.activity_id:
        return False
    return not where.completed or (summary.completion is not None and summary.completion.achieved)


def _split_outbox(commit: ProgressCommit) -> dict[str, list[bytes]]:
    """Each envelope goes on the item of the attempt it names (``data.attempt_id``); the others
    on the first attempt's item. Order within an item is commit order."""
    out: dict[str, list[bytes]] = {change.attempt.id: [] for change in commit.attempts}
    first = commit.attempts[0].attempt.id if commit.attempts else ""
    for envelope in commit.outbox:
        data = envelope.get("data")
        named = data.get("attempt_id") if isinstance(data, dict) else None
        out[named if named in out else first].append(orjson.dumps(envelope))
    return out


def _inbox_put(table: str, th: str, entry: InboxEntry) -> TransactWriteItemTypeDef:
    item: Item = {
        **key_of(inbox_pk(th, entry.consumer, entry.event_id), INBOX_SK),
        "consumer": {"S": entry.consumer},
        TTL_ATTRIBUTE: {"N": str(int(time.time()) + INBOX_TTL_S)},
    }
    return _put(table, item, "attribute_not_exists(#pk)", {"#pk": "pk"})


def _put(
    table: str,
    item: Item,
    condition: str | None = None,
    names: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> TransactWriteItemTypeDef:
    put: dict[str, Any] = {"TableName": table, "Item": item}
    if condition is not None:
        put["ConditionExpression"] = condition
    if names:
        put["ExpressionAttributeNames"] = names
    if values:
        put["ExpressionAttributeValues"] = values
    return {"Put": put}  # type: ignore[typeddict-item]


def _transact(client: DynamoDBClient, ops: Sequence[TransactWriteItemTypeDef]) -> list[int]:
    """Write ``ops`` atomically; the positions of the ops whose condition failed (nothing
    written then). A lone Put goes as a conditional PutItem (half the write units of a
    transaction). Conflicts and throttling are retried with backoff, then ServiceUnavailable."""
    for attempt in range(_TX_ATTEMPTS):
        try:
            if len(ops) == 1 and "Put" in ops[0]:
                client.put_item(**ops[0]["Put"])
            else:
                client.transact_write_items(TransactItems=ops)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return [0]
            reasons = exc.response.get("CancellationReasons")
            if reasons is None:
                raise
            codes = [reason.get("Code", "None") for reason in reasons]
            failed = [i for i, code in enumerate(codes) if code == _CONDITION_FAILED]
            if failed:
                return failed
            if not _TRANSIENT.issuperset(codes):
                raise
            backoff(attempt)
        else:
            return []
    raise ServiceUnavailable("concurrent writes to the same progress items kept colliding; retry")
