"""Ports: what the use cases need from storage and the outside world. No AWS in here.

Every port has an in-memory twin (``progress.adapters.memory``) and one contract test suite
(``tests/contract``) that every adapter passes.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from progress.domain.activities import DefinitionFields
from progress.domain.attempts import Attempt
from progress.domain.completion import CompletionRecord
from progress.domain.documents import Document, DocumentKey, DocumentScope, Precondition
from progress.domain.exports import Checkpoint as Checkpoint  # re-exported
from progress.domain.exports import ExportJob as ExportJob  # re-exported
from progress.domain.facts import AttemptKey, Score
from progress.domain.progress_rules import ProgressRules
from progress.domain.statements import (
    Attachment,
    NewStatement,
    Position,
    StatementQuery,
    StoredStatement,
)
from progress.domain.tenancy import Credential, Tenant

Envelope = dict[str, Any]  # an event as published: ``progress.domain.events.envelope()``


class DuplicateIds(Exception):  # a signal between adapter and use case, not an HTTP error
    """Raised by ``StatementStore.insert`` when ids already exist; nothing was written."""

    def __init__(self, ids: Collection[str]) -> None:
        super().__init__(f"{len(ids)} statement id(s) already stored")
        self.ids = frozenset(ids)


class StatementStore(Protocol):
    """The Statement log of every tenant. All methods are scoped by ``tenant`` (TEN-001)."""

    def insert(
        self,
        tenant: str,
        batch: Sequence[NewStatement],
        key_groups: dict[str, tuple[frozenset[str], ...]],
        attachments: Sequence[Attachment],
    ) -> None:
        """Store the whole batch or nothing (SAPI-014), conditionally on every id being new.

        ``key_groups`` holds, for Statements whose StatementRef target is already stored, the
        target's key groups to inherit (SAPI-040). Raises ``DuplicateIds`` naming the ids that
        already exist, having written nothing.
        """
        ...

    def get(self, tenant: str, ids: Collection[str]) -> dict[str, StoredStatement]:
        """Statements by id (voided ones included, flagged), absent ids left out."""
        ...

    def referrers(self, tenant: str, ids: Collection[str]) -> dict[str, list[str]]:
        """For each id, the stored Statements whose object is a StatementRef to it."""
        ...

    def reindex(self, tenant: str, statements: Collection[StoredStatement]) -> None:
        """Ensure stored Statements are findable under all their key groups (idempotent).

        Called when a client resends Statements the store already holds: where index entries
        are written apart from the Statement (DynamoDB), this repairs a crash in between."""
        ...

    def inherit(self, tenant: str, statement_id: str, groups: Sequence[frozenset[str]]) -> None:
        """Make a stored Statement findable under extra key groups (a late-arriving ref target)."""
        ...

    def scan(
        self,
        tenant: str,
        key: str,
        query: StatementQuery,
        after: Position | None,
        limit: int,
    ) -> tuple[list[StoredStatement], bool]:
        """Up to ``limit`` Statements indexed under ``key`` in ``stored`` order (descending unless
        ``query.ascending``), within ``query``'s since/until, strictly after ``after``.
        Returns (statements, exhausted). Filtering on other keys and voiding is the caller's."""
        ...

    def attachments(self, tenant: str, hashes: Collection[str]) -> dict[str, Attachment]: ...


class TenantStore(Protocol):
    """Tenants and their credentials. Credential keys are unique across tenants."""

    def put_tenant(self, tenant: Tenant) -> None: ...

    def get_tenant(self, tenant_id: str) -> Tenant | None: ...

    def put_credential(self, credential: Credential) -> None: ...

    def get_credential(self, key: str) -> Credential | None: ...

    def list_credentials(self, tenant_id: str) -> list[Credential]: ...

    def delete_credential(self, tenant_id: str, key: str) -> bool:
        """Remove the tenant's credential ``key``; False if the tenant has no such key."""
        ...

    def list_tenants(self, after: str | None, limit: int) -> list[Tenant]:
        """Tenants in id order, those after ``after`` (exclusive), at most ``limit``."""
        ...


class UnitOfWork(Protocol):
    """Writes made inside ``transaction()`` commit together where the store can (SQLite: one
    transaction); where it cannot (DynamoDB, memory) each write commits on its own, as before.
    Issue-4 outbox rows will be written inside the same block as the change they announce."""

    def transaction(self) -> AbstractContextManager[None]: ...


