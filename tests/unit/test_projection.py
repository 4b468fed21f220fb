"""``project``: one Statement's fact in, what to save and publish out; never a failure for a
Statement that cannot be projected (it is skipped with its reason)."""

from __future__ import annotations

import pytest

from progress.domain.attempts import Attempt
from progress.domain.events import AttemptClosed, AttemptOpened, CompletionRecorded
from progress.domain.facts import Score, StatementFact
from progress.domain.progress_errors import AttemptMismatch, SkipReason
from progress.domain.progress_rules import DEFAULT_RULES, ProgressRules
from progress.domain.projection import Projection, project
from tests.unit.progress_builders import AU, T0, fact, key, sid

CUSTOM = "https://example.com/verbs/finished"


@pytest.mark.parametrize(
    "f",
    [
        fact(1, "completed", 0, learner=None),  # an anonymous Group
        fact(1, "completed", 0, activity=None),  # about an Agent or a StatementRef
    ],
)
def test_a_statement_without_learner_or_activity_is_skipped(f: StatementFact) -> None:
    assert project(None, f, DEFAULT_RULES) == Projection(skipped=SkipReason.NOT_PROJECTABLE)


def test_an_untracked_verb_is_skipped_before_any_attempt_is_looked_at() -> None:
    attempt = project(None, fact(1, "initialized", 0), DEFAULT_RULES).attempts[0]
    for candidate in (None, attempt):
        result = project(candidate, fact(2, "experienced", 1), DEFAULT_RULES)
        assert result == Projection(skipped=SkipReason.NOT_TRACKED)
    assert attempt.refusal(fact(2, "experienced", 1), DEFAULT_RULES) is SkipReason.NOT_TRACKED
    assert attempt.version == 1


def test_a_voided_statement_without_attempt_has_nothing_to_void() -> None:
    result = project(None, fact(1, "completed", 0, voided=True), DEFAULT_RULES)
    assert result == Projection(skipped=SkipReason.NOTHING_TO_VOID)


def test_the_first_statement_opens_and_returns_the_new_attempt_and_its_events() -> None:
    result = project(None, fact(1, "passed", 0, score=Score(scaled=0.9)), DEFAULT_RULES)
    (attempt,) = result.attempts
    assert result.skipped is None
    assert result.events == tuple(attempt.events)
    assert [type(e) for e in result.events] == [AttemptOpened, CompletionRecorded]
    assert result.completion is attempt.completion
    assert result.completion is not None
    assert result.completion.passed


def test_only_the_events_of_this_call_are_returned() -> None:
    attempt = project(None, fact(1, "initialized", 0), DEFAULT_RULES).attempts[0]
    result = project(attempt, fact(2, "completed", 1), DEFAULT_RULES)
    assert [type(e) for e in result.events] == [CompletionRecorded]
    assert len(attempt.events) == 2
    result = project(attempt, fact(3, "terminated", 2), DEFAULT_RULES)
    assert [type(e) for e in result.events] == [AttemptClosed]
    assert result.completion == attempt.completion


def test_a_statement_that_changes_only_bookkeeping_saves_the_attempt_and_publishes_nothing() -> (
    None
):
    attempt = project(None, fact(1, "launched", 0), DEFAULT_RULES).attempts[0]
    result = project(attempt, fact(2, "initialized", 1), DEFAULT_RULES)
    assert (result.attempts, result.events, result.skipped) == ((attempt,), (), None)
    assert attempt.version == 2


def test_a_statement_after_the_close_opens_the_next_attempt_after_its_window() -> None:
    first = project(None, fact(1, "waived", 0), DEFAULT_RULES).attempts[0]
    result = project(first, fact(2, "satisfied", 1), DEFAULT_RULES)
    (second,) = result.attempts
    assert (second.seq, second.opened_after_us, second.id) == (2, T0, key().attempt_id(2))
    assert [type(e) for e in result.events] == [
        AttemptOpened,
        CompletionRecorded,
        AttemptClosed,
    ]
    assert result.completion is second.completion


def test_an_attempt_of_another_key_is_a_callers_bug() -> None:
    attempt = project(None, fact(1, "initialized", 0), DEFAULT_RULES).attempts[0]
    with pytest.raises(AttemptMismatch):
        project(attempt, fact(2, "completed", 1, activity=AU + "/other"), DEFAULT_RULES)


def test_tenant_rules_decide_what_completes() -> None:
    rules = ProgressRules(completing=frozenset({CUSTOM}))
    result = project(None, fact(1, CUSTOM, 0), rules)
    assert result.completion is not None
    assert (result.completion.completed, result.completion.statement_ids) == (True, (sid(1),))
    assert project(None, fact(1, "completed", 0), rules).completion is None


def test_a_projection_of_a_restored_attempt_matches_the_live_one() -> None:
    live = project(None, fact(1, "initialized", 0), DEFAULT_RULES).attempts[0]
    restored = Attempt.restore(live.snapshot())
    a = project(live, fact(2, "completed", 1), DEFAULT_RULES)
    b = project(restored, fact(2, "completed", 1), DEFAULT_RULES)
    assert a.events == b.events
    assert a.completion == b.completion
