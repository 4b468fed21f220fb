"""Smoke tests of the load-test tooling: ``pytest loadtests`` (not part of ``make unit``)."""

from __future__ import annotations

import sys
from pathlib import Path

import orjson
import pytest

from loadtests import bench
from loadtests.generator import N_LEARNERS, VERBS, batches, statements, universe
from progress.edge.xapi.validation import validate_statement


def test_statements_are_deterministic_and_valid() -> None:
    first = [orjson.dumps(s) for s in statements(500, seed=7)]
    again = [orjson.dumps(s) for s in statements(500, seed=7)]
    other = [orjson.dumps(s) for s in statements(500, seed=8)]
    assert first == again
    assert first != other
    for i, raw in enumerate(first):
        validate_statement(orjson.loads(raw), f"statements[{i}]")
    average = sum(map(len, first)) / len(first)
    assert 1_200 < average < 1_900


def test_universe_and_batches() -> None:
    u = universe()
    assert len(u.learners) == N_LEARNERS
    assert 1_900 <= len(u.activities) <= 2_100
    assert len(VERBS) >= 30
    got = list(batches(3, size=50, seed=1))
    assert [len(b) for b in got] == [50, 50, 50]
    assert len({s["id"] for b in got for s in b}) == 150


def test_bench_quick_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = bench.main(["--quick", "--cache-dir", str(tmp_path)])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "== summary ==" in printed
    assert "storage stubbed" in printed
    assert "SQLite" in printed


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
