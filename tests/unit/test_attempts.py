"""The Attempt aggregate: its one transition (open -> closed), the closing rules, time windows,
late, out-of-order, duplicated and voided Statements, inactivity, and storage snapshots.

Requirements cited: cmi5 §9.3 (CMI-062 terminated ends a session, CMI-063 abandoned, CMI-070
waived, CMI-072 satisfied), SP§5.0 (SCORM-010..014), VOID-002 (voided Statements are ignored).
"""

from __future__ import annotations

import itertools
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from progress.domain.attempts import TRANSITIONS, Attempt, AttemptState
from progress.domain.events import AttemptClosed, AttemptOpened, CompletionRecorded
from progress.domain.facts import Score, StatementFact
from progress.domain.progress_errors import (
    AttemptMismatch,
    InvalidTransition,
    NotExpired,
    ProjectionRefused,
    SkipReason,
)
from progress.domain.progress_rules import DEFAULT_RULES, CloseReason, ProgressRules
from tests.unit.progress_builders import (
    DAY,
    MIN,
    SYNC,
    T0,
    Router,
    fact,
    key,
    sid,
)

OPEN, CLOSED = AttemptState.OPEN, AttemptState.CLOSED


def opened(*facts_: StatementFact) -> Attempt:
    return Router().run(list(facts_)).only()


# ----------------------------------------------------------------------------- the state table


def test_the_transition_table_allows_open_to_closed_and_nothing_out_of_closed() -> None:
    assert dict(TRANSITIONS) == {OPEN: frozenset({CLOSED}), CLOSED: frozenset()}


def test_given_no_attempt_when_initialized_arrives_then_attempt_1_opens_at_version_1() -> None:
    """SCORM-010: initialized starts an attempt."""
    attempt = opened(fact(1, "initialized", 0))
    assert (attempt.state, attempt.version, attempt.seq) == (OPEN, 1, 1)
    assert attempt.id == key().attempt_id(1)
    assert attempt.events == [AttemptOpened(attempt.id, key(), 1, 1, T0, sid(1), occurred_us=T0)]
    assert (attempt.started_us, attempt.last_us, attempt.last_seen_us) == (T0, T0, T0)
    assert attempt.statement_ids == {sid(1)}
    assert attempt.opened_after_us is None
    assert attempt.closed_us is None
    assert attempt.close_reason is None
    assert attempt.completion is None
    assert not attempt.suspended
    assert repr(attempt) == f"<Attempt {attempt.id} #1 open v1>"


@pytest.mark.parametrize(
    ("verb", "reason"),
    [
        ("terminated", CloseReason.TERMINATED),  # CMI-062, SCORM-013
        ("abandoned", CloseReason.ABANDONED),  # CMI-063
        ("exited", CloseReason.EXITED),
        ("waived", CloseReason.WAIVED),  # CMI-075
        ("satisfied", CloseReason.SATISFIED),  # CMI-072
    ],
)
def test_given_open_attempt_when_a_closing_verb_arrives_then_it_closes_with_that_reason(
    verb: str, reason: CloseReason
) -> None:
    attempt = opened(fact(1, "launched", 0), fact(2, verb, 5, stored_min=6))
    assert (attempt.state, attempt.version) == (CLOSED, 2)
    assert (attempt.close_reason, attempt.closed_by) == (reason, sid(2))
    assert attempt.closed_us == T0 + 5 * MIN
    closed = [e for e in attempt.events if isinstance(e, AttemptClosed)]
    assert closed == [
        AttemptClosed(
            attempt.id, key(), 1, 2, reason, T0, T0 + 5 * MIN, sid(2), occurred_us=T0 + 6 * MIN
        )
    ]


