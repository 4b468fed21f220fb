"""ExportService on the in-memory adapters: requests (validation, nothing created on bad input),
the worker (rows page by page, progress, parts, checkpoints, continuations, redelivery, failure,
a dead worker's takeover) and the signed download URLs of the local runtime."""

from __future__ import annotations

import csv
import hashlib
import io
import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest

from progress.adapters import memory
from progress.app.exports import ExportService, sign_token
from progress.app.ports import Envelope, ExportJob
from progress.app.progress import ProgressService
from progress.app.statements import StatementService
from progress.domain.errors import BadRequest, Conflict, Forbidden, Gone, NotFound
from progress.domain.progress_rules import COMPLETED, FAILED, INITIALIZED, PASSED, TERMINATED
from progress.domain.tenancy import Principal, Scope, Tenant

TENANT = "acme"
COURSE = "http://example.com/course/1"
ANN, BOB = "mbox:mailto:ann@example.com", "mbox:mailto:bob@example.com"
KEY = b"k" * 32
EXPERIENCED = "http://adlnet.gov/expapi/verbs/experienced"


class StepClock:
    def __init__(self, start: int = 1_750_000_000_000_000) -> None:
        self.now = start

    def now_us(self) -> int:
        self.now += 1_000
        return self.now


class SpyStore(memory.MemoryExportStore):
    """Records every job version written: what a poller could have seen."""

    def __init__(self, outbox: memory.MemoryOutbox) -> None:
        super().__init__(outbox)
        self.seen: list[ExportJob] = []

    def update(self, job: ExportJob, envelope: Envelope | None = None) -> None:
        super().update(job, envelope)
        self.seen.append(job)


class Files(memory.MemoryExportFiles):
    """Counts writes; ``fail_on_part`` raises on that part (``crash``: a BaseException, as if
    the process died there)."""

    def __init__(self, min_part_bytes: int) -> None:
        super().__init__(min_part_bytes)
        self.writes = 0
        self.fail_on_part: int | None = None
        self.crash = False

    def put_part(self, key: str, upload_id: str, number: int, data: bytes) -> str:
        if number == self.fail_on_part:
            self.fail_on_part = None
            if self.crash:
                raise Crash
            raise OSError("disk full")
        self.writes += 1
        return super().put_part(key, upload_id, number, data)

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self.writes += 1
        super().put(key, data, content_type)

    def bytes_of(self, key: str) -> bytes:
        chunks = self.read(key)
        assert chunks is not None
        return b"".join(chunks)


class Crash(BaseException):
    """The worker's process dies (nothing catches it)."""


@dataclass
class World:
    clock: StepClock
    outbox: memory.MemoryOutbox
    store: memory.MemoryStatementStore
    statements: StatementService
    progress: ProgressService
    exports_store: SpyStore
    files: Files
    principal: Principal
    remaining: list[float] = field(default_factory=list)

    def service(self, **options: Any) -> ExportService:
        settings: dict[str, Any] = {
            "page": 3,
            "part_bytes": 600,
            "progress_rows": 2,
            "progress_s": 3600.0,
            "lease_s": 45.0,
        }
        settings.update(options)
        return ExportService(
            self.exports_store,
            lambda: self.files,
            self.store,
            self.attempts,
            self.tenants,
            self.clock,
            base_url="http://lrs.test/",
            url_key=lambda: KEY,
            **settings,
        )

    attempts: memory.MemoryAttemptStore = field(default_factory=memory.MemoryAttemptStore)
    tenants: memory.MemoryTenantStore = field(default_factory=memory.MemoryTenantStore)

    def post(self, *stmts: dict[str, Any]) -> list[str]:
        return self.statements.store(self.principal, list(stmts)).ids

    def drain(self) -> list[Envelope]:
        rows = self.outbox.pending(10_000)
        self.outbox.published([s for s, _ in rows])
        return [env for _, env in rows]

    def project_all(self) -> None:
        while rows := self.drain():
            for env in rows:
                if env["type"] == "progress.statement.stored.v1":
                    self.progress.handle(env)

    def stored_bodies(self, learner: str | None = None) -> list[bytes]:
        """Every stored Statement, in stored order (optionally those naming ``learner``)."""
        rows = sorted(self.store._rows.values(), key=lambda s: (s.stored_us, s.id))
        return [
            s.body
            for s in rows
            if learner is None or any(f"a:{learner}" in g for g in s.key_groups)
        ]


