"""``StatementStore`` on the single DynamoDB table. Item shapes, costs and crash windows:
docs/dynamodb-design.md.

Statement ``S`` items and their ref/void markers (``R`` items of the target) are written in one
transaction per chunk of at most 100 items, conditional on every id being new; index items follow
as idempotent batched puts. Reads are strongly consistent.
"""

from __future__ import annotations

import heapq
import uuid
from collections import defaultdict
from collections.abc import Collection, Iterator, Sequence
from typing import TYPE_CHECKING, Final

from botocore.exceptions import ClientError

from progress.adapters.dynamodb.migrations import (
    CURRENT_VERSION,
    STATEMENT_SK,
    VERSIONS,
    decode_groups,
    encode_groups,
    item_version,
)
from progress.adapters.dynamodb.table import (
    ITEM_LIMIT,
    OUTBOX_ATTRIBUTE,
    attachment_pk,
    backoff,
    batch_get,
    batch_write,
    index_items,
    index_pk,
    index_sk,
    key_of,
    statement_pk,
)
from progress.app.ports import DuplicateIds
from progress.domain.errors import NotFound, PayloadTooLarge, ServiceUnavailable
from progress.domain.statements import (
    Attachment,
    NewStatement,
    Position,
    StatementQuery,
    StoredStatement,
)
from progress.domain.tenancy import tenant_hash

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import (
        AttributeValueTypeDef,
        QueryInputTypeDef,
        TransactWriteItemTypeDef,
        UpdateTypeDef,
    )

    from progress.adapters.dynamodb.table import Item

MARKER_SK: Final = "R"
_TX_ITEMS: Final = 100  # TransactWriteItems limit
_TX_BYTES: Final = 3_500_000  # of the 4 MB a transaction may carry, with room for overhead
_TX_ATTEMPTS: Final = 6
_TRANSIENT: Final = frozenset(
    {"None", "TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"}
)
_PART: Final = 350_000  # attachment bytes per item, under the 400 KB item limit

Chunk = list[tuple[NewStatement, "Item", int]]  # (record, item, size bound)