def test_attempt_close_twice_raises_invalid_transition() -> None:
    attempt = opened(fact(1, "initialized", 0))
    attempt.close(CloseReason.ABANDONED, at_us=T0 + MIN, occurred_us=T0 + 2 * MIN)
    assert (attempt.state, attempt.version, attempt.closed_by) == (CLOSED, 2, None)
    assert attempt.events[-1] == AttemptClosed(
        attempt.id, key(), 1, 2, CloseReason.ABANDONED, T0, T0 + MIN, None, T0 + 2 * MIN
    )
    with pytest.raises(InvalidTransition) as caught:
        attempt.close(CloseReason.TERMINATED, at_us=T0 + 3 * MIN, occurred_us=T0 + 3 * MIN)
    assert caught.value.message == f"attempt {attempt.id}: cannot go from closed to closed"
    assert (caught.value.attempt_id, caught.value.current, caught.value.target) == (
        attempt.id,
        CLOSED,
        CLOSED,
    )
    assert (attempt.version, attempt.close_reason, len(attempt.events)) == (2, "abandoned", 2)


def test_an_explicit_close_can_name_the_statement_that_closed_it() -> None:
    attempt = opened(fact(1, "initialized", 0))
    attempt.close(CloseReason.ABANDONED, at_us=T0 + MIN, occurred_us=T0 + MIN, closed_by=sid(9))
    assert attempt.closed_by == sid(9)
    assert attempt.events[-1].data()["closed_by"] == sid(9)


def test_an_explicit_close_before_the_latest_statement_closes_at_the_latest() -> None:
    attempt = opened(fact(1, "initialized", 0), fact(2, "resumed", 10))
    attempt.close(CloseReason.ABANDONED, at_us=T0, occurred_us=T0 + 11 * MIN)
    assert attempt.closed_us == T0 + 10 * MIN


def test_a_closing_statement_closes_at_the_latest_time_already_counted() -> None:
    """A window always holds what it counted: terminated at 5 after a Statement at 10."""
    attempt = opened(fact(1, "initialized", 0), fact(2, "completed", 10), fact(3, "terminated", 5))
    assert attempt.closed_us == T0 + 10 * MIN
    assert attempt.covers(T0 + 10 * MIN)
    assert not attempt.covers(T0 + 10 * MIN + 1)


# ----------------------------------------------------------------------------- duplicates


def test_given_a_counted_statement_when_it_is_redelivered_then_nothing_changes() -> None:
    router = Router().run([fact(1, "initialized", 0), fact(2, "completed", 3)])
    attempt = router.only()
    before = (attempt.version, attempt.snapshot(), len(attempt.events))
    result = router.project(fact(2, "completed", 3))
    assert (result.skipped, result.attempts, result.events, result.completion) == (
        SkipReason.DUPLICATE,
        (),
        (),
        None,
    )
    assert (attempt.version, attempt.snapshot(), len(attempt.events)) == before


def test_applying_a_refused_statement_raises_projection_refused() -> None:
    attempt = opened(fact(1, "initialized", 0))
    with pytest.raises(ProjectionRefused) as caught:
        attempt.apply(fact(1, "initialized", 0), DEFAULT_RULES)
    assert caught.value.reason is SkipReason.DUPLICATE
    assert caught.value.message == (f"attempt {attempt.id}: statement {sid(1)} refused (duplicate)")
    assert (caught.value.attempt_id, caught.value.statement_id) == (attempt.id, sid(1))
    assert attempt.version == 1


# --------------------------------------------------------------------- late and out of order


def test_given_terminated_first_when_completed_arrives_later_then_it_counts_without_reopening() -> (
    None
):
    """Out of order: terminated (10) overtook completed (5); cmi5 §9.3 orders by timestamp."""
    router = Router().run([fact(1, "initialized", 0), fact(3, "terminated", 10)])
    result = router.project(fact(2, "completed", 5, completion=True))
    attempt = router.only()
    assert (attempt.state, attempt.close_reason, attempt.closed_us) == (
        CLOSED,
        CloseReason.TERMINATED,
        T0 + 10 * MIN,
    )
    assert attempt.version == 3
    assert [type(e) for e in result.events] == [CompletionRecorded]
    assert result.completion is not None
    assert result.completion.completed
    assert result.attempts == (attempt,)


