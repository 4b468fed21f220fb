"""In-memory twins of the storage ports: the reference semantics the contract tests pin down."""

from __future__ import annotations

import itertools
import threading
import uuid
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace

import orjson

from progress.adapters.blobs import check_key
from progress.app.ports import (
    AlreadyProcessed,
    AttemptFilter,
    AttemptSummary,
    Certificate,
    DeadLetter,
    DuplicateIds,
    Envelope,
    ExportJob,
    ExportPosition,
    InboxEntry,
    ListPosition,
    ProgressCommit,
    VersionConflict,
)
from progress.domain.activities import DefinitionFields
from progress.domain.attempts import Attempt
from progress.domain.documents import (
    Document,
    DocumentKey,
    DocumentScope,
    Precondition,
    merge_json,
)
from progress.domain.errors import Conflict
from progress.domain.facts import AttemptKey
from progress.domain.progress_rules import ProgressRules
from progress.domain.statements import (
    Attachment,
    NewStatement,
    Position,
    StatementQuery,
    StoredStatement,
)
from progress.domain.tenancy import Credential, Tenant


class MemoryOutbox:
    """The outbox rows of every memory store sharing it, in commit order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: dict[int, Envelope] = {}
        self._seq = itertools.count(1)

    def append(self, envelopes: Sequence[Envelope]) -> None:
        with self._lock:
            for env in envelopes:
                self._rows[next(self._seq)] = env

    def pending(self, limit: int) -> list[tuple[int, Envelope]]:
        with self._lock:
            return sorted(self._rows.items())[:limit]

    def published(self, sequences: Collection[int]) -> None:
        with self._lock:
            for seq in sequences:
                self._rows.pop(seq, None)


class MemoryStatementStore:
    def __init__(self, outbox: MemoryOutbox | None = None) -> None:
        self.outbox = outbox or MemoryOutbox()
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
            self.outbox.append([orjson.loads(r.event) for r in batch if r.event])

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

    def delete_credential(self, tenant_id: str, key: str) -> bool:
        found = self._credentials.get(key)
        if found is None or found.tenant_id != tenant_id:
            return False
        del self._credentials[key]
        return True

    def list_tenants(self, after: str | None, limit: int) -> list[Tenant]:
        ids = sorted(i for i in self._tenants if after is None or i > after)
        return [self._tenants[i] for i in ids[:limit]]


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

    def get_many(self, tenant: str, activity_ids: Iterable[str]) -> dict[str, DefinitionFields]:
        with self._lock:
            found = {a: self._fields.get((tenant, a)) for a in activity_ids}
            return {a: dict(fields) for a, fields in found.items() if fields}


# ---------------------------------------------------------------------------------- progress


class MemoryAttemptStore:
    """Reference semantics of ``AttemptStore`` (and its inbox); shares a ``MemoryOutbox``."""

    def __init__(self, outbox: MemoryOutbox | None = None) -> None:
        self.outbox = outbox or MemoryOutbox()
        self._lock = threading.Lock()
        self._attempts: dict[tuple[str, str], dict[str, object]] = {}  # snapshot + version
        self._by_key: dict[tuple[str, AttemptKey], list[str]] = defaultdict(list)
        self._due: dict[tuple[str, str], int] = {}
        self._inbox: set[tuple[str, str, str]] = set()

    def _load(self, tenant: str, attempt_id: str) -> Attempt | None:
        snap = self._attempts.get((tenant, attempt_id))
        return None if snap is None else Attempt.restore(snap)

    def route(self, tenant: str, key: AttemptKey, at_us: int) -> Attempt | None:
        with self._lock:
            attempts = [self._load(tenant, i) for i in self._by_key.get((tenant, key), [])]
        found = [a for a in attempts if a is not None]
        found.sort(key=lambda a: a.seq)
        for attempt in found:
            if attempt.covers(at_us):
                return attempt
        return found[-1] if found else None

    def get(self, tenant: str, attempt_id: str) -> Attempt | None:
        with self._lock:
            return self._load(tenant, attempt_id)

    def commit(self, commit: ProgressCommit) -> None:
        tenant = commit.tenant
        with self._lock:
            inbox = commit.inbox
            if inbox is not None and (tenant, inbox.consumer, inbox.event_id) in self._inbox:
                raise AlreadyProcessed(inbox.event_id)
            for change in commit.attempts:
                stored = self._attempts.get((tenant, change.attempt.id))
                version = 0 if stored is None else stored["version"]
                if version != change.expected_version:
                    raise VersionConflict(change.attempt.id)
            for change in commit.attempts:
                attempt = change.attempt
                if (tenant, attempt.id) not in self._attempts:
                    self._by_key[(tenant, attempt.key)].append(attempt.id)
                self._attempts[(tenant, attempt.id)] = attempt.snapshot()
                if change.expires_at_us is None:
                    self._due.pop((tenant, attempt.id), None)
                else:
                    self._due[(tenant, attempt.id)] = change.expires_at_us
            if commit.inbox is not None:
                self._inbox.add((tenant, commit.inbox.consumer, commit.inbox.event_id))
            self.outbox.append(commit.outbox)

    def processed(self, tenant: str, entry: InboxEntry) -> bool:
        with self._lock:
            return (tenant, entry.consumer, entry.event_id) in self._inbox

    def due(self, now_us: int, limit: int) -> list[tuple[str, str]]:
        with self._lock:
            due = sorted((at, t, i) for (t, i), at in self._due.items() if at <= now_us)
        return [(t, i) for _, t, i in due[:limit]]

    def learners(self, tenant: str, after: str | None, limit: int) -> tuple[list[str], str | None]:
        """In learner key order; the position is the last key of the page."""
        with self._lock:
            keys = sorted({key.learner for t, key in self._by_key if t == tenant})
        if after is not None:
            keys = [k for k in keys if k > after]
        page = keys[:limit]
        return page, page[-1] if len(keys) > limit and page else None

    def list(
        self, tenant: str, where: AttemptFilter, after: ListPosition | None, limit: int
    ) -> tuple[list[AttemptSummary], ListPosition | None]:
        with self._lock:
            attempts = [
                Attempt.restore(snap) for (t, _), snap in self._attempts.items() if t == tenant
            ]
        rows = sorted(
            (
                AttemptSummary.of(a)
                for a in attempts
                if (where.learner is None or a.key.learner == where.learner)
                and (where.activity_id is None or a.key.activity_id == where.activity_id)
                and (not where.completed or (a.completion is not None and a.completion.achieved))
            ),
            key=lambda s: (s.started_us, s.attempt_id),
            reverse=True,
        )
        if after is not None:
            rows = [
                r
                for r in rows
                if (r.started_us, r.attempt_id) < (after.started_us, after.attempt_id)
            ]
        page = rows[:limit]
        more = len(rows) > limit
        return page, ListPosition(page[-1].started_us, page[-1].attempt_id) if more else None

    def clear(self, tenant: str, consumer: str) -> None:
        with self._lock:
            for t, i in [k for k in self._attempts if k[0] == tenant]:
                del self._attempts[(t, i)]
                self._due.pop((t, i), None)
            for k in [k for k in self._by_key if k[0] == tenant]:
                del self._by_key[k]
            self._inbox = {e for e in self._inbox if e[:2] != (tenant, consumer)}


class MemoryRulesStore:
    def __init__(self) -> None:
        self._rules: dict[str, ProgressRules] = {}

    def get_rules(self, tenant: str) -> ProgressRules | None:
        return self._rules.get(tenant)

    def put_rules(self, tenant: str, rules: ProgressRules) -> None:
        self._rules[tenant] = rules


class MemoryDeadLetters:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: dict[str, DeadLetter] = {}
        self._clock = itertools.count(1)

    def add(self, consumer: str, envelope: Envelope, reason: str, attempts: int) -> None:
        with self._lock:
            letter = DeadLetter(
                str(uuid.uuid4()), consumer, envelope, reason, next(self._clock), attempts
            )
            self._rows[letter.id] = letter

    def list(self, consumer: str | None, limit: int) -> list[DeadLetter]:
        with self._lock:
            rows = [r for r in self._rows.values() if consumer in (None, r.consumer)]
        return sorted(rows, key=lambda r: (r.failed_us, r.id))[:limit]

    def remove(self, ids: Collection[str]) -> None:
        with self._lock:
            for i in ids:
                self._rows.pop(i, None)


class MemoryCertificateStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: dict[str, Certificate] = {}
        self._inbox: set[tuple[str, str, str]] = set()

    def save(self, certificate: Certificate, inbox: InboxEntry) -> bool:
        entry = (certificate.tenant, inbox.consumer, inbox.event_id)
        with self._lock:
            if entry in self._inbox:
                raise AlreadyProcessed(inbox.event_id)
            self._inbox.add(entry)
            stored = self._rows.get(certificate.id)
            if stored is not None and stored.attempt_version >= certificate.attempt_version:
                return False
            self._rows[certificate.id] = certificate
            return True

    def get(self, certificate_id: str) -> Certificate | None:
        with self._lock:
            return self._rows.get(certificate_id)


class MemoryBlobStore:
    def __init__(self) -> None:
        self._blobs: dict[str, tuple[bytes, str]] = {}

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self._blobs[key] = (data, content_type)

    def get(self, key: str) -> tuple[bytes, str] | None:
        return self._blobs.get(key)


# ---------------------------------------------------------------------------------- exports


class MemoryExportStore:
    """Reference semantics of ``ExportStore``; shares a ``MemoryOutbox``."""

    def __init__(self, outbox: MemoryOutbox | None = None) -> None:
        self.outbox = outbox or MemoryOutbox()
        self._lock = threading.Lock()
        self._jobs: dict[tuple[str, str], ExportJob] = {}

    def create(self, job: ExportJob, envelope: Envelope) -> None:
        with self._lock:
            if (job.tenant, job.id) in self._jobs:
                raise Conflict(f"export {job.id}: already exists")
            self._jobs[(job.tenant, job.id)] = job
            self.outbox.append([envelope])

    def update(self, job: ExportJob, envelope: Envelope | None = None) -> None:
        with self._lock:
            stored = self._jobs.get((job.tenant, job.id))
            if stored is None or stored.version != job.version - 1:
                raise VersionConflict(job.id)
            self._jobs[(job.tenant, job.id)] = job
            if envelope is not None:
                self.outbox.append([envelope])

    def get(self, tenant: str, export_id: str) -> ExportJob | None:
        with self._lock:
            return self._jobs.get((tenant, export_id))

    def list(
        self, tenant: str, after: tuple[int, str] | None, limit: int
    ) -> tuple[list[ExportJob], ExportPosition | None]:
        with self._lock:
            jobs = sorted(
                (j for (t, _), j in self._jobs.items() if t == tenant),
                key=lambda j: (j.created_us, j.id),
                reverse=True,
            )
        if after is not None:
            jobs = [j for j in jobs if (j.created_us, j.id) < tuple(after)]
        page = jobs[:limit]
        more = len(jobs) > limit
        return page, ExportPosition(page[-1].created_us, page[-1].id) if more else None


class MemoryExportFiles:
    """Export files in a dict; uploads as numbered parts until ``complete``. ``min_part_bytes``
    is S3's unless told otherwise, so the service's part logic runs as it does on AWS."""

    def __init__(self, min_part_bytes: int = 5 * 1024 * 1024) -> None:
        self._min = min_part_bytes
        self._lock = threading.Lock()
        self._files: dict[str, tuple[bytes, str]] = {}
        self._uploads: dict[str, tuple[str, str, dict[int, bytes]]] = {}

    @property
    def min_part_bytes(self) -> int:
        return self._min

    def start(self, key: str, content_type: str) -> str:
        check_key(key)
        upload_id = str(uuid.uuid4())
        with self._lock:
            self._uploads[upload_id] = (key, content_type, {})
        return upload_id

    def put_part(self, key: str, upload_id: str, number: int, data: bytes) -> str:
        with self._lock:
            found = self._uploads.get(upload_id)
            if found is None or found[0] != key:
                raise KeyError(f"no upload {upload_id} of {key}")
            found[2][number] = bytes(data)
        return f"{number}:{len(data)}"

    def complete(self, key: str, upload_id: str, parts: Sequence[tuple[int, str]]) -> None:
        with self._lock:
            found = self._uploads.pop(upload_id, None)
            if found is None or found[0] != key:
                raise KeyError(f"no upload {upload_id} of {key}")
            stored = found[2]
            for i, (number, tag) in enumerate(parts):
                data = stored.get(number)
                if data is None or tag != f"{number}:{len(data)}":
                    raise ValueError(f"part {number}: not uploaded as {tag}")
                if i < len(parts) - 1 and len(data) < self._min:
                    raise ValueError(f"part {number}: smaller than {self._min} bytes")
            self._files[key] = (b"".join(stored[n] for n, _ in parts), found[1])

    def abort(self, key: str, upload_id: str) -> None:
        with self._lock:
            self._uploads.pop(upload_id, None)

    def put(self, key: str, data: bytes, content_type: str) -> None:
        check_key(key)
        with self._lock:
            self._files[key] = (bytes(data), content_type)

    def read(self, key: str) -> Iterator[bytes] | None:
        with self._lock:
            found = self._files.get(key)
        return None if found is None else iter([found[0]])

    def signed_url(self, key: str, filename: str, expires_s: int) -> str | None:
        return None

    def uploads(self) -> int:
        """Uploads started and neither completed nor aborted (tests)."""
        with self._lock:
            return len(self._uploads)
