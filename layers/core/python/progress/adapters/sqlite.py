"""SQLite adapters: the embedded default of ``make run`` -- one file, WAL, an index per query.

Schema (version 8):
  statements(seq) rowid, UNIQUE (tenant, id)   body BLOB exactly as served; groups JSON; ref;
      voiding. Appended in ``stored`` order (v4; v1-v3 kept it WITHOUT ROWID by (tenant, id))
  statement_index(tenant, key, stored_us, id) PK   one row per index key of a Statement; ``key``
      is a signed 64-bit BLAKE2b hash of the key string (the row is re-checked against the
      Statement's key groups, so a collision can never leak a wrong Statement into a result)
  attachments(tenant, sha2) PK, tenants(id) PK, credentials(key) PK
  documents(tenant, scope, id) PK   a document's bytes, content type, ETag, updated_us (v3)
  activity_fields(tenant, activity, field) PK   canonical Activity definitions, one row per
      merge field (``progress.domain.activities``), so a merge is INSERT OR REPLACE only (v3)
  attempts(tenant, id) PK   an attempt's snapshot (orjson) plus the columns its reads need, each
      read behind an index of its own (v5): (``key_hash``, seq) routes -- a BLAKE2b hash of the
      key, whose columns are compared too (IS for the optional ones); (learner | activity,
      started_us, id) lists, ``completed`` = completion achieved; ``expires_us``, set for open
      attempts only (a partial index), is the sweeper's
  inbox(tenant, consumer, event_id) PK   what each consumer committed, certificates too (v5)
  outbox(seq) AUTOINCREMENT   envelopes committed with their change, deleted once published;
      a sequence is never reused, so a late ``published()`` cannot delete a newer row (v5)
  progress_rules(tenant) PK, dead_letters(id) PK, certificates(id) PK (v5)
  idempotency(tenant, key) PK   Idempotency-Key records of admin API writes (v6)
  credentials.learner: the agent key a learner's own credential reads the progress of (v8)
  exports(tenant, id) PK   compliance export jobs: a JSON snapshot, its version (conditional
      updates) and the created order; attempts_tenant lists a tenant's attempts for them (v7)
Every query pattern of GET /statements is one range scan of ``statement_index`` joined to
``statements`` by (tenant, id). Versions are kept in ``PRAGMA user_version``; ``migrate`` moves
a database up or down, one reversible step at a time.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from progress.app.ports import (
    AlreadyProcessed,
    AttemptChange,
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
from progress.domain.facts import AttemptKey, Score
from progress.domain.progress_rules import ProgressRules
from progress.domain.statements import (
    Attachment,
    NewStatement,
    Position,
    StatementQuery,
    StoredStatement,
)
from progress.domain.tenancy import Credential, Scope, Tenant

logger = logging.getLogger(__name__)

# Each step: (description, up statements, down statements).
MIGRATIONS: list[tuple[str, list[str], list[str]]] = [
    (
        "statements, index rows, attachments, tenants, credentials",
        [
            """CREATE TABLE statements (
                 tenant TEXT NOT NULL, id TEXT NOT NULL, stored_us INTEGER NOT NULL,
                 body BLOB NOT NULL, groups BLOB NOT NULL, ref TEXT,
                 voiding INTEGER NOT NULL DEFAULT 0, atts BLOB,
                 PRIMARY KEY (tenant, id)) WITHOUT ROWID""",
            """CREATE TABLE statement_index (
                 tenant TEXT NOT NULL, key INTEGER NOT NULL, stored_us INTEGER NOT NULL,
                 id TEXT NOT NULL, PRIMARY KEY (tenant, key, stored_us, id)) WITHOUT ROWID""",
            """CREATE TABLE attachments (
                 tenant TEXT NOT NULL, sha2 TEXT NOT NULL, content_type TEXT NOT NULL,
                 data BLOB NOT NULL, PRIMARY KEY (tenant, sha2)) WITHOUT ROWID""",
            "CREATE TABLE tenants (id TEXT PRIMARY KEY, name TEXT NOT NULL, created TEXT NOT NULL)",
            """CREATE TABLE credentials (
                 key TEXT PRIMARY KEY, tenant TEXT NOT NULL, secret_hash TEXT NOT NULL,
                 scopes TEXT NOT NULL, label TEXT NOT NULL, created TEXT NOT NULL)""",
        ],
        [
            "DROP TABLE credentials",
            "DROP TABLE tenants",
            "DROP TABLE attachments",
            "DROP TABLE statement_index",
            "DROP TABLE statements",
        ],
    ),
    (
        "indexes for StatementRef lookups (voiding, SAPI-040) and credential listing",
        [
            "CREATE INDEX statements_ref ON statements (tenant, ref) WHERE ref IS NOT NULL",
            "CREATE INDEX credentials_tenant ON credentials (tenant, key)",
        ],
        ["DROP INDEX credentials_tenant", "DROP INDEX statements_ref"],
    ),
    (
        "documents (State, Activity/Agent Profile) and canonical Activity definition fields",
        [
            # A rowid table: documents may be megabytes, too big for a WITHOUT ROWID b-tree.
            """CREATE TABLE documents (
                 tenant TEXT NOT NULL, scope TEXT NOT NULL, id TEXT NOT NULL,
                 content BLOB NOT NULL, content_type TEXT NOT NULL, etag TEXT NOT NULL,
                 updated_us INTEGER NOT NULL, PRIMARY KEY (tenant, scope, id))""",
            """CREATE TABLE activity_fields (
                 tenant TEXT NOT NULL, activity TEXT NOT NULL, field TEXT NOT NULL,
                 value BLOB NOT NULL, PRIMARY KEY (tenant, activity, field)) WITHOUT ROWID""",
        ],
        ["DROP TABLE activity_fields", "DROP TABLE documents"],
    ),
    (
        "statements as a rowid table: inserts append instead of splitting random pages",
        [
            # Statement rows are ~1.5 KB; in a WITHOUT ROWID b-tree keyed by a random UUID every
            # insert dirtied a random page (measured: ~20% of the store's write cost).
            """CREATE TABLE statements_new (
                 seq INTEGER PRIMARY KEY, tenant TEXT NOT NULL, id TEXT NOT NULL,
                 stored_us INTEGER NOT NULL, body BLOB NOT NULL, groups BLOB NOT NULL, ref TEXT,
                 voiding INTEGER NOT NULL DEFAULT 0, atts BLOB)""",
            "INSERT INTO statements_new (tenant, id, stored_us, body, groups, ref, voiding, atts)"
            " SELECT tenant, id, stored_us, body, groups, ref, voiding, atts FROM statements"
            " ORDER BY stored_us, id",
            "DROP TABLE statements",
            "ALTER TABLE statements_new RENAME TO statements",
            "CREATE UNIQUE INDEX statements_id ON statements (tenant, id)",
            "CREATE INDEX statements_ref ON statements (tenant, ref) WHERE ref IS NOT NULL",
        ],
        [
            """CREATE TABLE statements_old (
                 tenant TEXT NOT NULL, id TEXT NOT NULL, stored_us INTEGER NOT NULL,
                 body BLOB NOT NULL, groups BLOB NOT NULL, ref TEXT,
                 voiding INTEGER NOT NULL DEFAULT 0, atts BLOB,
                 PRIMARY KEY (tenant, id)) WITHOUT ROWID""",
            "INSERT INTO statements_old"
            " SELECT tenant, id, stored_us, body, groups, ref, voiding, atts FROM statements",
            "DROP TABLE statements",
            "ALTER TABLE statements_old RENAME TO statements",
            "CREATE INDEX statements_ref ON statements (tenant, ref) WHERE ref IS NOT NULL",
        ],
    ),
    (
        "progress: attempts, inbox, outbox, rules, dead letters, certificates",
        [
            # A rowid table: a snapshot lists every counted Statement id and may grow large.
            """CREATE TABLE attempts (
                 tenant TEXT NOT NULL, id TEXT NOT NULL, key_hash INTEGER NOT NULL,
                 learner TEXT NOT NULL, activity TEXT NOT NULL, registration TEXT, session TEXT,
                 seq INTEGER NOT NULL, opened_after_us INTEGER, closed_us INTEGER,
                 started_us INTEGER NOT NULL, state TEXT NOT NULL, version INTEGER NOT NULL,
                 completed INTEGER NOT NULL, expires_us INTEGER, snapshot BLOB NOT NULL,
                 PRIMARY KEY (tenant, id))""",
            "CREATE INDEX attempts_key ON attempts (tenant, key_hash, seq)",
            "CREATE INDEX attempts_learner ON attempts (tenant, learner, started_us, id)",
            "CREATE INDEX attempts_activity ON attempts (tenant, activity, started_us, id)",
            "CREATE INDEX attempts_due ON attempts (expires_us, tenant, id)"
            " WHERE expires_us IS NOT NULL",
            """CREATE TABLE inbox (
                 tenant TEXT NOT NULL, consumer TEXT NOT NULL, event_id TEXT NOT NULL,
                 PRIMARY KEY (tenant, consumer, event_id)) WITHOUT ROWID""",
            "CREATE TABLE outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, envelope BLOB NOT NULL)",
            "CREATE TABLE progress_rules (tenant TEXT PRIMARY KEY, rules BLOB NOT NULL)",
            """CREATE TABLE dead_letters (
                 id TEXT PRIMARY KEY, consumer TEXT NOT NULL, envelope BLOB NOT NULL,
                 reason TEXT NOT NULL, failed_us INTEGER NOT NULL, attempts INTEGER NOT NULL)""",
            "CREATE INDEX dead_letters_failed ON dead_letters (failed_us, id)",
            "CREATE INDEX dead_letters_consumer ON dead_letters (consumer, failed_us, id)",
            """CREATE TABLE certificates (
                 id TEXT PRIMARY KEY, tenant TEXT NOT NULL, completion_id TEXT NOT NULL,
                 attempt_version INTEGER NOT NULL, learner TEXT NOT NULL, learner_name TEXT,
                 activity_id TEXT NOT NULL, activity_name TEXT, completed INTEGER NOT NULL,
                 passed INTEGER NOT NULL, score BLOB, achieved_us INTEGER NOT NULL,
                 issued_us INTEGER NOT NULL, revoked INTEGER NOT NULL, pdf_key TEXT NOT NULL,
                 json_key TEXT NOT NULL)""",
        ],
        [
            "DROP TABLE certificates",
            "DROP TABLE dead_letters",
            "DROP TABLE progress_rules",
            "DROP TABLE outbox",
            "DROP TABLE inbox",
            "DROP TABLE attempts",
        ],
    ),
    (
        "admin API: idempotency records (Idempotency-Key of internal writes)",
        [
            # One row per (tenant, hashed key): Powertools' DataRecord, kept until expiry_s.
            """CREATE TABLE idempotency (
                 tenant TEXT NOT NULL, key TEXT NOT NULL, status TEXT NOT NULL,
                 expiry_s INTEGER NOT NULL, in_progress_expiry_ms INTEGER,
                 response TEXT, payload_hash TEXT,
                 PRIMARY KEY (tenant, key)) WITHOUT ROWID""",
            "CREATE INDEX idempotency_expiry ON idempotency (expiry_s)",
        ],
        ["DROP TABLE idempotency"],
    ),
    (
        "compliance exports: jobs, and a tenant-wide listing of attempts",
        [
            """CREATE TABLE exports (
                 tenant TEXT NOT NULL, id TEXT NOT NULL, created_us INTEGER NOT NULL,
                 version INTEGER NOT NULL, job BLOB NOT NULL,
                 PRIMARY KEY (tenant, id))""",
            "CREATE INDEX exports_created ON exports (tenant, created_us, id)",
            "CREATE INDEX attempts_tenant ON attempts (tenant, started_us, id)",
        ],
        ["DROP INDEX IF EXISTS attempts_tenant", "DROP TABLE exports"],
    ),
    (
        "credentials: the learner of a learner's own credential",
        ["ALTER TABLE credentials ADD COLUMN learner TEXT"],
        ["ALTER TABLE credentials DROP COLUMN learner"],
    ),
]
LATEST = len(MIGRATIONS)


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(
    conn: sqlite3.Connection,
    target: int = LATEST,
    progress: Callable[[str], None] | None = None,
) -> int:
    """Move the schema to ``target`` one step per transaction; returns the final version."""
    if not 0 <= target <= LATEST:
        raise ValueError(f"target: schema version must be 0..{LATEST}, got {target}")
    current = schema_version(conn)
    while current != target:
        step = current + 1 if target > current else current
        description, up, down = MIGRATIONS[step - 1]
        statements, new = (up, step) if target > current else (down, step - 1)
        conn.execute("BEGIN IMMEDIATE")
        try:
            for sql in statements:
                conn.execute(sql)
            conn.execute(f"PRAGMA user_version = {new}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        if progress is not None:
            arrow = "up" if new > current else "down"
            progress(f"schema {current} -> {new} ({arrow}): {description}")
        current = new
    return current


def key_hash(key: str) -> int:
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)


class Database:
    """One SQLite file shared by the adapters; a connection per thread (sqlite3 objects are not
    shareable), WAL so readers never wait for the writer.

    Checkpoints (copying the WAL back into the database, with an fsync) run on a background
    thread, never inside a request's commit: done inline they cost ~40% of ingest time.
    """

    CHECKPOINT_EVERY_S = 0.5

    def __init__(self, path: Path | str, *, auto_migrate: bool = True) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._stop = threading.Event()
        self._checkpointer: threading.Thread | None = None
        self._start_lock = threading.Lock()
        if auto_migrate:
            migrate(self.conn)

    def _checkpoint_loop(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA busy_timeout = 1000")
            while not self._stop.wait(self.CHECKPOINT_EVERY_S):
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                except sqlite3.Error:
                    if not Path(self.path).exists():
                        return  # the database was deleted under us: nothing left to checkpoint
                    logger.warning("background WAL checkpoint failed; will retry", exc_info=True)
            conn.execute("PRAGMA optimize")  # planner statistics, as SQLite advises at close
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()

    def close(self) -> None:
        """Stop the checkpointer (it truncates the WAL on the way out)."""
        self._stop.set()
        if self._checkpointer is not None:
            self._checkpointer.join(timeout=10)

    @property
    def conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA busy_timeout = 10000")
            conn.execute("PRAGMA cache_size = -65536")
            conn.execute("PRAGMA mmap_size = 1073741824")  # reads of big pages without copies
            if self.path != ":memory:":
                conn.execute("PRAGMA wal_autocheckpoint = 0")  # see _checkpoint_loop
                conn.execute("PRAGMA journal_size_limit = 67108864")
                self._start_checkpointer()
            self._local.conn = conn
        return conn

    def _start_checkpointer(self) -> None:
        with self._start_lock:
            if self._checkpointer is None and not self._stop.is_set():
                self._checkpointer = threading.Thread(
                    target=self._checkpoint_loop, name="sqlite-checkpoint", daemon=True
                )
                self._checkpointer.start()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction; BEGIN IMMEDIATE takes the write lock first (no upgrade deadlock).

        Inside an open transaction of this thread (``SqliteUnitOfWork``) it joins it: the outer
        block commits or rolls back everything.
        """
        conn = self.conn
        if conn.in_transaction:
            yield conn
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")


