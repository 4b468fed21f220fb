"""DynamoDB-specific behaviour of the document and activity adapters that the port contract
cannot see: part items of big documents are cleaned up, and every key is tenant-prefixed and free
of learner identifiers. Runs on moto (in-process)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

from progress.adapters.dynamodb.documents import DynamoActivityStore, DynamoDocumentStore
from progress.domain.documents import (
    ANY,
    Document,
    DocumentKey,
    DocumentKind,
    DocumentScope,
    Precondition,
)
from progress.domain.errors import PreconditionFailed
from progress.domain.tenancy import tenant_hash
from tests.integration.conftest import TABLE, raw_items

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

pytestmark = pytest.mark.dynamodb

AGENT = "mbox:mailto:learner@example.com"
KEY = DocumentKey(DocumentScope(DocumentKind.AGENT_PROFILE, agent=AGENT), "learner-profile")
BIG = 1_200_000


def sks(client: DynamoDBClient) -> list[str]:
    return sorted(i["sk"]["S"] for i in raw_items(client))


def big(n: int) -> Document:
    return Document.of(os.urandom(BIG), "application/octet-stream", n)


def test_big_documents_are_split_and_their_parts_removed_when_replaced(
    dynamo: DynamoDBClient,
) -> None:
    store = DynamoDocumentStore(dynamo, TABLE)
    store.put("t", KEY, big(1), ANY)
    assert [sk[:2] for sk in sks(dynamo)] == ["D#", "P#", "P#", "P#", "P#"]
    second = big(2)
    store.put("t", KEY, second, ANY)
    assert len(sks(dynamo)) == 5
    assert store.get("t", KEY) == second
    store.put("t", KEY, Document.of(b"{}", "application/json", 3), ANY)
    assert [sk[:2] for sk in sks(dynamo)] == ["D#"]
    store.put("t", KEY, big(4), ANY)
    store.delete("t", KEY, ANY)
    assert raw_items(dynamo) == []


def test_a_failed_conditional_write_leaves_no_parts(dynamo: DynamoDBClient) -> None:
    store = DynamoDocumentStore(dynamo, TABLE)
    small = Document.of(b"{}", "application/json", 1)
    store.put("t", KEY, small, ANY)
    with pytest.raises(PreconditionFailed):
        store.put("t", KEY, big(2), Precondition(if_match=frozenset({"0" * 40})))
    assert [sk[:2] for sk in sks(dynamo)] == ["D#"]
    assert store.get("t", KEY) == small


def test_keys_are_tenant_prefixed_and_hold_no_learner_identifiers(dynamo: DynamoDBClient) -> None:
    """TEN-001 (IAM LeadingKeys) and the GDPR note: IFIs and ids only inside attributes."""
    DynamoDocumentStore(dynamo, TABLE).put("t", KEY, big(1), ANY)
    DynamoActivityStore(dynamo, TABLE).merge("t", {"http://example.com/a": {"name/en": "A"}})
    for item in raw_items(dynamo):
        assert item["pk"]["S"].startswith(tenant_hash("t") + "#")
        assert "learner" not in item["pk"]["S"] + item["sk"]["S"]
        assert "example.com" not in item["pk"]["S"] + item["sk"]["S"]
