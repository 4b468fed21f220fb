"""The local runtime as `make run` starts it (HTTP front, event pump), on SQLite and on
DynamoDB/moto, with the pump stopped so each test drives delivery round by round; and a client."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from progress.local.server import Running, start
from progress.settings import Settings

SESSION_EXT = "https://w3id.org/xapi/cmi5/context/extensions/sessionid"
ADL = "http://adlnet.gov/expapi/verbs/"
COURSE = "https://example.com/courses/safety-101"


@pytest.fixture(params=["sqlite", "dynamodb"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def lrs(backend: str, tmp_path: Path) -> Iterator[Running]:
    settings = Settings(
        backend=backend,  # type: ignore[arg-type]
        data_dir=tmp_path,
        cursor_secret="e2e-cursor-secret-0123",
    )
    running = start(settings, "127.0.0.1", 0).serve_in_background()
    running.pump.close()  # the test drives delivery itself, round by round
    try:
        yield running
    finally:
        running.close()


def call(
    lrs: Running,
    method: str,
    path: str,
    body: Any = None,
    auth: bool = True,
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes, dict[str, str]]:
    base = lrs.url.removesuffix("/xapi")
    sent = {"X-Experience-API-Version": "1.0.3", "Content-Type": "application/json"}
    if auth:
        token = base64.b64encode(f"{lrs.key}:{lrs.secret}".encode()).decode()
        sent["Authorization"] = f"Basic {token}"
    sent.update(headers or {})
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method, headers=sent)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as err:
        return err.code, err.read(), dict(err.headers)


def statement(verb: str, session: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "actor": {"objectType": "Agent", "name": "Zoë Ωmega", "mbox": "mailto:zoe@example.com"},
        "verb": {"id": ADL + verb},
        "object": {"id": COURSE, "definition": {"name": {"en-US": "Safety 101"}}},
        "context": {
            "registration": "9b0c5a33-6e0c-4c38-9a0b-0f5f8a7c2d11",
            "extensions": {SESSION_EXT: session},
        },
        **extra,
    }
