"""Compliance exports: a tenant's (or one learner's) Statements, attempts or completion records
as NDJSON or CSV, written to the export file store and handed out as a URL that expires.

``request`` validates, then commits the job with its ``progress.export.requested.v1`` outbox
row (one commit): the ``exporter`` consumer then calls ``run``. ``run`` is idempotent: a done or
failed job is left alone, a job another worker holds (its lease is alive) too; a job whose
worker died (the lease ran out) is claimed again and resumed from its checkpoint.

A worker reads the source page by page (never the whole tenant), appends rows to a buffer that
goes out as a numbered part of the file once it is ``part_bytes`` long (S3 multipart upload;
parts of a folder locally), and updates the job every ``progress_rows`` rows or
``progress_s`` seconds (pollers see ``rows`` grow; the update renews the lease). Each uploaded
part moves the checkpoint. Near the end of its time budget (Lambda's 15 minutes) it commits the
checkpoint, releases the lease and publishes a continuation event in the same commit; the next
delivery resumes there. Design and limits: docs/exports.md.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import io
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final

import orjson

from progress.app.ports import (
    AttemptFilter,
    AttemptStore,
    AttemptSummary,
    Checkpoint,
    Clock,
    Envelope,
    ExportFiles,
    ExportJob,
    ExportPosition,
    ExportStore,
    ListPosition,
    StatementStore,
    TenantStore,
    VersionConflict,
)
from progress.app.progress import attempt_document, completion_document
from progress.domain.errors import (
    BadRequest,
    Conflict,
    DomainError,
    Forbidden,
    Gone,
    NotFound,
)
from progress.domain.events import ExportRequested, envelope
from progress.domain.exports import (
    ATTEMPTS,
    COMPLETIONS,
    CSV,
    DONE,
    FORMATS,
    KINDS,
    STATEMENTS,
    TERMINAL,
)
from progress.domain.statements import (
    ALL,
    K_AGENT,
    Position,
    StatementQuery,
    StoredStatement,
    agent_key,
    format_stored,
)
from progress.domain.tenancy import tenant_hash

logger = logging.getLogger(__name__)

EXPORTER: Final = "exporter"  # the consumer (catalog function) that runs exports
PAGE: Final = 500  # source rows read per request
PART_BYTES: Final = 8 * 1024 * 1024  # a part of the file (S3: >= 5 MiB but the last)
LEASE_S: Final = 45.0  # a worker renews it every PROGRESS_S at most; Lambda retries after 60 s
PROGRESS_ROWS: Final = 1000
PROGRESS_S: Final = 5.0
BUDGET_MARGIN_S: Final = 60.0  # stop this long before the invocation's end (a part + a commit)
MAX_URL_S: Final = 7 * 24 * 3600  # SigV4 presigned URLs live at most 7 days
_LEARNER_PREFIXES: Final = ("mbox:", "sha1:", "openid:", "acct:")
_EXPORT_ID: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")

Rows = list[tuple[tuple[int, str], bytes]]  # (source position, the row's bytes)
# A page of rows after a position, and the position to read on from (None: no more).
Source = Callable[[tuple[int, str] | None], tuple[Rows, tuple[int, str] | None]]


@dataclass(frozen=True, slots=True)
class Download:
    """What ``/exports/{token}`` serves."""

    chunks: Iterator[bytes]
    content_type: str
    filename: str
    size: int | None


class _LostLease(Exception):
    """Another worker moved the job (our lease ran out meanwhile): stop, leave it to them."""


class _NoProgress(Exception):
    """A whole time budget went by without one part uploaded."""


# ------------------------------------------------------------------------------ the rows

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str | int | float:
    """One CSV cell. Text that a spreadsheet would run as a formula (starting with = + - @, tab
    or carriage return) gets a leading ``'``, as OWASP's "CSV Injection" advises; numbers are
    left as numbers (a negative score is no formula)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_line(values: Sequence[Any]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow([csv_cell(v) for v in values])  # RFC 4180
    return out.getvalue().encode()


STATEMENT_COLUMNS: Final = (
    "id",
    "stored",
    "timestamp",
    "actor",
    "actor_name",
    "verb",
    "object_type",
    "object",
    "result_success",
    "result_completion",
    "result_score_scaled",
    "result_score_raw",
    "result_score_min",
    "result_score_max",
    "result_duration",
    "registration",
    "voided",
    "statement",
)
ATTEMPT_COLUMNS: Final = (
    "attempt_id",
    "sequence",
    "learner",
    "activity_id",
    "registration",
    "session",
    "state",
    "version",
    "started",
    "last_activity",
    "closed",
    "close_reason",
    "completion_id",
    "completed",
    "passed",
    "failed",
    "score_scaled",
    "score_raw",
    "score_min",
    "score_max",
    "duration",
    "completion_time",
    "certificate",  # the URL of the certificate its completion earned, if any
)
COMPLETION_COLUMNS: Final = (
    "completion_id",
    "attempt_id",
    "learner",
    "activity_id",
    "registration",
    "session",
    "completed",
    "passed",
    "failed",
    "score_scaled",
    "score_raw",
    "score_min",
    "score_max",
    "duration",
    "time",
    "mastery_score",
    "statement_ids",
    "certificate",  # its URL; empty when the completion earned none (failed only)
)
COLUMNS: Final = {
    STATEMENTS: STATEMENT_COLUMNS,
    ATTEMPTS: ATTEMPT_COLUMNS,
    COMPLETIONS: COMPLETION_COLUMNS,
}


def _time(us: int | None) -> str | None:
    return None if us is None else format_stored(us)


def _object(obj: dict[str, Any]) -> tuple[str, str | None]:
    kind = str(obj.get("objectType") or "Activity")
    if kind in ("Agent", "Group"):
        return kind, agent_key(obj)
    if kind == "SubStatement":
        return kind, None
    return kind, None if obj.get("id") is None else str(obj["id"])


def statement_csv(stored: StoredStatement) -> bytes:
    """Flat columns of one Statement; the last column is the Statement exactly as stored."""
    body = orjson.loads(stored.body)
    actor = body.get("actor") or {}
    result = body.get("result") or {}
    score = result.get("score") or {}
    context = body.get("context") or {}
    kind, target = _object(body.get("object") or {})
    return csv_line(
        [
            stored.id,
            body.get("stored"),
            body.get("timestamp"),
            agent_key(actor),
            actor.get("name"),
            (body.get("verb") or {}).get("id"),
            kind,
            target,
            result.get("success"),
            result.get("completion"),
            score.get("scaled"),
            score.get("raw"),
            score.get("min"),
            score.get("max"),
            result.get("duration"),
            context.get("registration"),
            stored.voided,
            stored.body.decode(),
        ]
    )


def completion_record(summary: AttemptSummary, certificate: str | None = None) -> dict[str, Any]:
    """An export row: the completion document with its attempt's identity beside it, and the
    URL of its certificate."""
    document = completion_document(summary)
    assert document is not None
    key = summary.key
    return {
        "completion_id": document.pop("id"),
        "attempt_id": summary.attempt_id,
        "learner": key.learner,
        "activity_id": key.activity_id,
        "registration": key.registration,
        "session": key.session,
        **document,
        "certificate": certificate,
    }


def attempt_record(summary: AttemptSummary, certificate: str | None = None) -> dict[str, Any]:
    """An export row: the attempt document, its ids named for a flat file; its completion
    with the URL of the certificate it earned."""
    document = attempt_document(summary)
    completion = document.pop("completion")
    if completion is not None:
        completion = {"completion_id": completion.pop("id"), **completion}
        completion["certificate"] = certificate
    return {"attempt_id": document.pop("id"), **document, "completion": completion}


def _score_cells(score: dict[str, Any] | None) -> list[Any]:
    score = score or {}
    return [score.get("scaled"), score.get("raw"), score.get("min"), score.get("max")]


def attempt_csv(summary: AttemptSummary, certificate: str | None = None) -> bytes:
    row = attempt_record(summary, certificate)
    c = row["completion"] or {}
    return csv_line(
        [
            *(row[k] for k in ATTEMPT_COLUMNS[:12]),
            c.get("completion_id"),
            c.get("completed"),
            c.get("passed"),
            c.get("failed"),
            *_score_cells(c.get("score")),
            c.get("duration"),
            c.get("time"),
            c.get("certificate"),
        ]
    )


def completion_csv(summary: AttemptSummary, certificate: str | None = None) -> bytes:
    row = completion_record(summary, certificate)
    return csv_line(
        [
            *(row[k] for k in COMPLETION_COLUMNS[:9]),
            *_score_cells(row["score"]),
            row["duration"],
            row["time"],
            row["mastery_score"],
            " ".join(row["statement_ids"]),
            row["certificate"],
        ]
    )


def header(kind: str, fmt: str) -> bytes:
    return csv_line(COLUMNS[kind]) if fmt == CSV else b""


def line(kind: str, fmt: str, record: Any, certificate: str | None = None) -> bytes:
    """One row of the file: NDJSON (one JSON document per line; Statements exactly as stored)
    or CSV. ``certificate``: the URL of the certificate of an attempt's or a completion's
    record."""
    if kind == STATEMENTS:
        return statement_csv(record) if fmt == CSV else record.body + b"\n"
    if kind == ATTEMPTS:
        if fmt == CSV:
            return attempt_csv(record, certificate)
        return orjson.dumps(attempt_record(record, certificate)) + b"\n"
    if fmt == CSV:
        return completion_csv(record, certificate)
    return orjson.dumps(completion_record(record, certificate)) + b"\n"


def blob_key(job: ExportJob) -> str:
    """No tenant name and no learner in the key: the tenant hash and the job id."""
    return f"{tenant_hash(job.tenant)}/exports/{job.id}.{job.extension}"


# ------------------------------------------------------------------------------ signed URLs


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_token(key: bytes, tenant: str, export_id: str, expires_s: int) -> str:
    """``<payload>.<mac>``: base64url of {tenant, export id, expiry} and of its HMAC-SHA-256."""
    payload = _b64(orjson.dumps({"t": tenant, "e": export_id, "x": expires_s}))
    mac = _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())
    return f"{payload}.{mac}"