# Plans must not depend on ANALYZE statistics: without them SQLite answers the correlated
# voided probe by scanning the tenant's primary key (seconds at 100k Statements), so the
# partial index is named outright (and ``ref IS NOT NULL`` makes it usable).
_SELECT = """SELECT s.id, s.stored_us, s.body, s.groups, s.ref, s.voiding, s.atts,
  (s.voiding = 0 AND EXISTS (SELECT 1 FROM statements v INDEXED BY statements_ref
     WHERE v.tenant = s.tenant AND v.ref = s.id AND v.ref IS NOT NULL AND v.voiding = 1))
  AS voided"""


def _row(row: tuple[Any, ...]) -> StoredStatement:
    sid, stored_us, body, groups, ref, voiding, atts, voided = row
    return StoredStatement(
        id=sid,
        stored_us=stored_us,
        body=bytes(body),
        key_groups=tuple(frozenset(g) for g in orjson.loads(groups)),
        voided=bool(voided),
        ref_target=ref,
        voiding=bool(voiding),
        attachments=tuple(orjson.loads(atts)) if atts else (),
    )


def _placeholders(n: int) -> str:
    return ",".join("?" * n)


class SqliteUnitOfWork:
    """One SQLite transaction around several adapter writes (they join it)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._db.write():
            yield


class SqliteStatementStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def insert(
        self,
        tenant: str,
        batch: Sequence[NewStatement],
        key_groups: dict[str, tuple[frozenset[str], ...]],
        attachments: Sequence[Attachment],
    ) -> None:
        ids = [r.id for r in batch]
        rows: list[tuple[Any, ...]] = []
        index_rows: list[tuple[str, int, int, str]] = []
        events = [(rec.event,) for rec in batch if rec.event]  # outbox rows, stored as-is
        for rec in batch:
            groups = key_groups.get(rec.id, (rec.keys,))
            rows.append(
                (
                    tenant,
                    rec.id,
                    rec.stored_us,
                    rec.body,
                    orjson.dumps([sorted(g) for g in groups]),
                    rec.ref_target,
                    int(rec.voiding),
                    orjson.dumps(rec.attachments) if rec.attachments else None,
                )
            )
            keys = rec.keys if len(groups) == 1 else frozenset().union(*groups)
            index_rows.extend((tenant, key_hash(k), rec.stored_us, rec.id) for k in keys)
        with self._db.write() as conn:
            dup = [
                r[0]
                for r in conn.execute(
                    "SELECT id FROM statements WHERE tenant = ? AND id IN"  # noqa: S608 - placeholders
                    f" ({_placeholders(len(ids))})",
                    (tenant, *ids),
                )
            ]
            if dup:
                raise DuplicateIds(dup)
            conn.executemany(
                "INSERT INTO statements (tenant, id, stored_us, body, groups, ref, voiding, atts)"
                " VALUES (?,?,?,?,?,?,?,?)",
                rows,
            )
            conn.executemany("INSERT OR IGNORE INTO statement_index VALUES (?,?,?,?)", index_rows)
            conn.executemany(
                "INSERT OR IGNORE INTO attachments VALUES (?,?,?,?)",
                [(tenant, a.sha2, a.content_type, a.data) for a in attachments],
            )
            if events:
                conn.executemany("INSERT INTO outbox (envelope) VALUES (?)", events)

    def get(self, tenant: str, ids: Collection[str]) -> dict[str, StoredStatement]:
        ids = list(ids)
        if not ids:
            return {}
        cur = self._db.conn.execute(
            f"{_SELECT} FROM statements s WHERE s.tenant = ?"
            f" AND s.id IN ({_placeholders(len(ids))})",
            (tenant, *ids),
        )
        return {row[0]: _row(row) for row in cur}

    def referrers(self, tenant: str, ids: Collection[str]) -> dict[str, list[str]]:
        ids = list(ids)
        if not ids:
            return {}
        out: dict[str, list[str]] = {}
        cur = self._db.conn.execute(
            "SELECT ref, id FROM statements INDEXED BY statements_ref"  # noqa: S608
            f" WHERE tenant = ? AND ref IS NOT NULL AND ref IN ({_placeholders(len(ids))})",
            (tenant, *ids),
        )
        for ref, sid in cur:
            out.setdefault(ref, []).append(sid)
        return {ref: sorted(sids) for ref, sids in out.items()}

    def reindex(self, tenant: str, statements: Collection[StoredStatement]) -> None:
        """Nothing to repair: index rows commit in the same transaction as the Statements."""

    def inherit(self, tenant: str, statement_id: str, groups: Sequence[frozenset[str]]) -> None:
        with self._db.write() as conn:
            row = conn.execute(
                "SELECT stored_us, groups FROM statements WHERE tenant = ? AND id = ?",
                (tenant, statement_id),
            ).fetchone()
            if row is None:
                return
            stored_us, raw = row
            current = [frozenset(g) for g in orjson.loads(raw)]
            new = [g for g in groups if g not in current]
            if not new:
                return
            conn.execute(
                "UPDATE statements SET groups = ? WHERE tenant = ? AND id = ?",
                (orjson.dumps([sorted(g) for g in current + new]), tenant, statement_id),
            )
            conn.executemany(
                "INSERT OR IGNORE INTO statement_index VALUES (?,?,?,?)",
                [(tenant, key_hash(k), stored_us, statement_id) for k in frozenset().union(*new)],
            )

    def scan(
        self,
        tenant: str,
        key: str,
        query: StatementQuery,
        after: Position | None,
        limit: int,
    ) -> tuple[list[StoredStatement], bool]:
        where = ["i.tenant = ?", "i.key = ?"]
        args: list[Any] = [tenant, key_hash(key)]
        if query.since_us is not None:
            where.append("i.stored_us > ?")
            args.append(query.since_us)
        if query.until_us is not None:
            where.append("i.stored_us <= ?")
            args.append(query.until_us)
        if after is not None:
            where.append(f"(i.stored_us, i.id) {'>' if query.ascending else '<'} (?, ?)")
            args += [after.stored_us, after.statement_id]
        order = "ASC" if query.ascending else "DESC"
        sql = (
            f"{_SELECT} FROM statement_index i JOIN statements s"
            f" ON s.tenant = i.tenant AND s.id = i.id WHERE {' AND '.join(where)}"
            f" ORDER BY i.stored_us {order}, i.id {order} LIMIT ?"
        )
        rows = self._db.conn.execute(sql, (*args, limit + 1)).fetchall()
        return [_row(r) for r in rows[:limit]], len(rows) <= limit

    def attachments(self, tenant: str, hashes: Collection[str]) -> dict[str, Attachment]:
        hashes = list(hashes)
        if not hashes:
            return {}
        cur = self._db.conn.execute(
            f"SELECT sha2, content_type, data FROM attachments WHERE tenant = ? AND sha2 IN ({_placeholders(len(hashes))})",  # noqa: S608,E501
            (tenant, *hashes),
        )
        return {sha: Attachment(sha, ct, bytes(data)) for sha, ct, data in cur}


class SqliteTenantStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def put_tenant(self, tenant: Tenant) -> None:
        with self._db.write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO tenants VALUES (?,?,?)",
                (tenant.id, tenant.name, tenant.created),
            )

    def get_tenant(self, tenant_id: str) -> Tenant | None:
        row = self._db.conn.execute(
            "SELECT id, name, created FROM tenants WHERE id = ?", (tenant_id,)
        ).fetchone()
        return Tenant(*row) if row else None

    def put_credential(self, credential: Credential) -> None:
        with self._db.write() as conn:
            row = conn.execute(
                "SELECT tenant FROM credentials WHERE key = ?", (credential.key,)
            ).fetchone()
            if row is not None and row[0] != credential.tenant_id:
                raise Conflict(f"credential key {credential.key!r} belongs to another tenant")
            conn.execute(
                "INSERT OR REPLACE INTO credentials"
                " (key, tenant, secret_hash, scopes, label, created, learner)"
                " VALUES (?,?,?,?,?,?,?)",
                (
                    credential.key,
                    credential.tenant_id,
                    credential.secret_hash,
                    " ".join(sorted(credential.scopes)),
                    credential.label,
                    credential.created,
                    credential.learner,
                ),
            )

    def get_credential(self, key: str) -> Credential | None:
        row = self._db.conn.execute(
            "SELECT key, tenant, secret_hash, scopes, label, created, learner FROM credentials"
            " WHERE key = ?",
            (key,),
        ).fetchone()
        return _credential(row) if row else None

    def list_credentials(self, tenant_id: str) -> list[Credential]:
        rows = self._db.conn.execute(
            "SELECT key, tenant, secret_hash, scopes, label, created, learner FROM credentials"
            " WHERE tenant = ? ORDER BY key",
            (tenant_id,),
        ).fetchall()
        return [_credential(r) for r in rows]

    def delete_credential(self, tenant_id: str, key: str) -> bool:
        with self._db.write() as conn:
            cur = conn.execute(
                "DELETE FROM credentials WHERE key = ? AND tenant = ?", (key, tenant_id)
            )
            return cur.rowcount > 0

    def list_tenants(self, after: str | None, limit: int) -> list[Tenant]:
        rows = self._db.conn.execute(
            "SELECT id, name, created FROM tenants WHERE id > ? ORDER BY id LIMIT ?",
            ("" if after is None else after, limit),
        ).fetchall()
        return [Tenant(*r) for r in rows]


def _credential(row: tuple[Any, ...]) -> Credential:
    key, tenant, secret_hash, scopes, label, created, learner = row
    return Credential(
        key=key,
        tenant_id=tenant,
        secret_hash=secret_hash,
        scopes=frozenset(Scope(s) for s in scopes.split()),
        label=label,
        created=created,
        learner=learner,
    )


class SqliteDocumentStore:
    """Each write is one BEGIN IMMEDIATE transaction holding the database write lock from the
    precondition check to the commit, so two conditional writes can never both pass."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self, tenant: str, key: DocumentKey) -> Document | None:
        row = self._db.conn.execute(
            "SELECT content, content_type, updated_us, etag FROM documents"
            " WHERE tenant = ? AND scope = ? AND id = ?",
            (tenant, key.scope.key, key.id),
        ).fetchone()
        return None if row is None else Document(bytes(row[0]), row[1], row[2], row[3])

    def put(
        self,
        tenant: str,
        key: DocumentKey,
        document: Document,
        precondition: Precondition,
        *,
        merge: bool = False,
    ) -> None:
        with self._db.write() as conn:
            current = self.get(tenant, key) if merge else None
            etag = current.etag if current else _etag(conn, tenant, key, precondition)
            precondition.check(etag)
            doc = merge_json(current, document) if current else document
            row = (doc.content, doc.content_type, doc.etag, doc.updated_us)
            conn.execute(
                "INSERT OR REPLACE INTO documents VALUES (?,?,?,?,?,?,?)",
                (tenant, key.scope.key, key.id, *row),
            )

    def delete(self, tenant: str, key: DocumentKey, precondition: Precondition) -> None:
        with self._db.write() as conn:
            precondition.check(_etag(conn, tenant, key, precondition))
            conn.execute(
                "DELETE FROM documents WHERE tenant = ? AND scope = ? AND id = ?",
                (tenant, key.scope.key, key.id),
            )

    def ids(self, tenant: str, scope: DocumentScope, since_us: int | None) -> dict[str, int]:
        rows = self._db.conn.execute(
            "SELECT id, updated_us FROM documents"
            " WHERE tenant = ? AND scope = ? AND updated_us > ?",
            (tenant, scope.key, -1 if since_us is None else since_us),
        )
        return dict(rows.fetchall())

    def delete_all(self, tenant: str, scope: DocumentScope) -> None:
        with self._db.write() as conn:
            conn.execute(
                "DELETE FROM documents WHERE tenant = ? AND scope = ?", (tenant, scope.key)
            )


