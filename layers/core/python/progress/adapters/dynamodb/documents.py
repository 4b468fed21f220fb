"""``DocumentStore`` and ``ActivityStore`` on the single table.

Documents. One partition per document scope, ``{th}#D#{hash(scope)}``; in it one head item per
document, sk ``D#{hash(id)}``, holding ``id``, ``ct`` (content type), ``etag``, ``updated_us`` and
the bytes in ``body``. A document too big for one item is split into part items
``P#{hash(id)}#{rev}#{n}``, written before the head that names them (``rev``, ``parts``) and
deleted once a new head replaced it; a reader that finds parts missing re-reads the head.
Hashing keeps learner identifiers and arbitrarily long ids out of keys.

Every head write is ONE conditional PutItem / DeleteItem whose ConditionExpression is the
request's precondition on ``etag`` (If-Match / If-None-Match), so of two writers holding the same
ETag exactly one succeeds. POST reads the head, merges, then writes on the condition that the
ETag and content type it read are still there, retrying when another write came in between.

Activities. ``{th}#A#{hash(id)} / A`` with one attribute per definition field (``f:name/en-US``,
``f:type``, ``f:extensions/<iri>``...), values as JSON text. A merge is one UpdateItem ``SET``
per Activity: no read, no transaction, concurrent merges never conflict (last writer wins per
field).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

import orjson
from botocore.exceptions import ClientError

from progress.adapters.dynamodb.table import backoff, batch_get, batch_write, key_of
from progress.domain.activities import DefinitionFields
from progress.domain.documents import Document, DocumentKey, DocumentScope, Precondition, merge_json
from progress.domain.errors import Conflict
from progress.domain.tenancy import tenant_hash

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import (
        AttributeValueTypeDef,
        QueryInputTypeDef,
        WriteRequestUnionTypeDef,
    )

    from progress.adapters.dynamodb.table import Item

HEAD: Final = "D#"
_PART: Final = 350_000  # document bytes per item, under the 400 KB item limit
_ATTEMPTS: Final = 8
_FIELDS_PER_UPDATE: Final = 100  # keeps an UpdateExpression well under its 4 KB limit
_CHECK_FAILED: Final = "ConditionalCheckFailedException"


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def document_pk(th: str, scope: DocumentScope) -> str:
    return f"{th}#D#{_hash(scope.key)}"


def document_sk(document_id: str) -> str:
    return f"{HEAD}{_hash(document_id)}"


def activity_pk(th: str, activity_id: str) -> str:
    return f"{th}#A#{_hash(activity_id)}"


def _condition(p: Precondition) -> dict[str, Any]:
    """The request's If-Match / If-None-Match as a ConditionExpression on ``etag``."""
    clauses: list[str] = []
    values: dict[str, AttributeValueTypeDef] = {}

    def tags(prefix: str, etags: frozenset[str]) -> str:
        names = [f":{prefix}{i}" for i in range(len(etags))]
        values.update({n: {"S": t} for n, t in zip(names, sorted(etags), strict=True)})
        return f"#e IN ({', '.join(names)})"

    if p.if_match is not None:
        clauses.append("attribute_exists(pk)" if "*" in p.if_match else tags("m", p.if_match))
    if p.if_none_match is not None:
        clauses.append(
            "attribute_not_exists(pk)"
            if "*" in p.if_none_match
            else f"(attribute_not_exists(pk) OR NOT {tags('n', p.if_none_match)})"
        )
    if not clauses:
        return {}
    out: dict[str, Any] = {"ConditionExpression": " AND ".join(clauses)}
    if values:
        out["ExpressionAttributeNames"] = {"#e": "etag"}
        out["ExpressionAttributeValues"] = values
    return out


def _unchanged(current: Document | None) -> dict[str, Any]:
    """Condition of a merge write: the head is still the one the merge was computed from."""
    if current is None:
        return {"ConditionExpression": "attribute_not_exists(pk)"}
    return {
        "ConditionExpression": "#e = :e AND #c = :c",
        "ExpressionAttributeNames": {"#e": "etag", "#c": "ct"},
        "ExpressionAttributeValues": {":e": {"S": current.etag}, ":c": {"S": current.content_type}},
    }