def verify_token(key: bytes, token: str, now_s: int) -> tuple[str, str]:
    """(tenant, export id) of a token this service signed and that has not expired.

    The signature is checked first, in constant time: a forged token is "tampered" whatever
    expiry it claims, and only a genuine one can be "expired" (410)."""
    payload, dot, mac = token.partition(".")
    try:
        given = _unb64(mac)
    except ValueError:
        given = b""
    expected = hmac.new(key, payload.encode(), hashlib.sha256).digest()
    if not dot or not hmac.compare_digest(given, expected):
        raise Forbidden("export URL: tampered or not issued by this service (bad signature)")
    data = orjson.loads(_unb64(payload))
    if int(data["x"]) <= now_s:
        raise Gone(f"export URL: expired at {format_stored(int(data['x']) * 1_000_000)}")
    return str(data["t"]), str(data["e"])


# ------------------------------------------------------------------------------ the service


class ExportService:
    def __init__(
        self,
        store: ExportStore,
        files: Callable[[], ExportFiles],
        statements: StatementStore,
        attempts: AttemptStore,
        tenants: TenantStore,
        clock: Clock,
        *,
        base_url: str,
        url_key: Callable[[], bytes],
        certificate_url: Callable[[str, str], str] | None = None,
        page: int = PAGE,
        part_bytes: int = PART_BYTES,
        lease_s: float = LEASE_S,
        progress_rows: int = PROGRESS_ROWS,
        progress_s: float = PROGRESS_S,
        budget_margin_s: float = BUDGET_MARGIN_S,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._make_files = files
        self._files: ExportFiles | None = None
        self._statements = statements
        self._attempts = attempts
        self._tenants = tenants
        self._clock = clock
        self._base_url = base_url.rstrip("/")
        self._url_key = url_key
        self._certificate_url = certificate_url
        self._page = page
        self._part_bytes = part_bytes
        self._lease_us = int(lease_s * 1_000_000)
        self._progress_rows = progress_rows
        self._progress_s = progress_s
        self._margin_s = budget_margin_s
        self._timer = timer

    @property
    def files(self) -> ExportFiles:
        if self._files is None:  # an S3 client only for the functions that touch files
            self._files = self._make_files()
        return self._files

    # ------------------------------------------------------------------------- requests

    def request(
        self,
        tenant: str,
        kind: str,
        format: str,
        learner: str | None,
        *,
        export_id: str | None = None,
    ) -> ExportJob:
        """Validate, then commit the job and its ``progress.export.requested.v1`` outbox row.

        ``export_id`` lets a caller make the request idempotent: the same id with the same
        parameters returns the stored job, with others ``Conflict``. Bad input creates
        nothing."""
        if kind not in KINDS:
            raise BadRequest(f"kind: one of {', '.join(KINDS)}, got {kind!r}")
        if format not in FORMATS:
            raise BadRequest(f"format: one of {', '.join(FORMATS)}, got {format!r}")
        if learner is not None and (
            not learner.startswith(_LEARNER_PREFIXES) or len(learner) > 2048
        ):
            raise BadRequest("agent: an Agent's identifier (an agent key) expected")
        if export_id is not None and not _EXPORT_ID.match(export_id):
            raise BadRequest("export id: 1-64 letters, digits, '-' or '_'")
        if self._tenants.get_tenant(tenant) is None:
            raise NotFound(f"tenant {tenant}: no such tenant")
        if learner is not None and not self._has_statements(tenant, learner):
            raise NotFound(f"agent: no statements recorded for {learner}")
        job_id = export_id or str(uuid.uuid4())
        existing = self._store.get(tenant, job_id) if export_id else None
        if existing is not None:
            return self._same_request(existing, kind, format, learner)
        job = ExportJob.new(job_id, tenant, kind, format, learner, self._clock.now_us())
        event = ExportRequested(tenant, job.id, kind, format, learner, job.created_us)
        try:
            self._store.create(job, envelope(event))
        except Conflict:
            found = self._store.get(tenant, job_id)
            if found is None:
                raise
            return self._same_request(found, kind, format, learner)
        logger.info("export requested", extra={"tenant": tenant, "export": job.id, "kind": kind})
        return job

    @staticmethod
    def _same_request(job: ExportJob, kind: str, fmt: str, learner: str | None) -> ExportJob:
        if (job.kind, job.format, job.learner) != (kind, fmt, learner):
            raise Conflict(f"export {job.id}: already requested with other parameters")
        return job

    def _has_statements(self, tenant: str, learner: str) -> bool:
        query = StatementQuery(required=frozenset(), ascending=True)
        found, _ = self._statements.scan(tenant, f"{K_AGENT}:{learner}", query, None, 1)
        return bool(found)

    def get(self, tenant: str, export_id: str) -> ExportJob:
        found = self._store.get(tenant, export_id)
        if found is None:
            raise NotFound(f"export {export_id}: no such export")
        return found

    def list(
        self, tenant: str, after: tuple[int, str] | None, limit: int
    ) -> tuple[list[ExportJob], tuple[int, str] | None]:
        """Newest first; the position to continue from, or None."""
        if limit < 1:
            raise BadRequest(f"limit: at least 1, got {limit}")
        jobs, position = self._store.list(tenant, after, limit)
        return jobs, None if position is None else ExportPosition(*position)

    # ------------------------------------------------------------------------- downloads

    def download_url(self, job: ExportJob, expires_s: int = 900) -> tuple[str, int]:
        """(URL, expiry in epoch seconds) of a done job's file: S3 presigned where the store
        has them, else ``{PUBLIC_BASE_URL}/exports/{token}`` signed by this service."""
        if job.status != DONE or job.blob_key is None:
            raise Conflict(f"export {job.id}: not done ({job.status}); no file to download yet")
        if not 1 <= expires_s <= MAX_URL_S:
            raise BadRequest(f"expires: 1..{MAX_URL_S} seconds, got {expires_s}")
        expires_at = self._clock.now_us() // 1_000_000 + expires_s
        url = self.files.signed_url(job.blob_key, job.filename, expires_s)
        if url is None:
            token = sign_token(self._url_key(), job.tenant, job.id, expires_at)
            url = f"{self._base_url}/exports/{token}"
        return url, expires_at

    def open_download(self, token: str) -> Download:
        """The file behind a URL of ``download_url`` (the local runtime's signed URLs):
        ``Forbidden`` when tampered with, ``Gone`` when expired (or the file is no longer
        kept), ``NotFound`` when its export is unknown."""
        tenant, export_id = verify_token(self._url_key(), token, self._clock.now_us() // 1_000_000)
        job = self._store.get(tenant, export_id)
        if job is None or job.status != DONE or job.blob_key is None:
            raise NotFound(f"export {export_id}: no such export file")
        chunks = self.files.read(job.blob_key)
        if chunks is None:
            raise Gone(f"export {export_id}: its file is no longer kept; request a new export")
        return Download(chunks, job.content_type, job.filename, job.size)

    # ------------------------------------------------------------------------- the worker

    def handle(
        self, event: Envelope, *, remaining_s: Callable[[], float] | None = None
    ) -> ExportJob:
        """The ``exporter`` consumer: one ``progress.export.requested.v1`` envelope."""
        if event.get("type") != ExportRequested.TYPE:
            raise BadRequest(
                f"type: the exporter consumes {ExportRequested.TYPE}, got {event.get('type')!r}"
            )
        return self.run(
            str(event["tenant"]), str(event["data"]["export_id"]), remaining_s=remaining_s
        )

    def run(
        self, tenant: str, export_id: str, *, remaining_s: Callable[[], float] | None = None
    ) -> ExportJob:
        """Run (or resume) one export; what the ``exporter`` consumer does per event.

        ``remaining_s``: seconds left in this invocation (Lambda's context); None: no limit.
        Returns the job as this call leaves it."""
        job = self.get(tenant, export_id)
        now = self._clock.now_us()
        if job.status in TERMINAL or job.lease_alive(now):
            return job  # a redelivery: done already, or another worker is on it
        claimed = job.claim(now, self._lease_us)
        try:
            self._store.update(claimed)
        except VersionConflict:
            return self.get(tenant, export_id)  # another delivery claimed it first
        worker = _Worker(self, claimed, remaining_s)
        try:
            return worker.work()
        except _LostLease:
            logger.warning("export taken over", extra={"tenant": tenant, "export": export_id})
            return self.get(tenant, export_id)
        except Exception as exc:
            logger.exception("export failed", extra={"tenant": tenant, "export": export_id})
            return self._fail(worker, exc)

    def _fail(self, worker: _Worker, exc: Exception) -> ExportJob:
        if isinstance(exc, _NoProgress):
            reason = str(exc)
        elif isinstance(exc, DomainError):
            reason = exc.message
        else:
            reason = f"{type(exc).__name__}: {exc}"
        failed = worker.job.fail(self._clock.now_us(), reason)
        try:
            self._store.update(failed)
        except VersionConflict:
            return self.get(worker.job.tenant, worker.job.id)
        worker.abort()
        return failed

    def _certificate(self, tenant: str, summary: AttemptSummary) -> str | None:
        """The URL of the certificate a completion earned (``CompletionRecord.certified``)."""
        record = summary.completion
        if self._certificate_url is None or record is None or not record.certified:
            return None
        return self._certificate_url(tenant, record.id)

    def _source(self, job: ExportJob) -> Source:
        """The rows of ``job`` after a position, a page at a time: ((position, line), ...)."""
        fmt, kind = job.format, job.kind
        if kind == STATEMENTS:
            key = ALL if job.learner is None else f"{K_AGENT}:{job.learner}"
            # Up to the request: a resumed worker sees the same Statements, and so does a rerun.
            query = StatementQuery(required=frozenset(), until_us=job.created_us, ascending=True)

            def statements(after: tuple[int, str] | None) -> tuple[Rows, tuple[int, str] | None]:
                at = None if after is None else Position(*after)
                batch, exhausted = self._statements.scan(job.tenant, key, query, at, self._page)
                rows = [((s.stored_us, s.id), line(kind, fmt, s)) for s in batch]
                return rows, None if exhausted or not rows else rows[-1][0]

            return statements
        where = AttemptFilter(learner=job.learner, completed=kind == COMPLETIONS)

        def attempts(after: tuple[int, str] | None) -> tuple[Rows, tuple[int, str] | None]:
            at = None if after is None else ListPosition(*after)
            batch, more = self._attempts.list(job.tenant, where, at, self._page)
            rows = [
                ((s.started_us, s.attempt_id), line(kind, fmt, s, self._certificate(job.tenant, s)))
                for s in batch
                if kind != COMPLETIONS or s.completion is not None
            ]
            return rows, None if more is None else (more.started_us, more.attempt_id)

        return attempts


class _Worker:
    """One claim of one job: reads, writes parts, checkpoints, finishes."""

    def __init__(
        self, svc: ExportService, job: ExportJob, remaining_s: Callable[[], float] | None
    ) -> None:
        self._svc = svc
        self.job = job
        self._remaining = remaining_s
        self._key = blob_key(job)
        start = job.checkpoint
        self._start = start
        self._upload = None if start is None else start.upload_id
        self._parts: list[tuple[int, str]] = [] if start is None else list(start.parts)
        self._position = None if start is None else start.position
        self._rows = 0 if start is None else start.rows
        self._size = 0 if start is None else start.size
        self._digest = hashlib.sha256() if start is None else None  # resumed: read back at end
        self._buffer = bytearray(header(job.kind, job.format) if start is None else b"")
        self._checkpoint = start
        self._beat_rows = self._rows
        self._beat_at = svc._timer()

    def work(self) -> ExportJob:
        source = self._svc._source(self.job)
        after = self._position
        while True:
            rows, after = source(after)
            for position, data in rows:
                self._buffer += data
                self._rows += 1
                self._position = position
                if len(self._buffer) >= self._svc._part_bytes:
                    self._flush()
            if after is None:
                return self._finish()
            self._maybe_beat()
            if self._out_of_time():
                return self._continue()

    # ---------------------------------------------------------------------------- parts

    def _flush(self) -> None:
        files = self._svc.files
        if self._upload is None:
            self._upload = files.start(self._key, self.job.content_type)
        number = self._parts[-1][0] + 1 if self._parts else 1
        data = bytes(self._buffer)
        tag = files.put_part(self._key, self._upload, number, data)
        self._parts.append((number, tag))
        self._size += len(data)
        if self._digest is not None:
            self._digest.update(data)
        self._buffer.clear()
        assert self._position is not None
        self._checkpoint = Checkpoint(
            self._upload, tuple(self._parts), self._position, self._rows, self._size
        )
        self._beat()

    def _maybe_beat(self) -> None:
        svc = self._svc
        if (
            self._rows - self._beat_rows >= svc._progress_rows
            or svc._timer() - self._beat_at >= svc._progress_s
        ):
            self._beat()

    def _beat(self) -> None:
        svc = self._svc
        nxt = self.job.heartbeat(svc._clock.now_us(), svc._lease_us, self._rows, self._checkpoint)
        self._commit(nxt)
        self._beat_rows, self._beat_at = self._rows, svc._timer()

    def _commit(self, job: ExportJob, event: dict[str, Any] | None = None) -> None:
        try:
            self._svc._store.update(job, event)
        except VersionConflict:
            raise _LostLease(job.id) from None
        self.job = job

    # ---------------------------------------------------------------------------- endings

    def _out_of_time(self) -> bool:
        return self._remaining is not None and self._remaining() < self._svc._margin_s

    def _continue(self) -> ExportJob:
        """Checkpoint, release, and hand the rest on to a continuation event (one commit)."""
        if len(self._buffer) >= self._svc.files.min_part_bytes:
            self._flush()
        checkpoint = self._checkpoint
        if checkpoint is None or checkpoint == self._start:
            raise _NoProgress(
                f"no part of the file was written within one invocation's time "
                f"({self._rows} rows read); the source is too slow to export"
            )
        svc, job = self._svc, self.job
        now = svc._clock.now_us()
        released = job.release(now, checkpoint)
        event = ExportRequested(
            job.tenant,
            job.id,
            job.kind,
            job.format,
            job.learner,
            job.created_us,
            continuation=job.runs,
            occurred_us=now,
        )
        self._commit(released, envelope(event))
        logger.info(
            "export continues in a new invocation",
            extra={"tenant": job.tenant, "export": job.id, "rows": checkpoint.rows},
        )
        return released

    def _finish(self) -> ExportJob:
        files, data = self._svc.files, bytes(self._buffer)
        if self._upload is None:
            files.put(self._key, data, self.job.content_type)
        else:
            if data or not self._parts:
                number = self._parts[-1][0] + 1 if self._parts else 1
                self._parts.append((number, files.put_part(self._key, self._upload, number, data)))
            files.complete(self._key, self._upload, self._parts)
        self._size += len(data)
        if self._digest is not None:
            self._digest.update(data)
            sha = self._digest.hexdigest()
        else:  # resumed: hashlib state does not survive a process, so hash the file itself
            sha = _sha256_of(files.read(self._key))
        done = self.job.finish(self._svc._clock.now_us(), self._rows, self._key, self._size, sha)
        self._commit(done)
        logger.info(
            "export done",
            extra={"tenant": done.tenant, "export": done.id, "rows": done.rows, "bytes": done.size},
        )
        return done

    def abort(self) -> None:
        if self._upload is None:
            return
        try:
            self._svc.files.abort(self._key, self._upload)
        except Exception:  # best effort: S3 lifecycle removes incomplete uploads anyway
            logger.warning("could not abort an export upload", extra={"export": self.job.id})


def _sha256_of(chunks: Iterator[bytes] | None) -> str:
    if chunks is None:
        raise NotFound("export file: missing right after it was written")
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    return digest.hexdigest()
