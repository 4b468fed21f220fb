"""Shared fixtures: every storage port is exercised through each of its adapters."""

from __future__ import annotations

from collections.abc import Callable, Iterator
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


STATEMENT_STORES: dict[str, StoreFactory] = {
    "memory": _memory_statements,
    "sqlite": _sqlite_statements,
}
TENANT_STORES: dict[str, StoreFactory] = {
    "memory": _memory_tenants,
    "sqlite": _sqlite_tenants,
}


@pytest.fixture(params=sorted(STATEMENT_STORES))
def statement_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    yield from STATEMENT_STORES[request.param](tmp_path)


@pytest.fixture(params=sorted(TENANT_STORES))
def tenant_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    yield from TENANT_STORES[request.param](tmp_path)
