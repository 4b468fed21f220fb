"""The single table: its schema (the one definition tests, local mode and infra share), the key
layout, and the batched reads/writes every DynamoDB adapter uses. See docs/dynamodb-design.md.

Every partition key starts with the 16-hex tenant hash -- except the cross-tenant lookups:
``CRED#{key}`` (which tenant a credential belongs to), ``SWEEP#{n}`` (the sweeper's index of
expiring attempts) and ``CERT#{id}`` (certificate verification knows only the id) -- so IAM
``dynamodb:LeadingKeys`` can confine a request to its own tenant.
"""

from __future__ import annotations

import hashlib
import random
import time
import zlib
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Final

from progress.domain.errors import ServiceUnavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import (
        AttributeDefinitionTypeDef,
        AttributeValueTypeDef,
        KeysAndAttributesTypeDef,
        KeySchemaElementTypeDef,
        QueryInputTypeDef,
        StreamSpecificationTypeDef,
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

# The table's stream feeds the outbox relay (``progress.adapters.dynamodb.stream``): it needs the
# old image too, to tell a write that announces something from one that does not.
STREAM_SPECIFICATION: Final[StreamSpecificationTypeDef] = {
    "StreamEnabled": True,
    "StreamViewType": "NEW_AND_OLD_IMAGES",
}
OUTBOX_ATTRIBUTE: Final = "outbox"  # L of B: the envelopes (JSON) the write of this item announces
TTL_ATTRIBUTE: Final = "ttl_s"  # N, epoch seconds: the TimeToLive attribute (inbox, idempotency)

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
        StreamSpecification=STREAM_SPECIFICATION,
    )
    client.get_waiter("table_exists").wait(TableName=name)
    client.update_time_to_live(
        TableName=name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
    )


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


# The operator's list of every tenant (sk ``T#{tenant id}``); the control plane, not tenant data.
TENANT_REGISTRY_PK: Final = "TENANTS"


def credential_pk(key: str) -> str:
    return f"CRED#{key}"


def hash32(value: str) -> str:
    """128 bits of sha256: identifiers (learners, activities) never appear in keys."""
    return hashlib.sha256(value.encode()).hexdigest()[:32]


# Progress (``adapters/dynamodb/progress.py``). Kinds: AT attempt, AI attempt-id pointer,
# AL/AA/AN listings by learner/activity/tenant, LN the tenant's learner registry, I inbox, RULES.


def attempt_pk(th: str, key_hash: str) -> str:
    """The partition of every attempt (sk = seq) of one attempt key."""
    return f"{th}#AT#{key_hash}"


def attempt_sk(seq: int) -> str:
    return f"{seq:08d}"


def attempt_pointer_pk(th: str, attempt_id: str) -> str:
    return f"{th}#AI#{attempt_id}"


def learner_listing_pk(th: str, learner: str) -> str:
    return f"{th}#AL#{hash32(learner)}"


def activity_listing_pk(th: str, activity_id: str, shard: int) -> str:
    return f"{th}#AA#{hash32(activity_id)}#{shard}"


# Statement time may lie before 1970 (a client's timestamp): offset it so that the fixed-width
# decimal keeps numeric order for every year from 0001 on.
_TIME_OFFSET: Final = 10**17


def listing_sk(started_us: int, attempt_id: str) -> str:
    shifted = started_us + _TIME_OFFSET
    if not 0 <= shifted < 10**18:
        raise ValueError(f"started_us {started_us} outside the listing key range")
    return f"{shifted:018d}#{attempt_id}"


def sweep_pk(shard: int) -> str:
    return f"SWEEP#{shard}"


def sweep_sk(expires_us: int, th: str, attempt_id: str) -> str:
    return f"{expires_us:017d}#{th}#{attempt_id}"


def inbox_pk(th: str, consumer: str, event_id: str) -> str:
    return f"{th}#I#{consumer}#{event_id}"


def rules_pk(th: str) -> str:
    return f"{th}#RULES"


def certificate_pk(certificate_id: str) -> str:
    return f"CERT#{certificate_id}"


def tenant_listing_pk(th: str, shard: int) -> str:
    """Every attempt of a tenant (exports), spread over ``listing_shards`` partitions."""
    return f"{th}#AN#{shard}"


def learner_registry_pk(th: str, shard: int) -> str:
    """The learners of a tenant that have attempts (sk ``hash32(learner)``), spread over
    ``listing_shards`` partitions."""
    return f"{th}#LN#{shard}"


def learner_registry_sk(learner: str) -> str:
    return hash32(learner)


def learner_shard(learner: str, shards: int) -> int:
    return zlib.crc32(learner.encode()) % shards


# Compliance exports (``adapters/dynamodb/exports.py``): EX job, EXL the tenant's job listing.


def export_pk(th: str, export_id: str) -> str:
    return f"{th}#EX#{export_id}"


def export_listing_pk(th: str) -> str:
    return f"{th}#EXL"


def export_listing_sk(created_us: int, export_id: str) -> str:
    return f"{created_us:017d}#{export_id}"


def idempotency_pk(th: str) -> str:
    """The partition of a tenant's Idempotency-Key records (sk: Powertools' hashed key)."""
    return f"{th}#IDEMPOTENCY"


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
    _batch(client, table, [{"PutRequest": {"Item": item}} for item in puts])


def batch_delete(client: DynamoDBClient, table: str, keys: Sequence[Item]) -> None:
    """Delete items by key 25 per call, retrying UnprocessedItems with backoff."""
    _batch(client, table, [{"DeleteRequest": {"Key": key}} for key in keys])


def _batch(
    client: DynamoDBClient, table: str, requests: Sequence[WriteRequestUnionTypeDef]
) -> None:
    for start in range(0, len(requests), _BATCH_WRITE_ITEMS):
        pending: Sequence[WriteRequestUnionTypeDef] = requests[start : start + _BATCH_WRITE_ITEMS]
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


def query_items(client: DynamoDBClient, request: QueryInputTypeDef) -> Iterator[Item]:
    """The items of a Query, page after page (``ExclusiveStartKey``), read as they are
    consumed: a caller that stops early reads no further page."""
    request = {**request}
    while True:
        response = client.query(**request)
        yield from response["Items"]
        last = response.get("LastEvaluatedKey")
        if not last:
            return
        request["ExclusiveStartKey"] = last


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
