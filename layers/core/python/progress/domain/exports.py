"""Compliance export jobs: what was asked for, how far a worker got, and where the file is.

A job moves ``queued -> running -> done | failed`` through the methods below and nowhere else
(``TRANSITIONS``). Each change returns the next version of the job (``version`` + 1): the store
writes a job only over the version it was read at, so two workers can never both move it.

A running job is *leased* to one worker until ``lease_until_us``; the worker renews the lease
with every progress update (``heartbeat``). Another delivery of the job's event finds the lease
alive and leaves the job alone; once the lease has run out (the worker died), the next delivery
claims the job and resumes from its ``checkpoint``: the parts of the file already uploaded and
the source position right after their last row.

Stdlib only: the job is a value the app layer and every adapter share.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from typing import Any, Final

from progress.domain.errors import Conflict

STATEMENTS: Final = "statements"
ATTEMPTS: Final = "attempts"
COMPLETIONS: Final = "completions"
KINDS: Final = (STATEMENTS, ATTEMPTS, COMPLETIONS)

NDJSON: Final = "ndjson"
CSV: Final = "csv"
FORMATS: Final = (NDJSON, CSV)
CONTENT_TYPES: Final = {
    NDJSON: "application/x-ndjson",
    CSV: "text/csv; charset=utf-8; header=present",  # RFC 4180 §3, RFC 7111
}

QUEUED: Final = "queued"
RUNNING: Final = "running"
DONE: Final = "done"
FAILED: Final = "failed"
STATUSES: Final = (QUEUED, RUNNING, DONE, FAILED)
TERMINAL: Final = frozenset({DONE, FAILED})

# The one table of legal moves. ``running -> running``: a heartbeat, a continuation (the lease
# released at the end of a time budget) or a takeover after the lease ran out.
TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    QUEUED: frozenset({RUNNING, FAILED}),
    RUNNING: frozenset({RUNNING, DONE, FAILED}),
    DONE: frozenset(),
    FAILED: frozenset(),
}

MAX_ERROR_CHARS: Final = 500
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


class InvalidExportTransition(Conflict):
    """An export job was asked to move between states ``TRANSITIONS`` does not allow (409)."""

    def __init__(self, export_id: str, current: str, target: str) -> None:
        super().__init__(f"export {export_id}: cannot go from {current} to {target}")
        self.export_id = export_id
        self.current = current
        self.target = target


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """Where a worker can resume: every row up to ``position`` (inclusive) is in ``parts``.

    ``position`` is the source's listing position of that row: (stored_us, statement id) for
    Statements, (started_us, attempt id) for attempts and completions.
    """

    upload_id: str
    parts: tuple[tuple[int, str], ...]  # (part number, the store's tag), ascending
    position: tuple[int, str]
    rows: int  # rows in the parts
    size: int  # bytes in the parts

    def to_json(self) -> dict[str, Any]:
        return {
            "upload_id": self.upload_id,
            "parts": [list(p) for p in self.parts],
            "position": list(self.position),
            "rows": self.rows,
            "size": self.size,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Checkpoint:
        at, sid = data["position"]
        return cls(
            upload_id=str(data["upload_id"]),
            parts=tuple((int(n), str(tag)) for n, tag in data["parts"]),
            position=(int(at), str(sid)),
            rows=int(data["rows"]),
            size=int(data["size"]),
        )


@dataclass(frozen=True, slots=True)
class ExportJob:
    """One export of a tenant's (or one learner's) Statements, attempts or completions."""

    id: str
    tenant: str
    kind: str  # "statements" | "attempts" | "completions"
    format: str  # "ndjson" | "csv"
    learner: str | None  # agent key (``statements.agent_key``); None: the whole tenant
    status: str  # "queued" | "running" | "done" | "failed"
    created_us: int
    updated_us: int
    rows: int = 0  # written so far (progress)
    total: int | None = None  # expected rows when known
    error: str | None = None
    blob_key: str | None = None  # set when done
    size: int | None = None  # bytes, when done
    sha256: str | None = None  # of the file, when done
    # Beyond what callers read: the bookkeeping of workers.
    version: int = 1  # + 1 per change; stores write conditionally on it
    lease_until_us: int | None = None  # a running worker holds the job until then
    runs: int = 0  # workers that claimed it (a continuation or a takeover adds one)
    checkpoint: Checkpoint | None = None

    @classmethod
    def new(
        cls,
        export_id: str,
        tenant: str,
        kind: str,
        format: str,
        learner: str | None,
        now_us: int,
    ) -> ExportJob:
        if kind not in KINDS:
            raise ValueError(f"kind: one of {', '.join(KINDS)}, got {kind!r}")
        if format not in FORMATS:
            raise ValueError(f"format: one of {', '.join(FORMATS)}, got {format!r}")
        return cls(export_id, tenant, kind, format, learner, QUEUED, now_us, now_us)

    # ------------------------------------------------------------------------- transitions

    def _move(self, target: str, now_us: int, **changes: Any) -> ExportJob:
        if target not in TRANSITIONS[self.status]:
            raise InvalidExportTransition(self.id, self.status, target)
        return replace(
            self,
            status=target,
            updated_us=max(now_us, self.updated_us),
            version=self.version + 1,
            **changes,
        )

    def lease_alive(self, now_us: int) -> bool:
        return (
            self.status == RUNNING
            and self.lease_until_us is not None
            and self.lease_until_us > now_us
        )

    def claim(self, now_us: int, lease_us: int) -> ExportJob:
        """A worker takes the job: queued, released at a continuation, or abandoned (lease run
        out). Progress restarts from the checkpoint (or from nothing)."""
        if self.lease_alive(now_us):
            raise InvalidExportTransition(self.id, "running (leased)", RUNNING)
        resumed = self.checkpoint
        return self._move(
            RUNNING,
            now_us,
            lease_until_us=now_us + lease_us,
            runs=self.runs + 1,
            rows=0 if resumed is None else resumed.rows,
        )

    def heartbeat(
        self, now_us: int, lease_us: int, rows: int, checkpoint: Checkpoint | None = None
    ) -> ExportJob:
        """Progress: rows written so far, the lease renewed, a newer checkpoint if any."""
        return self._move(
            RUNNING,
            now_us,
            lease_until_us=now_us + lease_us,
            rows=rows,
            checkpoint=checkpoint or self.checkpoint,
        )

    def release(self, now_us: int, checkpoint: Checkpoint) -> ExportJob:
        """End of a worker's time budget: still running, no lease, resumable at ``checkpoint``
        (the continuation event the worker publishes with it claims it next)."""
        return self._move(
            RUNNING, now_us, lease_until_us=None, rows=checkpoint.rows, checkpoint=checkpoint
        )

    def finish(self, now_us: int, rows: int, blob_key: str, size: int, sha256: str) -> ExportJob:
        return self._move(
            DONE,
            now_us,
            rows=rows,
            total=rows,
            blob_key=blob_key,
            size=size,
            sha256=sha256,
            lease_until_us=None,
            checkpoint=None,
            error=None,
        )

    def fail(self, now_us: int, reason: str) -> ExportJob:
        if len(reason) > MAX_ERROR_CHARS:
            reason = reason[: MAX_ERROR_CHARS - 1] + "…"
        return self._move(FAILED, now_us, error=reason, lease_until_us=None, checkpoint=None)

    # ------------------------------------------------------------------------- the file

    @property
    def extension(self) -> str:
        return self.format

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.format]

    @property
    def filename(self) -> str:
        """``acme-statements-<id>.ndjson``: what a download is saved as (ASCII, no quotes)."""
        tenant = _UNSAFE_FILENAME.sub("_", self.tenant).strip("._") or "tenant"
        return f"{tenant}-{self.kind}-{self.id}.{self.extension}"

    # ------------------------------------------------------------------------- storage form

    def snapshot(self) -> dict[str, Any]:
        data = asdict(self)
        data["checkpoint"] = None if self.checkpoint is None else self.checkpoint.to_json()
        return data

    @classmethod
    def restore(cls, data: dict[str, Any]) -> ExportJob:
        fields = dict(data)
        checkpoint = fields.pop("checkpoint", None)
        return cls(
            **fields, checkpoint=None if checkpoint is None else Checkpoint.from_json(checkpoint)
        )
