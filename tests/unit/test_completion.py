"""Completion records: derived by the server from an attempt's outcomes (cmi5 §9.3.3-9.3.7,
§9.5; SCORM-013/015/020-022), with the mastery rule of CMI-065."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from progress.domain.completion import (
    CompletionRecord,
    Outcome,
    completion_id,
    derive_completion,
    effective_success,
    outcome_of,
)
from progress.domain.facts import Score, stable_id
from progress.domain.progress_errors import InvalidRecord
from progress.domain.progress_rules import DEFAULT_RULES, ProgressRules
from tests.unit.progress_builders import MIN, T0, Router, fact, key, sid

ATTEMPT = key().attempt_id(1)


def record(**changes: object) -> CompletionRecord:
    fields: dict[str, object] = {
        "attempt_id": ATTEMPT,
        "key": key(),
        "completed": True,
        "success": None,
        "score": None,
        "duration": None,
        "time_us": T0,
        "statement_ids": (sid(1),),
        "mastery_score": None,
    }
    fields.update(changes)
    return CompletionRecord(**fields)  # type: ignore[arg-type]


def derive(*outcomes: Outcome, mastery: float | None = None) -> CompletionRecord | None:
    return derive_completion(ATTEMPT, key(), outcomes, mastery)


# ----------------------------------------------------------------------------- outcomes


@pytest.mark.parametrize(
    ("verb", "completes", "success"),
    [
        ("completed", True, None),  # cmi5 §9.3.3, SCORM-020
        ("passed", False, True),  # cmi5 §9.3.4, SCORM-021
        ("failed", False, False),  # cmi5 §9.3.5
        ("waived", True, True),  # cmi5 §9.3.7, CMI-070: counts as satisfied
        ("satisfied", True, None),  # cmi5 §9.3.9, CMI-072
    ],
)
def test_outcome_verbs_say_what_they_mean(verb: str, completes: bool, success: bool | None) -> None:
    outcome = outcome_of(fact(1, verb, 0, duration="PT1M"), DEFAULT_RULES)
    assert outcome == Outcome(sid(1), T0, completes, success, None, "PT1M")


def test_the_verb_wins_over_a_contradicting_result_success() -> None:
    passed = outcome_of(fact(1, "passed", 0, success=False), DEFAULT_RULES)
    failed = outcome_of(fact(2, "failed", 0, success=True), DEFAULT_RULES)
    assert passed is not None
    assert failed is not None
    assert (passed.success, failed.success) == (True, False)


def test_the_terminated_result_reports_the_sco_status() -> None:
    """SCORM-013/015: terminated carries completion, success and score of the SCO."""
    outcome = outcome_of(
        fact(1, "terminated", 0, completion=True, success=False, score=Score(scaled=0.4)),
        DEFAULT_RULES,
    )
    assert outcome == Outcome(sid(1), T0, True, False, Score(scaled=0.4), None)


def test_completion_false_completes_nothing() -> None:
    assert outcome_of(fact(1, "terminated", 0, completion=False), DEFAULT_RULES) is None


def test_a_score_counts_only_on_scoring_or_outcome_verbs() -> None:
    """SCORM-022 scored carries a score; SCORM-023 progressed does not (and is not tracked)."""
    scored = outcome_of(fact(1, "scored", 0, score=Score(scaled=0.7)), DEFAULT_RULES)
    launched = outcome_of(fact(2, "launched", 0, score=Score(scaled=0.7)), DEFAULT_RULES)
    assert scored == Outcome(sid(1), T0, False, None, Score(scaled=0.7), None)
    assert launched is None


def test_a_start_statement_has_no_outcome() -> None:
    assert outcome_of(fact(1, "initialized", 0, duration="PT1M"), DEFAULT_RULES) is None


def test_a_completing_statements_score_is_kept() -> None:
    outcome = outcome_of(fact(1, "completed", 0, score=Score(raw=3)), DEFAULT_RULES)
    assert outcome is not None
    assert outcome.score == Score(raw=3)


@pytest.mark.parametrize(
    ("success", "scaled", "mastery", "effective"),
    [
        (True, 0.79, 0.8, False),  # CMI-065: below mastery is a fail
        (True, 0.8, 0.8, True),  # at mastery passes
        (True, None, 0.8, True),  # no scaled score: nothing to check
        (True, 0.1, None, True),  # no mastery: the claim stands
        (False, 0.95, 0.8, False),  # a fail is never upgraded
        (None, 0.95, 0.8, None),
    ],
)
def test_effective_success_applies_the_mastery_score(
    success: bool | None, scaled: float | None, mastery: float | None, effective: bool | None
) -> None:
    score = Score(scaled=scaled) if scaled is not None else Score(raw=1)
    assert effective_success(Outcome(sid(1), T0, False, success, score), mastery) is effective


def test_effective_success_without_a_score() -> None:
    assert effective_success(Outcome(sid(1), T0, False, True), 0.9) is True


# ----------------------------------------------------------------------------- derivation


def test_nothing_achieved_derives_no_record() -> None:
    assert derive() is None
    assert derive(Outcome(sid(1), T0, score=Score(scaled=1.0))) is None  # SCORM-022


def test_completed_then_passed_derive_one_record_from_both() -> None:
    record_ = derive(
        Outcome(sid(1), T0, completes=True, duration="PT10M"),
        Outcome(sid(2), T0 + MIN, success=True, score=Score(scaled=0.9), duration="PT11M"),
        mastery=0.8,
    )
    assert record_ == CompletionRecord(
        attempt_id=ATTEMPT,
        key=key(),
        completed=True,
        success=True,
        score=Score(scaled=0.9),
        duration="PT11M",
        time_us=T0 + MIN,
        statement_ids=(sid(1), sid(2)),
        mastery_score=0.8,
    )
    assert record_.passed
    assert not record_.failed
    assert record_.achieved


def test_a_pass_is_not_undone_by_a_fail_and_the_score_is_the_passing_one() -> None:
    """CMI-064: failed must not follow passed; if it does, the pass stands."""
    record_ = derive(
        Outcome(sid(1), T0, success=False, score=Score(scaled=0.3)),
        Outcome(sid(2), T0 + MIN, success=True, score=Score(scaled=0.9)),
        Outcome(sid(3), T0 + 2 * MIN, success=False, score=Score(scaled=0.2)),
    )
    assert record_ is not None
    assert (record_.success, record_.score, record_.statement_ids) == (
        True,
        Score(scaled=0.9),
        (sid(2),),
    )
    assert record_.time_us == T0 + MIN


def test_a_pass_below_mastery_records_a_fail_with_its_score() -> None:
    record_ = derive(Outcome(sid(1), T0, success=True, score=Score(scaled=0.5)), mastery=0.8)
    assert record_ is not None
    assert (record_.failed, record_.passed, record_.score) == (True, False, Score(scaled=0.5))


def test_only_fails_record_a_fail_with_the_latest_failing_score() -> None:
    record_ = derive(
        Outcome(sid(2), T0 + MIN, success=False, score=Score(scaled=0.4)),
        Outcome(sid(1), T0, success=False, score=Score(scaled=0.1)),
    )
    assert record_ is not None
    assert (record_.success, record_.score) == (False, Score(scaled=0.4))
    assert record_.statement_ids == (sid(1), sid(2))


def test_without_success_the_latest_score_is_recorded_with_its_statement() -> None:
    record_ = derive(
        Outcome(sid(1), T0, completes=True),
        Outcome(sid(3), T0 + 2 * MIN, score=Score(scaled=0.6)),
        Outcome(sid(2), T0 + MIN, score=Score(scaled=0.9)),
    )
    assert record_ is not None
    assert (record_.score, record_.statement_ids, record_.time_us) == (
        Score(scaled=0.6),
        (sid(1), sid(3)),
        T0 + 2 * MIN,
    )


def test_with_success_a_score_of_a_non_deciding_statement_is_not_recorded() -> None:
    record_ = derive(
        Outcome(sid(1), T0, success=True),
        Outcome(sid(2), T0 + MIN, score=Score(scaled=0.1)),
    )
    assert record_ is not None
    assert (record_.score, record_.statement_ids) == (None, (sid(1),))


def test_equal_times_are_ordered_by_statement_id() -> None:
    record_ = derive(
        Outcome(sid(2), T0, completes=True, score=Score(raw=2), duration="PT2M"),
        Outcome(sid(1), T0, completes=True, score=Score(raw=1), duration="PT1M"),
    )
    assert record_ is not None
    assert (record_.score, record_.duration) == (Score(raw=2), "PT2M")


def test_losing_every_outcome_revokes_a_recorded_completion() -> None:
    previous = record()
    revoked = derive_completion(ATTEMPT, key(), [], 0.5, previous)
    assert revoked == CompletionRecord(ATTEMPT, key(), False, None, None, None, None, (), 0.5)
    assert not revoked.achieved


def test_the_record_id_is_stable_per_attempt() -> None:
    assert record().id == completion_id(ATTEMPT) == stable_id("completion", ATTEMPT)
    assert completion_id(key().attempt_id(2)) != record().id


# ----------------------------------------------------------------------------- invariants


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"statement_ids": (sid(2), sid(1))}, "statement ids must be sorted and unique"),
        ({"statement_ids": (sid(1), sid(1))}, "statement ids must be sorted and unique"),
        ({"statement_ids": ()}, "an outcome needs source statements, and only then"),
        (
            {"completed": False, "statement_ids": (sid(1),), "time_us": T0},
            "an outcome needs source statements, and only then",
        ),
        ({"time_us": None}, "time is that of the source statements"),
        (
            {"completed": False, "statement_ids": (), "time_us": None, "duration": "PT1M"},
            "a revoked record has no score or duration",
        ),
        (
            {"completed": False, "statement_ids": (), "time_us": None, "score": Score(raw=1)},
            "a revoked record has no score or duration",
        ),
        (
            {"success": True, "score": Score(scaled=0.5), "mastery_score": 0.6},
            "passed with a scaled score below mastery",
        ),
    ],
)
def test_a_record_that_breaks_an_invariant_cannot_be_made(
    changes: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidRecord) as caught:
        record(**changes)
    assert caught.value.message == f"completion: {message}"


def test_records_at_the_edges_of_the_invariants_can_be_made() -> None:
    assert record(success=True, score=Score(scaled=0.6), mastery_score=0.6).passed
    assert record(success=True, score=Score(raw=1), mastery_score=0.6).passed
    assert record(success=True, score=Score(scaled=0.1)).passed
    assert record(success=False, score=Score(scaled=0.1), mastery_score=0.6).failed
    assert record(completed=False, success=False).failed


OUTCOMES = st.builds(
    Outcome,
    statement_id=st.sampled_from([sid(n) for n in range(1, 6)]),
    at_us=st.integers(T0, T0 + 10 * MIN),
    completes=st.booleans(),
    success=st.sampled_from([None, True, False]),
    score=st.sampled_from([None, Score(scaled=0.2), Score(scaled=0.9), Score(raw=3, max=4)]),
    duration=st.sampled_from([None, "PT1M", "PT2M"]),
)


@given(st.lists(OUTCOMES, max_size=6, unique_by=lambda o: o.statement_id), st.randoms())
def test_a_record_does_not_depend_on_the_order_of_its_outcomes(
    outcomes: list[Outcome], random: object
) -> None:
    shuffled = list(outcomes)
    random.shuffle(shuffled)  # type: ignore[attr-defined]
    for mastery in (None, 0.5):
        assert derive(*outcomes, mastery=mastery) == derive(*shuffled, mastery=mastery)


def test_a_session_completed_and_passed_records_once_per_change() -> None:
    """cmi5 §9.3: completed, then passed: two values of the same record, the latest complete."""
    router = Router(ProgressRules(mastery_score=0.8)).run(
        [
            fact(1, "initialized", 0),
            fact(2, "completed", 5, duration="PT5M"),
            fact(3, "passed", 6, score=Score(scaled=0.85), duration="PT6M"),
            fact(4, "terminated", 7),
        ]
    )
    records = [e for e in router.published if e.TYPE == "progress.completion.recorded.v1"]
    assert [e.version for e in records] == [2, 3]  # type: ignore[union-attr]
    assert router.only().completion == records[-1].record  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("completed", "success", "certified"),
    [
        (True, None, True),  # completed
        (False, True, True),  # passed
        (True, True, True),
        (True, False, True),  # completed, though failed
        (False, False, False),  # failed only: no certificate
    ],
)
def test_a_certificate_is_earned_by_completing_or_passing(
    completed: bool, success: bool | None, certified: bool
) -> None:
    assert record(completed=completed, success=success).certified is certified
