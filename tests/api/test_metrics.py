"""Powertools metrics (EMF) of the handlers: printed on Lambda, silent where nobody collects
them (POWERTOOLS_METRICS_DISABLED=true, set for tests and `make run`)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from progress.catalog import METRICS_NAMESPACE, Metric
from progress.settings import ENV_POWERTOOLS_METRICS_DISABLED
from tests.api.conftest import Lrs


def statement(n: int) -> dict[str, Any]:
    return {
        "actor": {"mbox": f"mailto:m{n}@example.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/attempted"},
        "object": {"id": "http://example.com/metrics"},
    }


def emf(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]


def test_stored_statements_and_query_latency_are_emitted_as_emf(
    lrs: Lrs, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(ENV_POWERTOOLS_METRICS_DISABLED, "false")
    assert lrs.a.post("/statements", json=[statement(1), statement(2)]).status == 200
    assert lrs.a.get("/statements").status == 200
    lines = emf(capsys.readouterr().out)
    stored = [line for line in lines if Metric.STATEMENTS_STORED in line]
    assert [line[Metric.STATEMENTS_STORED] for line in stored] == [[2.0]]  # one POST of 2
    (definition,) = stored[0]["_aws"]["CloudWatchMetrics"]
    assert definition["Namespace"] == METRICS_NAMESPACE
    assert any(Metric.STATEMENT_QUERY_LATENCY in line for line in lines)


def test_nothing_is_printed_when_metrics_are_disabled(
    lrs: Lrs, capsys: pytest.CaptureFixture[str]
) -> None:
    assert lrs.a.post("/statements", json=[statement(3)]).status == 200
    assert emf(capsys.readouterr().out) == []