def _etag(
    conn: sqlite3.Connection, tenant: str, key: DocumentKey, precondition: Precondition
) -> str | None:
    """The stored ETag, read only when a precondition needs it."""
    if not precondition.given:
        return None
    row = conn.execute(
        "SELECT etag FROM documents WHERE tenant = ? AND scope = ? AND id = ?",
        (tenant, key.scope.key, key.id),
    ).fetchone()
    return None if row is None else str(row[0])


_IN_LIST = 500  # ids per ``IN (...)`` list: well under SQLite's bound on parameters


class SqliteActivityStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def merge(self, tenant: str, definitions: Mapping[str, DefinitionFields]) -> None:
        rows = [
            (tenant, activity_id, field, orjson.dumps(value))
            for activity_id, fields in definitions.items()
            for field, value in fields.items()
        ]
        if rows:
            with self._db.write() as conn:
                conn.executemany("INSERT OR REPLACE INTO activity_fields VALUES (?,?,?,?)", rows)

    def get(self, tenant: str, activity_id: str) -> DefinitionFields:
        rows = self._db.conn.execute(
            "SELECT field, value FROM activity_fields WHERE tenant = ? AND activity = ?",
            (tenant, activity_id),
        )
        return {field: orjson.loads(value) for field, value in rows}

    def get_many(self, tenant: str, activity_ids: Iterable[str]) -> dict[str, DefinitionFields]:
        wanted = list(dict.fromkeys(activity_ids))
        out: dict[str, DefinitionFields] = {}
        for start in range(0, len(wanted), _IN_LIST):
            chunk = wanted[start : start + _IN_LIST]
            rows = self._db.conn.execute(
                "SELECT activity, field, value FROM activity_fields"  # noqa: S608 - placeholders
                f" WHERE tenant = ? AND activity IN ({', '.join('?' * len(chunk))})",
                (tenant, *chunk),
            )
            for activity, field, value in rows:
                out.setdefault(activity, {})[field] = orjson.loads(value)
        return out


