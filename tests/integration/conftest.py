"""Fixtures of the adapter-specific integration tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

import pytest

from progress.local import moto

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

TABLE = "progress-it"


@pytest.fixture
def dynamo() -> Iterator[DynamoDBClient]:
    """A moto DynamoDB with an empty ``TABLE``, started as local mode starts it."""
    with ExitStack() as stack:
        yield moto.start(stack, TABLE)


def raw_items(client: DynamoDBClient) -> list[dict[str, Any]]:
    """Every item of ``TABLE``, as stored."""
    items: list[dict[str, Any]] = []
    for page in client.get_paginator("scan").paginate(TableName=TABLE):
        items += page["Items"]
    return items
