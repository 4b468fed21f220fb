"""`make bench` section "transcripts": GET /progress/transcript through the Lambda handler for
a learner with 500 completions (and 20 attempts in progress), as JSON and as PDF, on SQLite.
p50/p95 over repeated requests (target p95 < 200 ms; the seed's SLO is 2 s), and the fastest
request: on a shared machine the spread between runs is the machine's (CPU time equals wall
time in the slow requests), the minimum shows what the code costs."""

from __future__ import annotations

import base64
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

import orjson

from loadtests.bench import Progress, out, percentile, verdict
from loadtests.bench_progress import session_batch
from progress import bootstrap
from progress.domain.tenancy import Scope
from progress.local.server import LambdaContext, load_handler, to_event
from progress.settings import Settings

KEY, SECRET = "bench-transcripts", "bench-transcripts-secret"


def run_transcripts(quick: bool, summary: list[str]) -> None:
    completions, reps = (50, 5) if quick else (500, 100)
    out(f"== transcripts: one learner with {completions} completions, JSON and PDF ==")
    with tempfile.TemporaryDirectory(prefix="bench-transcripts-") as tmp:
        settings = Settings(data_dir=Path(tmp), cursor_secret="bench-transcripts-cursor-key")
        svc = bootstrap.build(settings)
        bootstrap.install(svc)
        try:
            svc.tenants.create_tenant("bench", "bench")
            svc.tenants.create_credential("bench", frozenset({Scope.ALL}), key=KEY, secret=SECRET)
            auth = "Basic " + base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
            principal = svc.auth.authenticate(auth)
            progress = Progress("storing sessions", completions + 20)
            for n in range(completions + 20):
                batch = session_batch(0, str(uuid.uuid4()))  # learner 0, one course each ...
                for s in batch:
                    s["object"] = {
                        "id": f"https://example.com/courses/{n}",
                        "definition": {"name": {"en-US": f"Course {n}: workplace safety"}},
                    }
                if n >= completions:
                    batch = batch[:1]  # initialized only: in progress
                svc.statements.store(principal, batch)
                progress.update(n + 1)
            progress.finish()
            assert svc.outbox is not None
            while rows := svc.outbox.pending(5_000):
                svc.outbox.published([s for s, _ in rows])
                for _, env in rows:
                    if env["type"] == "progress.statement.stored.v1":
                        svc.progress.handle(env)
            handler = load_handler("progress_api")
            agent = orjson.dumps({"mbox": "mailto:l0@example.com"}).decode()
            for kind in ("json", "pdf"):
                target = "/progress/transcript?" + urlencode({"agent": agent, "format": kind})
                event = to_event("GET", target, {"Authorization": auth}, b"")
                times: list[float] = []
                size = 0
                for i in range(reps + 2):
                    began = time.perf_counter()
                    response = handler(event, LambdaContext("progress_api"))
                    elapsed = (time.perf_counter() - began) * 1000
                    if response["statusCode"] != 200:
                        raise RuntimeError(f"transcript {kind}: {response['statusCode']}")
                    if i >= 2:  # two warm-up requests (imports, caches)
                        times.append(elapsed)
                    size = len(response["body"])
                p50, p95 = percentile(times, 50), percentile(times, 95)
                out(
                    f"  {kind:<4} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  min {min(times):6.1f} ms"
                    f"  ({reps} requests, body {size / 1024:.0f} KB)  {verdict(p95 < 200)}:"
                    " p95 < 200 ms"
                )
                summary.append(
                    f"  transcript {kind}, {completions} completions  p50 {p50:.1f} ms"
                    f"  p95 {p95:.1f} ms"
                )
        finally:
            bootstrap.install(None)
            svc.close()
    out()
