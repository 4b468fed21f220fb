"""One contract for the progress ports on every backend: ``AttemptStore`` (attempts, the outbox
rows committed with them, the inbox), ``RulesStore``, ``CertificateStore``, ``DeadLetters`` and
the Statement outbox rows of ``StatementStore.insert``.

The ``kit`` fixture (tests/conftest.py) gives one backend's adapters sharing one store, plus
``read_outbox()``: the envelopes committed so far, in commit order (SQLite and memory: the
``Outbox`` port; DynamoDB: the table's stream, as the relay reads it).
"""

from __future__ import annotations

import orjson
import pytest

from progress.app.ports import (
    AlreadyProcessed,
    AttemptChange,
    AttemptFilter,
    Certificate,
    InboxEntry,
    ListPosition,
    ProgressCommit,
    VersionConflict,
)
from progress.domain.attempts import Attempt
from progress.domain.events import StatementStored, envelope
from progress.domain.facts import AttemptKey, Score, StatementFact
from progress.domain.progress_rules import (
    COMPLETED,
    DEFAULT_RULES,
    INITIALIZED,
    TERMINATED,
    ProgressRules,
)
from progress.domain.statements import NewStatement, index_keys
from tests.conftest import ProgressKit

T1, T2 = "tenant-one", "tenant-two"
BASE = 1_750_000_000_000_000
MIN = 60_000_000


def fact(
    n: int,
    verb: str = INITIALIZED,
    *,
    tenant: str = T1,
    learner: str = "mbox:mailto:ann@example.com",
    activity: str = "http://example.com/course",
    session: str | None = None,
    at: int | None = None,
) -> StatementFact:
    at_us = BASE + n * MIN if at is None else at
    return StatementFact(
        tenant=tenant,
        id=f"00000000-0000-4000-8000-{n:012d}",
        stored_us=at_us,
        timestamp_us=at_us,
        verb=verb,
        learner=learner,
        activity_id=activity,
        session=session,
        completion=True if verb == COMPLETED else None,
    )


def opened(f: StatementFact, rules: ProgressRules = DEFAULT_RULES) -> Attempt:
    return Attempt.open(f, rules)


def save_new(kit: ProgressKit, attempt: Attempt, **extra: object) -> None:
    kit.attempts.commit(
        ProgressCommit(
            attempt.key.tenant,
            (AttemptChange(attempt, 0, attempt.expires_at_us(DEFAULT_RULES)),),
            tuple(envelope(e) for e in attempt.events),
            **extra,  # type: ignore[arg-type]
        )
    )


# ------------------------------------------------------------------------------ attempts


def test_commit_then_get_and_route_round_trip(kit: ProgressKit) -> None:
    a = opened(fact(1))
    save_new(kit, a)
    got = kit.attempts.get(T1, a.id)
    assert got is not None
    assert got.snapshot() == a.snapshot()
    routed = kit.attempts.route(T1, a.key, BASE + 5 * MIN)
    assert routed is not None
    assert routed.id == a.id
    assert (
        kit.attempts.route(
            T1, AttemptKey(T1, "mbox:mailto:bob@example.com", a.key.activity_id), BASE
        )
        is None
    )


def test_tenants_are_isolated(kit: ProgressKit) -> None:
    a = opened(fact(1))
    save_new(kit, a)
    assert kit.attempts.get(T2, a.id) is None
    assert kit.attempts.route(T2, AttemptKey(T2, *a.snapshot()["key"][1:]), BASE) is None
    other = AttemptFilter(learner=a.key.learner)
    assert kit.attempts.list(T2, other, None, 10) == ([], None)


def test_route_picks_the_covering_window_else_the_latest(kit: ProgressKit) -> None:
    first = opened(fact(1))
    first.apply(fact(2, TERMINATED), DEFAULT_RULES)
    assert first.closed_us is not None
    second = Attempt.open(fact(10), DEFAULT_RULES, seq=2, opened_after_us=first.closed_us)
    save_new(kit, first)
    save_new(kit, second)
    key = first.key
    early = kit.attempts.route(T1, key, BASE + 2 * MIN)
    late = kit.attempts.route(T1, key, BASE + 11 * MIN)
    future = kit.attempts.route(T1, key, BASE + 999 * MIN)
    assert early is not None
    assert early.id == first.id
    assert late is not None
    assert late.id == second.id
    assert future is not None
    assert future.id == second.id


