"""The composition root: builds the object graph once per container (or per local process).

Tests and the local runtime call ``build`` with their own settings/clients; Lambda handlers call
``services()``, which builds from the environment on first use.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from progress.app.auth import Authenticator
from progress.app.certificates import CertificateService, certificate_id
from progress.app.clock import MonotonicClock
from progress.app.dispatch import Dispatcher
from progress.app.documents import ActivityService, DocumentService
from progress.app.exports import ExportService
from progress.app.ports import (
    ActivityStore,
    AttemptStore,
    BlobStore,
    CertificateStore,
    Clock,
    DeadLetters,
    DocumentStore,
    EventBus,
    ExportFiles,
    ExportStore,
    NoUnitOfWork,
    Outbox,
    RulesStore,
    StatementStore,
    TenantStore,
    UnitOfWork,
)
from progress.app.progress import ProgressService
from progress.app.statements import StatementService
from progress.app.tenants import TenantAdmin
from progress.app.transcripts import TranscriptService
from progress.edge.xapi.cursor import CursorCodec
from progress.settings import Settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency.persistence.base import (
        BasePersistenceLayer,
    )

    from progress.adapters.idempotency import MemoryIdempotencyRecords


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
    progress: ProgressService
    attempt_store: AttemptStore
    certificate_store: CertificateStore
    clock: Clock
    outbox: Outbox | None  # None where the table's stream plays the outbox (DynamoDB)
    make_dead_letters: Callable[[], DeadLetters]
    make_blobs: Callable[[], BlobStore]
    make_bus: Callable[[DeadLetters], EventBus]
    export_store: ExportStore
    make_export_files: Callable[[], ExportFiles]
    # ``idempotency_layer(tenant)``: Idempotency-Key records of that tenant (edge.idempotency)
    idempotency_layer: Callable[[str], BasePersistenceLayer]
    closers: tuple[Callable[[], None], ...] = ()

    # Built on first use: each needs an AWS client or a folder only some functions use.

    @cached_property
    def dead_letters(self) -> DeadLetters:
        return self.make_dead_letters()

    @cached_property
    def bus(self) -> EventBus:
        """EventBridge when EVENT_BUS_NAME is set; else the in-process ``Dispatcher``."""
        return self.make_bus(self.dead_letters)

    @cached_property
    def blobs(self) -> BlobStore:
        return self.make_blobs()

    @cached_property
    def certificates(self) -> CertificateService:
        from progress.adapters.pdf import certificate_json, render_certificate

        return CertificateService(
            self.certificate_store,
            self.blobs,
            self.statement_store,
            self.activity_store,
            self.clock,
            render_pdf=render_certificate,
            render_json=certificate_json,
            base_url=self.settings.public_base_url,
            id_key=self.certificate_id_key,
        )

    def certificate_url(self, tenant: str, completion_id: str) -> str:
        """The public URL of a completion's certificate (its id derives from the completion)."""
        cert = certificate_id(self.certificate_id_key, tenant, completion_id)
        return f"{self.settings.public_base_url}/certificates/{cert}"

    @cached_property
    def transcripts(self) -> TranscriptService:
        return TranscriptService(
            self.attempt_store,
            self.activity_store,
            self.statement_store,
            self.clock,
            certificate_url=self.certificate_url,
        )

    @cached_property
    def exports(self) -> ExportService:
        return ExportService(
            self.export_store,
            self.make_export_files,
            self.statement_store,
            self.attempt_store,
            self.tenant_store,
            self.clock,
            base_url=self.settings.public_base_url,
            url_key=lambda: self.export_url_key,
            certificate_url=self.certificate_url,
        )

    @cached_property
    def export_url_key(self) -> bytes:
        """Signs the local runtime's export download URLs; derived like certificate ids'."""
        return hmac.new(self.cursor_key(), b"export-urls", hashlib.sha256).digest()

    @cached_property
    def certificate_id_key(self) -> bytes:
        """Derived from the cursor key: rotating that key re-keys later certificates."""
        return hmac.new(self.cursor_key(), b"certificate-ids", hashlib.sha256).digest()

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
    attempt_store: AttemptStore
    rules_store: RulesStore
    certificate_store: CertificateStore
    outbox: Outbox | None = None
    make_dead_letters: Callable[[], DeadLetters]
    closers: tuple[Callable[[], None], ...] = ()
    uow: UnitOfWork = NoUnitOfWork()
    idempotency_layer: Callable[[str], BasePersistenceLayer]
    if settings.backend == "sqlite":
        from progress.adapters.sqlite import (
            Database,
            SqliteActivityStore,
            SqliteAttemptStore,
            SqliteCertificateStore,
            SqliteDeadLetters,
            SqliteDocumentStore,
            SqliteExportStore,
            SqliteOutbox,
            SqliteRulesStore,
            SqliteStatementStore,
            SqliteTenantStore,
            SqliteUnitOfWork,
        )

        db = Database(settings.sqlite_path)
        statement_store, tenant_store = SqliteStatementStore(db), SqliteTenantStore(db)
        document_store, activity_store = SqliteDocumentStore(db), SqliteActivityStore(db)
        attempt_store, rules_store = SqliteAttemptStore(db), SqliteRulesStore(db)
        certificate_store, outbox = SqliteCertificateStore(db), SqliteOutbox(db)
        export_store: ExportStore = SqliteExportStore(db)
        closers = (db.close,)
        uow = SqliteUnitOfWork(db)

        def make_dead_letters() -> DeadLetters:
            return _aws_dead_letters(settings) or SqliteDeadLetters(db)

        def idempotency_layer(tenant: str) -> BasePersistenceLayer:
            from progress.adapters.idempotency import SqliteIdempotencyLayer

            return SqliteIdempotencyLayer(db, tenant)

    elif settings.backend == "dynamodb":
        from progress.adapters.dynamodb.documents import DynamoActivityStore, DynamoDocumentStore
        from progress.adapters.dynamodb.exports import DynamoExportStore
        from progress.adapters.dynamodb.progress import (
            DynamoAttemptStore,
            DynamoCertificateStore,
            DynamoRulesStore,
        )
        from progress.adapters.dynamodb.statements import DynamoStatementStore
        from progress.adapters.dynamodb.tenants import DynamoTenantStore

        if dynamodb_client is None:
            import boto3

            dynamodb_client = boto3.client("dynamodb")
        table = settings.table_name
        statement_store = DynamoStatementStore(
            dynamodb_client, table, index_shards=settings.index_shards
        )
        tenant_store = DynamoTenantStore(dynamodb_client, table)
        document_store = DynamoDocumentStore(dynamodb_client, table)
        activity_store = DynamoActivityStore(dynamodb_client, table)
        attempt_store = DynamoAttemptStore(dynamodb_client, table)
        rules_store = DynamoRulesStore(dynamodb_client, table)
        certificate_store = DynamoCertificateStore(dynamodb_client, table)
        export_store = DynamoExportStore(dynamodb_client, table)

        def make_dead_letters() -> DeadLetters:
            found = _aws_dead_letters(settings)
            if found is not None:
                return found
            from progress.adapters.sqs import SqsDeadLetters  # local mode: queues on moto

            return SqsDeadLetters.create_local(consumer_names())

        idempotency_layer = _dynamodb_idempotency_layers(dynamodb_client, table)

    else:
        from progress.adapters.memory import (
            MemoryActivityStore,
            MemoryAttemptStore,
            MemoryCertificateStore,
            MemoryDeadLetters,
            MemoryDocumentStore,
            MemoryExportStore,
            MemoryOutbox,
            MemoryRulesStore,
            MemoryStatementStore,
            MemoryTenantStore,
        )

        memory_outbox = MemoryOutbox()
        outbox = memory_outbox
        statement_store, tenant_store = MemoryStatementStore(memory_outbox), MemoryTenantStore()
        document_store, activity_store = MemoryDocumentStore(), MemoryActivityStore()
        attempt_store, rules_store = MemoryAttemptStore(memory_outbox), MemoryRulesStore()
        certificate_store = MemoryCertificateStore()
        export_store = MemoryExportStore(memory_outbox)
        make_dead_letters = MemoryDeadLetters
        idempotency_records: MemoryIdempotencyRecords = {}

        def idempotency_layer(tenant: str) -> BasePersistenceLayer:
            from progress.adapters.idempotency import MemoryIdempotencyLayer

            return MemoryIdempotencyLayer(idempotency_records, tenant)

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
        progress=ProgressService(attempt_store, statement_store, rules_store, clock),
        attempt_store=attempt_store,
        certificate_store=certificate_store,
        clock=clock,
        outbox=outbox,
        make_dead_letters=make_dead_letters,
        make_blobs=lambda: _blobs(settings),
        make_bus=lambda dead_letters: _bus(settings, dead_letters),
        export_store=export_store,
        make_export_files=lambda: _export_files(settings),
        idempotency_layer=idempotency_layer,
        closers=closers,
    )


