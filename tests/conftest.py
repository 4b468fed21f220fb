"""Shared fixtures: every storage port is exercised through each of its adapters."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
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
    db = Database(tmp / "contract.db")
    yield SqliteStatementStore(db)
    db.close()


def _sqlite_tenants(tmp: Path) -> Iterator[Any]:
    db = Database(tmp / "contract.db")
    yield SqliteTenantStore(db)
    db.close()


@contextmanager
def _moto_table() -> Iterator[tuple[Any, str]]:
    """An empty single table in an in-process moto DynamoDB, as local mode runs it."""
    from progress.local import moto

    with ExitStack() as stack:
        yield moto.start(stack, "progress-test"), "progress-test"


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

    db = Database(tmp / "contract.db")
    yield SqliteDocumentStore(db)
    db.close()


def _dynamodb_documents(_: Path) -> Iterator[Any]:
    from progress.adapters.dynamodb.documents import DynamoDocumentStore

    with _moto_table() as (client, table):
        yield DynamoDocumentStore(client, table)


def _memory_activities(_: Path) -> Iterator[Any]:
    from progress.adapters.memory import MemoryActivityStore

    yield MemoryActivityStore()


def _sqlite_activities(tmp: Path) -> Iterator[Any]:
    from progress.adapters.sqlite import SqliteActivityStore

    db = Database(tmp / "contract.db")
    yield SqliteActivityStore(db)
    db.close()


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
def atomic_requests() -> Iterator[None]:
    """DynamoDB applies each request atomically; moto, in-process, takes no lock, so two threads
    can interleave inside one conditional PutItem or UpdateItem. Serialising moto's request
    handling gives the real service's guarantee back; races between an adapter's own requests
    (read, then conditional write) remain. Race tests use this."""
    from progress.local.moto import serialise_requests

    undo = serialise_requests()
    yield
    undo()