class DynamoStatementStore:
    """The Statement log of every tenant. ``client`` is built once per container by the caller;
    ``index_shards`` is a table-wide constant (see the design doc before changing it);
    ``write_version`` is the Statement item format written (reads accept every known one)."""

    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        *,
        index_shards: int = 4,
        write_version: int = CURRENT_VERSION,
    ) -> None:
        if index_shards < 1 or write_version not in VERSIONS:
            raise ValueError("index_shards must be >= 1 and write_version a known item version")
        self._client = client
        self._table = table_name
        self._shards = index_shards
        self._version = write_version

    # ----------------------------------------------------------------------------------- writes

    def insert(
        self,
        tenant: str,
        batch: Sequence[NewStatement],
        key_groups: dict[str, tuple[frozenset[str], ...]],
        attachments: Sequence[Attachment],
    ) -> None:
        th = tenant_hash(tenant)
        token = uuid.uuid4().hex  # marks this call's items, so a rollback deletes only its own
        groups = {rec.id: key_groups.get(rec.id, (rec.keys,)) for rec in batch}
        rows = [self._statement_row(th, rec, groups[rec.id], token) for rec in batch]
        self._put_attachments(th, attachments)
        self._transact(th, rows, token)
        indexes = [
            ix
            for rec in batch
            for ix in index_items(th, rec.id, rec.stored_us, groups[rec.id], self._shards)
        ]
        batch_write(self._client, self._table, indexes)

    def _statement_row(
        self, th: str, rec: NewStatement, groups: Sequence[frozenset[str]], token: str
    ) -> tuple[NewStatement, Item, int]:
        item: Item = {
            **key_of(statement_pk(th, rec.id), STATEMENT_SK),
            "v": {"N": str(self._version)},
            "body": {"B": rec.body},
            "stored_us": {"N": str(rec.stored_us)},
            "groups": encode_groups(groups, self._version),
            "voiding": {"BOOL": rec.voiding},
            "batch": {"S": token},
        }
        if rec.ref_target:
            item["ref"] = {"S": rec.ref_target}
        if rec.attachments:
            item["atts"] = {"L": [{"S": sha2} for sha2 in rec.attachments]}
        if rec.event:  # the outbox row: the stream hands it to the relay (design doc)
            item[OUTBOX_ATTRIBUTE] = {"L": [{"B": rec.event}]}
        # An upper bound: values, plus room for names, ids, numbers and type overhead.
        size = len(rec.body) + len(rec.event) + sum(len(k.encode()) + 3 for g in groups for k in g)
        size += 400 + len(item["pk"]["S"]) + 70 * len(rec.attachments)
        if size > ITEM_LIMIT:
            raise PayloadTooLarge(f"statement {rec.id}: about {size} bytes exceed the item limit")
        return rec, item, size

    def _transact(self, th: str, rows: Chunk, token: str) -> None:
        """All chunks or none: a chunk failing on duplicates undoes the chunks before it."""
        chunks = _chunks(rows)
        for n, chunk in enumerate(chunks):
            ops: list[TransactWriteItemTypeDef] = [
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": item,
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
                for _, item, _ in chunk
            ]
            ops += [{"Update": u} for u in self._marker_updates(th, chunk, "ADD")]
            failed = self._run(ops)
            if failed:
                duplicates = {chunk[i][0].id for i in failed}
                duplicates |= self._existing(th, [r.id for c in chunks[n + 1 :] for r, _, _ in c])
                for done in chunks[:n]:
                    self._rollback(th, done, token)
                raise DuplicateIds(duplicates)

    def _rollback(self, th: str, chunk: Chunk, token: str) -> None:
        ops: list[TransactWriteItemTypeDef] = [
            {
                "Delete": {
                    "TableName": self._table,
                    "Key": key_of(item["pk"]["S"], STATEMENT_SK),
                    "ConditionExpression": "#b = :b",
                    "ExpressionAttributeNames": {"#b": "batch"},
                    "ExpressionAttributeValues": {":b": {"S": token}},
                }
            }
            for _, item, _ in chunk
        ]
        ops += [{"Update": u} for u in self._marker_updates(th, chunk, "DELETE")]
        if self._run(ops):
            raise RuntimeError("rollback met a Statement item this insert did not write")

    def _marker_updates(self, th: str, chunk: Chunk, action: str) -> list[UpdateTypeDef]:
        """One update per StatementRef target (a transaction may touch an item only once)."""
        refs: dict[str, list[str]] = defaultdict(list)
        voiders: dict[str, list[str]] = defaultdict(list)
        for rec, _, _ in chunk:
            if rec.ref_target:
                refs[rec.ref_target].append(rec.id)
                if rec.voiding:
                    voiders[rec.ref_target].append(rec.id)
        updates: list[UpdateTypeDef] = []
        for target, ids in refs.items():
            expression = f"{action} #r :r"
            names = {"#r": "refs"}
            values: dict[str, AttributeValueTypeDef] = {":r": {"SS": ids}}
            if target in voiders:
                expression += ", #vd :vd"
                names["#vd"] = "voiders"
                values[":vd"] = {"SS": voiders[target]}
            updates.append(
                {
                    "TableName": self._table,
                    "Key": key_of(statement_pk(th, target), MARKER_SK),
                    "UpdateExpression": expression,
                    "ExpressionAttributeNames": names,
                    "ExpressionAttributeValues": values,
                }
            )
        return updates

    def _run(self, ops: Sequence[TransactWriteItemTypeDef]) -> list[int]:
        """Run a transaction; the positions of the ops whose condition failed (nothing written
        then). botocore sets one ClientRequestToken per call, so its own network retries of a
        committed transaction succeed instead of failing on our own fresh items."""
        for attempt in range(_TX_ATTEMPTS):
            try:
                self._client.transact_write_items(TransactItems=ops)
            except ClientError as exc:
                reasons = exc.response.get("CancellationReasons")
                if reasons is None:
                    raise
                codes = [reason.get("Code", "None") for reason in reasons]
                failed = [i for i, code in enumerate(codes) if code == "ConditionalCheckFailed"]
                if failed:
                    return failed
                if not _TRANSIENT.issuperset(codes):
                    raise
                backoff(attempt)
            else:
                return []
        raise ServiceUnavailable("concurrent writes to the same Statements kept colliding; retry")

    def _existing(self, th: str, ids: Sequence[str]) -> set[str]:
        keys = [key_of(statement_pk(th, sid), STATEMENT_SK) for sid in ids]
        prefix = len(statement_pk(th, ""))
        return {i["pk"]["S"][prefix:] for i in batch_get(self._client, self._table, keys, ("pk",))}

    def reindex(self, tenant: str, statements: Collection[StoredStatement]) -> None:
        """Re-put the index items of stored Statements (idempotent). Repairs a crash between
        the Statement transaction and the index writes when the client resends the batch."""
        th = tenant_hash(tenant)
        puts = [
            ix
            for s in statements
            for ix in index_items(th, s.id, s.stored_us, s.key_groups, self._shards)
        ]
        batch_write(self._client, self._table, puts)

    def inherit(self, tenant: str, statement_id: str, groups: Sequence[frozenset[str]]) -> None:
        """Append the groups not yet present, conditional on ``groups`` being what was read."""
        th = tenant_hash(tenant)
        key = key_of(statement_pk(th, statement_id), STATEMENT_SK)
        for attempt in range(_TX_ATTEMPTS):
            item = self._client.get_item(
                TableName=self._table,
                Key=key,
                ConsistentRead=True,
                ProjectionExpression="#v, #g, #s",
                ExpressionAttributeNames={"#v": "v", "#g": "groups", "#s": "stored_us"},
            ).get("Item")
            if item is None:
                raise NotFound(f"no statement {statement_id}")
            have = decode_groups(item)
            new = tuple(g for g in groups if g not in have)
            if not new:
                return
            try:
                self._client.update_item(
                    TableName=self._table,
                    Key=key,
                    UpdateExpression="SET #g = :new",
                    ConditionExpression="#v = :v AND #g = :old",
                    ExpressionAttributeNames={"#v": "v", "#g": "groups"},
                    ExpressionAttributeValues={
                        ":new": encode_groups(have + new, item_version(item)),
                        ":v": item["v"],
                        ":old": item["groups"],
                    },
                )
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                    raise
                backoff(attempt)
                continue
            stored_us = int(item["stored_us"]["N"])
            puts = index_items(th, statement_id, stored_us, new, self._shards)
            batch_write(self._client, self._table, puts)
            return
        raise ServiceUnavailable(
            f"statement {statement_id} kept changing while inheriting keys; retry"
        )

    def _put_attachments(self, th: str, attachments: Sequence[Attachment]) -> None:
        """Content-addressed, so idempotent. Parts first, the head last: a head means complete."""
        heads: list[Item] = []
        parts: list[Item] = []
        for att in {a.sha2: a for a in attachments}.values():
            pk = attachment_pk(th, att.sha2)
            head: Item = {**key_of(pk, "B"), "content_type": {"S": att.content_type}}
            if len(att.data) <= _PART:
                head["data"] = {"B": att.data}
            else:
                pieces = [att.data[i : i + _PART] for i in range(0, len(att.data), _PART)]
                head["parts"] = {"N": str(len(pieces))}
                parts += [
                    {**key_of(pk, f"B#{n:04d}"), "data": {"B": piece}}
                    for n, piece in enumerate(pieces)
                ]
            heads.append(head)
        batch_write(self._client, self._table, parts)
        batch_write(self._client, self._table, heads)

    # ------------------------------------------------------------------------------------ reads

    def get(self, tenant: str, ids: Collection[str]) -> dict[str, StoredStatement]:
        return self._load(tenant_hash(tenant), ids)

    def _load(self, th: str, ids: Collection[str]) -> dict[str, StoredStatement]:
        """Statement items plus their markers in one BatchGetItem round (2 keys per id)."""
        keys = [
            key_of(statement_pk(th, sid), sk) for sid in dict.fromkeys(ids) for sk in ("S", "R")
        ]
        statements: dict[str, Item] = {}
        markers: dict[str, Item] = {}
        prefix = len(statement_pk(th, ""))
        for item in batch_get(self._client, self._table, keys):
            sid = item["pk"]["S"][prefix:]
            (statements if item["sk"]["S"] == STATEMENT_SK else markers)[sid] = item
        return {sid: _decode(sid, item, markers.get(sid)) for sid, item in statements.items()}

    def referrers(self, tenant: str, ids: Collection[str]) -> dict[str, list[str]]:
        th = tenant_hash(tenant)
        keys = [key_of(statement_pk(th, sid), MARKER_SK) for sid in dict.fromkeys(ids)]
        prefix = len(statement_pk(th, ""))
        found = batch_get(self._client, self._table, keys, ("pk", "refs"))
        return {i["pk"]["S"][prefix:]: sorted(i["refs"]["SS"]) for i in found if "refs" in i}

    def scan(
        self,
        tenant: str,
        key: str,
        query: StatementQuery,
        after: Position | None,
        limit: int,
    ) -> tuple[list[StoredStatement], bool]:
        """Query every shard of the key's index within the sk range, merge by sk (= stored order,
        ties by id), take limit + 1 to learn exhaustion, then BatchGet the Statements."""
        th = tenant_hash(tenant)
        # Every sk is "<17 digits>#<id>", so "<digits>$" sorts after every sk of that microsecond
        # and equals none: BETWEEN (inclusive) then expresses since-exclusive / until-inclusive.
        low, high = "0", ":"
        if query.since_us is not None:
            low = max(low, f"{query.since_us:017d}$")
        if query.until_us is not None:
            high = min(high, f"{query.until_us:017d}$")
        skip = None
        if after is not None:
            skip = index_sk(after.stored_us, after.statement_id)
            low, high = (max(low, skip), high) if query.ascending else (low, min(high, skip))
        if low > high:
            return [], True
        shards = [
            self._index_sks(index_pk(th, key, shard), low, high, query.ascending, limit + 2)
            for shard in range(self._shards)
        ]
        picked: list[str] = []
        for sk in heapq.merge(*shards, reverse=not query.ascending):
            if sk == skip or (picked and sk == picked[-1]):
                continue  # the position itself; the same entry in an old and a new shard
            picked.append(sk)
            if len(picked) > limit:
                break
        ids = [sk.split("#", 1)[1] for sk in picked[:limit]]
        rows = self._load(th, ids)
        return [rows[sid] for sid in ids if sid in rows], len(picked) <= limit

    def _index_sks(self, pk: str, low: str, high: str, ascending: bool, page: int) -> Iterator[str]:
        request: QueryInputTypeDef = {
            "TableName": self._table,
            "KeyConditionExpression": "#pk = :pk AND #sk BETWEEN :lo AND :hi",
            "ExpressionAttributeNames": {"#pk": "pk", "#sk": "sk"},
            "ExpressionAttributeValues": {":pk": {"S": pk}, ":lo": {"S": low}, ":hi": {"S": high}},
            "ProjectionExpression": "#sk",
            "ScanIndexForward": ascending,
            "ConsistentRead": True,
            "Limit": page,
        }
        while True:
            response = self._client.query(**request)
            for item in response["Items"]:
                yield item["sk"]["S"]
            last = response.get("LastEvaluatedKey")
            if not last:
                return
            request["ExclusiveStartKey"] = last

    def attachments(self, tenant: str, hashes: Collection[str]) -> dict[str, Attachment]:
        th = tenant_hash(tenant)
        prefix = len(attachment_pk(th, ""))
        heads = batch_get(
            self._client, self._table, [key_of(attachment_pk(th, h), "B") for h in set(hashes)]
        )
        part_keys = [
            key_of(head["pk"]["S"], f"B#{n:04d}")
            for head in heads
            if "parts" in head
            for n in range(int(head["parts"]["N"]))
        ]
        parts = {
            (p["pk"]["S"], p["sk"]["S"]): p["data"]["B"]
            for p in batch_get(self._client, self._table, part_keys)
        }
        out: dict[str, Attachment] = {}
        for head in heads:
            pk = head["pk"]["S"]
            if "parts" in head:
                count = int(head["parts"]["N"])
                data = b"".join(parts[(pk, f"B#{n:04d}")] for n in range(count))
            else:
                data = head["data"]["B"]
            out[pk[prefix:]] = Attachment(pk[prefix:], head["content_type"]["S"], data)
        return out


