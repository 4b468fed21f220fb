"""The single table: its schema (the one definition tests, local mode and infra share), the key
layout, and the batched reads/writes every DynamoDB adapter uses. See docs/dynamodb-design.md.

Every partition key starts with the 16-hex tenant hash -- except ``CRED#{key}``, the lookup that
finds the tenant -- so IAM ``dynamodb:LeadingKeys`` can confine a request to its own tenant.
"""

from __future__ import annotations

import hashlib
import random
import time
import zlib
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Final

from progress.domain.errors import ServiceUnavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import (
        AttributeDefinitionTypeDef,
        AttributeValueTypeDef,
        KeysAndAttributesTypeDef,
        KeySchemaElementTypeDef,
        WriteRequestUnionTypeDef,
    )

    Item = dict[str, AttributeValueTypeDef]

TABLE_KEY_SCHEMA: Final[list[KeySchemaElementTypeDef]] = [
    {"AttributeName": "pk", "KeyType": "HASH"},
    {"AttributeName": "sk", "KeyType": "RANGE"},
]
ATTRIBUTE_DEFINITIONS: Final[list[AttributeDefinitionTypeDef]] = [
    {"AttributeName": "pk", "AttributeType": "S"},
    {"AttributeName": "sk", "AttributeType": "S"},
]
# No GSIs: every access pattern is a key lookup or a Query on a base-table partition, which keeps
# reads strongly consistent and every item's pk tenant-prefixed (a GSI key would need its own).

ITEM_LIMIT: Final = 400 * 1024  # DynamoDB's item size limit, attribute names included
_BATCH_GET_KEYS: Final = 100
_BATCH_WRITE_ITEMS: Final = 25
_MAX_ATTEMPTS: Final = 10


def create_table(client: DynamoDBClient, name: str) -> None:
    """Create the table (on-demand) and wait until it is active. Tests and local mode use this."""
    client.create_table(
        TableName=name,
        KeySchema=TABLE_KEY_SCHEMA,
        AttributeDefinitions=ATTRIBUTE_DEFINITIONS,
        BillingMode="PAY_PER_REQUEST",
    )
    client.get_waiter("table_exists").wait(TableName=name)


# ---------------------------------------------------------------------------------------------
# Keys


def statement_pk(th: str, statement_id: str) -> str:
    """The partition of a Statement (sk ``S``) and of its ref/void markers (sk ``R``)."""
    return f"{th}#S#{statement_id}"


def index_pk(th: str, key: str, shard: int) -> str:
    """An index partition: the key is hashed, so learner identifiers never appear in keys."""
    return f"{th}#X#{hashlib.sha256(key.encode()).hexdigest()[:16]}#{shard}"


def index_sk(stored_us: int, statement_id: str) -> str:
    return f"{stored_us:017d}#{statement_id}"


def shard_of(statement_id: str, shards: int) -> int:
    return zlib.crc32(statement_id.encode()) % shards


def attachment_pk(th: str, sha2: str) -> str:
    return f"{th}#B#{sha2}"


def tenant_pk(th: str) -> str:
    return f"{th}#TENANT"


def credential_pk(key: str) -> str:
    return f"CRED#{key}"


def key_of(pk: str, sk: str) -> Item:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def index_items(
    th: str, statement_id: str, stored_us: int, groups: Iterable[frozenset[str]], shards: int
) -> list[Item]:
    """The index items of a Statement: one per key in the union of its key groups."""
    shard = shard_of(statement_id, shards)
    sk = index_sk(stored_us, statement_id)
    keys: set[str] = set().union(*groups)
    return [key_of(index_pk(th, key, shard), sk) for key in sorted(keys)]


# ---------------------------------------------------------------------------------------------
# Batched I/O


def backoff(attempt: int) -> None:
    """Full-jitter exponential backoff: 0..min(1 s, 25 ms * 2^attempt)."""
    time.sleep(random.uniform(0, min(1.0, 0.025 * 2**attempt)))


def batch_write(client: DynamoDBClient, table: str, puts: Sequence[Item]) -> None:
    """Put items 25 per call, retrying UnprocessedItems with backoff."""
    for start in range(0, len(puts), _BATCH_WRITE_ITEMS):
        pending: Sequence[WriteRequestUnionTypeDef] = [
            {"PutRequest": {"Item": item}} for item in puts[start : start + _BATCH_WRITE_ITEMS]
        ]
        for attempt in range(_MAX_ATTEMPTS):
            unprocessed = client.batch_write_item(RequestItems={table: pending}).get(
                "UnprocessedItems", {}
            )
            pending = unprocessed.get(table, [])
            if not pending:
                break
            backoff(attempt)
        else:
            raise ServiceUnavailable(
                f"DynamoDB throttled: {len(pending)} item(s) still unprocessed after retries"
            )


def batch_get(
    client: DynamoDBClient, table: str, keys: Sequence[Item], attributes: Sequence[str] = ()
) -> list[Item]:
    """Strongly consistent BatchGetItem, 100 keys per call, retrying UnprocessedKeys. Keys must be
    distinct; the result is in no particular order."""
    out: list[Item] = []
    for start in range(0, len(keys), _BATCH_GET_KEYS):
        request: KeysAndAttributesTypeDef = {
            "Keys": keys[start : start + _BATCH_GET_KEYS],
            "ConsistentRead": True,
        }
        if attributes:
            request["ProjectionExpression"] = ", ".join(f"#{a}" for a in attributes)
            request["ExpressionAttributeNames"] = {f"#{a}": a for a in attributes}
        for attempt in range(_MAX_ATTEMPTS):
            response = client.batch_get_item(RequestItems={table: request})
            out.extend(response["Responses"].get(table, []))
            left = response.get("UnprocessedKeys", {}).get(table)
            if not left:
                break
            request = {**request, "Keys": left["Keys"]}
            backoff(attempt)
        else:
            raise RuntimeError("keys still unprocessed after retries")
    return out