def test_a_seven_day_old_statement_from_an_offline_client_counts_toward_its_attempt() -> None:
    late = [
        fact(n, verb, n, stored_min=SYNC / MIN - T0 / MIN)
        for n, verb in enumerate(["initialized", "completed", "terminated"], start=1)
    ]
    attempt = Router().run(late).only()
    assert (attempt.state, attempt.started_us, attempt.closed_us) == (
        CLOSED,
        T0 + MIN,
        T0 + 3 * MIN,
    )
    assert attempt.last_seen_us == SYNC
    assert attempt.completion is not None
    assert attempt.completion.completed


def test_a_statement_earlier_than_the_first_attempts_start_moves_its_start() -> None:
    attempt = opened(fact(2, "terminated", 10), fact(1, "launched", -30))
    assert attempt.started_us == T0 - 30 * MIN
    assert attempt.last_us == T0 + 10 * MIN


def test_given_closed_attempt_without_session_when_a_later_one_arrives_then_attempt_2_opens() -> (
    None
):
    router = Router().run([fact(1, "initialized", 0), fact(2, "terminated", 10)])
    result = router.project(fact(3, "initialized", 20))
    first, second = router.attempts()
    assert result.attempts == (second,)
    assert (second.seq, second.state, second.opened_after_us) == (2, OPEN, T0 + 10 * MIN)
    assert second.id == key().attempt_id(2) != first.id
    assert [type(e) for e in result.events] == [AttemptOpened]
    assert first.version == 2  # untouched
    assert not second.covers(T0 + 10 * MIN)
    assert second.covers(T0 + 10 * MIN + 1)


def test_given_closed_session_when_a_later_statement_of_it_arrives_then_it_is_skipped() -> None:
    """CMI-062: after terminated the LMS rejects the session's Statements."""
    session = "cmi5:s-1"
    router = Router().run(
        [fact(1, "initialized", 0, session=session), fact(2, "terminated", 10, session=session)]
    )
    result = router.project(fact(3, "completed", 20, session=session))
    assert (result.skipped, result.attempts, result.events) == (SkipReason.AFTER_CLOSE, (), ())
    assert len(router.attempts(session)) == 1


def test_statements_of_two_sessions_go_to_their_own_attempts_whatever_the_order() -> None:
    """cmi5 §9.6.3.1: a session id names one launch; sessions of a registration never mix."""
    router = Router().run(
        [
            fact(3, "initialized", 60, session="cmi5:s-2"),
            fact(1, "initialized", 0, session="cmi5:s-1"),
            fact(4, "completed", 70, session="cmi5:s-2"),
            fact(2, "terminated", 30, session="cmi5:s-1"),
        ]
    )
    one, two = router.only("cmi5:s-1"), router.only("cmi5:s-2")
    assert (one.state, two.state) == (CLOSED, OPEN)
    assert one.statement_ids == {sid(1), sid(2)}
    assert two.statement_ids == {sid(3), sid(4)}
    assert one.completion is None
    assert two.completion is not None


@pytest.mark.parametrize(
    "stray",
    [
        fact(9, "initialized", 0, learner="mbox:mailto:other@example.com"),
        fact(9, "initialized", 0, activity="https://example.com/other"),
        fact(9, "initialized", 0, registration=None),
        fact(9, "initialized", 0, session="cmi5:other"),
        fact(9, "initialized", 0, tenant="other"),
    ],
)
def test_a_statement_of_another_key_raises_attempt_mismatch(stray: StatementFact) -> None:
    attempt = opened(fact(1, "initialized", 0))
    with pytest.raises(AttemptMismatch) as caught:
        attempt.refusal(stray, DEFAULT_RULES)
    assert caught.value.message == f"attempt {attempt.id}: statement {sid(9)} belongs elsewhere"
    assert (caught.value.attempt_id, caught.value.statement_id) == (attempt.id, sid(9))


