"""SQLite-specific behaviour of the progress adapters (the shared semantics are the contract
suite's, ``tests/contract/test_progress_stores.py``): racing commits, query plans, the outbox
rows of a refused Statement batch, sequences never reused."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import orjson
import pytest

from progress.adapters.sqlite import (
    Database,
    SqliteAttemptStore,
    SqliteOutbox,
    SqliteStatementStore,
    SqliteUnitOfWork,
)
from progress.app.ports import (
    AttemptChange,
    AttemptFilter,
    DuplicateIds,
    ListPosition,
    ProgressCommit,
    VersionConflict,
)
from progress.domain.attempts import Attempt
from progress.domain.events import StatementStored, envelope
from progress.domain.facts import AttemptKey, StatementFact
from progress.domain.progress_rules import COMPLETED, DEFAULT_RULES, INITIALIZED, TERMINATED
from progress.domain.statements import NewStatement, index_keys

T = "tenant"
BASE = 1_750_000_000_000_000
MIN = 60_000_000
ANN = "mbox:mailto:ann@example.com"
COURSE = "http://example.com/course"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "progress.db")
    yield database
    database.close()


def fact(n: int, verb: str = INITIALIZED, *, learner: str = ANN) -> StatementFact:
    at = BASE + n * MIN
    sid = f"00000000-0000-4000-8000-{n:012d}"
    return StatementFact(T, sid, at, at, verb, learner, COURSE)


def save_new(store: SqliteAttemptStore, attempt: Attempt) -> None:
    change = AttemptChange(attempt, 0, attempt.expires_at_us(DEFAULT_RULES))
    events = tuple(envelope(e) for e in attempt.events)
    store.commit(ProgressCommit(T, (change,), events))


def race(db: Database, commits: list[ProgressCommit]) -> list[str]:
    """Run each commit on a thread of its own (a connection each), all released at once;
    returns each one's outcome: "ok" or the exception's name."""
    store = SqliteAttemptStore(db)
    barrier = threading.Barrier(len(commits))
    outcomes = [""] * len(commits)

    def run(i: int) -> None:
        db.conn.execute("SELECT 1").fetchone()  # open this thread's connection before the race
        barrier.wait()
        try:
            store.commit(commits[i])
            outcomes[i] = "ok"
        except VersionConflict as exc:
            outcomes[i] = type(exc).__name__

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(commits))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return outcomes


def test_two_threads_updating_one_version_one_wins_the_other_conflicts(db: Database) -> None:
    store, outbox = SqliteAttemptStore(db), SqliteOutbox(db)
    attempt = Attempt.open(fact(1), DEFAULT_RULES)
    save_new(store, attempt)
    outbox.published([seq for seq, _ in outbox.pending(100)])
    for n in range(2, 12, 2):  # a few rounds: each starts from the winner of the last
        loaded = [a for a in (store.get(T, attempt.id), store.get(T, attempt.id)) if a]
        assert len(loaded) == 2
        commits = []
        for i, copy in enumerate(loaded):
            version = copy.version
            copy.apply(fact(n + i), DEFAULT_RULES)
            commits.append(ProgressCommit(T, (AttemptChange(copy, version, None),), ({"n": i},)))
        outcomes = race(db, commits)
        assert sorted(outcomes) == ["VersionConflict", "ok"]
        winner = outcomes.index("ok")
        stored = store.get(T, attempt.id)
        assert stored is not None
        assert stored.snapshot() == loaded[winner].snapshot()
        assert [env for _, env in outbox.pending(100)] == [{"n": winner}]
        outbox.published([seq for seq, _ in outbox.pending(100)])


def test_two_threads_opening_one_attempt_one_wins(db: Database) -> None:
    twins = [Attempt.open(fact(1), DEFAULT_RULES) for _ in range(2)]
    commits = [ProgressCommit(T, (AttemptChange(a, 0, None),)) for a in twins]
    assert sorted(race(db, commits)) == ["VersionConflict", "ok"]


# ------------------------------------------------------------------------------ query plans


def plans(db: Database, call: Callable[[], object]) -> list[tuple[str, list[str]]]:
    """Each SELECT that ``call`` runs on this thread's connection, with its query plan."""
    conn = db.conn
    seen: list[str] = []
    conn.set_trace_callback(seen.append)  # the SQL with its parameters bound
    try:
        call()
    finally:
        conn.set_trace_callback(None)
    selects = [sql for sql in seen if sql.lstrip().upper().startswith("SELECT")]
    assert selects
    return [(sql, [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}")]) for sql in selects]


def assert_indexed(found: list[tuple[str, list[str]]]) -> None:
    for sql, plan in found:
        assert plan, sql
        for step in plan:
            assert not step.startswith("SCAN"), (sql, plan)
            assert "USE TEMP B-TREE" not in step, (sql, plan)
            assert any(
                how in step for how in ("USING INDEX", "USING COVERING INDEX", "PRIMARY KEY")
            ), (sql, plan)


@pytest.fixture
def filled(db: Database) -> SqliteAttemptStore:
    """Six attempts of each of five learners, one after the other, every other one completed;
    the latest is open, except learner 0's."""
    store = SqliteAttemptStore(db)
    for i in range(5):
        learner = f"mbox:mailto:l{i}@example.com"
        closed_us: int | None = None
        for j in range(6):
            n = 10 * j + i
            attempt = Attempt.open(
                fact(n, learner=learner), DEFAULT_RULES, seq=j + 1, opened_after_us=closed_us
            )
            if j % 2 == 0:
                attempt.apply(fact(n + 1, COMPLETED, learner=learner), DEFAULT_RULES)
            if j < 5 or i == 0:
                attempt.apply(fact(n + 2, TERMINATED, learner=learner), DEFAULT_RULES)
            closed_us = attempt.closed_us
            save_new(store, attempt)
    return store


@pytest.mark.parametrize("analyzed", [False, True], ids=["as-left", "after-analyze"])
def test_route_due_and_list_read_through_an_index(
    db: Database, filled: SqliteAttemptStore, analyzed: bool
) -> None:
    if analyzed:
        db.conn.execute("ANALYZE")
    key = AttemptKey(T, "mbox:mailto:l0@example.com", COURSE)
    covered = plans(db, partial(filled.route, T, key, BASE + 11 * MIN))
    assert len(covered) == 1
    assert_indexed(covered)
    latest = plans(db, partial(filled.route, T, key, BASE + 999 * MIN))  # after every window
    assert len(latest) == 2
    assert_indexed(latest)
    routed = [filled.route(T, key, BASE + m * MIN) for m in (11, 999)]
    assert [a.seq if a else None for a in routed] == [2, 6]
    assert_indexed(plans(db, partial(filled.due, BASE + 10**12, 10)))
    for where in (
        AttemptFilter(learner=key.learner),
        AttemptFilter(learner=key.learner, completed=True),
        AttemptFilter(activity_id=COURSE),
        AttemptFilter(activity_id=COURSE, completed=True),
    ):
        after = ListPosition(BASE + 20 * MIN, "~")
        assert_indexed(plans(db, partial(filled.list, T, where, None, 3)))
        assert_indexed(plans(db, partial(filled.list, T, where, after, 3)))


@pytest.mark.parametrize("analyzed", [False, True], ids=["as-left", "after-analyze"])
def test_learners_read_the_learner_index_in_order(
    db: Database, filled: SqliteAttemptStore, analyzed: bool
) -> None:
    """SELECT DISTINCT on attempts_learner (tenant, learner, ...): a covering index search in
    learner order, no temporary B-tree for DISTINCT or ORDER BY."""
    if analyzed:
        db.conn.execute("ANALYZE")
    first = plans(db, partial(filled.learners, T, None, 2))
    later = plans(db, partial(filled.learners, T, "mbox:mailto:l1@example.com", 2))
    assert_indexed(first + later)
    for _, plan in first + later:
        assert any("attempts_learner" in step for step in plan), plan
    assert filled.learners(T, None, 2) == (
        ["mbox:mailto:l0@example.com", "mbox:mailto:l1@example.com"],
        "mbox:mailto:l1@example.com",
    )


def test_route_of_a_key_does_not_match_a_key_differing_only_in_a_null(
    db: Database,
) -> None:
    store = SqliteAttemptStore(db)
    save_new(store, Attempt.open(fact(1), DEFAULT_RULES))
    plain = AttemptKey(T, ANN, COURSE)
    assert store.route(T, plain, BASE) is not None
    assert store.route(T, AttemptKey(T, ANN, COURSE, registration="r"), BASE) is None
    assert store.route(T, AttemptKey(T, ANN, COURSE, session="s"), BASE) is None


# ------------------------------------------------------------------------------ outbox


def statement(n: int) -> NewStatement:
    f = fact(n, COMPLETED)
    body = {
        "id": f.id,
        "actor": {"mbox": "mailto:ann@example.com"},
        "verb": {"id": f.verb},
        "object": {"id": COURSE},
    }
    return NewStatement(
        id=f.id,
        stored_us=f.stored_us,
        body=orjson.dumps(body),
        keys=index_keys(body),
        event=orjson.dumps(envelope(StatementStored(f))),
    )


def test_a_duplicate_batch_leaves_the_outbox_unchanged(db: Database) -> None:
    statements, outbox = SqliteStatementStore(db), SqliteOutbox(db)
    first = statement(1)
    statements.insert(T, [first, statement(2)], {}, [])
    before = outbox.pending(100)
    assert len(before) == 2
    assert before[0][1] == orjson.loads(first.event)
    with pytest.raises(DuplicateIds):
        statements.insert(T, [statement(3), first], {}, [])
    assert outbox.pending(100) == before


def test_statements_without_an_event_write_no_outbox_row(db: Database) -> None:
    quiet = statement(1)
    SqliteStatementStore(db).insert(T, [NewStatement(quiet.id, 1, quiet.body, quiet.keys)], {}, [])
    assert SqliteOutbox(db).pending(10) == []


def test_outbox_rows_roll_back_with_their_unit_of_work(db: Database) -> None:
    store, outbox = SqliteAttemptStore(db), SqliteOutbox(db)

    def fail_after_both() -> None:
        with SqliteUnitOfWork(db).transaction():
            SqliteStatementStore(db).insert(T, [statement(1)], {}, [])
            save_new(store, Attempt.open(fact(1), DEFAULT_RULES))
            raise RuntimeError

    with pytest.raises(RuntimeError):
        fail_after_both()
    assert outbox.pending(10) == []
    assert store.route(T, AttemptKey(T, ANN, COURSE), BASE) is None


def test_a_published_sequence_is_never_reused(db: Database) -> None:
    outbox = SqliteOutbox(db)
    SqliteStatementStore(db).insert(T, [statement(1)], {}, [])
    [(seq, _)] = outbox.pending(10)
    outbox.published([seq])
    SqliteStatementStore(db).insert(T, [statement(2)], {}, [])
    [(later, env)] = outbox.pending(10)
    assert later > seq
    outbox.published([seq])  # a late, repeated acknowledgement deletes nothing newer
    assert outbox.pending(10) == [(later, env)]


def test_ids_of_a_commit_are_checked_in_one_query(db: Database) -> None:
    """A commit of many attempts reads their versions at once, not one query each."""
    store = SqliteAttemptStore(db)
    attempts = [
        Attempt.open(fact(n, learner=f"mbox:{uuid.uuid4()}"), DEFAULT_RULES) for n in range(20)
    ]
    commit = ProgressCommit(T, tuple(AttemptChange(a, 0, None) for a in attempts))
    selects = plans(db, lambda: store.commit(commit))
    assert len(selects) == 1
    assert_indexed(selects)
