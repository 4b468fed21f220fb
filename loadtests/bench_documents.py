"""`make bench` section "documents": State resource latency through the Lambda handler.

PUT, GET, POST (JSON merge) and the id list (GET without stateId) of ~0.6 KB JSON State
documents: 200 learners x 10 stateIds on one activity each, as a cmi5/SCORM runtime writes
them. SQLite in a fresh temp dir; DynamoDB on moto with few operations (a moto figure).
"""

from __future__ import annotations

import random
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import orjson

from loadtests.bench import (
    BenchError,
    Handler,
    Progress,
    headers,
    out,
    percentile,
    with_credential,
)
from progress import bootstrap
from progress.local import moto
from progress.local.server import LambdaContext, load_handler, to_event
from progress.settings import Settings

SEED = 4242
CONTEXT = LambdaContext("xapi_api")


def _params(i: int) -> dict[str, str]:
    learner = i % 200
    return {
        "activityId": f"https://lms.example.com/courses/{learner % 25}/au/{learner % 8}",
        "agent": orjson.dumps(
            {
                "objectType": "Agent",
                "account": {
                    "homePage": "https://lms.example.com",
                    "name": f"learner-{learner:04d}",
                },
            }
        ).decode(),
        "registration": f"00000000-0000-4000-8000-{learner:012d}",
        "stateId": f"https://w3id.org/xapi/scorm/state/{i % 10}",
    }


def _document(rng: random.Random) -> bytes:
    return orjson.dumps(
        {
            "location": f"page-{rng.randrange(100)}",
            "suspend_data": "".join(rng.choice("abcdef0123456789") for _ in range(400)),
            "progress": rng.random(),
            "attempts": [f"urn:uuid:{rng.getrandbits(64):016x}" for _ in range(3)],
        }
    )


def _call(handler: Handler, method: str, params: dict[str, str], body: bytes = b"") -> int:
    event = to_event(method, "/xapi/activities/state?" + urlencode(params), headers(), body)
    t0 = time.perf_counter_ns()
    response = handler(event, CONTEXT)
    elapsed = time.perf_counter_ns() - t0
    status = int(response["statusCode"])
    if status not in (200, 204):
        raise BenchError(f"{method} state {params.get('stateId')}: HTTP {status} {response}")
    return elapsed


def _measure(
    label: str, handler: Handler, n: int, rng: random.Random
) -> list[tuple[str, list[float]]]:
    ops: list[tuple[str, Callable[[int], int]]] = [
        ("PUT", lambda i: _call(handler, "PUT", _params(i), _document(rng))),
        ("GET", lambda i: _call(handler, "GET", _params(i))),
        ("POST merge", lambda i: _call(handler, "POST", _params(i), b'{"progress": 1.0}')),
        (
            "GET ids",
            lambda i: _call(
                handler, "GET", {k: v for k, v in _params(i).items() if k != "stateId"}
            ),
        ),
    ]
    results = []
    progress = Progress(f"{label}: State operations", n * len(ops))
    done = 0
    for name, op in ops:
        times = []
        for i in range(n):
            times.append(op(i) / 1e6)
            done += 1
            progress.update(done)
        results.append((name, times))
    progress.finish()
    return results


def _report(label: str, results: list[tuple[str, list[float]]], summary: list[str]) -> None:
    for name, ms in results:
        line = (
            f"  {label:18s} {name:10s} p50 {percentile(ms, 50):7.2f} ms  "
            f"p95 {percentile(ms, 95):7.2f} ms  ({len(ms)} requests)"
        )
        out(line)
        summary.append(line)


def run_documents(quick: bool, summary: list[str]) -> None:
    out("== documents: State resource through lambda_handler ==")
    n = 50 if quick else 2000
    handler = load_handler("xapi_api")
    summary.append("State resource via lambda_handler (~0.6 KB JSON documents): p50 / p95")
    with tempfile.TemporaryDirectory(prefix="bench-docs-") as tmp:
        svc = with_credential(bootstrap.build(Settings(backend="sqlite", data_dir=Path(tmp))))
        bootstrap.install(svc)
        try:
            _report("SQLite", _measure("SQLite", handler, n, random.Random(SEED)), summary)
        finally:
            bootstrap.install(None)
            svc.close()
    with ExitStack() as stack:
        # A fixed cursor secret: nothing written beside the checkout (a key file once was).
        settings = Settings(
            backend="dynamodb", data_dir=Path("."), cursor_secret="bench-documents-cursor-key"
        )
        client: Any = moto.start(stack, settings.table_name)
        svc = with_credential(bootstrap.build(settings, dynamodb_client=client))
        bootstrap.install(svc)
        try:
            moto_n = 10 if quick else 100
            results = _measure("DynamoDB (moto)", handler, moto_n, random.Random(SEED))
            _report("DynamoDB (moto)", results, summary)
            summary.append("  (moto: a functional emulator, far slower than DynamoDB)")
        finally:
            bootstrap.install(None)
    out()