def test_a_statement_of_an_earlier_window_raises_attempt_mismatch() -> None:
    router = Router().run(
        [fact(1, "initialized", 0), fact(2, "terminated", 10), fact(3, "initialized", 20)]
    )
    second = router.attempts()[1]
    with pytest.raises(AttemptMismatch):
        second.refusal(fact(4, "completed", 10), DEFAULT_RULES)
    assert second.refusal(fact(4, "completed", 10.5), DEFAULT_RULES) is None
    with pytest.raises(AttemptMismatch) as caught:
        Attempt.open(
            fact(5, "initialized", 10), DEFAULT_RULES, seq=3, opened_after_us=T0 + 10 * MIN
        )
    assert (caught.value.attempt_id, caught.value.statement_id) == (key().attempt_id(3), sid(5))


def test_a_timestamp_ahead_of_stored_counts_at_its_stored_time() -> None:
    """A client clock running ahead cannot push the attempt's window into the future."""
    attempt = opened(fact(1, "initialized", 600, stored_min=1))
    assert (attempt.started_us, attempt.last_us) == (T0 + MIN, T0 + MIN)


# ----------------------------------------------------------------------------- open() guards


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (fact(1, "initialized", 0, learner=None), SkipReason.NOT_PROJECTABLE),
        (fact(1, "initialized", 0, activity=None), SkipReason.NOT_PROJECTABLE),
        (fact(1, "experienced", 0), SkipReason.NOT_TRACKED),
        (fact(1, "initialized", 0, voided=True), SkipReason.NOTHING_TO_VOID),
    ],
)
def test_open_refuses_a_statement_that_cannot_open_an_attempt(
    bad: StatementFact, reason: SkipReason
) -> None:
    with pytest.raises(ProjectionRefused) as caught:
        Attempt.open(bad, DEFAULT_RULES)
    assert caught.value.reason is reason
    expected_id = "#1" if reason is SkipReason.NOT_PROJECTABLE else key().attempt_id(1)
    assert (caught.value.attempt_id, caught.value.statement_id) == (expected_id, sid(1))


# ----------------------------------------------------------------------------- suspend and resume


def test_a_suspended_attempt_stays_open_and_waits_the_suspended_timeout() -> None:
    """SCORM-012/014: suspended keeps the attempt (resumed later); it is not a close."""
    rules = ProgressRules(inactivity_timeout_s=600, suspended_timeout_s=3600)
    attempt = Router(rules).run([fact(1, "initialized", 0), fact(2, "suspended", 5)]).only()
    assert (attempt.state, attempt.suspended) == (OPEN, True)
    assert attempt.expires_at_us(rules) == T0 + 5 * MIN + 3600 * 1_000_000
    attempt.apply(fact(3, "resumed", 60), rules)
    assert attempt.suspended is False
    assert attempt.expires_at_us(rules) == T0 + 60 * MIN + 600 * 1_000_000


def test_a_resume_that_arrived_before_its_suspend_still_leaves_the_attempt_resumed() -> None:
    attempt = opened(fact(1, "initialized", 0), fact(3, "resumed", 60), fact(2, "suspended", 5))
    assert attempt.suspended is False
    assert attempt.latest == (T0 + 60 * MIN, sid(3), False)


def test_the_latest_statement_is_ordered_by_time_then_id() -> None:
    attempt = opened(fact(2, "initialized", 0), fact(1, "suspended", 0))
    assert attempt.latest == (T0, sid(2), False)
    attempt.apply(fact(3, "suspended", 0), DEFAULT_RULES)
    assert attempt.latest == (T0, sid(3), True)


# ----------------------------------------------------------------------------- inactivity