# ---------------------------------------------------------------------------------- progress


def _attempt_key_hash(key: AttemptKey) -> int:
    return key_hash(
        orjson.dumps([key.learner, key.activity_id, key.registration, key.session]).decode()
    )


_UPSERT_ATTEMPT = """INSERT INTO attempts (tenant, id, key_hash, learner, activity, registration,
  session, seq, opened_after_us, closed_us, started_us, state, version, completed, expires_us,
  snapshot) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
  ON CONFLICT (tenant, id) DO UPDATE SET opened_after_us = excluded.opened_after_us,
  closed_us = excluded.closed_us,
  started_us = excluded.started_us, state = excluded.state, version = excluded.version,
  completed = excluded.completed, expires_us = excluded.expires_us,
  snapshot = excluded.snapshot"""

# Each read names its index (see ``_SELECT``): a wrong plan is an error, never a slow scan.
_ROUTE = """SELECT snapshot FROM attempts INDEXED BY attempts_key
  WHERE tenant = ? AND key_hash = ? AND learner = ? AND activity = ? AND registration IS ?
  AND session IS ?"""
_COVERS = (  # ``Attempt.covers``
    " AND (opened_after_us IS NULL OR opened_after_us < ?)"
    " AND (closed_us IS NULL OR closed_us >= ?)"
)


