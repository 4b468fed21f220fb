"""Ports: what the use cases need from storage and the outside world. No AWS in here.

Every port has an in-memory twin (``progress.adapters.memory``) and one contract test suite
(``tests/contract``) that every adapter passes.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Protocol

from progress.domain.activities import DefinitionFields
from progress.domain.documents import Document, DocumentKey, DocumentScope, Precondition
from progress.domain.statements import (
    Attachment,
    NewStatement,
    Position,
    StatementQuery,
    StoredStatement,
)
from progress.domain.tenancy import Credential, Tenant


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