def test_an_open_attempt_expires_once_silent_for_the_inactivity_timeout() -> None:
    rules = ProgressRules(inactivity_timeout_s=3600)
    attempt = Router(rules).run([fact(1, "initialized", 0, stored_min=2)]).only()
    deadline = T0 + 2 * MIN + 3600 * 1_000_000
    assert attempt.expires_at_us(rules) == deadline
    assert not attempt.is_expired(deadline - 1, rules)
    assert attempt.is_expired(deadline, rules)
    attempt.expire(deadline, rules)
    assert (attempt.state, attempt.close_reason, attempt.closed_by, attempt.version) == (
        CLOSED,
        CloseReason.EXPIRED,
        None,
        2,
    )
    assert attempt.closed_us == T0 + 3600 * 1_000_000  # the latest Statement time + timeout
    assert attempt.events[-1] == AttemptClosed(
        attempt.id, key(), 1, 2, CloseReason.EXPIRED, T0, T0 + 3600 * 1_000_000, None, deadline
    )
    assert attempt.expires_at_us(rules) is None
    assert not attempt.is_expired(deadline * 2, rules)


def test_a_suspended_attempt_expires_after_the_suspended_timeout() -> None:
    rules = ProgressRules(inactivity_timeout_s=60, suspended_timeout_s=7200)
    attempt = Router(rules).run([fact(1, "suspended", 0)]).only()
    attempt.expire(T0 + 7200 * 1_000_000, rules)
    assert attempt.closed_us == T0 + 7200 * 1_000_000


def test_expiring_before_the_timeout_raises_not_expired() -> None:
    attempt = opened(fact(1, "initialized", 0))
    with pytest.raises(NotExpired) as caught:
        attempt.expire(T0 + DAY - 1, DEFAULT_RULES)
    assert caught.value.message == f"attempt {attempt.id}: not inactive long enough to expire"
    assert (caught.value.attempt_id, caught.value.expires_at_us) == (attempt.id, T0 + DAY)
    assert (attempt.state, attempt.version) == (OPEN, 1)


def test_expiring_a_closed_attempt_raises_invalid_transition() -> None:
    attempt = opened(fact(1, "initialized", 0), fact(2, "terminated", 1))
    with pytest.raises(InvalidTransition):
        attempt.expire(T0 + 10 * DAY, DEFAULT_RULES)
    assert attempt.version == 2


def test_a_statement_arriving_after_the_timeout_expires_the_attempt_first() -> None:
    """Expiry is decided by stored times: the same Statements always expire the same way."""
    router = Router().run([fact(1, "initialized", 0)])
    result = router.project(fact(2, "initialized", 25 * 60))
    first, second = router.attempts()
    assert (first.state, first.close_reason, first.closed_us) == (
        CLOSED,
        CloseReason.EXPIRED,
        T0 + DAY,
    )
    assert result.attempts == (first, second)
    assert [type(e) for e in result.events] == [AttemptClosed, AttemptOpened]
    assert result.events[0].occurred_us == T0 + DAY + 60 * MIN
    assert second.opened_after_us == T0 + DAY


def test_a_late_statement_inside_the_expired_window_counts_toward_the_expired_attempt() -> None:
    router = Router().run([fact(1, "initialized", 0)])
    result = router.project(fact(2, "completed", 30, stored_min=3 * 24 * 60))
    attempt = router.only()
    assert (attempt.state, attempt.close_reason, attempt.version) == (
        CLOSED,
        CloseReason.EXPIRED,
        3,
    )
    assert [type(e) for e in result.events] == [AttemptClosed, CompletionRecorded]
    assert result.attempts == (attempt,)


def test_a_late_session_statement_after_the_expired_window_is_skipped_but_the_expiry_saved() -> (
    None
):
    router = Router().run([fact(1, "initialized", 0, session="cmi5:s")])
    result = router.project(fact(2, "completed", 2 * 24 * 60, session="cmi5:s"))
    assert result.skipped is SkipReason.AFTER_CLOSE
    assert result.attempts == (router.only("cmi5:s"),)
    assert [type(e) for e in result.events] == [AttemptClosed]


def test_an_offline_burst_keeps_its_attempt_alive_while_it_arrives() -> None:
    """Inactivity runs in server time: an hour of Statements synced a week later is one
    attempt, not one per timeout."""
    rules = ProgressRules(inactivity_timeout_s=60)
    burst = [
        fact(n, "resumed" if n > 1 else "initialized", n * 10, stored_min=7 * 24 * 60 + n / 100)
        for n in range(1, 7)
    ]
    attempt = Router(rules).run(burst).only()
    assert (attempt.state, attempt.version, len(attempt.statement_ids)) == (OPEN, 6, 6)


