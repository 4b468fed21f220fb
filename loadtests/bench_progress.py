"""`make bench` section "progress": the event pipeline of issue 4, in local mode.

* latency -- statement → completion event: a cmi5 session (initialized, completed, passed with a
  score, terminated) is POSTed over real HTTP to the local runtime (`make run`'s front, SQLite,
  its event pump polling every 20–50 ms); the clock stops when the session's
  ``progress.completion.recorded.v1`` is published on the bus (the moment consumers get it).
  Sessions are sent one after another; p50/p95 over all of them (target p95 < 1 s).
* throughput -- the projection consumer alone (``ProgressService.handle``) over the outbox of
  N stored sessions on SQLite: statements projected per second, inbox and outbox included; then
  the certificates consumer (PDF + JSON rendering, blob writes) per second.
"""

from __future__ import annotations

import base64
import functools
import json
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from loadtests.bench import Progress, out, percentile, verdict
from progress.app.ports import Envelope
from progress.local.server import start
from progress.settings import Settings

ADL = "http://adlnet.gov/expapi/verbs/"
SESSION_EXT = "https://w3id.org/xapi/cmi5/context/extensions/sessionid"
RECORDED = "progress.completion.recorded.v1"


def session_batch(n: int, session: str) -> list[dict[str, Any]]:
    actor = {"objectType": "Agent", "name": f"Learner {n}", "mbox": f"mailto:l{n}@example.com"}
    context = {
        "registration": str(uuid.uuid4()),
        "extensions": {SESSION_EXT: session},
    }
    activity = {
        "id": f"https://example.com/courses/{n % 20}",
        "definition": {"name": {"en-US": f"Course {n % 20}"}},
    }

    def stmt(verb: str, **extra: Any) -> dict[str, Any]:
        return {
            "id": str(uuid.uuid4()),
            "actor": actor,
            "verb": {"id": ADL + verb},
            "object": activity,
            "context": context,
            **extra,
        }

    return [
        stmt("initialized"),
        stmt("completed", result={"completion": True, "duration": "PT12M"}),
        stmt("passed", result={"success": True, "score": {"scaled": 0.8 + (n % 20) / 100}}),
        stmt("terminated"),
    ]


def _latency(sessions: int, summary: list[str]) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-progress-") as tmp:
        settings = Settings(data_dir=Path(tmp), cursor_secret="bench-progress-cursor-key")
        running = start(settings, "127.0.0.1", 0).serve_in_background()
        try:
            seen: dict[str, float] = {}
            arrived = threading.Condition()
            publish = running.pump.dispatcher.publish

            def watch(envelopes: Sequence[Envelope]) -> list[str | None]:
                now = time.perf_counter()
                with arrived:
                    for env in envelopes:
                        session = str(env["data"]["session"]).removeprefix("cmi5:")
                        if env["type"] == RECORDED and session not in seen:
                            seen[session] = now
                    arrived.notify_all()
                return publish(envelopes)

            running.pump.dispatcher.publish = watch  # type: ignore[method-assign]
            token = base64.b64encode(f"{running.key}:{running.secret}".encode()).decode()
            headers = {
                "Authorization": f"Basic {token}",
                "X-Experience-API-Version": "1.0.3",
                "Content-Type": "application/json",
            }
            latencies: list[float] = []
            progress = Progress("statement → completion event", sessions)
            for n in range(sessions):
                session = str(uuid.uuid4())
                body = json.dumps(session_batch(n, session)).encode()
                request = urllib.request.Request(
                    running.url + "/statements", data=body, method="POST", headers=headers
                )
                began = time.perf_counter()
                with urllib.request.urlopen(request, timeout=30) as response:
                    response.read()
                with arrived:
                    if not arrived.wait_for(functools.partial(seen.__contains__, session), 10):
                        raise RuntimeError(f"no completion event for session {session} in 10 s")
                latencies.append((seen[session] - began) * 1000)
                progress.update(n + 1)
            progress.finish()
        finally:
            running.close()
    p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
    out(
        f"  statement → completion event, {sessions} cmi5 sessions (4 statements each) over"
        f" HTTP, SQLite, pump polling every 20-50 ms:"
    )
    out(
        f"    p50 {p50:.1f} ms  p95 {p95:.1f} ms  max {max(latencies):.1f} ms"
        f"  ({verdict(p95 < 1000)}: p95 < 1 s)"
    )
    summary.append(
        f"  statement→completion event (local, SQLite)  p50 {p50:.1f} ms  p95 {p95:.1f} ms"
    )


def _throughput(sessions: int, summary: list[str]) -> None:
    from progress import bootstrap
    from progress.domain.tenancy import Scope

    with tempfile.TemporaryDirectory(prefix="bench-progress-") as tmp:
        settings = Settings(data_dir=Path(tmp), cursor_secret="bench-progress-cursor-key")
        svc = bootstrap.build(settings)
        try:
            svc.tenants.create_tenant("bench", "bench")
            key, secret = "bench-progress", "bench-progress-secret"
            svc.tenants.create_credential("bench", frozenset({Scope.ALL}), key=key, secret=secret)
            principal = svc.auth.authenticate(
                "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()
            )
            progress = Progress("storing sessions", sessions)
            for n in range(sessions):
                svc.statements.store(principal, session_batch(n, str(uuid.uuid4())))
                progress.update(n + 1)
            progress.finish()
            assert svc.outbox is not None
            stored = svc.outbox.pending(10 * sessions)
            svc.outbox.published([s for s, _ in stored])
            started = time.perf_counter()
            for _, env in stored:
                svc.progress.handle(env)
            elapsed = time.perf_counter() - started
            rate = len(stored) / elapsed
            out(
                f"  projection consumer (inbox + attempts + outbox, one SQLite commit each):"
                f" {len(stored):,} statements in {elapsed:.2f} s = {rate:,.0f} statements/s"
            )
            summary.append(f"  projection throughput (SQLite)  {rate:,.0f} statements/s")
            events = [env for _, env in svc.outbox.pending(100 * sessions)]
            recorded = [e for e in events if e["type"] == RECORDED]
            sample = recorded[: min(len(recorded), 200)]
            started = time.perf_counter()
            for env in sample:
                svc.certificates.handle(env)
            elapsed = time.perf_counter() - started
            out(
                f"  certificates consumer (PDF + JSON + commit): {len(sample)} completion events"
                f" in {elapsed:.2f} s = {len(sample) / elapsed:,.0f} certificates/s"
            )
            summary.append(
                f"  certificate issuance (fpdf2, folder)  {len(sample) / elapsed:,.0f}/s"
            )
        finally:
            svc.close()


def run_progress(quick: bool, summary: list[str]) -> None:
    out("== progress: statement → completion latency, projection throughput ==")
    summary.append("progress pipeline (local mode)")
    _latency(10 if quick else 200, summary)
    _throughput(50 if quick else 2_500, summary)
    out()