def test_version_conflicts_write_nothing(kit: ProgressKit) -> None:
    a = opened(fact(1))
    save_new(kit, a)
    with pytest.raises(VersionConflict):
        save_new(kit, opened(fact(1)))  # the same new attempt again
    stale = kit.attempts.get(T1, a.id)
    assert stale is not None
    stale.apply(fact(2, COMPLETED), DEFAULT_RULES)
    bad = ProgressCommit(
        T1, (AttemptChange(stale, stale.version, None),), (envelope(stale.events[0]),)
    )
    with pytest.raises(VersionConflict):
        kit.attempts.commit(bad)
    after = kit.attempts.get(T1, a.id)
    assert after is not None
    assert after.version == a.version
    assert [e["type"] for e in kit.read_outbox()] == ["progress.attempt.opened.v1"]


def test_update_on_the_loaded_version_and_outbox_rows_in_order(kit: ProgressKit) -> None:
    a = opened(fact(1))
    save_new(kit, a)
    loaded = kit.attempts.get(T1, a.id)
    assert loaded is not None
    before = loaded.version
    loaded.apply(fact(2, COMPLETED), DEFAULT_RULES)
    loaded.apply(fact(3, TERMINATED), DEFAULT_RULES)
    kit.attempts.commit(
        ProgressCommit(
            T1,
            (AttemptChange(loaded, before, None, a.expires_at_us(DEFAULT_RULES)),),
            tuple(envelope(e) for e in loaded.events),
        )
    )
    got = kit.attempts.get(T1, a.id)
    assert got is not None
    assert got.version == loaded.version
    assert got.state.value == "closed"
    rows = kit.read_outbox()
    assert [e["type"] for e in rows] == [
        "progress.attempt.opened.v1",
        "progress.completion.recorded.v1",
        "progress.attempt.closed.v1",
    ]
    assert len({e["id"] for e in rows}) == 3
    assert kit.read_outbox() == []  # read once


def test_inbox_makes_a_second_commit_of_the_same_event_fail_whole(kit: ProgressKit) -> None:
    entry = InboxEntry("projection", "event-1")
    assert not kit.attempts.processed(T1, entry)
    a = opened(fact(1))
    save_new(kit, a, inbox=entry)
    assert kit.attempts.processed(T1, entry)
    assert not kit.attempts.processed(T2, entry)
    assert not kit.attempts.processed(T1, InboxEntry("other", "event-1"))
    b = opened(fact(2, learner="mbox:mailto:bob@example.com"))
    with pytest.raises(AlreadyProcessed):
        save_new(kit, b, inbox=entry)
    assert kit.attempts.get(T1, b.id) is None
    assert len(kit.read_outbox()) == 1
    # An inbox row alone (a skipped Statement) is a commit too.
    kit.attempts.commit(ProgressCommit(T1, inbox=InboxEntry("projection", "event-2")))
    assert kit.attempts.processed(T1, InboxEntry("projection", "event-2"))


def test_empty_commit_is_a_no_op(kit: ProgressKit) -> None:
    kit.attempts.commit(ProgressCommit(T1))
    assert kit.read_outbox() == []


def test_due_lists_open_attempts_by_expiry_across_tenants(kit: ProgressKit) -> None:
    a = opened(fact(1))
    b = opened(fact(2, tenant=T2))
    c = opened(fact(3, learner="mbox:mailto:cy@example.com"))
    for x in (a, b, c):
        save_new(kit, x)
    ea, eb = a.expires_at_us(DEFAULT_RULES), b.expires_at_us(DEFAULT_RULES)
    assert ea is not None
    assert eb is not None
    assert kit.attempts.due(ea - 1, 10) == []
    assert kit.attempts.due(eb, 10) == [(T1, a.id), (T2, b.id)]
    assert kit.attempts.due(eb + 10 * MIN, 2) == [(T1, a.id), (T2, b.id)]
    # Closing removes the entry; a new expiry moves it.
    loaded = kit.attempts.get(T1, a.id)
    assert loaded is not None
    version = loaded.version
    loaded.expire(ea, DEFAULT_RULES)
    kit.attempts.commit(
        ProgressCommit(
            T1,
            (AttemptChange(loaded, version, None, ea),),
            tuple(envelope(e) for e in loaded.events),
        )
    )
    assert kit.attempts.due(eb + 10 * MIN, 10) == [(T2, b.id), (T1, c.id)]