# ----------------------------------------------------------------------------- voiding


def test_voiding_the_completing_statement_revokes_the_completion() -> None:
    """VOID-002: a voided Statement no longer counts."""
    router = Router().run([fact(1, "initialized", 0), fact(2, "completed", 5)])
    attempt = router.only()
    result = router.project(fact(2, "completed", 5, voided=True))
    assert attempt.version == 3
    assert attempt.voided_ids == {sid(2)}
    assert sid(2) not in attempt.outcomes
    assert sid(2) in attempt.statement_ids  # remembered: a redelivery stays a duplicate
    assert result.completion is not None
    assert (result.completion.completed, result.completion.statement_ids) == (False, ())
    assert [type(e) for e in result.events] == [CompletionRecorded]
    assert router.project(fact(2, "completed", 5, voided=True)).skipped is SkipReason.DUPLICATE
    assert router.project(fact(2, "completed", 5)).skipped is SkipReason.DUPLICATE
    assert attempt.version == 3


def test_voiding_a_statement_that_was_no_outcome_changes_nothing() -> None:
    router = Router().run([fact(1, "initialized", 0), fact(2, "completed", 5)])
    result = router.project(fact(1, "initialized", 0, voided=True))
    assert result.skipped is SkipReason.NOTHING_TO_VOID
    assert router.only().version == 2


def test_voiding_the_terminated_statement_does_not_reopen() -> None:
    router = Router().run([fact(1, "initialized", 0), fact(2, "terminated", 5)])
    assert router.project(fact(2, "terminated", 5, voided=True)).skipped is (
        SkipReason.NOTHING_TO_VOID
    )
    assert router.only().state is CLOSED


def test_voiding_one_of_two_completions_keeps_the_record_from_the_other() -> None:
    router = Router().run([fact(1, "completed", 0), fact(2, "completed", 5, duration="PT5M")])
    attempt = router.only()
    assert attempt.completion is not None
    assert attempt.completion.statement_ids == (sid(1), sid(2))
    router.project(fact(2, "completed", 5, voided=True))
    assert list(attempt.completion.statement_ids) == [sid(1)]
    assert attempt.completion.duration is None


def test_the_mastery_score_of_the_attempts_activity_applies() -> None:
    """CMI-065 with a per-AU masteryScore (cmi5 §10.2.4)."""
    rules = ProgressRules(mastery_score=0.5, mastery_by_activity={key().activity_id: 0.9})
    attempt = Router(rules).run([fact(1, "passed", 0, score=Score(scaled=0.85))]).only()
    assert attempt.completion is not None
    assert (attempt.completion.failed, attempt.completion.mastery_score) == (True, 0.9)


def test_a_statement_that_leaves_the_record_as_it_was_publishes_no_record() -> None:
    router = Router().run([fact(1, "passed", 0, score=Score(scaled=0.9))])
    result = router.project(fact(2, "scored", 1, score=Score(scaled=0.2)))
    assert (result.events, router.only().version) == ((), 2)
    assert router.only().completion == result.completion


# ----------------------------------------------------------------------------- snapshots


def test_a_restored_attempt_equals_the_one_snapshotted_and_goes_on_the_same_way() -> None:
    facts = [
        fact(1, "initialized", 0),
        fact(2, "passed", 5, score=Score(scaled=0.9, raw=9, min=0, max=10), duration="PT5M"),
        fact(3, "suspended", 6),
        fact(2, "passed", 5, voided=True),
        fact(4, "completed", 7),
        fact(5, "terminated", 8),
    ]
    router = Router().run(facts[:5])
    attempt = router.only()
    restored = Attempt.restore(attempt.snapshot())
    assert restored.snapshot() == attempt.snapshot()
    assert (restored.id, restored.events, restored.suspended) == (attempt.id, [], attempt.suspended)
    attempt.apply(facts[5], DEFAULT_RULES)
    restored.apply(facts[5], DEFAULT_RULES)
    assert restored.snapshot() == attempt.snapshot()
    assert restored.snapshot()["close_reason"] == "terminated"
    assert restored.completion == attempt.completion
    again = Attempt.restore(restored.snapshot())
    assert again.snapshot() == attempt.snapshot()
    assert (again.state, again.close_reason) == (CLOSED, CloseReason.TERMINATED)
    assert (again.closed_us, again.closed_by) == (T0 + 8 * MIN, sid(5))
    assert again.completion == attempt.completion


