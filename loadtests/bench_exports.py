"""`make bench` section "exports": a tenant's Statements exported as NDJSON and as CSV on SQLite,
by the exporter's own code path (``ExportService.run``): rows/s and MB/s, on one core. Also the
latency of requesting an export through the admin API's Lambda handler (with Idempotency-Key)."""

from __future__ import annotations

import base64
import tempfile
import time
import uuid
from pathlib import Path

import orjson

from loadtests.bench import Progress, out, percentile
from progress import bootstrap
from progress.domain.tenancy import Scope
from progress.local.server import LambdaContext, load_handler, to_event
from progress.settings import Settings

KEY, SECRET = "bench-exports", "bench-exports-secret"


def _statement(n: int) -> dict[str, object]:
    return {
        "id": str(uuid.uuid4()),
        "actor": {"mbox": f"mailto:l{n % 500}@example.com", "name": f"Learner {n % 500}"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
        "object": {"id": f"https://example.com/courses/{n % 40}"},
        "result": {"completion": True, "score": {"scaled": (n % 100) / 100}, "duration": "PT5M"},
    }


def run_exports(quick: bool, summary: list[str]) -> None:
    total, reps = (2_000, 5) if quick else (50_000, 30)
    out(f"== exports: {total} Statements of one tenant, NDJSON and CSV, SQLite ==")
    with tempfile.TemporaryDirectory(prefix="bench-exports-") as tmp:
        settings = Settings(data_dir=Path(tmp), cursor_secret="bench-exports-cursor-key")
        svc = bootstrap.build(settings)
        bootstrap.install(svc)
        try:
            svc.tenants.create_tenant("bench", "bench")
            svc.tenants.create_credential(
                "bench", frozenset({Scope.ALL, Scope.ADMIN}), key=KEY, secret=SECRET
            )
            auth = "Basic " + base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
            principal = svc.auth.authenticate(auth)
            progress = Progress("storing statements", total)
            for start in range(0, total, 500):
                batch = [_statement(n) for n in range(start, min(start + 500, total))]
                svc.statements.store(principal, batch)
                progress.update(start + len(batch))
            progress.finish()
            assert svc.outbox is not None
            while rows := svc.outbox.pending(5_000):  # the export does not need the projection
                svc.outbox.published([s for s, _ in rows])
            for fmt in ("ndjson", "csv"):
                job = svc.exports.request("bench", "statements", fmt, None)
                began = time.perf_counter()
                done = svc.exports.run("bench", job.id)
                elapsed = time.perf_counter() - began
                if done.status != "done" or done.rows != total:
                    raise RuntimeError(f"export {fmt}: {done.status} {done.rows} {done.error}")
                size_mb = (done.size or 0) / 1e6
                out(
                    f"  {fmt:<6} {done.rows / elapsed:9,.0f} rows/s  {size_mb / elapsed:6.1f} MB/s"
                    f"  ({done.rows} rows, {size_mb:.1f} MB in {elapsed:.2f} s)"
                )
                summary.append(
                    f"  export statements {fmt}: {done.rows / elapsed:,.0f} rows/s"
                    f" ({total} rows, {size_mb:.1f} MB)"
                )
            handler = load_handler("admin_api")
            body = orjson.dumps({"kind": "attempts", "format": "csv"})
            times: list[float] = []
            for i in range(reps + 2):
                headers = {
                    "Authorization": auth,
                    "Content-Type": "application/json",
                    "Idempotency-Key": str(uuid.uuid4()),
                }
                event = to_event("POST", "/admin/tenants/bench/exports", headers, body)
                began = time.perf_counter()
                response = handler(event, LambdaContext("admin_api"))
                elapsed_ms = (time.perf_counter() - began) * 1000
                if response["statusCode"] != 202:
                    raise RuntimeError(f"POST exports: {response['statusCode']} {response['body']}")
                if i >= 2:
                    times.append(elapsed_ms)
            p50, p95 = percentile(times, 50), percentile(times, 95)
            out(f"  POST /admin/.../exports (Idempotency-Key)  p50 {p50:.1f} ms  p95 {p95:.1f} ms")
            summary.append(f"  admin POST exports p50 {p50:.1f} ms  p95 {p95:.1f} ms")
        finally:
            bootstrap.install(None)
            svc.close()
    out()
