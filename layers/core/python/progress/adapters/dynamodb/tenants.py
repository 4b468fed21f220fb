"""``TenantStore`` on the single table.

A tenant is ``{th}#TENANT / T``, listed by the operator's registry item ``TENANTS / T#{id}``
(written in the same transaction; one partition: tenants are few and created rarely).
A credential is written twice in one transaction: the lookup item ``CRED#{key} / C`` (the
authorizer knows only the key, so this one item cannot carry a tenant prefix) and the listing
item ``{th}#TENANT / C#{key}`` in its tenant's partition.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from progress.adapters.dynamodb.table import TENANT_REGISTRY_PK, credential_pk, key_of, tenant_pk
from progress.domain.errors import Conflict
from progress.domain.tenancy import Credential, Scope, Tenant, tenant_hash

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import QueryInputTypeDef

    from progress.adapters.dynamodb.table import Item


class DynamoTenantStore:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def put_tenant(self, tenant: Tenant) -> None:
        attributes: Item = {
            "tenant_id": {"S": tenant.id},
            "name": {"S": tenant.name},
            "created": {"S": tenant.created},
        }
        self._client.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": {**key_of(tenant_pk(tenant_hash(tenant.id)), "T"), **attributes},
                    }
                },
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": {**key_of(TENANT_REGISTRY_PK, f"T#{tenant.id}"), **attributes},
                    }
                },
            ]
        )

    def list_tenants(self, after: str | None, limit: int) -> list[Tenant]:
        request: QueryInputTypeDef = {
            "TableName": self._table,
            "KeyConditionExpression": "#pk = :pk AND begins_with(#sk, :t)",
            "ExpressionAttributeNames": {"#pk": "pk", "#sk": "sk"},
            "ExpressionAttributeValues": {":pk": {"S": TENANT_REGISTRY_PK}, ":t": {"S": "T#"}},
            "ConsistentRead": True,
            "Limit": max(limit, 1),
        }
        if after is not None:
            request["ExclusiveStartKey"] = key_of(TENANT_REGISTRY_PK, f"T#{after}")
        out: list[Tenant] = []
        while len(out) < limit:
            response = self._client.query(**request)
            out += [
                Tenant(id=i["tenant_id"]["S"], name=i["name"]["S"], created=i["created"]["S"])
                for i in response["Items"]
            ]
            last = response.get("LastEvaluatedKey")
            if not last:
                break
            request["ExclusiveStartKey"] = last
        return out[:limit]

    def delete_credential(self, tenant_id: str, key: str) -> bool:
        """Both items go in one transaction, on condition that the key is the tenant's."""
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "Delete": {
                            "TableName": self._table,
                            "Key": key_of(credential_pk(key), "C"),
                            "ConditionExpression": "#t = :t",
                            "ExpressionAttributeNames": {"#t": "tenant_id"},
                            "ExpressionAttributeValues": {":t": {"S": tenant_id}},
                        }
                    },
                    {
                        "Delete": {
                            "TableName": self._table,
                            "Key": key_of(tenant_pk(tenant_hash(tenant_id)), f"C#{key}"),
                        }
                    },
                ]
            )
        except ClientError as exc:
            codes = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            if "ConditionalCheckFailed" in codes:
                return False
            raise
        return True

    def get_tenant(self, tenant_id: str) -> Tenant | None:
        item = self._client.get_item(
            TableName=self._table,
            Key=key_of(tenant_pk(tenant_hash(tenant_id)), "T"),
            ConsistentRead=True,
        ).get("Item")
        if item is None:
            return None
        return Tenant(
            id=item["tenant_id"]["S"], name=item["name"]["S"], created=item["created"]["S"]
        )

    def put_credential(self, credential: Credential) -> None:
        """Create or replace; a key never moves to another tenant (TEN-002)."""
        attributes: Item = {
            "key": {"S": credential.key},
            "tenant_id": {"S": credential.tenant_id},
            "secret_hash": {"S": credential.secret_hash},
            "scopes": {"L": [{"S": s.value} for s in sorted(credential.scopes)]},
            "label": {"S": credential.label},
            "created": {"S": credential.created},
        }
        if credential.learner is not None:
            attributes["learner"] = {"S": credential.learner}
        listing_pk = tenant_pk(tenant_hash(credential.tenant_id))
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": {**key_of(credential_pk(credential.key), "C"), **attributes},
                            "ConditionExpression": "attribute_not_exists(pk) OR #t = :t",
                            "ExpressionAttributeNames": {"#t": "tenant_id"},
                            "ExpressionAttributeValues": {":t": {"S": credential.tenant_id}},
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": {**key_of(listing_pk, f"C#{credential.key}"), **attributes},
                        }
                    },
                ]
            )
        except ClientError as exc:
            codes = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            if "ConditionalCheckFailed" in codes:
                raise Conflict(
                    f"credential key {credential.key!r} belongs to another tenant"
                ) from exc
            raise

    def get_credential(self, key: str) -> Credential | None:
        item = self._client.get_item(
            TableName=self._table, Key=key_of(credential_pk(key), "C"), ConsistentRead=True
        ).get("Item")
        return None if item is None else _credential(item)

    def list_credentials(self, tenant_id: str) -> list[Credential]:
        request: QueryInputTypeDef = {
            "TableName": self._table,
            "KeyConditionExpression": "#pk = :pk AND begins_with(#sk, :c)",
            "ExpressionAttributeNames": {"#pk": "pk", "#sk": "sk"},
            "ExpressionAttributeValues": {
                ":pk": {"S": tenant_pk(tenant_hash(tenant_id))},
                ":c": {"S": "C#"},
            },
            "ConsistentRead": True,
        }
        out: list[Credential] = []
        while True:
            response = self._client.query(**request)
            out += [_credential(item) for item in response["Items"]]
            last = response.get("LastEvaluatedKey")
            if not last:
                return sorted(out, key=lambda c: c.key)
            request["ExclusiveStartKey"] = last


def _credential(item: Item) -> Credential:
    return Credential(
        key=item["key"]["S"],
        tenant_id=item["tenant_id"]["S"],
        secret_hash=item["secret_hash"]["S"],
        scopes=frozenset(Scope(s["S"]) for s in item["scopes"]["L"]),
        label=item["label"]["S"],
        created=item["created"]["S"],
        learner=item["learner"]["S"] if "learner" in item else None,
    )