def _decode(sid: str, item: Item, marker: Item | None) -> StoredStatement:
    voiding = item["voiding"]["BOOL"]
    return StoredStatement(
        id=sid,
        stored_us=int(item["stored_us"]["N"]),
        body=item["body"]["B"],
        key_groups=decode_groups(item),
        voided=not voiding and marker is not None and bool(marker.get("voiders")),
        ref_target=item["ref"]["S"] if "ref" in item else None,
        voiding=voiding,
        attachments=tuple(a["S"] for a in item["atts"]["L"]) if "atts" in item else (),
    )


def _chunks(rows: Chunk) -> list[Chunk]:
    """Split a batch into transactions of at most 100 items (Statements + distinct ref targets)
    and ~3.5 MB."""
    chunks: list[Chunk] = []
    current: Chunk = []
    targets: set[str] = set()
    size = 0
    for rec, item, item_size in rows:
        new_target = rec.ref_target is not None and rec.ref_target not in targets
        full = len(current) + len(targets) + 1 + new_target > _TX_ITEMS
        if current and (full or size + item_size > _TX_BYTES):
            chunks.append(current)
            current, targets, size = [], set(), 0
        current.append((rec, item, item_size))
        size += item_size
        if rec.ref_target:
            targets.add(rec.ref_target)
    if current:
        chunks.append(current)
    return chunks
