"""The composition root: builds the object graph once per container (or per local process).

Tests and the local runtime call ``build`` with their own settings/clients; Lambda handlers call
``services()``, which builds from the environment on first use.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from progress.app.auth import Authenticator
from progress.app.clock import MonotonicClock
from progress.app.documents import ActivityService, DocumentService
from progress.app.ports import (
    ActivityStore,
    DocumentStore,
    NoUnitOfWork,
    StatementStore,
    TenantStore,
    UnitOfWork,
)
from progress.app.statements import StatementService
from progress.app.tenants import TenantAdmin
from progress.edge.xapi.cursor import CursorCodec
from progress.settings import Settings


@dataclass(frozen=True)
class Services:
    settings: Settings
    statements: StatementService
    auth: Authenticator
    tenants: TenantAdmin
    cursor_key: Callable[[], bytes]
    statement_store: StatementStore
    tenant_store: TenantStore
    documents: DocumentService
    activities: ActivityService
    document_store: DocumentStore
    activity_store: ActivityStore
    closers: tuple[Callable[[], None], ...] = ()

    @cached_property
    def cursors(self) -> CursorCodec:
        """Built on first use, so functions that sign no cursors (the authorizer) never fetch
        the key, and need no permission to read it."""
        return CursorCodec(self.cursor_key())

    def close(self) -> None:
        """Release what the adapters hold (SQLite: stop the checkpointer, truncate the WAL)."""
        for close in self.closers:
            close()


def _cursor_key(settings: Settings) -> bytes:
    if settings.cursor_secret:
        return settings.cursor_secret.encode()
    if settings.cursor_secret_arn:
        from progress.adapters.secrets import secret_string

        return secret_string(settings.cursor_secret_arn).encode()
    if settings.backend == "memory":
        return secrets.token_bytes(32)
    # Local modes: a key persisted beside the data, so `more` URLs survive restarts.
    path = Path(settings.data_dir) / "cursor.key"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_bytes(secrets.token_bytes(32))
        path.chmod(0o600)
    return path.read_bytes()


def build(settings: Settings, *, dynamodb_client: Any | None = None) -> Services:
    statement_store: StatementStore
    tenant_store: TenantStore
    document_store: DocumentStore
    activity_store: ActivityStore
    closers: tuple[Callable[[], None], ...] = ()
    uow: UnitOfWork = NoUnitOfWork()
    if settings.backend == "sqlite":
        from progress.adapters.sqlite import (
            Database,
            SqliteActivityStore,
            SqliteDocumentStore,
            SqliteStatementStore,
            SqliteTenantStore,
            SqliteUnitOfWork,
        )

        db = Database(settings.sqlite_path)
        statement_store, tenant_store = SqliteStatementStore(db), SqliteTenantStore(db)
        document_store, activity_store = SqliteDocumentStore(db), SqliteActivityStore(db)
        closers = (db.close,)
        uow = SqliteUnitOfWork(db)
    elif settings.backend == "dynamodb":
        from progress.adapters.dynamodb.documents import DynamoActivityStore, DynamoDocumentStore
        from progress.adapters.dynamodb.statements import DynamoStatementStore
        from progress.adapters.dynamodb.tenants import DynamoTenantStore

        if dynamodb_client is None:
            import boto3

            dynamodb_client = boto3.client("dynamodb")
        statement_store = DynamoStatementStore(
            dynamodb_client, settings.table_name, index_shards=settings.index_shards
        )
        tenant_store = DynamoTenantStore(dynamodb_client, settings.table_name)
        document_store = DynamoDocumentStore(dynamodb_client, settings.table_name)
        activity_store = DynamoActivityStore(dynamodb_client, settings.table_name)
    else:
        from progress.adapters.memory import (
            MemoryActivityStore,
            MemoryDocumentStore,
            MemoryStatementStore,
            MemoryTenantStore,
        )

        statement_store, tenant_store = MemoryStatementStore(), MemoryTenantStore()
        document_store, activity_store = MemoryDocumentStore(), MemoryActivityStore()
    clock = MonotonicClock()
    activities = ActivityService(activity_store)
    statements = StatementService(
        statement_store,
        clock,
        max_page=settings.max_page,
        consistency_lag_us=settings.consistency_lag_ms * 1000,
        on_stored=activities.record,
        uow=uow,
    )
    return Services(
        settings=settings,
        statements=statements,
        auth=Authenticator(tenant_store, settings.authority_homepage),
        tenants=TenantAdmin(tenant_store),
        cursor_key=lambda: _cursor_key(settings),
        statement_store=statement_store,
        tenant_store=tenant_store,
        documents=DocumentService(document_store, clock),
        activities=activities,
        document_store=document_store,
        activity_store=activity_store,
        closers=closers,
    )


_services: Services | None = None
_lock = threading.Lock()


def services() -> Services:
    global _services
    if _services is None:
        with _lock:
            if _services is None:
                _services = build(Settings.from_env())
    return _services


def install(built: Services | None) -> None:
    """Make ``services()`` return ``built`` (local runtime, tests); None resets."""
    global _services
    _services = built
