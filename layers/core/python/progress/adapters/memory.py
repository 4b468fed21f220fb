"""In-memory twins of the storage ports: the reference semantics the contract tests pin down."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace

from progress.app.ports import DuplicateIds
from progress.domain.activities import DefinitionFields
from progress.domain.documents import (
    Document,
    DocumentKey,
    DocumentScope,
    Precondition,
    merge_json,
)
from progress.domain.errors import Conflict
from progress.domain.statements import (
    Attachment,
    NewStatement,
    Position,
    StatementQuery,
    StoredStatement,
)
from progress.domain.tenancy import Credential, Tenant


class MemoryStatementStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: dict[tuple[str, str], StoredStatement] = {}
        self._index: dict[tuple[str, str], set[tuple[int, str]]] = defaultdict(set)
        self._refs: dict[tuple[str, str], set[str]] = defaultdict(set)
        self._attachments: dict[tuple[str, str], Attachment] = {}

    def insert(
        self,
        tenant: str,
        batch: Sequence[NewStatement],
        key_groups: dict[str, tuple[frozenset[str], ...]],
        attachments: Sequence[Attachment],
    ) -> None:
        with self._lock:
            dup = [r.id for r in batch if (tenant, r.id) in self._rows]
            if dup:
                raise DuplicateIds(dup)
            for rec in batch:
                groups = key_groups.get(rec.id, (rec.keys,))
                self._rows[(tenant, rec.id)] = StoredStatement(
                    id=rec.id,
                    stored_us=rec.stored_us,
                    body=rec.body,
                    key_groups=groups,
                    ref_target=rec.ref_target,
                    voiding=rec.voiding,
                    attachments=rec.attachments,
                )
                for key in frozenset().union(*groups):
                    self._index[(tenant, key)].add((rec.stored_us, rec.id))
                if rec.ref_target:
                    self._refs[(tenant, rec.ref_target)].add(rec.id)
            for att in attachments:
                self._attachments[(tenant, att.sha2)] = att

    def _voided(self, tenant: str, row: StoredStatement) -> bool:
        if row.voiding:
            return False  # VOID-002: voiding Statements cannot be voided
        return any(
            self._rows[(tenant, rid)].voiding for rid in self._refs.get((tenant, row.id), ())
        )

    def get(self, tenant: str, ids: Collection[str]) -> dict[str, StoredStatement]:
        with self._lock:
            out = {}
            for sid in ids:
                row = self._rows.get((tenant, sid))
                if row is not None:
                    out[sid] = replace(row, voided=self._voided(tenant, row))
            return out

    def referrers(self, tenant: str, ids: Collection[str]) -> dict[str, list[str]]:
        with self._lock:
            return {
                sid: sorted(self._refs[(tenant, sid)])
                for sid in ids
                if self._refs.get((tenant, sid))
            }

    def reindex(self, tenant: str, statements: Collection[StoredStatement]) -> None:
        """Nothing to repair: ``insert`` writes Statements and index entries together."""

    def inherit(self, tenant: str, statement_id: str, groups: Sequence[frozenset[str]]) -> None:
        with self._lock:
            row = self._rows[(tenant, statement_id)]
            new_groups = tuple(g for g in groups if g not in row.key_groups)
            if not new_groups:
                return
            self._rows[(tenant, statement_id)] = replace(
                row, key_groups=row.key_groups + new_groups
            )
            for key in frozenset().union(*new_groups):
                self._index[(tenant, key)].add((row.stored_us, row.id))

    def scan(
        self,
        tenant: str,
        key: str,
        query: StatementQuery,
        after: Position | None,
        limit: int,
    ) -> tuple[list[StoredStatement], bool]:
        with self._lock:
            entries = sorted(self._index.get((tenant, key), ()), reverse=not query.ascending)
        picked = []
        for stored_us, sid in entries:
            if query.since_us is not None and stored_us <= query.since_us:
                continue
            if query.until_us is not None and stored_us > query.until_us:
                continue
            if after is not None:
                pos = (stored_us, sid)
                mark = (after.stored_us, after.statement_id)
                if (pos <= mark) if query.ascending else (pos >= mark):
                    continue
            picked.append(sid)
            if len(picked) > limit:
                break
        exhausted = len(picked) <= limit
        rows = self.get(tenant, picked[:limit])
        return [rows[sid] for sid in picked[:limit]], exhausted

    def attachments(self, tenant: str, hashes: Collection[str]) -> dict[str, Attachment]:
        with self._lock:
            return {
                h: self._attachments[(tenant, h)]
                for h in hashes
                if (tenant, h) in self._attachments
            }


class MemoryTenantStore:
    def __init__(self) -> None:
        self._tenants: dict[str, Tenant] = {}
        self._credentials: dict[str, Credential] = {}

    def put_tenant(self, tenant: Tenant) -> None:
        self._tenants[tenant.id] = tenant

    def get_tenant(self, tenant_id: str) -> Tenant | None:
        return self._tenants.get(tenant_id)

    def put_credential(self, credential: Credential) -> None:
        existing = self._credentials.get(credential.key)
        if existing is not None and existing.tenant_id != credential.tenant_id:
            raise Conflict(f"credential key {credential.key!r} belongs to another tenant")
        self._credentials[credential.key] = credential

    def get_credential(self, key: str) -> Credential | None:
        return self._credentials.get(key)

    def list_credentials(self, tenant_id: str) -> list[Credential]:
        return sorted(
            (c for c in self._credentials.values() if c.tenant_id == tenant_id),
            key=lambda c: c.key,
        )


class MemoryDocumentStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._docs: dict[tuple[str, str], dict[str, Document]] = defaultdict(dict)

    def get(self, tenant: str, key: DocumentKey) -> Document | None:
        with self._lock:
            return self._docs.get((tenant, key.scope.key), {}).get(key.id)

    def put(
        self,
        tenant: str,
        key: DocumentKey,
        document: Document,
        precondition: Precondition,
        *,
        merge: bool = False,
    ) -> None:
        with self._lock:
            docs = self._docs[(tenant, key.scope.key)]
            current = docs.get(key.id)
            precondition.check(current.etag if current else None)
            docs[key.id] = merge_json(current, document) if merge and current else document

    def delete(self, tenant: str, key: DocumentKey, precondition: Precondition) -> None:
        with self._lock:
            docs = self._docs.get((tenant, key.scope.key), {})
            current = docs.get(key.id)
            precondition.check(current.etag if current else None)
            docs.pop(key.id, None)

    def ids(self, tenant: str, scope: DocumentScope, since_us: int | None) -> dict[str, int]:
        with self._lock:
            docs = self._docs.get((tenant, scope.key), {})
            return {
                doc_id: doc.updated_us
                for doc_id, doc in docs.items()
                if since_us is None or doc.updated_us > since_us
            }

    def delete_all(self, tenant: str, scope: DocumentScope) -> None:
        with self._lock:
            self._docs.pop((tenant, scope.key), None)


class MemoryActivityStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fields: dict[tuple[str, str], DefinitionFields] = defaultdict(dict)

    def merge(self, tenant: str, definitions: Mapping[str, DefinitionFields]) -> None:
        with self._lock:
            for activity_id, fields in definitions.items():
                self._fields[(tenant, activity_id)].update(fields)

    def get(self, tenant: str, activity_id: str) -> DefinitionFields:
        with self._lock:
            return dict(self._fields.get((tenant, activity_id), {}))