def test_list_by_learner_and_activity_newest_first_paged(kit: ProgressKit) -> None:
    made = []
    for n in range(5):
        learner = "mbox:mailto:ann@example.com" if n % 2 == 0 else "mbox:mailto:bob@example.com"
        a = opened(fact(n, learner=learner, activity=f"http://example.com/a{n % 3}"))
        if n in (0, 4):
            a.apply(
                fact(n + 50, COMPLETED, learner=learner, activity=f"http://example.com/a{n % 3}"),
                DEFAULT_RULES,
            )
        save_new(kit, a)
        made.append(a)
    ann = AttemptFilter(learner="mbox:mailto:ann@example.com")
    page, pos = kit.attempts.list(T1, ann, None, 2)
    assert [s.attempt_id for s in page] == [made[4].id, made[2].id]
    assert pos == ListPosition(made[2].started_us, made[2].id)
    page2, pos2 = kit.attempts.list(T1, ann, pos, 2)
    assert [s.attempt_id for s in page2] == [made[0].id]
    assert pos2 is None
    done, _ = kit.attempts.list(T1, AttemptFilter(learner=ann.learner, completed=True), None, 10)
    assert [s.attempt_id for s in done] == [made[4].id, made[0].id]
    assert done[0].completion is not None
    assert done[0].completion.completed
    by_activity, _ = kit.attempts.list(
        T1, AttemptFilter(activity_id="http://example.com/a1"), None, 10
    )
    assert [s.attempt_id for s in by_activity] == [made[4].id, made[1].id]
    exact, last = kit.attempts.list(T1, ann, None, 3)
    assert len(exact) == 3
    assert last is None


def test_the_tenant_wide_listing_holds_every_attempt_of_the_tenant_newest_first(
    kit: ProgressKit,
) -> None:
    """Exports list every attempt of a tenant: ``AttemptFilter()`` (no learner, no Activity)."""
    made = []
    for n in range(5):
        learner = f"mbox:mailto:l{n % 2}@example.com"
        a = opened(fact(n, learner=learner, activity=f"http://example.com/a{n % 3}"))
        if n == 3:
            a.apply(
                fact(n + 50, COMPLETED, learner=learner, activity=a.key.activity_id), DEFAULT_RULES
            )
        save_new(kit, a)
        made.append(a)
    save_new(kit, opened(fact(1, tenant=T2)))
    everything = AttemptFilter()
    page, pos = kit.attempts.list(T1, everything, None, 3)
    assert [s.attempt_id for s in page] == [made[4].id, made[3].id, made[2].id]
    page2, pos2 = kit.attempts.list(T1, everything, pos, 3)
    assert [s.attempt_id for s in page2] == [made[1].id, made[0].id]
    assert pos2 is None
    done, _ = kit.attempts.list(T1, AttemptFilter(completed=True), None, 10)
    assert [s.attempt_id for s in done] == [made[3].id]
    assert len(kit.attempts.list(T2, everything, None, 10)[0]) == 1
    with pytest.raises(ValueError, match="at most one"):
        AttemptFilter(learner="x", activity_id="y")
    kit.attempts.clear(T1, "projection")
    assert kit.attempts.list(T1, everything, None, 10) == ([], None)


def every_learner(kit: ProgressKit, tenant: str, limit: int) -> list[str]:
    """``learners`` page after page, as the admin API reads it."""
    seen: list[str] = []
    after: str | None = None
    for _ in range(100):
        page, after = kit.attempts.learners(tenant, after, limit)
        assert len(page) <= limit
        assert page or after is None  # no empty page before the end
        seen += page
        if after is None:
            return seen
    raise AssertionError("learners never reached the end")


LEARNERS = (
    *(f"mbox:mailto:l{n}@example.com" for n in range(6)),
    "sha1:ebd31e95054c018b10727ccffd2ef2ec3a016ee9",
    "openid:https://openid.example.com/ann",
    "acct:https://lms.example.com|ann",
)


