"""`make bench`: throughput and latency figures of the LRS, measured in-process on one core.

Sections (each prints its figures; nothing here ever fails on speed):

* ingest -- POST /xapi/statements (batches of 50) through the real Lambda handler
  (``functions/xapi_api/handler.lambda_handler`` fed API Gateway proxy events built by
  ``progress.local.server.to_event``) with (i) storage stubbed out, (ii) SQLite, (iii) DynamoDB
  on moto; plus a breakdown of where the time of the stubbed path goes.
* query -- GET /xapi/statements latency through the handler over 100,000 stored Statements in
  SQLite (the database is cached in ``.bench/``, keyed by generator and schema version);
  probed first as the LRS leaves it (no ANALYZE), measured after ANALYZE if that is pathological.
* documents -- State resource PUT / GET / POST merge / id list latency through the handler,
  SQLite and DynamoDB on moto (``loadtests/bench_documents.py``).
* import -- cold import of the handler (and of boto3) in fresh interpreters.
* progress -- statement → completion-event latency over HTTP in local mode, and the projection
  and certificate consumers' throughput (``loadtests/bench_progress.py``).
* transcripts -- GET /progress/transcript (JSON, PDF) for a learner with 500 completions
  (``loadtests/bench_transcripts.py``).

Options: ``--quick`` (small numbers: a smoke run), ``--fresh`` (rebuild the cached database),
``--only ingest,query,documents,import,progress,transcripts``, ``--profile`` (cProfile of the
stubbed ingest path).
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import dataclasses
import gc
import io
import logging
import math
import os
import platform
import pstats
import random
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Collection, Sequence
from contextlib import ExitStack, closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlencode

import orjson

from loadtests.generator import GENERATOR_VERSION, batches
from progress import bootstrap
from progress.app.clock import MonotonicClock
from progress.app.ports import StatementStore
from progress.app.statements import StatementService
from progress.domain.statements import (
    Attachment,
    NewStatement,
    Position,
    StatementQuery,
    StoredStatement,
    format_stored,
    index_keys,
)
from progress.domain.tenancy import Scope
from progress.edge.xapi.validation import validate_statement
from progress.local.server import LambdaContext, load_handler, to_event
from progress.settings import ENV_POWERTOOLS_METRICS_DISABLED, Settings

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
REPO = Path(__file__).resolve().parents[1]
FUNCTION = "xapi_api"
TENANT = "bench"
KEY, SECRET = "benchkey0001", "benchsecret0001"
BATCH = 50

# Targets printed beside the figures (never enforced).
TARGET_STUB_US = 100.0
TARGET_SQLITE_PER_S = 5_000.0
TARGET_QUERY_P95_MS = 30.0


@dataclass(frozen=True, slots=True)
class Sizes:
    stub_batches: int
    sqlite_batches: int
    dynamo_batches: int
    warmup_batches: int
    dynamo_warmup: int
    query_statements: int
    queries: int
    query_warmup: int
    import_runs: int
    breakdown_batches: int


FULL = Sizes(400, 400, 10, 20, 2, 100_000, 200, 10, 5, 100)
QUICK = Sizes(10, 10, 2, 3, 1, 2_000, 5, 1, 1, 10)


class BenchError(Exception):
    """The LRS answered a request with an error: reported, never worked around."""


# --------------------------------------------------------------------------------------------
# Output helpers


def out(line: str = "") -> None:
    print(line, flush=True)


class Progress:
    """Progress of a long step on stderr: a live line on a terminal, else a line per 25 %."""

    def __init__(self, label: str, total: int, stream: TextIO = sys.stderr) -> None:
        self.label, self.total, self.stream = label, total, stream
        self.tty = stream.isatty()
        self.start = time.perf_counter()
        self.last = 0.0
        self.next_quarter = 0.25

    def update(self, done: int) -> None:
        now = time.perf_counter()
        frac = done / self.total if self.total else 1.0
        if self.tty:
            if now - self.last < 0.2 and done < self.total:
                return
            self.last = now
            self.stream.write(
                f"\r  .. {self.label}: {done:,}/{self.total:,} ({frac:.0%}) {now - self.start:.1f}s"
            )
            self.stream.flush()
        elif frac >= self.next_quarter and done < self.total:
            self.stream.write(f"  .. {self.label}: {done:,}/{self.total:,} ({frac:.0%})\n")
            self.stream.flush()
            while frac >= self.next_quarter:
                self.next_quarter += 0.25

    def finish(self) -> None:
        if self.tty:
            self.stream.write("\r\033[K")
            self.stream.flush()


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    return ordered[max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))]


def verdict(ok: bool) -> str:
    return "meets target" if ok else "MISSES target"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def print_machine() -> None:
    out("== machine ==")
    out(f"CPU              {cpu_model()}")
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    out(f"os.cpu_count()   {os.cpu_count()}" + (f" (usable: {affinity})" if affinity else ""))
    out(f"Python           {platform.python_implementation()} {platform.python_version()}")
    out(f"platform         {platform.platform()}")
    if hasattr(os, "getloadavg"):
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
        out(f"load average     {load} (other work on the machine skews the figures)")
    out("Everything runs on ONE core, in this process, unless stated otherwise.")
    out()


# --------------------------------------------------------------------------------------------
# Services and requests


class DiscardingStatementStore:
    """A ``StatementStore`` whose writes go nowhere: no Statement is ever found.

    Used to measure everything but the storage write: the handler, Powertools routing, auth,
    parsing, validation, the use case (ids, stored, authority, serialization, index keys).
    """

    def insert(
        self,
        tenant: str,
        batch: Sequence[NewStatement],
        key_groups: dict[str, tuple[frozenset[str], ...]],
        attachments: Sequence[Attachment],
    ) -> None:
        return None

    def get(self, tenant: str, ids: Collection[str]) -> dict[str, StoredStatement]:
        return {}

    def referrers(self, tenant: str, ids: Collection[str]) -> dict[str, list[str]]:
        return {}

    def reindex(self, tenant: str, statements: Collection[StoredStatement]) -> None:
        return None

    def inherit(self, tenant: str, statement_id: str, groups: Sequence[frozenset[str]]) -> None:
        return None

    def scan(
        self,
        tenant: str,
        key: str,
        query: StatementQuery,
        after: Position | None,
        limit: int,
    ) -> tuple[list[StoredStatement], bool]:
        return [], True

    def attachments(self, tenant: str, hashes: Collection[str]) -> dict[str, Attachment]:
        return {}


_port_check: type[StatementStore] = DiscardingStatementStore  # conforms to the port (mypy)


def stubbed_services() -> bootstrap.Services:
    """The memory build with its Statement store replaced by the discarding one."""
    base = bootstrap.build(Settings(backend="memory"))
    store = DiscardingStatementStore()
    statements = StatementService(
        store,
        MonotonicClock(),
        max_page=base.settings.max_page,
        consistency_lag_us=base.settings.consistency_lag_ms * 1000,
    )
    return dataclasses.replace(base, statements=statements, statement_store=store)


def with_credential(svc: bootstrap.Services) -> bootstrap.Services:
    svc.tenants.create_tenant(TENANT, "Benchmark tenant")
    if svc.tenant_store.get_credential(KEY) is None:
        svc.tenants.create_credential(
            TENANT, frozenset({Scope.ALL}), label="bench", key=KEY, secret=SECRET
        )
    return svc


def headers(key: str = KEY, secret: str = SECRET) -> dict[str, str]:
    token = base64.b64encode(f"{key}:{secret}".encode()).decode()
    return {
        "Host": "lrs.example.com",
        "User-Agent": "progress-bench/1.0",
        "Authorization": f"Basic {token}",
        "X-Experience-API-Version": "1.0.3",
        "Content-Type": "application/json",
        "Accept": "application/json",
    }


def post_event(batch: list[dict[str, Any]]) -> dict[str, Any]:
    return to_event("POST", "/xapi/statements", headers(), orjson.dumps(batch))


def get_event(params: dict[str, str]) -> dict[str, Any]:
    target = "/xapi/statements" + (f"?{urlencode(params)}" if params else "")
    return to_event("GET", target, headers(), b"")


def check_post(response: dict[str, Any], batch: list[dict[str, Any]], where: str) -> None:
    """A 200 with one id per Statement, else a BenchError naming the error and the Statement."""
    status = int(response.get("statusCode", 0))
    body = str(response.get("body") or "")
    if status == 200:
        ids = orjson.loads(body)
        if isinstance(ids, list) and len(ids) == len(batch):
            return
        raise BenchError(f"{where}: 200 but {body[:200]!r} is not {len(batch)} ids")
    detail = f"{where}: POST /xapi/statements -> {status} {body}"
    m = re.search(r"statements\[(\d+)\]", body)
    if m and int(m.group(1)) < len(batch):
        statement = orjson.dumps(batch[int(m.group(1))], option=orjson.OPT_INDENT_2).decode()
        detail += f"\nthe Statement at fault (statements[{m.group(1)}]):\n{statement}"
    raise BenchError(detail)


# --------------------------------------------------------------------------------------------
# Ingest


@dataclass(slots=True)
class IngestResult:
    name: str
    batches: int
    statements: int
    batch_ns: list[int] = field(default_factory=list)
    note: str = ""

    @property
    def total_ns(self) -> int:
        return sum(self.batch_ns)

    @property
    def us_per_statement(self) -> float:
        return self.total_ns / 1000 / self.statements

    @property
    def per_second(self) -> float:
        return self.statements / (self.total_ns / 1e9)

    def p(self, q: float) -> float:
        return percentile([ns / 1e6 for ns in self.batch_ns], q)


def ingest(
    handler: Handler,
    svc: bootstrap.Services,
    name: str,
    n_batches: int,
    warmup: int,
    seed: int,
    note: str = "",
) -> IngestResult:
    """POST ``warmup`` then ``n_batches`` batches of 50; only the handler call is timed."""
    bootstrap.install(svc)
    result = IngestResult(name, n_batches, n_batches * BATCH, note=note)
    progress = Progress(f"{name}: batches", warmup + n_batches)
    try:
        for i, batch in enumerate(batches(warmup + n_batches, BATCH, seed=seed)):
            event = post_event(batch)  # what API Gateway does: not the Lambda's time
            context = LambdaContext(FUNCTION)
            t0 = time.perf_counter_ns()
            response = handler(event, context)
            elapsed = time.perf_counter_ns() - t0
            check_post(response, batch, f"{name}, batch {i}")
            if i >= warmup:
                result.batch_ns.append(elapsed)
            progress.update(i + 1)
    finally:
        progress.finish()
    return result


def ingest_line(r: IngestResult, target: str) -> str:
    return (
        f"  {r.name:<20} {r.us_per_statement:>9,.1f} µs/stmt {r.per_second:>8,.0f}/s"
        f"  batch p95 {r.p(95):>8.2f} ms  {target}"
    )


def print_ingest(r: IngestResult, target: str = "") -> None:
    out(
        f"{r.name:<22} {r.per_second:>9,.0f} statements/s  {r.us_per_statement:>8,.1f} µs/statement"
        f"  batch p50 {r.p(50):>7.2f} ms  p95 {r.p(95):>7.2f} ms"
        f"  ({r.statements:,} statements in {r.batches:,} batches)"
    )
    if target:
        out(f"{'':<22} {target}")
    if r.note:
        out(f"{'':<22} note: {r.note}")


def time_ns(fn: Callable[[], object], repeat: int = 1) -> int:
    t0 = time.perf_counter_ns()
    for _ in range(repeat):
        fn()
    return (time.perf_counter_ns() - t0) // repeat


def breakdown(handler: Handler, svc: bootstrap.Services, n_batches: int, seed: int) -> None:
    """Where the stubbed path spends its time, each part timed alone on the same batches."""
    bootstrap.install(svc)
    principal = svc.auth.authenticate(headers()["Authorization"])
    data = list(batches(n_batches, BATCH, seed=seed))
    bodies = [orjson.dumps(b) for b in data]
    parsed = [orjson.loads(b) for b in bodies]
    events = [to_event("POST", "/xapi/statements", headers(), b) for b in bodies]
    n = n_batches * BATCH

    def every_batch(fn: Callable[[int], object]) -> Callable[[], None]:
        def run() -> None:
            for i in range(n_batches):
                fn(i)

        return run

    def validate(i: int) -> None:
        for j, s in enumerate(parsed[i]):
            validate_statement(s, f"statements[{j}]")

    def keys(i: int) -> None:
        for s in parsed[i]:
            index_keys(s)

    def dumps(i: int) -> None:
        for s in parsed[i]:
            orjson.dumps(s)

    clock = MonotonicClock()

    def stored(i: int) -> None:
        for _ in parsed[i]:
            format_stored(clock.now_us())

    parts: list[tuple[str, Callable[[], None]]] = [
        ("parse JSON body (orjson.loads)", every_batch(lambda i: orjson.loads(bodies[i]))),
        ("validate_statement", every_batch(validate)),
        (
            "use case StatementService.store",
            every_batch(lambda i: svc.statements.store(principal, parsed[i])),
        ),
        ("  of which index_keys", every_batch(keys)),
        ("  of which orjson.dumps of bodies", every_batch(dumps)),
        ("  of which clock + format_stored", every_batch(stored)),
        (
            "whole handler (lambda_handler)",
            every_batch(lambda i: handler(events[i], LambdaContext(FUNCTION))),
        ),
    ]
    timings: dict[str, float] = {}
    for label, fn in parts:
        fn()  # warm-up
        timings[label] = min(time_ns(fn) for _ in range(3)) / 1000 / n
    whole = timings["whole handler (lambda_handler)"]
    main_parts = (
        "parse JSON body (orjson.loads)",
        "validate_statement",
        "use case StatementService.store",
    )
    rest = whole - sum(timings[k] for k in main_parts)
    out(f"breakdown of the stubbed path (µs per statement, best of 3 over {n:,} statements):")
    for label, us in timings.items():
        out(f"  {label:<40} {us:>7.1f} µs  ({us / whole:>4.0%})")
    out(
        f"  {'edge: event, auth, routing, response':<40} {rest:>7.1f} µs  ({rest / whole:>4.0%})"
        "  = whole - parse - validate - use case"
    )


def profile_stubbed(handler: Handler, svc: bootstrap.Services, n_batches: int, seed: int) -> None:
    bootstrap.install(svc)
    events = [post_event(b) for b in batches(n_batches, BATCH, seed=seed)]
    handler(events[0], LambdaContext(FUNCTION))
    profiler = cProfile.Profile()
    profiler.enable()
    for event in events[1:]:
        handler(event, LambdaContext(FUNCTION))
    profiler.disable()
    for sort in ("tottime", "cumulative"):
        buf = io.StringIO()
        pstats.Stats(profiler, stream=buf).strip_dirs().sort_stats(sort).print_stats(25)
        out(f"-- cProfile of the stubbed ingest ({n_batches - 1} batches), by {sort} --")
        out("\n".join(line for line in buf.getvalue().splitlines() if line.strip())[:6000])


def run_ingest(args: argparse.Namespace, sizes: Sizes, summary: list[str]) -> None:
    out("== ingest: POST /xapi/statements through lambda_handler, batches of 50 ==")
    out("Only the handler call is timed (the event is built outside the timer, as API Gateway")
    out(f"would); {sizes.warmup_batches} warm-up batches first; validation and everything else on.")
    handler = load_handler(FUNCTION)

    svc = with_credential(stubbed_services())
    stub = ingest(handler, svc, "storage stubbed", sizes.stub_batches, sizes.warmup_batches, 11)
    ok = stub.us_per_statement <= TARGET_STUB_US
    print_ingest(stub, f"target ≤ {TARGET_STUB_US:.0f} µs/statement: {verdict(ok)}")
    summary.append(ingest_line(stub, f"target ≤ {TARGET_STUB_US:.0f} µs/statement: {verdict(ok)}"))
    breakdown(handler, svc, sizes.breakdown_batches, 12)
    if args.profile:
        profile_stubbed(handler, svc, sizes.breakdown_batches + 1, 13)

    with tempfile.TemporaryDirectory(prefix="bench-sqlite-") as tmp:
        svc = with_credential(bootstrap.build(Settings(backend="sqlite", data_dir=Path(tmp))))
        lite = ingest(
            handler,
            svc,
            "SQLite (temp dir)",
            sizes.sqlite_batches,
            sizes.warmup_batches,
            21,
            note="WAL, synchronous=NORMAL, one transaction per batch, fresh database",
        )
        ok = lite.per_second >= TARGET_SQLITE_PER_S
        print_ingest(lite, f"target ≥ {TARGET_SQLITE_PER_S:,.0f} statements/s: {verdict(ok)}")
        summary.append(
            ingest_line(lite, f"target ≥ {TARGET_SQLITE_PER_S:,.0f} statements/s: {verdict(ok)}")
        )
        bootstrap.install(None)
        svc.close()
        del svc
        gc.collect()

    dynamo = run_dynamo(handler, sizes)
    if dynamo is not None:
        summary.append(ingest_line(dynamo, "moto, not DynamoDB: no target"))
    out()


def run_dynamo(handler: Handler, sizes: Sizes) -> IngestResult | None:
    """DynamoDB adapter on in-process moto, started as the local runtime starts it."""
    try:
        import moto  # noqa: F401

        from progress.adapters.dynamodb import statements as _dynamo_statements  # noqa: F401
        from progress.local import moto as local_moto
    except ImportError as exc:
        out(f"{'DynamoDB (moto)':<22} skipped: {exc}")
        return None
    note = (
        f"only {sizes.dynamo_batches} batches: moto emulates DynamoDB in Python and is far "
        "slower than DynamoDB itself (no network here either), so this is a moto figure, "
        "not a DynamoDB one"
    )
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="bench-ddb-") as tmp:
        settings = Settings(backend="dynamodb", data_dir=Path(tmp), table_name="progress-bench")
        client = local_moto.start(stack, settings.table_name)
        svc = with_credential(bootstrap.build(settings, dynamodb_client=client))
        result = ingest(
            handler, svc, "DynamoDB (moto)", sizes.dynamo_batches, sizes.dynamo_warmup, 31, note
        )
        print_ingest(result)
        bootstrap.install(None)
    return result


# --------------------------------------------------------------------------------------------
# Query latency


QUERY_SEED = 41
BUILD_BATCH = 500
SAMPLES = 500


def _agent_param(agent: dict[str, Any]) -> str:
    """The agent as a client would send it: objectType and the one IFI, no name."""
    ifi = {k: v for k, v in agent.items() if k not in ("name", "objectType", "member")}
    return orjson.dumps({"objectType": agent.get("objectType", "Agent"), **ifi}).decode()


def _sample(stmt: dict[str, Any], rng: random.Random) -> dict[str, str]:
    ctx = stmt["context"]
    acts = ctx.get("contextActivities", {})
    related_acts = [stmt["object"]["id"]]
    related_acts += [a["id"] for key in ("parent", "grouping") for a in acts.get(key, [])]
    related_agents = [stmt["actor"]] + [ctx[k] for k in ("instructor", "team") if k in ctx]
    return {
        "agent": _agent_param(stmt["actor"]),
        "verb": stmt["verb"]["id"],
        "activity": stmt["object"]["id"],
        "registration": ctx["registration"],
        "related_activity": rng.choice(related_acts),
        "related_agent": _agent_param(rng.choice(related_agents)),
    }


def query_db(cache: Path, n: int, fresh: bool) -> tuple[Path, dict[str, Any]]:
    """The cached SQLite database of ``n`` Statements (built through the service layer)."""
    from progress.adapters.sqlite import LATEST

    name = f"query-g{GENERATOR_VERSION}-schema{LATEST}-n{n}"
    final = cache / name
    meta_path = final / "meta.json"
    if fresh and final.exists():
        shutil.rmtree(final)
    if meta_path.exists():
        meta: dict[str, Any] = orjson.loads(meta_path.read_bytes())
        out(f"using the cached database {final.relative_to(cache.parent)} (--fresh rebuilds it)")
        return final, meta
    building = cache / (name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    svc = with_credential(bootstrap.build(Settings(backend="sqlite", data_dir=building)))
    principal = svc.auth.authenticate(headers()["Authorization"])
    rng = random.Random(QUERY_SEED)
    picked = set(rng.sample(range(n), min(SAMPLES, n)))
    samples: list[dict[str, str]] = []
    since: list[str] = []
    n_batches = math.ceil(n / BUILD_BATCH)
    progress = Progress(f"storing {n:,} Statements in {building.name}", n)
    t0 = time.perf_counter()
    done = 0
    for batch in batches(n_batches, BUILD_BATCH, seed=QUERY_SEED):
        batch = batch[: n - done]
        for j, stmt in enumerate(batch):
            if done + j in picked:
                samples.append(_sample(stmt, rng))
        result = svc.statements.store(principal, batch)
        since.append(format_stored(result.stored_us))
        done += len(batch)
        progress.update(done)
    progress.finish()
    elapsed = time.perf_counter() - t0
    out(f"built {n:,} Statements in {elapsed:.1f} s ({n / elapsed:,.0f}/s incl. generation)")
    svc.close()
    del svc
    gc.collect()
    with closing(sqlite3.connect(building / "progress.db", isolation_level=None)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    meta = {"statements": n, "samples": samples, "since": since, "key": KEY, "secret": SECRET}
    (building / "meta.json").write_bytes(orjson.dumps(meta))
    shutil.rmtree(final, ignore_errors=True)
    building.rename(final)
    return final, meta


FilterMaker = Callable[[dict[str, str], random.Random, dict[str, Any]], dict[str, str]]
FILTERS: list[tuple[str, FilterMaker]] = [
    ("agent", lambda s, r, m: {"agent": s["agent"]}),
    ("verb", lambda s, r, m: {"verb": s["verb"]}),
    ("activity", lambda s, r, m: {"activity": s["activity"]}),
    ("registration", lambda s, r, m: {"registration": s["registration"]}),
    (
        "activity&related_activities",
        lambda s, r, m: {"activity": s["related_activity"], "related_activities": "true"},
    ),
    (
        "agent&related_agents",
        lambda s, r, m: {"agent": s["related_agent"], "related_agents": "true"},
    ),
    ("since", lambda s, r, m: {"since": r.choice(m["since"])}),
    ("no filter", lambda s, r, m: {}),
]


@dataclass(slots=True)
class QueryResult:
    name: str
    limit: str
    ms: list[float]
    rows: list[int]
    more: int


PROBE_DEADLINE_S = 5.0
PATHOLOGICAL_MS = 1_000.0
PROBES = (("agent", "25"), ("verb", "default"))


def set_statistics(db_path: Path, analyze: bool) -> None:
    """Drop the planner statistics (the LRS never runs ANALYZE), or gather them."""
    with closing(sqlite3.connect(db_path, isolation_level=None)) as conn:
        if analyze:
            conn.execute("ANALYZE")
        else:
            conn.execute("DROP TABLE IF EXISTS sqlite_stat1")
            conn.execute("DROP TABLE IF EXISTS sqlite_stat4")


def sqlite_services(path: Path) -> tuple[bootstrap.Services, sqlite3.Connection | None]:
    """Services over the database in ``path`` and, if reachable, this thread's connection
    (only to interrupt a query past its deadline)."""
    svc = bootstrap.build(Settings(backend="sqlite", data_dir=path))
    conn = getattr(getattr(svc.statement_store, "_db", None), "conn", None)
    return svc, conn if isinstance(conn, sqlite3.Connection) else None


def get_once(
    handler: Handler,
    params: dict[str, str],
    conn: sqlite3.Connection | None = None,
    deadline_s: float | None = None,
) -> tuple[int, dict[str, Any] | None]:
    """One timed GET: (ns, StatementResult), or (ns, None) when interrupted at the deadline."""
    fired = threading.Event()

    def interrupt() -> None:
        fired.set()
        if conn is not None:
            conn.interrupt()

    timer = threading.Timer(deadline_s, interrupt) if deadline_s and conn else None
    logger = logging.getLogger("progress.xapi")
    event, context = get_event(params), LambdaContext(FUNCTION)
    if timer is not None:
        logger.disabled = True  # an interrupted query is logged as an unexpected error
        timer.start()
    try:
        t0 = time.perf_counter_ns()
        response = handler(event, context)
        elapsed = time.perf_counter_ns() - t0
    finally:
        if timer is not None:
            timer.cancel()
            logger.disabled = False
    if response.get("statusCode") != 200:
        if fired.is_set():
            return elapsed, None
        raise BenchError(
            f"GET /xapi/statements?{urlencode(params)} -> "
            f"{response.get('statusCode')} {response.get('body')}"
        )
    page: dict[str, Any] = orjson.loads(response["body"])
    return elapsed, page


def probe(handler: Handler, conn: sqlite3.Connection | None, meta: dict[str, Any]) -> list[str]:
    """A query or two with a deadline, to catch plans that make every GET take seconds."""
    sample = meta["samples"][0]
    found = []
    for name, limit in PROBES:
        params = dict(FILTERS)[name](sample, random.Random(0), meta)
        if limit != "default":
            params["limit"] = limit
        ns, page = get_once(handler, params, conn, PROBE_DEADLINE_S)
        shown = f"> {PROBE_DEADLINE_S * 1000:,.0f} ms (interrupted)" if page is None else ""
        found.append(f"{name} limit={limit}: {shown or f'{ns / 1e6:,.0f} ms'}")
        if page is None or ns / 1e6 > PATHOLOGICAL_MS:
            found[-1] += " !"
    return found


def run_queries(args: argparse.Namespace, sizes: Sizes, summary: list[str]) -> None:
    n = sizes.query_statements
    out(f"== query: GET /xapi/statements through lambda_handler, SQLite, {n:,} Statements ==")
    path, meta = query_db(Path(args.cache_dir), n, args.fresh)
    db_path = path / "progress.db"
    handler = load_handler(FUNCTION)
    set_statistics(db_path, analyze=False)
    svc, conn = sqlite_services(path)
    bootstrap.install(svc)
    probes = probe(handler, conn, meta)
    state = "as the LRS leaves it (no ANALYZE statistics)"
    out(f"probe, database {state}: " + "; ".join(probes))
    summary.append(f"query, SQLite, {n:,} Statements, {state}: " + "; ".join(probes))
    if any(p.endswith("!") for p in probes):
        out("  !! pathologically slow: without planner statistics SQLite picks a plan that makes a")
        out("  !! page of Statements cost seconds (see loadtests/README.md). The latencies below")
        out("  !! are measured AFTER running ANALYZE (the LRS runs PRAGMA optimize when it stops).")
        bootstrap.install(None)
        svc.close()
        del svc, conn
        gc.collect()
        out("running ANALYZE ...")
        set_statistics(db_path, analyze=True)
        svc, _ = sqlite_services(path)
        bootstrap.install(svc)
        state = "after ANALYZE (not done by the LRS)"
    rng = random.Random(QUERY_SEED + 1)
    samples: list[dict[str, str]] = meta["samples"]
    results: list[QueryResult] = []
    total = len(FILTERS) * 2 * (sizes.queries + sizes.query_warmup)
    progress = Progress("queries", total)
    done = 0
    try:
        for name, make in FILTERS:
            for limit in ("25", "default"):
                res = QueryResult(name, limit, [], [], 0)
                for i in range(sizes.query_warmup + sizes.queries):
                    params = make(rng.choice(samples), rng, meta)
                    if limit != "default":
                        params["limit"] = limit
                    elapsed, page = get_once(handler, params)
                    if i >= sizes.query_warmup and page is not None:
                        res.ms.append(elapsed / 1e6)
                        res.rows.append(len(page["statements"]))
                        res.more += bool(page["more"])
                    done += 1
                    progress.update(done)
                results.append(res)
    finally:
        progress.finish()
        bootstrap.install(None)
        svc.close()
    out(f"database {state}:")
    out(f"{sizes.queries} queries per row after {sizes.query_warmup} warm-up; filter values drawn")
    out("from stored Statements; default limit = MAX_PAGE (1000); rows = Statements returned.")
    out(
        f"{'filter':<28} {'limit':>7} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'avg rows':>9}"
        f" {'more':>5}  target p95 ≤ {TARGET_QUERY_P95_MS:.0f} ms"
    )
    for r in results:
        p95 = percentile(r.ms, 95)
        out(
            f"{r.name:<28} {r.limit:>7} {percentile(r.ms, 50):>8.2f} {p95:>8.2f}"
            f" {max(r.ms):>8.2f} {statistics.fmean(r.rows):>9.1f} {r.more / len(r.ms):>5.0%}"
            f"  {verdict(p95 <= TARGET_QUERY_P95_MS)}"
        )
    summary.append(f"  {state}: p50 / p95 ms (Statements returned on average)")
    summary.append(f"  {'filter':<28} {'limit=25':>24} {'default limit (1000)':>26}")
    for name, _ in FILTERS:
        cells = [
            f"{percentile(r.ms, 50):.2f} / {percentile(r.ms, 95):.2f}"
            f" ({statistics.fmean(r.rows):.0f})"
            for r in results
            if r.name == name
        ]
        summary.append(f"  {name:<28} {cells[0]:>24} {cells[1]:>26}")
    worst = max(results, key=lambda r: percentile(r.ms, 95))
    p95 = percentile(worst.ms, 95)
    summary.append(
        f"  worst p95 {p95:.2f} ms ({worst.name}, limit {worst.limit}):"
        f" target ≤ {TARGET_QUERY_P95_MS:.0f} ms: {verdict(p95 <= TARGET_QUERY_P95_MS)}"
    )
    out()


# --------------------------------------------------------------------------------------------
# Cold import


def import_snippets(root: Path) -> dict[str, str]:
    """Code timed in a fresh interpreter, against the project copy at ``root``."""
    handler = root / "functions" / FUNCTION / "handler.py"
    return {
        "handler module (as Lambda loads it)": (
            "import importlib.util\n"
            f"spec = importlib.util.spec_from_file_location('functions.{FUNCTION}.handler', "
            f"{str(handler)!r})\n"
            "module = importlib.util.module_from_spec(spec)\n"
            "spec.loader.exec_module(module)\n"
            "module.lambda_handler\n"
        ),
        f'load_handler("{FUNCTION}") (+ progress.local.server)': (
            f"from progress.local.server import load_handler\nload_handler({FUNCTION!r})\n"
        ),
        "import boto3 (for comparison)": "import boto3\n",
    }


def _timed_import(snippet: str, env: dict[str, str], root: Path) -> float:
    code = (
        "import time\nt0 = time.perf_counter_ns()\n"
        + snippet
        + "elapsed = time.perf_counter_ns() - t0\n"
        + "import progress\n"
        + f"assert progress.__file__.startswith({str(root)!r}), progress.__file__\n"
        + "print(elapsed)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=root, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise BenchError(f"cold import failed:\n{code}\n{done.stderr}")
    return int(done.stdout.strip().splitlines()[-1]) / 1e6


def project_copy(dest: Path) -> Path:
    """The handler and the ``progress`` package copied without any ``__pycache__``."""
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    package = Path("layers", "core", "python", "progress")
    shutil.copytree(REPO / package, dest / package, ignore=skip)
    shutil.copytree(REPO / "functions" / FUNCTION, dest / "functions" / FUNCTION, ignore=skip)
    return dest


def run_imports(args: argparse.Namespace, sizes: Sizes, summary: list[str]) -> None:
    runs = sizes.import_runs
    out(f"== cold import: a fresh interpreter per run, median of {runs} ==")
    cache = Path(args.cache_dir) / "pycache"
    shown = cache.relative_to(REPO) if cache.is_relative_to(REPO) else cache
    out("Timed from the first import statement (interpreter start-up excluded), against a copy")
    out("of functions/ and progress/ without __pycache__ (first on PYTHONPATH). Modes:")
    out("  'project not precompiled': PYTHONDONTWRITEBYTECODE=1, so project modules are compiled")
    out("    on every import (a Lambda zip without .pyc); installed packages use pip's .pyc.")
    out(f"  'all .pyc cached': a bytecode cache primed first ({shown}, PYTHONPYCACHEPREFIX).")
    handler_ms: dict[str, float] = {}
    boto3_ms: dict[str, float] = {}
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPYCACHEPREFIX", "PYTHONDONTWRITEBYTECODE", "PYTHONPATH")
    }
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        root = project_copy(Path(tmp))
        base["PYTHONPATH"] = str(root / "layers" / "core" / "python")
        modes = {
            "project not precompiled": {**base, "PYTHONDONTWRITEBYTECODE": "1"},
            "all .pyc cached": {**base, "PYTHONPYCACHEPREFIX": str(cache)},
        }
        for mode, env in modes.items():
            for label, snippet in import_snippets(root).items():
                if "PYTHONPYCACHEPREFIX" in env:
                    _timed_import(snippet, env, root)  # prime the bytecode cache
                times = [_timed_import(snippet, env, root) for _ in range(runs)]
                med = statistics.median(times)
                out(
                    f"  {mode:<24} {label:<52} {med:>6.0f} ms  (runs: "
                    + ", ".join(f"{t:.0f}" for t in times)
                    + ")"
                )
                if label.startswith("handler"):
                    handler_ms[mode] = med
                elif "boto3" in label:
                    boto3_ms[mode] = med
    summary.append(f"cold import, median of {runs}: handler module / import boto3")
    summary.extend(
        f"  {mode:<28} {handler_ms[mode]:>7.0f} ms / {boto3_ms[mode]:>4.0f} ms" for mode in modes
    )
    out()


# --------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m loadtests.bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="small numbers: a smoke run")
    parser.add_argument("--fresh", action="store_true", help="rebuild the cached query database")
    parser.add_argument("--profile", action="store_true", help="cProfile the stubbed ingest path")
    parser.add_argument(
        "--only",
        default="ingest,query,documents,import,progress,transcripts,exports",
        help="sections to run",
    )
    parser.add_argument("--cache-dir", default=str(REPO / ".bench"), help="default: .bench/")
    args = parser.parse_args(argv)
    sections = {s.strip() for s in args.only.split(",") if s.strip()}
    known = {"ingest", "query", "documents", "import", "progress", "transcripts", "exports"}
    unknown = sections - known
    if unknown:
        parser.error(f"--only: unknown section(s) {', '.join(sorted(unknown))}")
    sizes = QUICK if args.quick else FULL
    # Nobody collects EMF metrics here: keep stdout for the figures (as `make run` does).
    os.environ.setdefault(ENV_POWERTOOLS_METRICS_DISABLED, "true")
    print_machine()
    if args.quick:
        out("--quick: small numbers, a smoke run; the figures are not meaningful.\n")
    summary: list[str] = []
    started = time.perf_counter()
    try:
        if "ingest" in sections:
            summary.append("ingest via lambda_handler, batches of 50: µs/statement, statements/s")
            run_ingest(args, sizes, summary)
        if "query" in sections:
            run_queries(args, sizes, summary)
        if "documents" in sections:
            from loadtests.bench_documents import run_documents

            run_documents(args.quick, summary)
        if "import" in sections:
            run_imports(args, sizes, summary)
        if "progress" in sections:
            from loadtests.bench_progress import run_progress

            run_progress(args.quick, summary)
        if "transcripts" in sections:
            from loadtests.bench_transcripts import run_transcripts

            run_transcripts(args.quick, summary)
        if "exports" in sections:
            from loadtests.bench_exports import run_exports

            run_exports(args.quick, summary)
    except BenchError as exc:
        out(f"\nERROR: the LRS rejected a benchmark request (not worked around):\n{exc}")
        return 1
    out("== summary ==" + (" (--quick: not meaningful)" if args.quick else ""))
    for line in summary:
        out(line)
    out(f"(bench took {time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