def _check_failed(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == _CHECK_FAILED


class DynamoDocumentStore:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def _keys(self, tenant: str, key: DocumentKey) -> tuple[str, str]:
        return document_pk(tenant_hash(tenant), key.scope), document_sk(key.id)

    # ----------------------------------------------------------------------------------- reads

    def get(self, tenant: str, key: DocumentKey) -> Document | None:
        pk, sk = self._keys(tenant, key)
        for attempt in range(_ATTEMPTS):
            head = self._client.get_item(
                TableName=self._table, Key=key_of(pk, sk), ConsistentRead=True
            ).get("Item")
            if head is None:
                return None
            content = self._content(pk, head)
            if content is not None:
                return Document(
                    content, head["ct"]["S"], int(head["updated_us"]["N"]), head["etag"]["S"]
                )
            backoff(attempt)  # replaced while we read its parts: read the new head
        raise Conflict("the document kept changing while being read; retry")

    def _content(self, pk: str, head: Item) -> bytes | None:
        if "body" in head:
            return head["body"]["B"]
        part_sks = _part_sks(head)
        found = batch_get(self._client, self._table, [key_of(pk, sk) for sk in part_sks])
        parts = {item["sk"]["S"]: item["data"]["B"] for item in found}
        if len(parts) < len(part_sks):
            return None
        return b"".join(parts[sk] for sk in part_sks)

    def ids(self, tenant: str, scope: DocumentScope, since_us: int | None) -> dict[str, int]:
        values: dict[str, AttributeValueTypeDef] = {
            ":pk": {"S": document_pk(tenant_hash(tenant), scope)},
            ":d": {"S": HEAD},
            ":since": {"N": str(-1 if since_us is None else since_us)},
        }
        request: QueryInputTypeDef = {
            "TableName": self._table,
            "KeyConditionExpression": "#pk = :pk AND begins_with(#sk, :d)",
            "FilterExpression": "#u > :since",
            "ProjectionExpression": "#id, #u",
            "ExpressionAttributeNames": {"#pk": "pk", "#sk": "sk", "#id": "id", "#u": "updated_us"},
            "ExpressionAttributeValues": values,
            "ConsistentRead": True,
        }
        return {item["id"]["S"]: int(item["updated_us"]["N"]) for item in self._query(request)}

    def _query(self, request: QueryInputTypeDef) -> list[Item]:
        out: list[Item] = []
        while True:
            response = self._client.query(**request)
            out += response["Items"]
            last = response.get("LastEvaluatedKey")
            if not last:
                return out
            request["ExclusiveStartKey"] = last

    # ---------------------------------------------------------------------------------- writes

    def put(
        self,
        tenant: str,
        key: DocumentKey,
        document: Document,
        precondition: Precondition,
        *,
        merge: bool = False,
    ) -> None:
        pk, sk = self._keys(tenant, key)
        if not merge:
            if not self._write(pk, sk, key.id, document, _condition(precondition)):
                raise precondition.failed()
            return
        for attempt in range(_ATTEMPTS):
            current = self.get(tenant, key)
            precondition.check(current.etag if current else None)
            merged = merge_json(current, document) if current else document
            if self._write(pk, sk, key.id, merged, _unchanged(current)):
                return
            backoff(attempt)
        raise Conflict("the document kept changing while merging into it; retry")

    def _write(
        self, pk: str, sk: str, document_id: str, doc: Document, condition: dict[str, Any]
    ) -> bool:
        """Put the head (after its parts, if any) on ``condition``; False if that failed."""
        head: Item = {
            **key_of(pk, sk),
            "v": {"N": "1"},
            "id": {"S": document_id},
            "ct": {"S": doc.content_type},
            "etag": {"S": doc.etag},
            "updated_us": {"N": str(doc.updated_us)},
        }
        parts: list[Item] = []
        if len(doc.content) <= _PART:
            head["body"] = {"B": doc.content}
        else:
            rev = f"P#{sk[len(HEAD) :]}#{uuid.uuid4().hex}"
            pieces = [doc.content[i : i + _PART] for i in range(0, len(doc.content), _PART)]
            head["rev"] = {"S": rev}
            head["parts"] = {"N": str(len(pieces))}
            parts = [
                {**key_of(pk, f"{rev}#{n:04d}"), "data": {"B": piece}}
                for n, piece in enumerate(pieces)
            ]
            batch_write(self._client, self._table, parts)
        try:
            old = self._client.put_item(
                TableName=self._table, Item=head, ReturnValues="ALL_OLD", **condition
            ).get("Attributes")
        except ClientError as exc:
            self._delete(pk, [p["sk"]["S"] for p in parts])
            if _check_failed(exc):
                return False
            raise
        if old:
            self._delete(pk, _part_sks(old))
        return True

    def delete(self, tenant: str, key: DocumentKey, precondition: Precondition) -> None:
        pk, sk = self._keys(tenant, key)
        try:
            old = self._client.delete_item(
                TableName=self._table,
                Key=key_of(pk, sk),
                ReturnValues="ALL_OLD",
                **_condition(precondition),
            ).get("Attributes")
        except ClientError as exc:
            if _check_failed(exc):
                raise precondition.failed() from exc
            raise
        if old:
            self._delete(pk, _part_sks(old))

    def delete_all(self, tenant: str, scope: DocumentScope) -> None:
        pk = document_pk(tenant_hash(tenant), scope)
        items = self._query(
            {
                "TableName": self._table,
                "KeyConditionExpression": "#pk = :pk",
                "ProjectionExpression": "#sk",
                "ExpressionAttributeNames": {"#pk": "pk", "#sk": "sk"},
                "ExpressionAttributeValues": {":pk": {"S": pk}},
                "ConsistentRead": True,
            }
        )
        self._delete(pk, [item["sk"]["S"] for item in items])

    def _delete(self, pk: str, sks: Sequence[str]) -> None:
        """Batched, idempotent deletes, retrying unprocessed items with backoff."""
        for start in range(0, len(sks), 25):
            pending: Sequence[WriteRequestUnionTypeDef] = [
                {"DeleteRequest": {"Key": key_of(pk, sk)}} for sk in sks[start : start + 25]
            ]
            for attempt in range(_ATTEMPTS):
                response = self._client.batch_write_item(RequestItems={self._table: pending})
                pending = response.get("UnprocessedItems", {}).get(self._table, [])
                if not pending:
                    break
                backoff(attempt)


def _part_sks(head: Item) -> list[str]:
    if "rev" not in head:
        return []
    rev = head["rev"]["S"]
    return [f"{rev}#{n:04d}" for n in range(int(head["parts"]["N"]))]


class DynamoActivityStore:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def merge(self, tenant: str, definitions: Mapping[str, DefinitionFields]) -> None:
        th = tenant_hash(tenant)
        for activity_id, fields in definitions.items():
            items = list(fields.items())
            for start in range(0, len(items), _FIELDS_PER_UPDATE):
                chunk = items[start : start + _FIELDS_PER_UPDATE]
                names = {f"#f{i}": f"f:{field}" for i, (field, _) in enumerate(chunk)}
                values: dict[str, AttributeValueTypeDef] = {
                    f":f{i}": {"S": orjson.dumps(value).decode()}
                    for i, (_, value) in enumerate(chunk)
                }
                sets = ", ".join(f"#f{i} = :f{i}" for i in range(len(chunk)))
                self._client.update_item(
                    TableName=self._table,
                    Key=key_of(activity_pk(th, activity_id), "A"),
                    UpdateExpression=f"SET #id = :id, {sets}",
                    ExpressionAttributeNames={"#id": "id", **names},
                    ExpressionAttributeValues={":id": {"S": activity_id}, **values},
                )

    def get(self, tenant: str, activity_id: str) -> DefinitionFields:
        item = self._client.get_item(
            TableName=self._table,
            Key=key_of(activity_pk(tenant_hash(tenant), activity_id), "A"),
            ConsistentRead=True,
        ).get("Item", {})
        return _fields(item)

    def get_many(self, tenant: str, activity_ids: Iterable[str]) -> dict[str, DefinitionFields]:
        th = tenant_hash(tenant)
        keys = [key_of(activity_pk(th, a), "A") for a in dict.fromkeys(activity_ids)]
        return {
            item["id"]["S"]: _fields(item) for item in batch_get(self._client, self._table, keys)
        }


def _fields(item: Item) -> DefinitionFields:
    return {name[2:]: orjson.loads(v["S"]) for name, v in item.items() if name[:2] == "f:"}