def test_learners_pages_list_every_learner_with_attempts_exactly_once(kit: ProgressKit) -> None:
    for n, learner in enumerate(LEARNERS):
        save_new(kit, opened(fact(n, learner=learner)))
    in_order = every_learner(kit, T1, 100)
    assert sorted(in_order) == sorted(LEARNERS)
    for limit in (1, 2, 4, len(LEARNERS) - 1, len(LEARNERS)):
        assert every_learner(kit, T1, limit) == in_order, limit  # once each, in a stable order
    page, after = kit.attempts.learners(T1, None, len(LEARNERS))
    assert (len(page), after) == (len(LEARNERS), None)  # an exact fit has no empty last page
    page, after = kit.attempts.learners(T1, None, 3)
    assert after is not None
    rest, _ = kit.attempts.learners(T1, after, 100)
    assert page + rest == in_order


def test_learners_of_two_tenants_are_apart(kit: ProgressKit) -> None:
    shared = "mbox:mailto:ann@example.com"
    save_new(kit, opened(fact(1, learner=shared)))
    save_new(kit, opened(fact(2, learner="mbox:mailto:bob@example.com")))
    save_new(kit, opened(fact(1, tenant=T2, learner=shared)))
    save_new(kit, opened(fact(3, tenant=T2, learner="mbox:mailto:cy@example.com")))
    assert sorted(every_learner(kit, T1, 1)) == [shared, "mbox:mailto:bob@example.com"]
    assert sorted(every_learner(kit, T2, 1)) == [shared, "mbox:mailto:cy@example.com"]
    assert kit.attempts.learners("tenant-three", None, 10) == ([], None)
    kit.attempts.clear(T1, "projection")
    assert kit.attempts.learners(T1, None, 10) == ([], None)  # a replay rebuilds them
    assert sorted(every_learner(kit, T2, 10)) == [shared, "mbox:mailto:cy@example.com"]
    save_new(kit, opened(fact(4, learner="mbox:mailto:dee@example.com")))
    assert every_learner(kit, T1, 10) == ["mbox:mailto:dee@example.com"]


def test_a_learner_with_many_attempts_is_listed_once(kit: ProgressKit) -> None:
    ann, bob = "mbox:mailto:ann@example.com", "mbox:mailto:bob@example.com"
    assert kit.attempts.learners(T1, None, 10) == ([], None)  # no learners: an empty last page
    kit.attempts.commit(ProgressCommit(T1, inbox=InboxEntry("projection", "e0")))
    assert kit.attempts.learners(T1, None, 10) == ([], None)  # an inbox row is no learner
    for n in range(4):  # other Activities and sessions: other attempts
        save_new(kit, opened(fact(n, learner=ann, activity=f"http://example.com/a{n}")))
        save_new(kit, opened(fact(n + 10, learner=ann, session=f"s{n}")))
    # Two new attempts of one learner in one commit (one registry write on DynamoDB).
    twins = [opened(fact(30 + n, learner=bob, activity=f"http://example.com/t{n}")) for n in (0, 1)]
    kit.attempts.commit(
        ProgressCommit(
            T1, tuple(AttemptChange(a, 0, a.expires_at_us(DEFAULT_RULES)) for a in twins)
        )
    )
    loaded = kit.attempts.get(T1, twins[0].id)
    assert loaded is not None
    loaded.apply(fact(40, COMPLETED, learner=bob, activity=loaded.key.activity_id), DEFAULT_RULES)
    kit.attempts.commit(ProgressCommit(T1, (AttemptChange(loaded, 1, None),)))  # an update
    for limit in (1, 2, 10):
        assert sorted(every_learner(kit, T1, limit)) == [ann, bob]


def test_clear_forgets_a_tenants_attempts_and_inbox_only(kit: ProgressKit) -> None:
    a, b = opened(fact(1)), opened(fact(1, tenant=T2))
    save_new(kit, a, inbox=InboxEntry("projection", "e1"))
    save_new(kit, b, inbox=InboxEntry("projection", "e1"))
    kit.attempts.commit(ProgressCommit(T1, inbox=InboxEntry("other", "e1")))
    kit.attempts.clear(T1, "projection")
    assert kit.attempts.get(T1, a.id) is None
    assert kit.attempts.route(T1, a.key, BASE) is None
    assert kit.attempts.list(T1, AttemptFilter(learner=a.key.learner), None, 5) == ([], None)
    assert not kit.attempts.processed(T1, InboxEntry("projection", "e1"))
    assert kit.attempts.processed(T1, InboxEntry("other", "e1"))
    assert kit.attempts.processed(T2, InboxEntry("projection", "e1"))
    assert kit.attempts.due(BASE + 10**13, 10) == [(T2, b.id)]
    assert kit.attempts.get(T2, b.id) is not None
    save_new(kit, opened(fact(1)), inbox=InboxEntry("projection", "e1"))  # rebuildable


