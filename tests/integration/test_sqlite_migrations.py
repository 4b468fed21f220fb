"""SQLite schema versions: up, down and up again without losing a byte; CLI wiring."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from progress.adapters.sqlite import (
    LATEST,
    MIGRATIONS,
    Database,
    SqliteAttemptStore,
    SqliteCertificateStore,
    SqliteDeadLetters,
    SqliteOutbox,
    SqliteRulesStore,
    SqliteStatementStore,
    migrate,
    schema_version,
)
from progress.app.ports import AttemptChange, Certificate, InboxEntry, ProgressCommit
from progress.domain.attempts import Attempt
from progress.domain.events import envelope
from progress.domain.facts import StatementFact
from progress.domain.progress_rules import DEFAULT_RULES, INITIALIZED, ProgressRules
from progress.domain.statements import ALL, NewStatement, StatementQuery, index_keys

PROGRESS_TABLES = {"attempts", "inbox", "outbox", "progress_rules", "dead_letters", "certificates"}
PROGRESS_STEP = 5  # the schema version that added them


def _fill(db: Database, n: int = 40) -> None:
    store = SqliteStatementStore(db)
    batch = []
    for i in range(n):
        sid = str(uuid.uuid4())
        body = {
            "id": sid,
            "actor": {"mbox": f"mailto:m{i % 4}@example.com"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/answered"},
            "object": {"id": f"http://example.com/q/{i % 5}"},
        }
        batch.append(NewStatement(sid, 1_000_000 + i, orjson.dumps(body), index_keys(body)))
    store.insert("t", batch, {}, [])


def _fill_progress(db: Database) -> Attempt:
    """A row in every table of schema version 5, outbox included."""
    fact = StatementFact("t", str(uuid.uuid4()), 2_000_000, 2_000_000, INITIALIZED, "mbox:a", "act")
    attempt = Attempt.open(fact, DEFAULT_RULES)
    SqliteAttemptStore(db).commit(
        ProgressCommit(
            "t",
            (AttemptChange(attempt, 0, attempt.expires_at_us(DEFAULT_RULES)),),
            tuple(envelope(e) for e in attempt.events),
            InboxEntry("projection", "e1"),
        )
    )
    SqliteRulesStore(db).put_rules("t", ProgressRules.from_json({"masteryScore": 0.5}))
    SqliteDeadLetters(db).add("projection", {"id": "e2"}, "boom", 3)
    certificate = Certificate(
        "c1", "t", "comp", 1, "mbox:a", None, "act", None, True, False, None, 1, 2, False, "p", "j"
    )
    SqliteCertificateStore(db).save(certificate, InboxEntry("certificates", "e3"))
    return attempt


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "m.db")
    yield database
    database.close()


def _snapshot(conn: sqlite3.Connection) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every non-empty table, as data: a rowid (``seq``) is storage layout, not
    content, so it is left out (v4 adds one), and column order does not matter."""
    tables = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
        ).fetchall()
    ]
    out: dict[str, list[tuple[object, ...]]] = {}
    for table in tables:
        cur = conn.execute(f"SELECT * FROM {table}")  # noqa: S608 - names from sqlite_master
        names = [d[0] for d in cur.description]
        keep = sorted(i for i, name in enumerate(names) if name != "seq")
        order = sorted(keep, key=lambda i: names[i])
        rows = sorted(tuple(row[i] for i in order) for row in cur.fetchall())
        if rows:  # an empty table may be one a later step adds
            out[table] = rows
    return out


def test_every_step_goes_down_and_up_again_without_loss(db: Database) -> None:
    assert schema_version(db.conn) == LATEST
    _fill(db)
    before = _snapshot(db.conn)
    store = SqliteStatementStore(db)
    scan_before = store.scan("t", ALL, StatementQuery(), None, 100)
    # Down to the first version that still holds the data, then up again.
    for target in range(LATEST - 1, 0, -1):
        assert migrate(db.conn, target) == target
        assert _snapshot(db.conn) == before
    assert migrate(db.conn, LATEST) == LATEST
    assert _snapshot(db.conn) == before
    assert store.scan("t", ALL, StatementQuery(), None, 100) == scan_before