class NoUnitOfWork:
    """For stores whose writes each commit alone."""

    def transaction(self) -> AbstractContextManager[None]:
        return nullcontext()


class Clock(Protocol):
    def now_us(self) -> int:
        """Epoch microseconds; strictly increasing within one process."""
        ...


# ------------------------------------------------------------------ documents and activities


class DocumentStore(Protocol):
    """State, Activity Profile and Agent Profile documents of every tenant (C§2.2). All methods
    are scoped by ``tenant`` (TEN-001). Writes are atomic and conditional: the precondition is
    checked against the stored document in the same transaction / conditional write that
    changes it, never read first and written later."""

    def get(self, tenant: str, key: DocumentKey) -> Document | None: ...

    def put(
        self,
        tenant: str,
        key: DocumentKey,
        document: Document,
        precondition: Precondition,
        *,
        merge: bool = False,
    ) -> None:
        """Store ``document`` if ``precondition`` holds for the stored one (else raise
        PreconditionFailed). With ``merge``, an existing document becomes
        ``merge_json(existing, document)`` (which raises BadRequest); nothing changes on error."""
        ...

    def delete(self, tenant: str, key: DocumentKey, precondition: Precondition) -> None:
        """Delete if ``precondition`` holds (else PreconditionFailed); absent is not an error."""
        ...

    def ids(self, tenant: str, scope: DocumentScope, since_us: int | None) -> dict[str, int]:
        """Ids of the scope's documents updated strictly after ``since_us``, with their
        ``updated_us``."""
        ...

    def delete_all(self, tenant: str, scope: DocumentScope) -> None: ...


class ActivityStore(Protocol):
    """Canonical Activity definitions as flat fields (``progress.domain.activities``)."""

    def merge(self, tenant: str, definitions: Mapping[str, DefinitionFields]) -> None:
        """Overwrite the given fields of each Activity, keeping its other fields. No read
        first, no transaction across Activities: concurrent merges never wait on each other."""
        ...

    def get(self, tenant: str, activity_id: str) -> DefinitionFields:
        """The Activity's fields; empty when nothing is known of it."""
        ...

    def get_many(self, tenant: str, activity_ids: Iterable[str]) -> dict[str, DefinitionFields]:
        """The fields of each known Activity among ``activity_ids``, in a few round trips
        whatever their number (a transcript names hundreds); unknown ones are left out."""
        ...


# ------------------------------------------------------------------ progress (issue 4)
#
# Attempts, their outbox and the consumers' inboxes. Every method that changes progress takes a
# whole ``ProgressCommit`` and writes it atomically: the attempts (each conditional on the
# version it was loaded at), the events they recorded (outbox rows) and the inbox row of the
# event that caused them. SQLite: one transaction. DynamoDB: one TransactWriteItems.


class VersionConflict(Exception):
    """An attempt changed since it was loaded (or a new one already exists); nothing written."""


class AlreadyProcessed(Exception):
    """The inbox already holds this consumer's row for the event; nothing was written."""


@dataclass(frozen=True, slots=True)
class InboxEntry:
    """What a consumer commits with its effect, so a redelivered event has no second one."""

    consumer: str
    event_id: str


@dataclass(frozen=True, slots=True)
class AttemptChange:
    """An attempt to save, if its stored version is still ``expected_version`` (0: new).

    ``expires_at_us`` / ``previous_expires_at_us`` are the sweeper index entries to write and
    to remove (None: the attempt is, or was, closed or new)."""

    attempt: Attempt
    expected_version: int
    expires_at_us: int | None
    previous_expires_at_us: int | None = None


@dataclass(frozen=True, slots=True)
class ProgressCommit:
    tenant: str
    attempts: tuple[AttemptChange, ...] = ()
    outbox: tuple[Envelope, ...] = ()  # published by the relay, in this order
    inbox: InboxEntry | None = None


@dataclass(frozen=True, slots=True)
class AttemptSummary:
    """What the read APIs list: an attempt without its bookkeeping."""

    attempt_id: str
    key: AttemptKey
    seq: int
    state: str
    version: int
    started_us: int
    last_us: int
    closed_us: int | None
    close_reason: str | None
    completion: CompletionRecord | None

    @classmethod
    def of(cls, attempt: Attempt) -> AttemptSummary:
        return cls(
            attempt_id=attempt.id,
            key=attempt.key,
            seq=attempt.seq,
            state=attempt.state.value,
            version=attempt.version,
            started_us=attempt.started_us,
            last_us=attempt.last_us,
            closed_us=attempt.closed_us,
            close_reason=None if attempt.close_reason is None else attempt.close_reason.value,
            completion=attempt.completion,
        )