@pytest.fixture
def world() -> World:
    clock = StepClock()
    outbox = memory.MemoryOutbox()
    store = memory.MemoryStatementStore(outbox)
    attempts = memory.MemoryAttemptStore(outbox)
    tenants = memory.MemoryTenantStore()
    tenants.put_tenant(Tenant(TENANT, "ACME", "2026-01-01T00:00:00Z"))
    return World(
        clock,
        outbox,
        store,
        StatementService(store, clock),
        ProgressService(attempts, store, memory.MemoryRulesStore(), clock),
        SpyStore(outbox),
        Files(min_part_bytes=500),
        Principal(TENANT, "key", frozenset({Scope.ALL}), "test", "https://lrs.example.com"),
        attempts=attempts,
        tenants=tenants,
    )


def stmt(verb: str, *, who: str = "ann", name: str | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "actor": {"mbox": f"mailto:{who}@example.com", "name": name or who.title()},
        "verb": {"id": verb},
        "object": {"id": COURSE},
    }
    body.update(extra)
    return body


def many(n: int, who: str = "ann") -> list[dict[str, Any]]:
    return [stmt(EXPERIENCED, who=who) for _ in range(n)]


def requested(world: World) -> list[Envelope]:
    return [e for e in world.drain() if e["type"] == "progress.export.requested.v1"]


# ------------------------------------------------------------------------------ requests


