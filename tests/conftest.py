"""Shared fixtures: every storage port is exercised through each of its adapters.

``statement_store``, ``tenant_store``, ``document_store`` and ``activity_store`` are each
parametrized over the backends: memory, SQLite (a real file) and DynamoDB (moto, started as
local mode starts it, with DynamoDB's per-request atomicity).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from progress.adapters import memory, sqlite
from progress.adapters.dynamodb.documents import DynamoActivityStore, DynamoDocumentStore
from progress.adapters.dynamodb.statements import DynamoStatementStore
from progress.adapters.dynamodb.tenants import DynamoTenantStore
from progress.local import moto
from progress.settings import ENV_POWERTOOLS_METRICS_DISABLED

# Handlers emit EMF metrics on Lambda only (progress.edge.observability): none in test output.
os.environ.setdefault(ENV_POWERTOOLS_METRICS_DISABLED, "true")

# `make mutation` runs each test once per mutant: fewer, reproducible examples there.
settings.register_profile(
    "mutation", max_examples=20, derandomize=True, database=None, deadline=None
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

BACKENDS = ("dynamodb", "memory", "sqlite")
TABLE = "progress-test"
DYNAMO: dict[str, Callable[[Any, str], Any]] = {
    "Statement": DynamoStatementStore,
    "Tenant": DynamoTenantStore,
    "Document": DynamoDocumentStore,
    "Activity": DynamoActivityStore,
}


@contextmanager
def adapters(backend: str, tmp: Path) -> Iterator[Callable[[str], Any]]:
    """Yields ``make(port)``: that port's adapter on one backend (torn down afterwards)."""
    if backend == "memory":
        yield lambda port: getattr(memory, f"Memory{port}Store")()
    elif backend == "sqlite":
        db = sqlite.Database(tmp / "contract.db")
        try:
            yield lambda port: getattr(sqlite, f"Sqlite{port}Store")(db)
        finally:
            db.close()
    else:
        with ExitStack() as stack:
            client = moto.start(stack, TABLE)
            yield lambda port: DYNAMO[port](client, TABLE)


def _store(port: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    with adapters(request.param, tmp_path) as make:
        yield make(port)


@pytest.fixture(params=BACKENDS)
def statement_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    yield from _store("Statement", request, tmp_path)


@pytest.fixture(params=BACKENDS)
def tenant_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    yield from _store("Tenant", request, tmp_path)


@pytest.fixture(params=BACKENDS)
def document_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    yield from _store("Document", request, tmp_path)


@pytest.fixture(params=BACKENDS)
def activity_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    yield from _store("Activity", request, tmp_path)


# ------------------------------------------------------------------------------- progress


@dataclass
class ProgressKit:
    """One backend's progress adapters over one store, and its outbox as the relay sees it."""

    attempts: Any
    statements: Any
    rules: Any
    certificates: Any
    dead_letters: Any
    read_outbox: Callable[[], list[dict[str, Any]]]  # envelopes committed since the last call
    exports: Any = None  # ExportStore, sharing the outbox


PROGRESS_BACKENDS = ("dynamodb", "memory", "sqlite")


def _drain(outbox: Any) -> Callable[[], list[dict[str, Any]]]:
    def drain() -> list[dict[str, Any]]:
        rows = outbox.pending(10_000)
        outbox.published([seq for seq, _ in rows])
        return [env for _, env in rows]

    return drain


@contextmanager
def progress_kit(backend: str, tmp: Path) -> Iterator[ProgressKit]:
    if backend == "memory":
        outbox = memory.MemoryOutbox()
        yield ProgressKit(
            memory.MemoryAttemptStore(outbox),
            memory.MemoryStatementStore(outbox),
            memory.MemoryRulesStore(),
            memory.MemoryCertificateStore(),
            memory.MemoryDeadLetters(),
            _drain(outbox),
            memory.MemoryExportStore(outbox),
        )
    elif backend == "sqlite":
        db = sqlite.Database(tmp / "progress.db")
        try:
            yield ProgressKit(
                sqlite.SqliteAttemptStore(db),
                sqlite.SqliteStatementStore(db),
                sqlite.SqliteRulesStore(db),
                sqlite.SqliteCertificateStore(db),
                sqlite.SqliteDeadLetters(db),
                _drain(sqlite.SqliteOutbox(db)),
                sqlite.SqliteExportStore(db),
            )
        finally:
            db.close()
    else:
        from progress.adapters.dynamodb.exports import DynamoExportStore
        from progress.adapters.dynamodb.progress import (
            DynamoAttemptStore,
            DynamoCertificateStore,
            DynamoRulesStore,
        )
        from progress.adapters.dynamodb.stream import StreamReader
        from progress.adapters.sqs import SqsDeadLetters

        with ExitStack() as stack:
            client = moto.start(stack, TABLE)
            reader = StreamReader.for_table(TABLE)

            def read() -> list[dict[str, Any]]:
                return [env for record in reader.poll() for env in reader.envelopes(record)]

            yield ProgressKit(
                DynamoAttemptStore(client, TABLE),
                DynamoStatementStore(client, TABLE),
                DynamoRulesStore(client, TABLE),
                DynamoCertificateStore(client, TABLE),
                SqsDeadLetters.create_local(("projection", "certificates")),
                read,
                DynamoExportStore(client, TABLE),
            )


@pytest.fixture(params=PROGRESS_BACKENDS)
def kit(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ProgressKit]:
    with progress_kit(request.param, tmp_path) as made:
        yield made