@dataclass(frozen=True, slots=True)
class AttemptFilter:
    """At most one of learner / activity_id is set (the listing access patterns; neither: every
    attempt of the tenant, for exports); ``completed`` keeps only attempts whose completion
    record is achieved."""

    learner: str | None = None
    activity_id: str | None = None
    completed: bool = False

    def __post_init__(self) -> None:
        if self.learner is not None and self.activity_id is not None:
            raise ValueError("AttemptFilter: at most one of learner, activity_id")


@dataclass(frozen=True, slots=True)
class ListPosition:
    """Where a listing page stopped: listings run newest first by (started_us, attempt_id)."""

    started_us: int
    attempt_id: str


class AttemptStore(Protocol):
    """Attempts (with their completion records) of every tenant, the progress outbox and the
    consumers' inbox. All reads are strongly consistent."""

    def route(self, tenant: str, key: AttemptKey, at_us: int) -> Attempt | None:
        """The attempt of ``key`` whose window holds ``at_us`` (``Attempt.covers``), else the
        key's latest (highest ``seq``); None when the key has none."""
        ...

    def get(self, tenant: str, attempt_id: str) -> Attempt | None: ...

    def commit(self, commit: ProgressCommit) -> None:
        """All of it or nothing. Raises ``AlreadyProcessed`` when ``commit.inbox`` is already
        recorded, else ``VersionConflict`` when an attempt's stored version is not the expected
        one. A commit with nothing in it is a no-op."""
        ...

    def processed(self, tenant: str, entry: InboxEntry) -> bool:
        """Whether the inbox holds ``entry`` (a cheap pre-check; ``commit`` is the guard)."""
        ...

    def due(self, now_us: int, limit: int) -> list[tuple[str, str]]:
        """(tenant, attempt id) of open attempts whose ``expires_at_us <= now_us``, soonest
        first, across tenants (the sweeper's index)."""
        ...

    def learners(self, tenant: str, after: str | None, limit: int) -> tuple[list[str], str | None]:
        """Up to ``limit`` learner keys (``agent_key``) of ``tenant`` that have at least one
        attempt, each once across pages, in an order the adapter chooses and keeps (memory and
        SQLite: key order; DynamoDB: hash order), strictly after ``after``: a position this
        method returned, opaque to the caller. Returns the keys and the position to continue
        from, or None when there is no more."""
        ...

    def list(
        self, tenant: str, where: AttemptFilter, after: ListPosition | None, limit: int
    ) -> tuple[list[AttemptSummary], ListPosition | None]:
        """Newest first by (started_us, attempt_id), strictly after ``after``; the position to
        continue from, or None when there is no more."""
        ...

    def clear(self, tenant: str, consumer: str) -> None:
        """Forget every attempt of ``tenant`` (so ``learners`` lists none), its sweeper entries,
        and the inbox rows ``consumer`` committed with them (before a replay rebuilds them).
        Other consumers' inbox rows stay."""
        ...


class Outbox(Protocol):
    """The dispatch side of the outbox where the store has no change stream (SQLite, memory).
    On DynamoDB the table's stream plays this part (``functions/outbox_relay``)."""

    def pending(self, limit: int) -> list[tuple[int, Envelope]]:
        """Unpublished rows in commit order: (sequence, envelope)."""
        ...

    def published(self, sequences: Collection[int]) -> None: ...


class RulesStore(Protocol):
    """The progress rules of each tenant (``ProgressRules.to_json``); absent: the defaults."""

    def get_rules(self, tenant: str) -> ProgressRules | None: ...

    def put_rules(self, tenant: str, rules: ProgressRules) -> None: ...


@dataclass(frozen=True, slots=True)
class DeadLetter:
    id: str
    consumer: str
    envelope: Envelope
    reason: str
    failed_us: int
    attempts: int


class DeadLetters(Protocol):
    """Events a consumer kept failing on, with the reason (the consumers' DLQ)."""

    def add(self, consumer: str, envelope: Envelope, reason: str, attempts: int) -> None: ...

    def list(self, consumer: str | None, limit: int) -> list[DeadLetter]: ...

    def remove(self, ids: Collection[str]) -> None: ...