def _attempt_row(tenant: str, change: AttemptChange) -> tuple[Any, ...]:
    a = change.attempt
    key = a.key
    return (
        tenant,
        a.id,
        _attempt_key_hash(key),
        key.learner,
        key.activity_id,
        key.registration,
        key.session,
        a.seq,
        a.opened_after_us,
        a.closed_us,
        a.started_us,
        a.state.value,
        a.version,
        int(a.completion is not None and a.completion.achieved),
        change.expires_at_us,
        orjson.dumps(a.snapshot()),
    )


def _inbox_recorded(conn: sqlite3.Connection, tenant: str, entry: InboxEntry) -> bool:
    row = conn.execute(
        "SELECT 1 FROM inbox WHERE tenant = ? AND consumer = ? AND event_id = ?",
        (tenant, entry.consumer, entry.event_id),
    ).fetchone()
    return row is not None


class SqliteAttemptStore:
    """Attempts, their outbox rows and the inbox. A commit is one BEGIN IMMEDIATE transaction
    that checks everything before it writes: a refused commit leaves nothing behind, even
    inside an outer ``SqliteUnitOfWork``."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def route(self, tenant: str, key: AttemptKey, at_us: int) -> Attempt | None:
        conn = self._db.conn
        args = (
            tenant,
            _attempt_key_hash(key),
            key.learner,
            key.activity_id,
            key.registration,
            key.session,
        )
        row = conn.execute(
            f"{_ROUTE}{_COVERS} ORDER BY seq LIMIT 1", (*args, at_us, at_us)
        ).fetchone()
        if row is None:
            row = conn.execute(f"{_ROUTE} ORDER BY seq DESC LIMIT 1", args).fetchone()
        return None if row is None else Attempt.restore(orjson.loads(row[0]))

    def get(self, tenant: str, attempt_id: str) -> Attempt | None:
        row = self._db.conn.execute(
            "SELECT snapshot FROM attempts WHERE tenant = ? AND id = ?", (tenant, attempt_id)
        ).fetchone()
        return None if row is None else Attempt.restore(orjson.loads(row[0]))

    def commit(self, commit: ProgressCommit) -> None:
        if not commit.attempts and not commit.outbox and commit.inbox is None:
            return
        tenant = commit.tenant
        ids = [c.attempt.id for c in commit.attempts]
        rows = [_attempt_row(tenant, c) for c in commit.attempts]
        with self._db.write() as conn:
            if commit.inbox is not None and _inbox_recorded(conn, tenant, commit.inbox):
                raise AlreadyProcessed(commit.inbox.event_id)
            if ids:
                stored = dict(
                    conn.execute(
                        "SELECT id, version FROM attempts WHERE tenant = ?"  # noqa: S608
                        f" AND id IN ({_placeholders(len(ids))})",
                        (tenant, *ids),
                    ).fetchall()
                )
                for change in commit.attempts:
                    if stored.get(change.attempt.id, 0) != change.expected_version:
                        raise VersionConflict(change.attempt.id)
                conn.executemany(_UPSERT_ATTEMPT, rows)
            if commit.inbox is not None:
                conn.execute(
                    "INSERT INTO inbox VALUES (?,?,?)",
                    (tenant, commit.inbox.consumer, commit.inbox.event_id),
                )
            if commit.outbox:
                conn.executemany(
                    "INSERT INTO outbox (envelope) VALUES (?)",
                    [(orjson.dumps(env),) for env in commit.outbox],
                )

    def processed(self, tenant: str, entry: InboxEntry) -> bool:
        return _inbox_recorded(self._db.conn, tenant, entry)

    def due(self, now_us: int, limit: int) -> list[tuple[str, str]]:
        rows = self._db.conn.execute(
            "SELECT tenant, id FROM attempts INDEXED BY attempts_due"
            " WHERE expires_us IS NOT NULL AND expires_us <= ?"
            " ORDER BY expires_us, tenant, id LIMIT ?",
            (now_us, limit),
        ).fetchall()
        return [(tenant, attempt_id) for tenant, attempt_id in rows]

    def learners(self, tenant: str, after: str | None, limit: int) -> tuple[list[str], str | None]:
        """In learner key order: a covering search of the index ``attempts_learner`` (tenant,
        learner, ...) from ``after`` on, DISTINCT dropping a learner's further entries as it
        walks (no temporary B-tree; EXPLAIN QUERY PLAN tested). The position is the last key of
        the page."""
        sql = "SELECT DISTINCT learner FROM attempts INDEXED BY attempts_learner WHERE tenant = ?"
        args: list[Any] = [tenant]
        if after is not None:
            sql += " AND learner > ?"
            args.append(after)
        sql += " ORDER BY learner LIMIT ?"
        rows = self._db.conn.execute(sql, (*args, limit + 1)).fetchall()
        page = [str(r[0]) for r in rows[:limit]]
        return page, page[-1] if len(rows) > limit and page else None

    def list(
        self, tenant: str, where: AttemptFilter, after: ListPosition | None, limit: int
    ) -> tuple[list[AttemptSummary], ListPosition | None]:
        if where.learner is not None:
            column, value = "learner", where.learner
        elif where.activity_id is not None:
            column, value = "activity", where.activity_id
        else:
            column, value = "tenant", None  # every attempt of the tenant (exports)
        sql = (
            f"SELECT snapshot FROM attempts INDEXED BY attempts_{column}"  # noqa: S608 - fixed names
            " WHERE tenant = ?"
        )
        args: list[Any] = [tenant]
        if value is not None:
            sql += f" AND {column} = ?"
            args.append(value)
        if after is not None:
            sql += " AND (started_us, id) < (?, ?)"
            args += [after.started_us, after.attempt_id]
        if where.completed:
            sql += " AND completed = 1"
        sql += " ORDER BY started_us DESC, id DESC LIMIT ?"
        rows = self._db.conn.execute(sql, (*args, limit + 1)).fetchall()
        page = [AttemptSummary.of(Attempt.restore(orjson.loads(r[0]))) for r in rows[:limit]]
        more = len(rows) > limit
        return page, ListPosition(page[-1].started_us, page[-1].attempt_id) if more else None

    def clear(self, tenant: str, consumer: str) -> None:
        with self._db.write() as conn:
            conn.execute("DELETE FROM attempts WHERE tenant = ?", (tenant,))
            conn.execute("DELETE FROM inbox WHERE tenant = ? AND consumer = ?", (tenant, consumer))


class SqliteOutbox:
    """The outbox rows of Statements and attempts, for the local relay."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def pending(self, limit: int) -> list[tuple[int, Envelope]]:
        rows = self._db.conn.execute(
            "SELECT seq, envelope FROM outbox ORDER BY seq LIMIT ?", (limit,)
        ).fetchall()
        return [(seq, orjson.loads(envelope)) for seq, envelope in rows]

    def published(self, sequences: Collection[int]) -> None:
        if sequences:
            with self._db.write() as conn:
                conn.executemany("DELETE FROM outbox WHERE seq = ?", [(s,) for s in sequences])


