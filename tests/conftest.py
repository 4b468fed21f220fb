"""Shared fixtures: every storage port is exercised through each of its adapters."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from progress.adapters.memory import MemoryStatementStore, MemoryTenantStore
from progress.adapters.sqlite import Database, SqliteStatementStore, SqliteTenantStore

# name -> factory(tmp_path) returning (adapter, cleanup)
StoreFactory = Callable[[Path], Iterator[Any]]


def _memory_statements(_: Path) -> Iterator[Any]:
    yield MemoryStatementStore()


def _memory_tenants(_: Path) -> Iterator[Any]:
    yield MemoryTenantStore()


def _sqlite_statements(tmp: Path) -> Iterator[Any]:
    yield SqliteStatementStore(Database(tmp / "contract.db"))


def _sqlite_tenants(tmp: Path) -> Iterator[Any]:
    yield SqliteTenantStore(Database(tmp / "contract.db"))


@contextmanager
def _moto_table() -> Iterator[tuple[Any, str]]:
    """An empty single table in an in-process moto DynamoDB (fake credentials, us-east-1)."""
    import boto3
    from moto import mock_aws

    from progress.adapters.dynamodb import create_table

    for name, value in (
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled"),
    ):
        os.environ.setdefault(name, value)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_table(client, "progress-test")
        yield client, "progress-test"


def _dynamodb_statements(_: Path) -> Iterator[Any]:
    from progress.adapters.dynamodb import DynamoStatementStore

    with _moto_table() as (client, table):
        yield DynamoStatementStore(client, table)


def _dynamodb_tenants(_: Path) -> Iterator[Any]:
    from progress.adapters.dynamodb import DynamoTenantStore

    with _moto_table() as (client, table):
        yield DynamoTenantStore(client, table)


STATEMENT_STORES: dict[str, StoreFactory] = {
    "memory": _memory_statements,
    "sqlite": _sqlite_statements,
    "dynamodb": _dynamodb_statements,
}
TENANT_STORES: dict[str, StoreFactory] = {
    "memory": _memory_tenants,
    "sqlite": _sqlite_tenants,
    "dynamodb": _dynamodb_tenants,
}


@pytest.fixture(params=sorted(STATEMENT_STORES))
def statement_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    yield from STATEMENT_STORES[request.param](tmp_path)


@pytest.fixture(params=sorted(TENANT_STORES))
def tenant_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    yield from TENANT_STORES[request.param](tmp_path)


def _memory_documents(_: Path) -> Iterator[Any]:
    from progress.adapters.memory import MemoryDocumentStore

    yield MemoryDocumentStore()


def _sqlite_documents(tmp: Path) -> Iterator[Any]:
    from progress.adapters.sqlite import SqliteDocumentStore

    yield SqliteDocumentStore(Database(tmp / "contract.db"))


def _dynamodb_documents(_: Path) -> Iterator[Any]:
    from progress.adapters.dynamodb.documents import DynamoDocumentStore

    with _moto_table() as (client, table):
        yield DynamoDocumentStore(client, table)


def _memory_activities(_: Path) -> Iterator[Any]:
    from progress.adapters.memory import MemoryActivityStore

    yield MemoryActivityStore()


def _sqlite_activities(tmp: Path) -> Iterator[Any]:
    from progress.adapters.sqlite import SqliteActivityStore

    yield SqliteActivityStore(Database(tmp / "contract.db"))


def _dynamodb_activities(_: Path) -> Iterator[Any]:
    from progress.adapters.dynamodb.documents import DynamoActivityStore

    with _moto_table() as (client, table):
        yield DynamoActivityStore(client, table)


DOCUMENT_STORES: dict[str, StoreFactory] = {
    "memory": _memory_documents,
    "sqlite": _sqlite_documents,
    "dynamodb": _dynamodb_documents,
}
ACTIVITY_STORES: dict[str, StoreFactory] = {
    "memory": _memory_activities,
    "sqlite": _sqlite_activities,
    "dynamodb": _dynamodb_activities,
}


@pytest.fixture(params=sorted(DOCUMENT_STORES))
def document_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    yield from DOCUMENT_STORES[request.param](tmp_path)


@pytest.fixture(params=sorted(ACTIVITY_STORES))
def activity_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    yield from ACTIVITY_STORES[request.param](tmp_path)


@pytest.fixture
def atomic_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    """DynamoDB applies each request atomically; moto, in-process, takes no lock, so two threads
    can interleave inside one conditional PutItem or UpdateItem. Serialising moto's request
    handling gives the real service's guarantee back; races between an adapter's own requests
    (read, then conditional write) remain. Race tests use this."""
    import threading

    from moto.core.botocore_stubber import BotocoreStubber

    lock = threading.Lock()
    process = BotocoreStubber.process_request

    def one_at_a_time(self: BotocoreStubber, request: Any) -> Any:
        with lock:
            return process(self, request)

    monkeypatch.setattr(BotocoreStubber, "process_request", one_at_a_time)