@dataclass(frozen=True, slots=True)
class Certificate:
    """One per completion (``id`` = UUIDv5 of the completion id); later attempt versions
    revise it, a revoked completion revokes it."""

    id: str
    tenant: str
    completion_id: str
    attempt_version: int
    learner: str  # agent key
    learner_name: str | None
    activity_id: str
    activity_name: str | None
    completed: bool
    passed: bool
    score: Score | None
    achieved_us: int  # the time of the completion record
    issued_us: int
    revoked: bool
    pdf_key: str  # blob keys of this version's documents
    json_key: str


class CertificateStore(Protocol):
    def save(self, certificate: Certificate, inbox: InboxEntry) -> bool:
        """Store ``certificate`` if none is stored under its id or the stored one has a lower
        ``attempt_version``, recording ``inbox`` in the same commit either way. Returns whether
        the certificate was written; raises ``AlreadyProcessed`` if ``inbox`` is recorded."""
        ...

    def get(self, certificate_id: str) -> Certificate | None:
        """By id alone: the verification endpoint knows no tenant."""
        ...


class BlobStore(Protocol):
    """Documents by key (S3 on AWS, a folder locally)."""

    def put(self, key: str, data: bytes, content_type: str) -> None: ...

    def get(self, key: str) -> tuple[bytes, str] | None: ...


class EventBus(Protocol):
    """Where the relay publishes envelopes (EventBridge on AWS; the local dispatcher's rules)."""

    def publish(self, envelopes: Sequence[Envelope]) -> list[str | None]:
        """Publish in order; per envelope None when accepted, else the error."""
        ...


# ------------------------------------------------------------------ compliance exports
#
# ``ExportJob`` (progress.domain.exports) is the job; the store keeps it, committed with its
# ``progress.export.requested.v1`` outbox row; ``ExportFiles`` holds the files.


class ExportPosition(NamedTuple):
    """Where a listing of export jobs stopped: newest first by (created_us, id)."""

    created_us: int
    export_id: str


class ExportStore(Protocol):
    """Export jobs of every tenant. Every write is conditional (no read-then-write)."""

    def create(self, job: ExportJob, envelope: Envelope) -> None:
        """Store a new job and its outbox row in one commit; ``Conflict`` if the id exists
        (then nothing is written)."""
        ...

    def update(self, job: ExportJob, envelope: Envelope | None = None) -> None:
        """Store ``job`` over the stored version ``job.version - 1``, with ``envelope`` (a
        continuation) as an outbox row of the same commit; ``VersionConflict`` when the stored
        version is another (nothing written)."""
        ...

    def get(self, tenant: str, export_id: str) -> ExportJob | None: ...

    def list(
        self, tenant: str, after: tuple[int, str] | None, limit: int
    ) -> tuple[list[ExportJob], ExportPosition | None]:
        """Newest first by (created_us, id), strictly after ``after``; the position to continue
        from, or None when there is no more."""
        ...


class ExportFiles(Protocol):
    """Export files by key (S3 on AWS, a folder locally), written in numbered parts so that a
    worker never holds a whole file and can resume after a crash: uploaded parts are kept until
    ``complete`` joins them in number order (S3 multipart upload semantics)."""

    @property
    def min_part_bytes(self) -> int:
        """Every part but the last must be at least this large (S3: 5 MiB)."""
        ...

    def start(self, key: str, content_type: str) -> str:
        """Begin a file; returns its upload id."""
        ...

    def put_part(self, key: str, upload_id: str, number: int, data: bytes) -> str:
        """Store part ``number`` (1..10000; the same number again replaces it); returns the tag
        ``complete`` needs."""
        ...

    def complete(self, key: str, upload_id: str, parts: Sequence[tuple[int, str]]) -> None:
        """Make the file the parts, in order; readers see the old file or the new, never a
        part of it."""
        ...

    def abort(self, key: str, upload_id: str) -> None:
        """Forget an upload's parts (absent: nothing to do)."""
        ...

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """A small file in one write."""
        ...

    def read(self, key: str) -> Iterator[bytes] | None:
        """The file's bytes in chunks; None when absent."""
        ...

    def signed_url(self, key: str, filename: str, expires_s: int) -> str | None:
        """A URL anyone may GET the file at for ``expires_s`` seconds, served as an attachment
        named ``filename`` (S3: presigned); None when the store has no such URLs (then the
        service signs its own, served by the local runtime)."""
        ...
