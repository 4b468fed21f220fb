"""Statement item formats, the migrations between them, and ``backfill``.

Every Statement item carries ``v``, its format version. The adapter reads every version in
``MIGRATIONS`` and writes ``CURRENT_VERSION`` (or the version it is told to), so a format change
rolls out as: deploy readers of both -> switch writers -> ``backfill`` -> (later) drop the reader.

- v1: ``groups`` is a List of String Sets (an empty group, never produced today, is NULL).
- v2: ``groups`` is one Binary holding compact JSON ``[[key, ...], ...]`` (about the same size).
  One opaque blob is the form that can be envelope-encrypted together with ``body``: the keys are
  learner identifiers (see docs/dynamodb-design.md, "Data protection").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import orjson
from botocore.exceptions import ClientError

from progress.adapters.dynamodb.table import batch_write, index_items, key_of

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, ScanInputTypeDef

    from progress.adapters.dynamodb.table import Item

CURRENT_VERSION: Final = 1
STATEMENT_SK: Final = "S"


def encode_groups(groups: Sequence[frozenset[str]], version: int) -> AttributeValueTypeDef:
    if version == 1:
        return {"L": [{"SS": sorted(g)} if g else {"NULL": True} for g in groups]}
    if version == 2:
        return {"B": orjson.dumps([sorted(g) for g in groups])}
    raise ValueError(f"unknown statement item version {version}")


def decode_groups(item: Item) -> tuple[frozenset[str], ...]:
    version = item_version(item)
    raw = item["groups"]
    if version == 1:
        return tuple(frozenset(g.get("SS", ())) for g in raw["L"])
    if version == 2:
        return tuple(frozenset(g) for g in orjson.loads(raw["B"]))
    raise ValueError(f"unknown statement item version {version}")


def item_version(item: Item) -> int:
    return int(item["v"]["N"])


# ---------------------------------------------------------------------------------------------
# Registry: MIGRATIONS[n] moves an item between version n and n + 1, both ways, losslessly.

ItemMigration = Callable[["Item"], "Item"]


@dataclass(frozen=True, slots=True)
class Step:
    up: ItemMigration  # n -> n + 1
    down: ItemMigration  # n + 1 -> n


def _regroup(target: int) -> ItemMigration:
    def move(item: Item) -> Item:
        return {
            **item,
            "groups": encode_groups(decode_groups(item), target),
            "v": {"N": str(target)},
        }

    return move


MIGRATIONS: Final[dict[int, Step]] = {1: Step(up=_regroup(2), down=_regroup(1))}
VERSIONS: Final = frozenset({1, *(n + 1 for n in MIGRATIONS)})


def migrate(item: Item, target: int) -> Item:
    """The item rewritten in format ``target``, one registered step at a time."""
    if target not in VERSIONS:
        raise ValueError(f"unknown statement item version {target}")
    version = item_version(item)
    while version < target:
        item, version = MIGRATIONS[version].up(item), version + 1
    while version > target:
        item, version = MIGRATIONS[version - 1].down(item), version - 1
    return item


# ---------------------------------------------------------------------------------------------
# Backfill


@dataclass(slots=True)
class BackfillStats:
    scanned: int = 0  # Statement items seen
    migrated: int = 0  # rewritten to the target version
    conflicts: int = 0  # changed under us 3 times in a row: left as they are, run again
    index_items: int = 0  # index items (re-)put


def backfill(
    client: DynamoDBClient,
    table: str,
    *,
    target_version: int = CURRENT_VERSION,
    index_shards: int = 4,
    reindex: bool = True,
    segment: int | None = None,
    total_segments: int | None = None,
    progress: Callable[[BackfillStats], None] | None = None,
) -> BackfillStats:
    """Rewrite every Statement item whose ``v`` differs from ``target_version`` and (``reindex``)
    re-put every index item its key groups call for.

    Safe to run while the service writes, and to re-run: a rewrite is conditional on ``v`` and
    ``groups`` being what was read (the only attributes that ever change), and index puts are
    idempotent. ``segment``/``total_segments`` split the scan over parallel workers; ``progress``
    is called after every page. ``index_shards`` must be the value the adapter uses.
    """
    if target_version not in VERSIONS:
        raise ValueError(f"unknown statement item version {target_version}")
    stats = BackfillStats()
    request: ScanInputTypeDef = {
        "TableName": table,
        "FilterExpression": "#sk = :s AND contains(#pk, :kind)",  # only "{th}#S#{id}" / "S"
        "ExpressionAttributeNames": {"#pk": "pk", "#sk": "sk"},
        "ExpressionAttributeValues": {":s": {"S": STATEMENT_SK}, ":kind": {"S": "#S#"}},
    }
    if segment is not None and total_segments is not None:
        request |= {"Segment": segment, "TotalSegments": total_segments}
    while True:
        page = client.scan(**request)
        puts: list[Item] = []
        for item in page["Items"]:
            stats.scanned += 1
            current = _rewrite(client, table, item, target_version, stats)
            if reindex and current is not None:
                pk = current["pk"]["S"]
                th, sid = pk[:16], pk[19:]  # "{th}#S#{id}"
                stored_us = int(current["stored_us"]["N"])
                puts += index_items(th, sid, stored_us, decode_groups(current), index_shards)
        batch_write(client, table, puts)
        stats.index_items += len(puts)
        if progress is not None:
            progress(stats)
        last = page.get("LastEvaluatedKey")
        if not last:
            return stats
        request["ExclusiveStartKey"] = last


def _rewrite(
    client: DynamoDBClient, table: str, item: Item, target: int, stats: BackfillStats
) -> Item | None:
    """The item as stored after bringing it to ``target``; None if it vanished or kept changing."""
    for _ in range(3):
        if item_version(item) == target:
            return item
        new = migrate(item, target)
        try:
            client.put_item(
                TableName=table,
                Item=new,
                ConditionExpression="#v = :v AND #g = :g",
                ExpressionAttributeNames={"#v": "v", "#g": "groups"},
                ExpressionAttributeValues={":v": item["v"], ":g": item["groups"]},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            fresh = client.get_item(
                TableName=table,
                Key=key_of(item["pk"]["S"], item["sk"]["S"]),
                ConsistentRead=True,
            ).get("Item")
            if fresh is None:
                return None
            item = fresh
            continue
        stats.migrated += 1
        return new
    stats.conflicts += 1
    return None