def _dynamodb_idempotency_layers(client: Any, table: str) -> Callable[[str], BasePersistenceLayer]:
    """One layer per tenant, kept: each new one would add a hook to the shared client. Sharing
    one between threads is safe (``edge.idempotency`` configures it under a lock)."""
    layers: dict[str, BasePersistenceLayer] = {}
    lock = threading.Lock()

    def layer(tenant: str) -> BasePersistenceLayer:
        with lock:
            if tenant not in layers:
                from progress.adapters.idempotency import dynamodb_idempotency_layer

                layers[tenant] = dynamodb_idempotency_layer(client, table, tenant)
            return layers[tenant]

    return layer


def consumer_names() -> tuple[str, ...]:
    """The functions event rules target (each has a dead-letter queue)."""
    from progress.catalog import FUNCTIONS, Trigger

    return tuple(f.name for f in FUNCTIONS if f.trigger is Trigger.EVENT)


def _aws_dead_letters(settings: Settings) -> DeadLetters | None:
    if not settings.dead_letter_queues:
        return None
    import boto3

    from progress.adapters.sqs import SqsDeadLetters

    return SqsDeadLetters(boto3.client("sqs"), settings.dead_letter_queues)


def _blobs(settings: Settings) -> BlobStore:
    if settings.certificate_bucket:
        import boto3

        from progress.adapters.blobs import S3BlobStore

        s3: BlobStore = S3BlobStore(boto3.client("s3"), settings.certificate_bucket)
        return s3
    if settings.backend == "memory":
        from progress.adapters.memory import MemoryBlobStore

        return MemoryBlobStore()
    from progress.adapters.blobs import FolderBlobStore

    folder: BlobStore = FolderBlobStore(Path(settings.data_dir) / "certificates")
    return folder


def _export_files(settings: Settings) -> ExportFiles:
    if settings.export_bucket:
        import boto3
        from botocore.config import Config

        from progress.adapters.blobs import S3ExportFiles

        # SigV4 presigned URLs (botocore would sign S3 URLs with SigV2, which newer regions
        # refuse); the client's region is the function's, so the URL is the regional endpoint.
        client = boto3.client("s3", config=Config(signature_version="s3v4"))
        s3: ExportFiles = S3ExportFiles(client, settings.export_bucket)
        return s3
    if settings.backend == "memory":
        from progress.adapters.memory import MemoryExportFiles

        return MemoryExportFiles()
    from progress.adapters.blobs import FolderExportFiles

    return FolderExportFiles(settings.exports_dir)


def _bus(settings: Settings, dead_letters: DeadLetters) -> EventBus:
    if settings.event_bus_name:
        import boto3

        from progress.adapters.eventbridge import EventBridgeBus

        bus: EventBus = EventBridgeBus(boto3.client("events"), settings.event_bus_name)
        return bus
    return Dispatcher(dead_letters)


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