def test_a_restored_second_attempt_keeps_its_window_scores_and_record() -> None:
    router = Router().run(
        [
            fact(1, "initialized", 0),
            fact(2, "terminated", 1),
            fact(3, "passed", 2, score=Score(0.9, 9, 0, 10), duration="PT1M"),
            fact(4, "completed", 3, success=False, duration="PT2M"),
        ]
    )
    second = router.attempts()[1]
    restored = Attempt.restore(second.snapshot())
    assert restored.snapshot() == second.snapshot()
    assert (restored.seq, restored.opened_after_us) == (2, T0 + MIN)
    assert restored.outcomes == second.outcomes
    assert restored.outcomes[sid(4)].success is False
    assert restored.completion == second.completion
    assert restored.completion is not None
    assert (restored.completion.score, restored.completion.duration) == (
        Score(0.9, 9, 0, 10),
        "PT2M",
    )
    mastered = Router(ProgressRules(mastery_score=0.5)).run([fact(1, "passed", 0)]).only()
    restored_mastered = Attempt.restore(mastered.snapshot())
    assert restored_mastered.completion == mastered.completion
    assert restored_mastered.completion is not None
    assert restored_mastered.completion.mastery_score == 0.5


def test_a_snapshot_is_plain_json() -> None:
    attempt = opened(fact(1, "passed", 0, score=Score(scaled=0.5)), fact(2, "terminated", 1))
    snapshot = attempt.snapshot()
    assert json.loads(json.dumps(snapshot)) == snapshot
    assert snapshot["key"] == [
        key().tenant,
        key().learner,
        key().activity_id,
        key().registration,
        None,
    ]
    assert (snapshot["seq"], snapshot["state"], snapshot["version"]) == (1, "closed", 2)
    assert snapshot["latest"] == [T0 + MIN, sid(2), False]
    assert snapshot["outcomes"] == [
        {
            "id": sid(1),
            "at_us": T0,
            "completes": False,
            "success": True,
            "score": {"scaled": 0.5},
            "duration": None,
        }
    ]
    assert snapshot["completion"] == {
        "attempt_id": attempt.id,
        "completed": False,
        "success": True,
        "score": {"scaled": 0.5},
        "duration": None,
        "time_us": T0,
        "statement_ids": [sid(1)],
        "mastery_score": None,
    }


# ----------------------------------------------------------------------------- invariants


SESSIONS = st.sampled_from([None, "cmi5:s-1", "scorm:https://example.com/c/sco?attemptId=1"])
MIDDLE = ["completed", "passed", "failed", "scored", "suspended", "resumed", "experienced"]


@st.composite
def well_formed_sessions(draw: st.DrawFn) -> tuple[list[StatementFact], list[StatementFact]]:
    """(facts in timestamp order, the same facts in some arrival order with duplicates):
    one start, some middle Statements, one close last (cmi5 §9.3)."""
    session = draw(SESSIONS)
    middle = draw(st.lists(st.sampled_from(MIDDLE), unique=True, max_size=5))
    close = draw(st.sampled_from(["terminated", "abandoned", "exited", None]))
    verbs = ["launched", "initialized", *middle] + ([close] if close else [])
    facts: list[StatementFact] = []
    for n, verb in enumerate(verbs, start=1):
        scaled = draw(st.floats(0, 1)) if verb in ("passed", "failed", "scored") else None
        facts.append(
            fact(
                n,
                verb,
                n,
                stored_min=n + draw(st.integers(0, 600)),
                session=session,
                score=Score(scaled=scaled) if scaled is not None else None,
                duration=f"PT{n}M" if verb != "experienced" else None,
            )
        )
    arrival = draw(st.permutations(facts))
    for duplicate in draw(st.lists(st.sampled_from(facts), max_size=4)):
        arrival.insert(draw(st.integers(0, len(arrival))), duplicate)
    return facts, arrival


