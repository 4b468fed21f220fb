"""End to end, as `make run` runs it: Statements over real HTTP → outbox → (DynamoDB: the table
stream → the relay handler) → the rules → the projection consumer → attempt closed →
completion recorded → the certificates consumer → exactly one certificate, verified over HTTP.

Each backend runs twice: with the events delivered once in order, and with every publication
delivered twice, the second time first and in reverse order (EventBridge promises neither order
nor exactly-once)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from progress.app.ports import Envelope
from progress.local.server import Running
from tests.e2e.conftest import COURSE, call, statement

RECORDED = "progress.completion.recorded.v1"


def recorded(lrs: Running, *, chaos: bool) -> list[Envelope]:
    """Record every publication; with ``chaos``, deliver each twice: reversed first, then in
    order."""
    seen: list[Envelope] = []
    publish = lrs.pump.dispatcher.publish

    def twice(envelopes: Sequence[Envelope]) -> list[str | None]:
        seen.extend(envelopes)
        if chaos:
            publish(list(reversed(envelopes)))
        return publish(envelopes)

    lrs.pump.dispatcher.publish = twice  # type: ignore[method-assign]
    return seen


@pytest.mark.parametrize("delivery", ["once", "twice-out-of-order"])
def test_statements_to_exactly_one_certificate(lrs: Running, delivery: str) -> None:
    seen = recorded(lrs, chaos=delivery != "once")
    session = str(uuid.uuid4())
    batch = [
        statement("initialized", session),
        statement("completed", session, result={"completion": True, "duration": "PT20M"}),
        statement("passed", session, result={"success": True, "score": {"scaled": 0.92}}),
        statement("terminated", session),
    ]
    status, _, _ = call(lrs, "POST", "/xapi/statements", batch)
    assert status == 200
    lrs.pump.drain()

    agent = json.dumps({"mbox": "mailto:zoe@example.com"})
    status, body, _ = call(
        lrs, "GET", "/progress/attempts?" + urllib.parse.urlencode({"agent": agent})
    )
    assert status == 200, body
    (attempt,) = json.loads(body)["attempts"]
    assert attempt["state"] == "closed"
    assert attempt["close_reason"] == "terminated"
    assert attempt["session"] == f"cmi5:{session}"  # the cmi5 session id, by kind

    status, body, _ = call(
        lrs, "GET", "/progress/completions?" + urllib.parse.urlencode({"activity": COURSE})
    )
    assert status == 200
    (completion,) = json.loads(body)["completions"]
    assert completion["completed"]
    assert completion["passed"]
    assert completion["score"] == {"scaled": 0.92}

    # Exactly one certificate: one id, one folder of documents, the newest attempt version.
    cert = lrs.services.certificates.certificate_id("default", completion["id"])
    assert completion["certificate"] == f"{lrs.url.removesuffix('/xapi')}/certificates/{cert}"
    root = Path(lrs.services.settings.data_dir) / "certificates"
    folders = {  # FolderBlobStore keeps content types in a hidden sidecar tree
        p.parent for p in root.rglob("*.pdf") if not p.relative_to(root).parts[0].startswith(".")
    }
    assert len(folders) == 1
    assert next(iter(folders)).name == cert
    status, body, _ = call(lrs, "GET", f"/certificates/{cert}", auth=False)
    assert status == 200
    record = json.loads(body)
    assert record["passed"] is True
    assert record["revoked"] is False
    versions = [e["data"]["attempt_version"] for e in seen if e["type"] == RECORDED]
    assert record["attempt_version"] == max(versions)  # the newest record, whatever the order
    assert record["verify_url"].endswith(f"/certificates/{cert}")
    status, pdf, headers = call(lrs, "GET", f"/certificates/{cert}.pdf", auth=False)
    assert status == 200
    assert pdf.startswith(b"%PDF-")
    assert "pdf" in {k.lower(): v for k, v in headers.items()}["content-type"]

    types = [e["type"] for e in seen]
    assert types.count("progress.statement.stored.v1") == 4
    assert types.count("progress.attempt.closed.v1") == 1
    assert lrs.services.dead_letters.list(None, 10) == []


def test_unknown_certificates_and_bad_ids_are_4xx(lrs: Running) -> None:
    status, body, _ = call(
        lrs,
        "GET",
        f"/certificates/{lrs.services.certificates.certificate_id('default', 'x')}",
        auth=False,
    )
    assert status == 404
    assert b"no such certificate" in body
    status, body, _ = call(lrs, "GET", "/certificates/not-an-id", auth=False)
    assert status == 400
    assert b"certificate id" in body


def test_progress_listing_needs_credentials_and_one_filter(lrs: Running) -> None:
    status, _, _ = call(lrs, "GET", "/progress/attempts?activity=" + COURSE, auth=False)
    assert status == 401
    status, body, _ = call(lrs, "GET", "/progress/attempts")
    assert status == 400
    assert b"exactly one" in body
    status, body, _ = call(lrs, "GET", "/progress/attempts?activity=x&limit=9999")
    assert status == 400
    assert b"limit" in body


def test_replay_rebuilds_what_the_live_pipeline_built_and_pages_follow_more(lrs: Running) -> None:
    learners = ["ann", "bob", "cy"]
    for who in learners:
        session = str(uuid.uuid4())
        batch = [statement("initialized", session), statement("completed", session)]
        if who != "cy":
            batch.append(statement("terminated", session))
        for s in batch:
            s["actor"] = {"mbox": f"mailto:{who}@example.com", "name": who}
        assert call(lrs, "POST", "/xapi/statements", batch)[0] == 200
    lrs.pump.drain()

    def pages() -> list[dict[str, Any]]:
        path = "/progress/attempts?" + urllib.parse.urlencode({"activity": COURSE, "limit": 2})
        found: list[dict[str, Any]] = []
        while path:
            status, body, _ = call(lrs, "GET", path)
            assert status == 200, body
            page = json.loads(body)
            assert len(page["attempts"]) <= 2
            found += page["attempts"]
            path = page["more"]
        return found

    live = pages()
    assert len(live) == 3
    assert sorted(a["state"] for a in live) == ["closed", "closed", "open"]
    report = lrs.services.progress.replay("default")
    assert report.statements == 8
    lrs.pump.drain()  # the replay's events again: the inboxes absorb them
    assert pages() == live
    assert lrs.services.dead_letters.list(None, 10) == []


def test_a_failing_consumer_dead_letters_with_its_reason_and_the_cli_redrives(
    lrs: Running, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from progress import bootstrap, cli

    real = lrs.services.progress.handle

    def poisoned(event: Envelope) -> Any:
        raise RuntimeError("projection store unavailable")

    monkeypatch.setattr(lrs.services.progress, "handle", poisoned)
    session = str(uuid.uuid4())
    batch = [statement("initialized", session), statement("completed", session)]
    assert call(lrs, "POST", "/xapi/statements", batch)[0] == 200  # ingestion is not blocked
    lrs.pump.drain()
    letters = lrs.services.dead_letters.list("projection", 10)
    assert len(letters) == 2
    assert {d.reason for d in letters} == {"RuntimeError: projection store unavailable"}
    assert all(d.attempts == 3 for d in letters)

    monkeypatch.setattr(lrs.services.progress, "handle", real)
    settings = lrs.services.settings
    assert cli.run(["dlq", "list"], settings) == 0
    listed = capsys.readouterr().out
    assert "2 dead letter(s)" in listed
    assert "projection store unavailable" in listed
    if settings.backend == "sqlite":  # moto's queues live in this process only
        assert cli.run(["dlq", "redrive", "--consumer", "projection"], settings) == 0
        assert "2 redriven, 0 failed" in capsys.readouterr().out
        bootstrap.install(lrs.services)
        assert lrs.services.dead_letters.list(None, 10) == []
        path = "/progress/completions?" + urllib.parse.urlencode({"activity": COURSE})
        (completion,) = json.loads(call(lrs, "GET", path)[1])["completions"]
        assert completion["completed"] is True