# ------------------------------------------------------------------ Statement outbox rows


def _statement(n: int, tenant: str = T1) -> NewStatement:
    f = fact(n, COMPLETED, tenant=tenant)
    body = {
        "id": f.id,
        "actor": {"mbox": "mailto:ann@example.com"},
        "verb": {"id": f.verb},
        "object": {"id": f.activity_id},
    }
    return NewStatement(
        id=f.id,
        stored_us=f.stored_us,
        body=orjson.dumps(body),
        keys=index_keys(body),
        event=orjson.dumps(envelope(StatementStored(f))),
    )


def test_statement_insert_commits_its_outbox_row_once(kit: ProgressKit) -> None:
    from progress.app.ports import DuplicateIds

    first, second = _statement(1), _statement(2)
    kit.statements.insert(T1, [first, second], {}, [])
    rows = kit.read_outbox()
    assert [r["data"]["statement_id"] for r in rows] == [first.id, second.id]
    assert all(r["type"] == "progress.statement.stored.v1" and r["tenant"] == T1 for r in rows)
    with pytest.raises(DuplicateIds):
        kit.statements.insert(T1, [first, _statement(3)], {}, [])
    assert kit.read_outbox() == []  # nothing new: the rejected batch wrote no row


# ------------------------------------------------------------------------- rules


def test_rules_round_trip_per_tenant(kit: ProgressKit) -> None:
    assert kit.rules.get_rules(T1) is None
    rules = ProgressRules.from_json({"masteryScore": 0.8})
    kit.rules.put_rules(T1, rules)
    assert kit.rules.get_rules(T1) == rules
    assert kit.rules.get_rules(T2) is None


# ------------------------------------------------------------------------- certificates


def cert(version: int, *, revoked: bool = False) -> Certificate:
    return Certificate(
        id="c0ffee00-0000-5000-8000-000000000001",
        tenant=T1,
        completion_id="comp-1",
        attempt_version=version,
        learner="mbox:mailto:ann@example.com",
        learner_name="Ann",
        activity_id="http://example.com/course",
        activity_name="Course",
        completed=True,
        passed=True,
        score=Score(scaled=0.9),
        achieved_us=BASE,
        issued_us=BASE + version,
        revoked=revoked,
        pdf_key=f"k/v{version}.pdf",
        json_key=f"k/v{version}.json",
    )


def test_certificate_keeps_the_highest_version_and_records_the_inbox(kit: ProgressKit) -> None:
    assert kit.certificates.get(cert(1).id) is None
    assert kit.certificates.save(cert(3), InboxEntry("certificates", "e3"))
    assert not kit.certificates.save(cert(2), InboxEntry("certificates", "e2"))  # out of order
    assert kit.certificates.get(cert(1).id) == cert(3)
    with pytest.raises(AlreadyProcessed):
        kit.certificates.save(cert(9), InboxEntry("certificates", "e3"))
    assert kit.certificates.get(cert(1).id) == cert(3)
    assert kit.certificates.save(cert(4, revoked=True), InboxEntry("certificates", "e4"))
    assert kit.certificates.get(cert(1).id) == cert(4, revoked=True)


# ------------------------------------------------------------------------- dead letters


def test_dead_letters_list_and_remove(kit: ProgressKit) -> None:
    env = {
        "id": "e1",
        "type": "progress.statement.stored.v1",
        "source": "progress",
        "tenant": T1,
        "time": "2025-01-01T00:00:00.000000Z",
        "data": {},
    }
    kit.dead_letters.add("projection", env, "KeyError: 'verb'", 3)
    kit.dead_letters.add("certificates", {**env, "id": "e2"}, "boom", 3)
    letters = kit.dead_letters.list(None, 10)
    assert [(d.consumer, d.envelope["id"], d.reason, d.attempts) for d in letters] == [
        ("projection", "e1", "KeyError: 'verb'", 3),
        ("certificates", "e2", "boom", 3),
    ]
    only = kit.dead_letters.list("projection", 10)
    assert [d.envelope for d in only] == [env]
    kit.dead_letters.remove([only[0].id])
    assert [d.consumer for d in kit.dead_letters.list(None, 10)] == ["certificates"]
