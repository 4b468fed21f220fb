"""``make mutation``: mutmut 3 over ``progress.domain``, killed by the fast tests that cover it.

Why a staging tree: mutmut 3 imports mutated code from ``mutants/{.,src,source}/`` and names each
mutant after its file path with a leading ``src.`` stripped. Our one package lives in
``layers/core/python`` (it *is* the Lambda layer), which mutmut cannot map to ``progress.*``.
So this lays out ``build/mutation/`` with ``src/progress`` (a copy of the package),
``tests/``, ``schemas/``, ``constraints.txt`` and ``pyproject.toml`` (whose ``[tool.mutmut]``
section configures the run; its paths are relative to that tree), runs ``mutmut run`` there,
and prints the score:

    score = (killed + timeout) / (every mutant checked: killed, timeout, survived, no tests,
             suspicious, segfault)

Skipped mutants (none are configured) are left out. Exits 1 below ``MUTATION_MIN`` (default 80)
or when mutmut does not finish within ``MUTATION_TIMEOUT`` seconds (default 1800).

Each run starts from scratch (``MUTATION_INCREMENTAL=1`` keeps mutmut's cache of results, which
is faster but can keep a verdict that a changed test would now overturn).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAGE = ROOT / "build" / "mutation"
MUTMUT = Path(sys.executable).parent / "mutmut"

# staged path -> source path (relative to the repository root)
LAYOUT = {
    "src/progress": "layers/core/python/progress",
    "tests": "tests",
    "schemas": "schemas",
    "pyproject.toml": "pyproject.toml",
    "constraints.txt": "constraints.txt",  # a test checks the PDF fonts are a pinned dependency
}
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis")


def stage() -> None:
    """Fresh copies of the sources, keeping their mtimes (mutmut's cache compares them)."""
    STAGE.mkdir(parents=True, exist_ok=True)
    if os.environ.get("MUTATION_INCREMENTAL") != "1":
        shutil.rmtree(STAGE / "mutants", ignore_errors=True)
    else:
        shutil.rmtree(STAGE / "mutants" / "tests", ignore_errors=True)  # re-copied by mutmut
    for staged, source in LAYOUT.items():
        target, origin = STAGE / staged, ROOT / source
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
        if not origin.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if origin.is_dir():
            shutil.copytree(origin, target, ignore=_IGNORE, copy_function=shutil.copy2)
        else:
            shutil.copy2(origin, target)


def score(stats: dict[str, int]) -> tuple[float, int, int]:
    """(percentage, killed, checked) from mutmut's ``mutmut-cicd-stats.json`` counts."""
    killed = stats["killed"] + stats["timeout"]
    checked = stats["total"] - stats["skipped"] - stats.get("check_was_interrupted_by_user", 0)
    return (100.0 * killed / checked if checked else 0.0), killed, checked


def main() -> int:
    minimum = float(os.environ.get("MUTATION_MIN", "80"))
    limit = float(os.environ.get("MUTATION_TIMEOUT", "1800"))
    children = os.environ.get("MUTATION_CHILDREN", str(os.cpu_count() or 2))
    stage()
    env = {**os.environ, "HYPOTHESIS_PROFILE": "mutation", "PYTHONDONTWRITEBYTECODE": "1"}
    started = time.monotonic()
    print(f"==> mutmut run in {STAGE.relative_to(ROOT)} ({children} workers)", flush=True)
    try:
        run = subprocess.run(  # noqa: S603 - our own venv's mutmut
            [str(MUTMUT), "run", "--max-children", children], cwd=STAGE, env=env, timeout=limit
        )
    except subprocess.TimeoutExpired:
        print(f"mutation: mutmut did not finish within {limit:.0f} s (MUTATION_TIMEOUT)")
        return 1
    elapsed = time.monotonic() - started
    if run.returncode != 0:
        print(f"mutation: mutmut run failed with exit code {run.returncode}")
        return 1
    subprocess.run([str(MUTMUT), "export-cicd-stats"], cwd=STAGE, env=env, check=True)  # noqa: S603
    stats = json.loads((STAGE / "mutants" / "mutmut-cicd-stats.json").read_text())
    pct, killed, checked = score(stats)
    survivors = {k: v for k, v in stats.items() if k not in ("killed", "total") and v}
    print(f"mutation score: {pct:.1f}% ({killed}/{checked} mutants killed) in {elapsed:.0f} s")
    print(f"  not killed: {survivors or 'none'}")
    print("  list survivors: cd build/mutation && ../../.venv/bin/mutmut results")
    if pct < minimum:
        print(f"mutation: score {pct:.1f}% is below MUTATION_MIN={minimum:.0f}%")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