class SqliteExportStore:
    """Export jobs as JSON snapshots; a job and its outbox row commit in one transaction, and an
    update is conditional on the version it replaces."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def create(self, job: ExportJob, envelope: Envelope) -> None:
        try:
            with self._db.write() as conn:
                conn.execute(
                    "INSERT INTO exports (tenant, id, created_us, version, job) VALUES (?,?,?,?,?)",
                    (job.tenant, job.id, job.created_us, job.version, orjson.dumps(job.snapshot())),
                )
                conn.execute("INSERT INTO outbox (envelope) VALUES (?)", (orjson.dumps(envelope),))
        except sqlite3.IntegrityError as exc:
            raise Conflict(f"export {job.id}: already exists") from exc

    def update(self, job: ExportJob, envelope: Envelope | None = None) -> None:
        with self._db.write() as conn:
            changed = conn.execute(
                "UPDATE exports SET version = ?, job = ?"
                " WHERE tenant = ? AND id = ? AND version = ?",
                (
                    job.version,
                    orjson.dumps(job.snapshot()),
                    job.tenant,
                    job.id,
                    job.version - 1,
                ),
            ).rowcount
            if changed != 1:
                raise VersionConflict(job.id)
            if envelope is not None:
                conn.execute("INSERT INTO outbox (envelope) VALUES (?)", (orjson.dumps(envelope),))

    def get(self, tenant: str, export_id: str) -> ExportJob | None:
        row = self._db.conn.execute(
            "SELECT job FROM exports WHERE tenant = ? AND id = ?", (tenant, export_id)
        ).fetchone()
        return None if row is None else ExportJob.restore(orjson.loads(row[0]))

    def list(
        self, tenant: str, after: tuple[int, str] | None, limit: int
    ) -> tuple[list[ExportJob], ExportPosition | None]:
        sql = "SELECT job FROM exports INDEXED BY exports_created WHERE tenant = ?"
        args: list[Any] = [tenant]
        if after is not None:
            sql += " AND (created_us, id) < (?, ?)"
            args += [after[0], after[1]]
        sql += " ORDER BY created_us DESC, id DESC LIMIT ?"
        rows = self._db.conn.execute(sql, (*args, limit + 1)).fetchall()
        page = [ExportJob.restore(orjson.loads(r[0])) for r in rows[:limit]]
        more = len(rows) > limit
        return page, ExportPosition(page[-1].created_us, page[-1].id) if more else None


class SqliteRulesStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def get_rules(self, tenant: str) -> ProgressRules | None:
        row = self._db.conn.execute(
            "SELECT rules FROM progress_rules WHERE tenant = ?", (tenant,)
        ).fetchone()
        return None if row is None else ProgressRules.from_json(orjson.loads(row[0]))

    def put_rules(self, tenant: str, rules: ProgressRules) -> None:
        with self._db.write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO progress_rules VALUES (?,?)",
                (tenant, orjson.dumps(rules.to_json())),
            )


class SqliteDeadLetters:
    """``failed_us`` is the wall clock, moved past the latest stored one: the list order is the
    order of failure even when two land in one microsecond."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, consumer: str, envelope: Envelope, reason: str, attempts: int) -> None:
        with self._db.write() as conn:
            conn.execute(
                "INSERT INTO dead_letters VALUES (?, ?, ?, ?,"
                " MAX(?, COALESCE((SELECT MAX(failed_us) FROM dead_letters), 0) + 1), ?)",
                (
                    str(uuid.uuid4()),
                    consumer,
                    orjson.dumps(envelope),
                    reason,
                    time.time_ns() // 1000,
                    attempts,
                ),
            )

    def list(self, consumer: str | None, limit: int) -> list[DeadLetter]:
        sql = "SELECT id, consumer, envelope, reason, failed_us, attempts FROM dead_letters"
        args: tuple[Any, ...] = (limit,)
        if consumer is not None:
            sql += " WHERE consumer = ?"
            args = (consumer, limit)
        rows = self._db.conn.execute(f"{sql} ORDER BY failed_us, id LIMIT ?", args).fetchall()
        return [
            DeadLetter(i, c, orjson.loads(env), reason, failed_us, attempts)
            for i, c, env, reason, failed_us, attempts in rows
        ]

    def remove(self, ids: Collection[str]) -> None:
        if ids:
            with self._db.write() as conn:
                conn.executemany("DELETE FROM dead_letters WHERE id = ?", [(i,) for i in ids])


