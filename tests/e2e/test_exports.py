"""Compliance exports end to end, as `make run` runs them (SQLite and DynamoDB/moto): Statements
over real HTTP → an export requested through the service → its event through the outbox (the
table stream and the relay on DynamoDB) → the exporter handler → the file → its signed URL,
fetched over HTTP: the rows are what was stored. Bad URLs are 4xx, redelivery writes nothing
twice."""

from __future__ import annotations

import csv
import io
import json
import time
import urllib.parse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from progress.app.exports import sign_token
from progress.app.ports import Envelope
from progress.domain.errors import NotFound
from progress.local.server import Running
from tests.e2e.conftest import call, statement

ZOE = "mbox:mailto:zoe@example.com"


def post_statements(lrs: Running) -> None:
    batch = [
        statement("initialized", "s1"),
        statement("completed", "s1"),
        statement("terminated", "s1"),
    ]
    other = statement("experienced", "s2")
    other["actor"] = {"mbox": "mailto:max@example.com", "name": "=cmd|' /C calc'!A0"}
    status, body, _ = call(lrs, "POST", "/xapi/statements", [*batch, other])
    assert status == 200, body
    lrs.pump.drain()


def stored_ascending(lrs: Running, **params: str) -> list[dict[str, Any]]:
    query = urllib.parse.urlencode({"ascending": "true", **params})
    status, body, _ = call(lrs, "GET", f"/xapi/statements?{query}")
    assert status == 200
    statements: list[dict[str, Any]] = json.loads(body)["statements"]
    return statements


def fetch(url: str) -> tuple[int, bytes, dict[str, str]]:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=30) as response:  # a local server
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as err:
        return err.code, err.read(), dict(err.headers)


def twice(lrs: Running) -> list[Envelope]:
    """Deliver every publication twice (EventBridge promises at least once)."""
    seen: list[Envelope] = []
    publish = lrs.pump.dispatcher.publish

    def again(envelopes: Sequence[Envelope]) -> list[str | None]:
        seen.extend(envelopes)
        publish(envelopes)
        return publish(envelopes)

    lrs.pump.dispatcher.publish = again  # type: ignore[method-assign]
    return seen


def test_a_tenant_export_over_the_event_pipeline_downloads_what_was_stored(lrs: Running) -> None:
    post_statements(lrs)
    seen = twice(lrs)
    exports = lrs.services.exports
    job = exports.request("default", "statements", "ndjson", None)
    assert job.status == "queued"
    lrs.pump.drain()
    done = exports.get("default", job.id)
    assert done.status == "done", done.error
    assert done.runs == 1  # delivered twice, run once
    assert [e["type"] for e in seen].count("progress.export.requested.v1") == 1

    url, expires = exports.download_url(done)
    assert url.startswith(lrs.url.removesuffix("/xapi") + "/exports/")
    assert expires > time.time()
    status, body, headers = fetch(url)
    assert status == 200
    assert headers["Content-Type"] == "application/x-ndjson"
    assert (
        headers["Content-Disposition"]
        == f'attachment; filename="default-statements-{job.id}.ndjson"'
    )
    rows = [json.loads(line) for line in body.splitlines()]
    assert rows == stored_ascending(lrs)
    assert len(rows) == done.rows == 4


def test_a_learners_csv_export_and_bad_urls(lrs: Running) -> None:
    post_statements(lrs)
    exports = lrs.services.exports
    job = exports.request("default", "statements", "csv", "mbox:mailto:max@example.com")
    lrs.pump.drain()
    done = exports.get("default", job.id)
    url, _ = exports.download_url(done, expires_s=60)
    status, body, headers = fetch(url)
    assert status == 200
    assert headers["Content-Type"].startswith("text/csv")
    (row,) = list(csv.DictReader(io.StringIO(body.decode())))
    assert row["actor_name"] == "'=cmd|' /C calc'!A0"  # defused for spreadsheets
    agent = json.dumps({"mbox": "mailto:max@example.com"})
    assert json.loads(row["statement"]) == stored_ascending(lrs, agent=agent)[0]

    token = url.rsplit("/", 1)[1]
    base = lrs.url.removesuffix("/xapi")
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    status, body, _ = fetch(f"{base}/exports/{forged}")
    assert status == 403
    assert b"tampered" in body
    expired = sign_token(lrs.services.export_url_key, "default", job.id, int(time.time()) - 5)
    status, body, _ = fetch(f"{base}/exports/{expired}")
    assert status == 410
    assert b"expired" in body
    unknown = sign_token(lrs.services.export_url_key, "default", "nope", int(time.time()) + 60)
    assert fetch(f"{base}/exports/{unknown}")[0] == 404


def test_attempts_and_an_unknown_learner(lrs: Running) -> None:
    post_statements(lrs)
    exports = lrs.services.exports
    with pytest.raises(NotFound, match="agent: no statements recorded"):
        exports.request("default", "attempts", "ndjson", "mbox:mailto:nobody@example.com")
    assert exports.list("default", None, 10) == ([], None)
    job = exports.request("default", "attempts", "ndjson", ZOE)
    lrs.pump.drain()
    done = exports.get("default", job.id)
    status, body, _ = fetch(exports.download_url(done)[0])
    assert status == 200
    (attempt,) = [json.loads(line) for line in body.splitlines()]
    assert attempt["learner"] == ZOE
    assert attempt["state"] == "closed"
    assert attempt["completion"]["completed"] is True


def test_the_cli_creates_waits_with_a_progress_bar_and_prints_a_working_url(
    lrs: Running, capsys: pytest.CaptureFixture[str]
) -> None:
    """Local SQLite, no `make run` pump delivering: ``--wait`` delivers the outbox itself."""
    from progress import bootstrap, cli

    if lrs.services.settings.backend != "sqlite":
        pytest.skip("the CLI reaches moto's in-process table only through this process's pump")
    post_statements(lrs)
    settings = lrs.services.settings
    agent = json.dumps({"mbox": "mailto:zoe@example.com"})
    try:
        code = cli.run(
            ["export", "create", "default", "--kind", "completions", "--format", "csv",
             "--agent", agent, "--wait", "--id", "cli-1"],
            settings,
        )  # fmt: skip
    finally:
        bootstrap.install(lrs.services)
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert "export cli-1 queued: completions of mbox:mailto:zoe@example.com as csv" in out
    assert "status   done" in out
    assert "rows     1 of 1" in out
    assert "rows" in err  # tqdm's bar, on stderr
    url = next(line.split()[1] for line in out.splitlines() if line.startswith("url "))
    status, body, _ = fetch(url)
    assert status == 200
    (row,) = list(csv.DictReader(io.StringIO(body.decode())))
    assert (row["learner"], row["completed"]) == (ZOE, "true")
    file = next(line.split(maxsplit=1)[1] for line in out.splitlines() if line.startswith("file "))
    assert Path(file).read_bytes() == body

    try:
        assert cli.run(["export", "status", "default", "cli-1"], settings) == 0
        assert cli.run(["export", "list", "default"], settings) == 0
        with pytest.raises(ValueError, match="--agent"):
            cli.run(
                ["export", "create", "default", "--kind", "statements", "--agent", "ann"], settings
            )
    finally:
        bootstrap.install(lrs.services)
    listed = capsys.readouterr().out
    assert "status   done" in listed
    assert "cli-1\tcompletions\tcsv\tdone\t1 rows" in listed