def test_progress_step_drops_its_tables_only_and_recreates_them_empty(db: Database) -> None:
    _fill(db)
    attempt = _fill_progress(db)
    full = _snapshot(db.conn)
    assert PROGRESS_TABLES | {"sqlite_sequence"} <= set(full)
    later = {"idempotency", "exports"}  # steps after the progress step (empty here)
    assert migrate(db.conn, PROGRESS_STEP - 1) == PROGRESS_STEP - 1
    names = {r[0] for r in db.conn.execute("SELECT name FROM sqlite_master").fetchall()}
    assert not names & (PROGRESS_TABLES | later)
    assert not any(name.startswith(("attempts_", "dead_letters_")) for name in names)
    gone = PROGRESS_TABLES | later | {"sqlite_sequence"}
    kept = {t: rows for t, rows in full.items() if t not in gone}
    assert _snapshot(db.conn) == kept  # the outbox's sequence went with it
    assert migrate(db.conn, LATEST) == LATEST
    assert _snapshot(db.conn) == kept
    names = {r[0] for r in db.conn.execute("SELECT name FROM sqlite_master").fetchall()}
    assert later <= names
    assert SqliteAttemptStore(db).get("t", attempt.id) is None
    assert SqliteOutbox(db).pending(10) == []
    assert _fill_progress(db).id == attempt.id  # usable again


def test_down_to_zero_drops_everything_and_up_recreates_an_empty_schema(db: Database) -> None:
    _fill_progress(db)
    migrate(db.conn, 0)
    # sqlite_sequence (made by the outbox's AUTOINCREMENT) is SQLite's own and cannot be
    # dropped; dropping the outbox emptied it.
    names = db.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    assert names == [("sqlite_sequence",)]
    assert db.conn.execute("SELECT * FROM sqlite_sequence").fetchall() == []
    migrate(db.conn, LATEST)
    _fill(db, 3)
    assert len(SqliteStatementStore(db).scan("t", ALL, StatementQuery(), None, 10)[0]) == 3


def test_a_bad_target_is_refused_naming_the_range(db: Database) -> None:
    with pytest.raises(ValueError, match=f"0..{LATEST}"):
        migrate(db.conn, LATEST + 1)


def test_each_migration_step_has_up_and_down() -> None:
    for description, up, down in MIGRATIONS:
        assert description
        assert up
        assert down


def test_progress_admin_migrate_reports_each_step(tmp_path: Path) -> None:
    env = {"DATA_DIR": str(tmp_path), "BACKEND": "sqlite", "PATH": "/usr/bin:/bin"}

    def migrate_cli(*args: str) -> str:
        return subprocess.run(
            [sys.executable, "-m", "progress.cli", "migrate", *args],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    up = migrate_cli()
    assert f"schema version 0 -> {LATEST}" in up
    assert up.count("(up)") == LATEST
    down = migrate_cli("--to", "0")
    assert f"schema version {LATEST} -> 0" in down
    assert down.count("(down)") == LATEST
    assert f"-> {LATEST}" in migrate_cli()


def test_progress_admin_creates_tenants_and_credentials(tmp_path: Path) -> None:
    env = {"DATA_DIR": str(tmp_path), "BACKEND": "sqlite", "PATH": "/usr/bin:/bin"}

    def admin(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "progress.cli", *args],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )

    assert admin("tenant", "create", "acme", "--name", "ACME").returncode == 0
    made = admin("credential", "create", "acme", "--scopes", "statements/write state")
    assert made.returncode == 0, made.stderr
    key = next(line.split()[1] for line in made.stdout.splitlines() if line.startswith("key"))
    listed = admin("credential", "list", "acme")
    assert key in listed.stdout
    assert "secret" not in listed.stdout
    bad = admin("credential", "create", "acme", "--scopes", "everything")
    assert bad.returncode == 2
    assert "unknown scope 'everything'" in bad.stderr
    nobody = admin("credential", "create", "ghost")
    assert nobody.returncode == 2
    assert "ghost" in nobody.stderr