_CERTIFICATE_COLUMNS = (
    "id, tenant, completion_id, attempt_version, learner, learner_name, activity_id,"
    " activity_name, completed, passed, score, achieved_us, issued_us, revoked, pdf_key,"
    " json_key"
)


class SqliteCertificateStore:
    """Certificates by id; their inbox rows share ``inbox`` (consumer: the certificates')."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def save(self, certificate: Certificate, inbox: InboxEntry) -> bool:
        c = certificate
        with self._db.write() as conn:
            if _inbox_recorded(conn, c.tenant, inbox):
                raise AlreadyProcessed(inbox.event_id)
            conn.execute(
                "INSERT INTO inbox VALUES (?,?,?)", (c.tenant, inbox.consumer, inbox.event_id)
            )
            stored = conn.execute(
                "SELECT attempt_version FROM certificates WHERE id = ?", (c.id,)
            ).fetchone()
            if stored is not None and stored[0] >= c.attempt_version:
                return False
            conn.execute(
                f"INSERT OR REPLACE INTO certificates ({_CERTIFICATE_COLUMNS})"  # noqa: S608
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    c.id,
                    c.tenant,
                    c.completion_id,
                    c.attempt_version,
                    c.learner,
                    c.learner_name,
                    c.activity_id,
                    c.activity_name,
                    int(c.completed),
                    int(c.passed),
                    None if c.score is None else orjson.dumps(c.score.to_json()),
                    c.achieved_us,
                    c.issued_us,
                    int(c.revoked),
                    c.pdf_key,
                    c.json_key,
                ),
            )
            return True

    def get(self, certificate_id: str) -> Certificate | None:
        row = self._db.conn.execute(
            f"SELECT {_CERTIFICATE_COLUMNS} FROM certificates WHERE id = ?",  # noqa: S608
            (certificate_id,),
        ).fetchone()
        if row is None:
            return None
        (
            cid,
            tenant,
            completion_id,
            attempt_version,
            learner,
            learner_name,
            activity_id,
            activity_name,
            completed,
            passed,
            score,
            achieved_us,
            issued_us,
            revoked,
            pdf_key,
            json_key,
        ) = row
        return Certificate(
            id=cid,
            tenant=tenant,
            completion_id=completion_id,
            attempt_version=attempt_version,
            learner=learner,
            learner_name=learner_name,
            activity_id=activity_id,
            activity_name=activity_name,
            completed=bool(completed),
            passed=bool(passed),
            score=None if score is None else Score(**orjson.loads(score)),
            achieved_us=achieved_us,
            issued_us=issued_us,
            revoked=bool(revoked),
            pdf_key=pdf_key,
            json_key=json_key,
        )