@given(well_formed_sessions(), st.sampled_from([None, 0.5, 0.8]))
def test_any_arrival_order_with_duplicates_gives_the_same_attempt_and_one_completion(
    session: tuple[list[StatementFact], list[StatementFact]], mastery: float | None
) -> None:
    in_order, arrival = session
    rules = ProgressRules(mastery_score=mastery)
    expected = Router(rules).run(in_order)
    actual = Router(rules).run(arrival)
    ((want,),), ((got,),) = expected.by_key.values(), actual.by_key.values()
    assert got.snapshot() == want.snapshot()
    assert got.completion == want.completion
    recorded = [e for e in actual.published if isinstance(e, CompletionRecorded)]
    assert {e.record.id for e in recorded} <= {got.completion.id if got.completion else None}
    if recorded:
        assert max(recorded, key=lambda e: e.version).record == got.completion
    opened_events = [e for e in actual.published if isinstance(e, AttemptOpened)]
    closed_events = [e for e in actual.published if isinstance(e, AttemptClosed)]
    assert len(opened_events) == 1
    assert len(closed_events) == (1 if got.state is CLOSED else 0)


@st.composite
def any_facts(draw: st.DrawFn) -> list[StatementFact]:
    """Arbitrary (not necessarily well-formed) Statements of one learner and Activity."""
    verbs = [*MIDDLE, "launched", "initialized", "terminated", "abandoned", "waived"]
    out: list[StatementFact] = []
    for _ in range(draw(st.integers(1, 14))):
        n = draw(st.integers(1, 8))
        out.append(
            fact(
                n,
                draw(st.sampled_from(verbs)),
                draw(st.integers(0, 3000)),
                stored_min=draw(st.integers(0, 4 * 24 * 60)),
                session=draw(st.sampled_from([None, None, "cmi5:s-1"])),
                success=draw(st.sampled_from([None, True, False])),
                completion=draw(st.sampled_from([None, True, False])),
                score=draw(st.sampled_from([None, Score(scaled=0.2), Score(raw=5, max=10)])),
                voided=draw(st.booleans()),
            )
        )
    return out


@given(any_facts())
def test_whatever_arrives_versions_only_grow_closed_stays_closed_and_windows_tile(
    facts: list[StatementFact],
) -> None:
    router = Router()
    seen_ids: set[str] = set()
    for f in facts:
        before = {a.id: (a.version, a.state) for a in router.attempts(f.session)}
        result = router.project(f)
        for attempt in router.attempts(f.session):
            version, state = before.get(attempt.id, (0, OPEN))
            assert attempt.version >= version
            assert (attempt.version > version) == (attempt in result.attempts)
            assert not (state is CLOSED and attempt.state is OPEN)
        if result.skipped is not None and not result.attempts:
            assert result.events == ()
        for event in result.events:
            assert event.event_id not in seen_ids
            seen_ids.add(event.event_id)
    for attempts in router.by_key.values():
        assert [a.seq for a in attempts] == list(range(1, len(attempts) + 1))
        assert all(a.state is CLOSED for a in attempts[:-1])
        for earlier, later in itertools.pairwise(attempts):
            assert later.opened_after_us == earlier.closed_us
            assert later.started_us > (earlier.closed_us or 0)


@given(any_facts())
def test_replaying_the_same_statements_gives_the_same_events_with_the_same_ids(
    facts: list[StatementFact],
) -> None:
    first = Router().run(facts)
    second = Router().run(facts)
    assert first.published == second.published
    assert [e.event_id for e in first.published] == [e.event_id for e in second.published]