@pytest.mark.parametrize(
    ("kind", "fmt", "learner", "field"),
    [
        ("documents", "ndjson", None, "kind"),
        ("statements", "xlsx", None, "format"),
        ("statements", "csv", "ann@example.com", "agent"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_creates_nothing(
    world: World, kind: str, fmt: str, learner: str | None, field: str
) -> None:
    svc = world.service()
    with pytest.raises(BadRequest, match=f"^{field}: "):
        svc.request(TENANT, kind, fmt, learner)
    assert world.exports_store.list(TENANT, None, 10) == ([], None)
    assert world.drain() == []


def test_an_unknown_learner_or_tenant_is_a_404_and_creates_nothing(world: World) -> None:
    world.post(stmt(EXPERIENCED))
    world.drain()
    svc = world.service()
    with pytest.raises(NotFound, match=f"^agent: no statements recorded for {BOB}$"):
        svc.request(TENANT, "attempts", "csv", BOB)
    with pytest.raises(NotFound, match=r"^tenant nobody: no such tenant$"):
        svc.request("nobody", "statements", "csv", None)
    assert world.exports_store.list(TENANT, None, 10) == ([], None)
    assert world.drain() == []


def test_a_request_commits_the_queued_job_with_its_event(world: World) -> None:
    world.post(stmt(EXPERIENCED))
    world.drain()
    job = world.service().request(TENANT, "statements", "ndjson", ANN)
    assert (job.status, job.rows, job.learner, job.kind, job.format) == (
        "queued",
        0,
        ANN,
        "statements",
        "ndjson",
    )
    (event,) = world.drain()
    assert event["type"] == "progress.export.requested.v1"
    assert event["data"]["export_id"] == job.id
    assert world.service().get(TENANT, job.id) == job


def test_a_caller_chosen_id_makes_the_request_idempotent(world: World) -> None:
    svc = world.service()
    first = svc.request(TENANT, "statements", "csv", None, export_id="nightly-2026-01-01")
    again = svc.request(TENANT, "statements", "csv", None, export_id="nightly-2026-01-01")
    assert again == first
    assert len(requested(world)) == 1  # one job, one event
    with pytest.raises(Conflict, match="other parameters"):
        svc.request(TENANT, "attempts", "csv", None, export_id="nightly-2026-01-01")
    with pytest.raises(BadRequest, match=r"^export id: "):
        svc.request(TENANT, "attempts", "csv", None, export_id="../../etc")


def test_get_of_an_unknown_export_is_a_404_and_lists_run_newest_first(world: World) -> None:
    svc = world.service()
    with pytest.raises(NotFound):
        svc.get(TENANT, "nope")
    ids = [svc.request(TENANT, "statements", "csv", None).id for _ in range(3)]
    page, position = svc.list(TENANT, None, 2)
    assert [j.id for j in page] == ids[::-1][:2]
    assert position is not None
    rest, end = svc.list(TENANT, position, 2)
    assert [j.id for j in rest] == ids[:1]
    assert end is None


# ------------------------------------------------------------------------------ the worker


def test_a_tenant_export_is_every_stored_statement_byte_for_byte_in_stored_order(
    world: World,
) -> None:
    world.post(*many(4), *many(3, who="bob"))
    voiding = world.post(
        stmt(
            "http://adlnet.gov/expapi/verbs/voided",
            object={"objectType": "StatementRef", "id": world.post(stmt(EXPERIENCED))[0]},
        )
    )
    assert voiding
    svc = world.service()
    job = svc.request(TENANT, "statements", "ndjson", None)
    (event,) = requested(world)
    done = svc.handle(event)
    expected = b"".join(body + b"\n" for body in world.stored_bodies())
    assert done.status == "done"
    assert done.rows == done.total == 9  # voided and voiding Statements included
    assert done.blob_key is not None
    assert world.files.bytes_of(done.blob_key) == expected
    assert (done.size, done.sha256) == (len(expected), hashlib.sha256(expected).hexdigest())
    assert done.filename == f"acme-statements-{job.id}.ndjson"
    assert done.checkpoint is None
    assert done.lease_until_us is None


def test_a_learner_export_holds_that_learners_statements_only(world: World) -> None:
    world.post(*many(2), *many(3, who="bob"), *many(1))
    job = world.service().request(TENANT, "statements", "ndjson", BOB)
    done = world.service().run(TENANT, job.id)
    assert done.blob_key is not None
    lines = world.files.bytes_of(done.blob_key).splitlines()
    assert lines == world.stored_bodies(BOB)
    assert {orjson.loads(x)["actor"]["mbox"] for x in lines} == {"mailto:bob@example.com"}


def test_statements_stored_after_the_request_are_not_in_it(world: World) -> None:
    world.post(*many(2))
    job = world.service().request(TENANT, "statements", "ndjson", None)
    world.post(*many(3))
    done = world.service().run(TENANT, job.id)
    assert done.rows == 2


def test_pollers_see_rows_grow_and_the_file_goes_out_in_parts(world: World) -> None:
    world.post(*many(12))
    job = world.service().request(TENANT, "statements", "ndjson", None)
    done = world.service().run(TENANT, job.id)
    seen = [(j.status, j.rows) for j in world.exports_store.seen]
    assert seen[0] == ("running", 0)
    rows = [r for s, r in seen if s == "running"]
    assert rows == sorted(rows)
    assert len(set(rows)) >= 4  # several progress updates before the end
    assert seen[-1] == ("done", 12)
    checkpoints = [j.checkpoint for j in world.exports_store.seen if j.checkpoint is not None]
    assert len({c.parts for c in checkpoints}) >= 2  # several parts, each moved the checkpoint
    assert done.blob_key is not None
    assert world.files.bytes_of(done.blob_key) == b"".join(b + b"\n" for b in world.stored_bodies())
    assert world.files.uploads() == 0


def test_a_redelivered_event_for_a_done_job_writes_nothing_again(world: World) -> None:
    world.post(*many(5))
    svc = world.service()
    svc.request(TENANT, "statements", "csv", None)
    (event,) = requested(world)
    done = svc.handle(event)
    writes, versions = world.files.writes, len(world.exports_store.seen)
    assert svc.handle(event) == done
    assert svc.handle(event) == done
    assert (world.files.writes, len(world.exports_store.seen)) == (writes, versions)


def test_concurrent_deliveries_run_the_export_once(world: World) -> None:
    """EventBridge may deliver an event to two invocations at once: one claims the job (a
    conditional write), the others leave it alone."""
    import threading

    world.post(*many(30))
    svc = world.service()
    job = svc.request(TENANT, "statements", "ndjson", None)
    start = threading.Barrier(8)
    results: list[ExportJob] = []

    def deliver() -> None:
        start.wait()
        results.append(svc.run(TENANT, job.id))

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done = svc.get(TENANT, job.id)
    assert (done.status, done.runs, done.rows) == ("done", 1, 30)
    assert sum(r.status == "done" for r in results) >= 1
    assert done.blob_key is not None
    assert world.files.bytes_of(done.blob_key) == b"".join(b + b"\n" for b in world.stored_bodies())


def test_a_job_another_worker_holds_is_left_alone(world: World) -> None:
    world.post(*many(2))
    svc = world.service()
    job = svc.request(TENANT, "statements", "csv", None)
    held = job.claim(world.clock.now_us(), 45_000_000)
    world.exports_store.update(held)
    assert svc.run(TENANT, job.id) == held
    assert world.files.writes == 0


def test_a_failure_is_recorded_with_its_reason_and_the_upload_aborted(world: World) -> None:
    world.post(*many(12))
    svc = world.service()
    job = svc.request(TENANT, "statements", "ndjson", None)
    world.files.fail_on_part = 2
    failed = svc.run(TENANT, job.id)
    assert failed.status == "failed"
    assert failed.error == "OSError: disk full"
    assert failed.checkpoint is None
    assert world.files.uploads() == 0
    assert svc.run(TENANT, job.id) == failed  # a redelivery does not retry it
    with pytest.raises(Conflict, match="not done"):
        svc.download_url(failed)


def test_a_dead_workers_job_is_resumed_after_its_lease_and_the_file_is_whole(
    world: World,
) -> None:
    world.post(*many(14))
    svc = world.service()
    job = svc.request(TENANT, "statements", "ndjson", None)
    world.files.fail_on_part, world.files.crash = 3, True
    with pytest.raises(Crash):
        svc.run(TENANT, job.id)
    stuck = svc.get(TENANT, job.id)
    assert stuck.status == "running"
    assert stuck.checkpoint is not None
    assert len(stuck.checkpoint.parts) == 2
    assert svc.run(TENANT, job.id) == stuck  # its lease is alive: maybe it still works
    world.clock.now += 46_000_000  # the lease runs out
    done = svc.run(TENANT, job.id)
    expected = b"".join(b + b"\n" for b in world.stored_bodies())
    assert done.status == "done"
    assert done.runs == 2
    assert done.rows == 14
    assert done.blob_key is not None
    assert world.files.bytes_of(done.blob_key) == expected
    assert done.sha256 == hashlib.sha256(expected).hexdigest()  # read back: a resumed file


def test_a_long_export_hands_on_to_a_continuation_and_finishes_there(world: World) -> None:
    world.post(*many(20))
    svc = world.service(budget_margin_s=10.0)
    job = svc.request(TENANT, "statements", "ndjson", None)
    requested(world)
    budget = iter([100.0, 100.0, 5.0])  # the third page ends the invocation's time

    released = svc.run(TENANT, job.id, remaining_s=lambda: next(budget, 5.0))
    assert released.status == "running"
    assert released.lease_until_us is None
    assert released.checkpoint is not None
    (continuation,) = requested(world)
    assert continuation["data"]["continuation"] == 1
    assert continuation["id"] != job.id
    done = svc.handle(continuation, remaining_s=lambda: 100.0)
    assert done.status == "done"
    assert done.rows == 20
    assert done.blob_key is not None
    assert world.files.bytes_of(done.blob_key) == b"".join(b + b"\n" for b in world.stored_bodies())
    assert requested(world) == []


def test_an_invocation_too_short_to_write_one_part_fails_instead_of_looping(
    world: World,
) -> None:
    world.post(*many(9))
    world.files = Files(min_part_bytes=10**6)  # not even the rows read make a part
    svc = world.service(budget_margin_s=10.0, part_bytes=10**6)
    job = svc.request(TENANT, "statements", "ndjson", None)
    failed = svc.run(TENANT, job.id, remaining_s=lambda: 1.0)
    assert failed.status == "failed"
    assert failed.error is not None
    assert "no part of the file was written" in failed.error


def test_csv_statements_have_flat_columns_and_the_statement_exactly_as_stored(
    world: World,
) -> None:
    world.post(
        stmt(
            PASSED,
            name='=HYPERLINK("http://evil")',
            result={"success": True, "score": {"scaled": -0.5}},
        ),
        stmt(
            EXPERIENCED, who="bob", context={"registration": "6fe2b1d5-2ee5-4a5b-9b3e-1f2a3b4c5d6e"}
        ),
    )
    job = world.service().request(TENANT, "statements", "csv", None)
    done = world.service().run(TENANT, job.id)
    assert done.blob_key is not None
    text = world.files.bytes_of(done.blob_key).decode()
    header, first, second = list(csv.reader(io.StringIO(text)))
    assert header[0] == "id"
    assert header[-1] == "statement"
    row = dict(zip(header, first, strict=True))
    assert row["actor"] == ANN
    assert row["actor_name"] == '\'=HYPERLINK("http://evil")'  # no formula in a spreadsheet
    assert row["verb"] == PASSED
    assert (row["result_success"], row["result_score_scaled"]) == ("true", "-0.5")
    assert row["voided"] == "false"
    assert row["statement"].encode() == world.stored_bodies()[0]
    other = dict(zip(header, second, strict=True))
    assert other["registration"] == "6fe2b1d5-2ee5-4a5b-9b3e-1f2a3b4c5d6e"
    assert other["object_type"] == "Activity"
    assert other["object"] == COURSE


def session(who: str, verbs: list[str], sid: str) -> list[dict[str, Any]]:
    ext = {"https://w3id.org/xapi/cmi5/context/extensions/sessionid": sid}
    return [stmt(v, who=who, context={"extensions": ext}) for v in verbs]


def test_attempts_and_completions_of_the_tenant_or_of_one_learner(world: World) -> None:
    world.post(*session("ann", [INITIALIZED, COMPLETED, TERMINATED], "s1"))
    world.post(*session("bob", [INITIALIZED], "s2"))
    world.post(*session("ann", [INITIALIZED, PASSED, TERMINATED], "s3"))
    world.project_all()
    svc = world.service()

    def export(kind: str, fmt: str, learner: str | None) -> list[Any]:
        job = svc.request(TENANT, kind, fmt, learner)
        done = svc.run(TENANT, job.id)
        assert done.status == "done", done.error
        assert done.blob_key is not None
        data = world.files.bytes_of(done.blob_key)
        if fmt == "csv":
            return list(csv.DictReader(io.StringIO(data.decode())))
        return [orjson.loads(x) for x in data.splitlines()]

    attempts = export("attempts", "ndjson", None)
    assert sorted(a["learner"] for a in attempts) == [ANN, ANN, BOB]
    assert [a["started"] for a in attempts] == sorted(
        (a["started"] for a in attempts), reverse=True
    )
    open_one = next(a for a in attempts if a["learner"] == BOB)
    assert (open_one["state"], open_one["completion"]) == ("open", None)
    assert len(export("attempts", "csv", ANN)) == 2
    completions = export("completions", "ndjson", None)
    assert [(c["learner"], c["completed"], c["passed"]) for c in completions] == [
        (ANN, False, True),
        (ANN, True, False),
    ]
    rows = export("completions", "csv", ANN)
    assert [r["passed"] for r in rows] == ["true", "false"]
    assert all(r["statement_ids"] for r in rows)
    assert export("completions", "csv", BOB) == []  # a header only: no achieved completion


def test_completion_and_attempt_rows_link_the_certificate_each_earned(world: World) -> None:
    """A completed or passed completion's row (and its attempt's) carries its certificate URL,
    the link the transcript shows; a failed-only one earned none: empty, never a dead link;
    an attempt without a completion has none either."""
    world.post(*session("ann", [INITIALIZED, PASSED, TERMINATED], "s1"))
    world.post(*session("bob", [INITIALIZED, FAILED, TERMINATED], "s2"))
    world.post(*session("cy", [INITIALIZED], "s3"))
    world.project_all()
    svc = world.service(
        certificate_url=lambda tenant, cid: f"https://lrs.test/certs/{tenant}/{cid}"
    )

    def export(kind: str, fmt: str) -> list[dict[str, Any]]:
        done = svc.run(TENANT, svc.request(TENANT, kind, fmt, None).id)
        assert done.blob_key is not None
        data = world.files.bytes_of(done.blob_key).decode()
        if fmt == "ndjson":
            return [orjson.loads(x) for x in data.splitlines()]
        return list(csv.DictReader(io.StringIO(data)))

    none = {"ndjson": None, "csv": ""}
    for fmt in ("ndjson", "csv"):
        rows = {r["learner"]: r for r in export("completions", fmt)}
        ann, bob = rows[ANN], rows[BOB]
        assert ann["certificate"] == f"https://lrs.test/certs/{TENANT}/{ann['completion_id']}"
        assert bob["certificate"] == none[fmt], fmt
        attempts = {r["learner"]: r for r in export("attempts", fmt)}
        if fmt == "ndjson":
            assert attempts[ANN]["completion"]["certificate"] == ann["certificate"]
            assert attempts[BOB]["completion"]["certificate"] is None
            assert attempts["mbox:mailto:cy@example.com"]["completion"] is None
        else:
            assert attempts[ANN]["certificate"] == ann["certificate"]
            assert (
                attempts[BOB]["certificate"]
                == attempts["mbox:mailto:cy@example.com"]["certificate"]
                == ""
            )
            assert list(attempts[ANN])[-1] == "certificate"  # a new column goes last
            assert list(rows[ANN])[-1] == "certificate"


# ------------------------------------------------------------------------------ downloads


def done_job(world: World, **options: Any) -> tuple[ExportService, ExportJob]:
    world.post(*many(3))
    svc = world.service(**options)
    job = svc.request(TENANT, "statements", "csv", None)
    return svc, svc.run(TENANT, job.id)


def test_a_signed_url_serves_the_file_until_it_expires(world: World) -> None:
    svc, job = done_job(world)
    url, expires = svc.download_url(job, expires_s=60)
    assert url.startswith("http://lrs.test/exports/")
    assert expires == world.clock.now // 1_000_000 + 60
    download = svc.open_download(url.rsplit("/", 1)[1])
    assert download.filename == f"acme-statements-{job.id}.csv"
    assert download.content_type.startswith("text/csv")
    assert job.blob_key is not None
    assert b"".join(download.chunks) == world.files.bytes_of(job.blob_key)
    world.clock.now += 61_000_000
    with pytest.raises(Gone, match=r"^export URL: expired at "):
        svc.open_download(url.rsplit("/", 1)[1])


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t[:-2] + ("A" if t[-2] != "A" else "B") + t[-1],  # the signature
        lambda t: sign_token(b"x" * 32, TENANT, t, 2**40),  # another key
        lambda t: "garbage",
        lambda t: ".",
        lambda t: t.split(".")[0],
    ],
)
def test_a_tampered_url_is_forbidden(world: World, tamper: Any) -> None:
    svc, job = done_job(world)
    url, _ = svc.download_url(job)
    token = url.rsplit("/", 1)[1]
    with pytest.raises(Forbidden, match="tampered"):
        svc.open_download(tamper(token))


def test_a_token_for_another_export_or_a_lost_file(world: World) -> None:
    svc, job = done_job(world)
    with pytest.raises(NotFound):
        svc.open_download(sign_token(KEY, TENANT, "no-such-export", 2**40))
    assert job.blob_key is not None
    world.files._files.pop(job.blob_key)  # the bucket's lifecycle expired it
    with pytest.raises(Gone, match="no longer kept"):
        svc.open_download(sign_token(KEY, TENANT, job.id, 2**40))


def test_url_lifetimes_are_bounded(world: World) -> None:
    svc, job = done_job(world)
    for bad in (0, 7 * 24 * 3600 + 1):
        with pytest.raises(BadRequest, match=r"^expires: "):
            svc.download_url(job, expires_s=bad)
