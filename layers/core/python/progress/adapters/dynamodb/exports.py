"""``ExportStore`` on the single table (docs/dynamodb-design.md, "Compliance exports").

A job is one item, ``{th}#EX#{id}`` / ``E``: the job's JSON and its version. A tenant's listing
is a second item per job in one partition, ``{th}#EXL`` / ``{created_us:017d}#{id}`` (keys
only), written with the job in one transaction. The outbox row of a write travels on the job
item's ``outbox`` attribute, as on attempts: ``create`` announces the request, an ``update``
with an envelope a continuation; every other update is a Put without ``outbox``, which the
relay publishes nothing for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import orjson
from botocore.exceptions import ClientError

from progress.adapters.dynamodb.progress import _put, _transact
from progress.adapters.dynamodb.table import (
    OUTBOX_ATTRIBUTE,
    batch_get,
    export_listing_pk,
    export_listing_sk,
    export_pk,
    key_of,
)
from progress.app.ports import Envelope, ExportJob, ExportPosition, VersionConflict
from progress.domain.errors import Conflict
from progress.domain.tenancy import tenant_hash

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import QueryInputTypeDef

    from progress.adapters.dynamodb.table import Item

EXPORT_SK: Final = "E"


class DynamoExportStore:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def _item(self, job: ExportJob, envelope: Envelope | None) -> Item:
        item: Item = {
            **key_of(export_pk(tenant_hash(job.tenant), job.id), EXPORT_SK),
            "job": {"B": orjson.dumps(job.snapshot())},
            "ver": {"N": str(job.version)},
            "tenant": {"S": job.tenant},
        }
        if envelope is not None:
            item[OUTBOX_ATTRIBUTE] = {"L": [{"B": orjson.dumps(envelope)}]}
        return item

    def create(self, job: ExportJob, envelope: Envelope) -> None:
        th = tenant_hash(job.tenant)
        listing: Item = key_of(export_listing_pk(th), export_listing_sk(job.created_us, job.id))
        failed = _transact(
            self._client,
            [
                _put(
                    self._table,
                    self._item(job, envelope),
                    "attribute_not_exists(#pk)",
                    {"#pk": "pk"},
                ),
                _put(self._table, listing),
            ],
        )
        if failed:
            raise Conflict(f"export {job.id}: already exists")

    def update(self, job: ExportJob, envelope: Envelope | None = None) -> None:
        try:
            self._client.put_item(
                TableName=self._table,
                Item=self._item(job, envelope),
                ConditionExpression="#v = :v",
                ExpressionAttributeNames={"#v": "ver"},
                ExpressionAttributeValues={":v": {"N": str(job.version - 1)}},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise VersionConflict(job.id) from None
            raise

    def get(self, tenant: str, export_id: str) -> ExportJob | None:
        item = self._client.get_item(
            TableName=self._table,
            Key=key_of(export_pk(tenant_hash(tenant), export_id), EXPORT_SK),
            ConsistentRead=True,
        ).get("Item")
        return None if item is None else ExportJob.restore(orjson.loads(item["job"]["B"]))

    def list(
        self, tenant: str, after: tuple[int, str] | None, limit: int
    ) -> tuple[list[ExportJob], ExportPosition | None]:
        """One Query of the listing partition (newest first, ``limit + 1`` keys), then one
        BatchGetItem of the jobs."""
        th = tenant_hash(tenant)
        names = {"#pk": "pk"}
        values: dict[str, Any] = {":pk": {"S": export_listing_pk(th)}}
        condition = "#pk = :pk"
        if after is not None:
            condition += " AND #sk < :b"
            names["#sk"] = "sk"
            values[":b"] = {"S": export_listing_sk(after[0], after[1])}
        request: QueryInputTypeDef = {
            "TableName": self._table,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": False,
            "ConsistentRead": True,
            "Limit": limit + 1,
        }
        ids: list[str] = []
        while len(ids) <= limit:
            response = self._client.query(**request)
            ids += [item["sk"]["S"].split("#", 1)[1] for item in response["Items"]]
            last = response.get("LastEvaluatedKey")
            if not last:
                break
            request["ExclusiveStartKey"] = last
        wanted = ids[:limit]
        items = batch_get(
            self._client, self._table, [key_of(export_pk(th, i), EXPORT_SK) for i in wanted]
        )
        found = {
            job.id: job for job in (ExportJob.restore(orjson.loads(i["job"]["B"])) for i in items)
        }
        page = [found[i] for i in wanted if i in found]
        more = len(ids) > limit and bool(page)
        return page, ExportPosition(page[-1].created_us, page[-1].id) if more else None
