"""Statement facts: what progress reads of a stored Statement, read defensively."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from progress.domain.facts import (
    CMI5_SESSION,
    NAMESPACE,
    SCORM_ATTEMPT_TYPE,
    AttemptKey,
    Score,
    StatementFact,
    parse_timestamp_us,
    session_of,
    stable_id,
    statement_fact,
)
from progress.domain.progress_errors import InvalidRecord
from progress.domain.statements import VOIDED_VERB
from tests.unit.progress_builders import AU, LEARNER, REG, T0, TENANT, sid, statement, verb_iri

STORED = T0 + 5_000_000


def test_the_fact_of_a_cmi5_passed_statement() -> None:
    body = statement(
        "passed",
        timestamp="2026-01-01T10:00:00.000Z",
        context={
            "registration": REG.upper(),
            "extensions": {CMI5_SESSION: "s-1"},
        },
        result={
            "success": True,
            "completion": False,
            "score": {"scaled": 0.9, "raw": 9, "min": 0, "max": 10},
            "duration": "PT5M",
        },
    )
    got = statement_fact(TENANT, body, STORED)
    assert got == StatementFact(
        tenant=TENANT,
        id=sid(1),
        stored_us=STORED,
        timestamp_us=T0,
        verb=verb_iri("passed"),
        learner=LEARNER,
        activity_id=AU,
        registration=REG,
        session="cmi5:s-1",
        success=True,
        completion=False,
        score=Score(0.9, 9, 0, 10),
        duration="PT5M",
    )
    assert got.key == AttemptKey(TENANT, LEARNER, AU, REG, "cmi5:s-1")
    assert got.at_us == T0


def test_an_upper_case_statement_id_is_lowered() -> None:
    upper = "AB6C1C52-9A57-4C5E-8D83-1D0C8A1E0B0F"
    assert statement_fact(TENANT, statement(statement_id=upper), STORED).id == upper.lower()


def test_the_scorm_attempt_activity_is_the_session() -> None:
    """SCORM-003/SP§5.0: grouping holds the attempt activity (type attempt)."""
    attempt = "https://example.com/c/sco?attemptId=42"
    context = {
        "contextActivities": {
            "grouping": [
                {"id": "https://example.com/c", "definition": {"type": "x"}},
                "junk",
                {"id": attempt, "definition": {"type": SCORM_ATTEMPT_TYPE}},
            ]
        }
    }
    assert session_of(context) == f"scorm:{attempt}"
    single = {"contextActivities": {"grouping": context["contextActivities"]["grouping"][2]}}
    assert session_of(single) == f"scorm:{attempt}"


@pytest.mark.parametrize(
    "context",
    [
        None,
        "x",
        {},
        {"extensions": {CMI5_SESSION: ""}},
        {"extensions": {CMI5_SESSION: 5}},
        {"extensions": "x"},
        {"contextActivities": "x"},
        {"contextActivities": {"grouping": [{"id": "a", "definition": "x"}]}},
        {"contextActivities": {"grouping": [{"id": "a", "definition": {"type": "lesson"}}]}},
        {
            "contextActivities": {
                "parent": [{"id": "a", "definition": {"type": SCORM_ATTEMPT_TYPE}}]
            }
        },
    ],
)
def test_no_session_when_none_is_named(context: Any) -> None:
    assert session_of(context) is None


def test_the_cmi5_session_wins_over_a_scorm_attempt() -> None:
    context = {
        "extensions": {CMI5_SESSION: "s"},
        "contextActivities": {
            "grouping": [{"id": "a", "definition": {"type": SCORM_ATTEMPT_TYPE}}]
        },
    }
    assert session_of(context) == "cmi5:s"


def test_a_voiding_statement_names_its_target_and_no_activity() -> None:
    body = {
        **statement(object={"objectType": "StatementRef", "id": REG.upper()}),
        "verb": {"id": VOIDED_VERB},
    }
    got = statement_fact(TENANT, body, STORED)
    assert (got.voids, got.activity_id, got.key, got.verb) == (REG, None, None, VOIDED_VERB)


def test_a_statement_ref_with_another_verb_voids_nothing() -> None:
    body = statement(object={"objectType": "StatementRef", "id": sid(7)})
    assert statement_fact(TENANT, body, STORED).voids is None


@pytest.mark.parametrize(
    "obj",
    [
        {"objectType": "Agent", "mbox": "mailto:a@example.com"},
        {"objectType": "SubStatement"},
        {"objectType": "Activity"},
        "junk",
    ],
)
def test_a_statement_about_no_activity_cannot_be_projected(obj: Any) -> None:
    got = statement_fact(TENANT, statement(object=obj), STORED)
    assert (got.activity_id, got.key) == (None, None)


def test_an_activity_without_object_type_is_an_activity() -> None:
    got = statement_fact(TENANT, statement(object={"id": AU}), STORED)
    assert got.activity_id == AU


def test_an_anonymous_group_cannot_be_projected() -> None:
    actor = {"objectType": "Group", "member": [{"mbox": "mailto:a@example.com"}]}
    got = statement_fact(TENANT, statement(actor=actor), STORED)
    assert (got.learner, got.key) == (None, None)


def test_a_statement_without_registration_has_none() -> None:
    got = statement_fact(TENANT, statement(context={"platform": "x"}), STORED)
    assert (got.registration, got.session) == (None, None)
    assert statement_fact(TENANT, statement(context="junk"), STORED).registration is None


def test_a_statement_missing_what_validation_guarantees_still_gives_a_fact() -> None:
    got = statement_fact(TENANT, {"verb": "junk", "actor": "junk", "result": "junk"}, STORED)
    assert got == StatementFact(TENANT, "", STORED, STORED, "", None, None)


def test_odd_result_values_are_left_out() -> None:
    body = statement(
        result={"success": "yes", "completion": 1, "score": {"scaled": 2}, "duration": 5}
    )
    got = statement_fact(TENANT, body, STORED)
    assert (got.success, got.completion, got.score, got.duration) == (None, None, None, None)


def test_a_voided_statement_is_flagged() -> None:
    got = statement_fact(TENANT, statement(), STORED, voided=True)
    assert got.voided
    assert got.voided_copy() == got
    assert statement_fact(TENANT, statement(), STORED).voided_copy() == got


# ----------------------------------------------------------------------------- time


def test_a_timestamp_after_stored_counts_at_stored() -> None:
    got = statement_fact(TENANT, statement(timestamp="2030-01-01T00:00:00Z"), STORED)
    assert (got.timestamp_us, got.at_us) == (parse_timestamp_us("2030-01-01T00:00:00Z"), STORED)


@pytest.mark.parametrize("timestamp", [None, 5, "yesterday", "2026-13-01T00:00:00Z"])
def test_an_unusable_timestamp_falls_back_to_stored(timestamp: Any) -> None:
    body = statement()
    body["timestamp"] = timestamp
    assert statement_fact(TENANT, body, STORED).timestamp_us == STORED


@pytest.mark.parametrize(
    ("text", "us"),
    [
        ("2026-01-01T10:00:00Z", T0),
        ("2026-01-01T10:00:00.000001Z", T0 + 1),
        ("2026-01-01T11:00:00+01:00", T0),
        ("2026-01-01T10:00:00", T0),  # no offset: UTC
    ],
)
def test_timestamps_parse_to_epoch_microseconds(text: str, us: int) -> None:
    assert parse_timestamp_us(text) == us


# ----------------------------------------------------------------------------- scores


@pytest.mark.parametrize(
    ("score", "message"),
    [
        ({}, "score: at least one of scaled, raw, min, max"),
        ({"scaled": 1.01}, "score.scaled: 1.01 is outside [-1, 1]"),
        ({"scaled": -1.01}, "score.scaled: -1.01 is outside [-1, 1]"),
        ({"min": 5, "max": 5}, "score: min 5 must be below max 5"),
        ({"raw": 11, "min": 0, "max": 10}, "score.raw: 11 is outside [min, max]"),
        ({"raw": -1, "min": 0, "max": 10}, "score.raw: -1 is outside [min, max]"),
        ({"raw": -1, "min": 0}, "score.raw: -1 is outside [min, max]"),
        ({"raw": 11, "max": 10}, "score.raw: 11 is outside [min, max]"),
    ],
)
def test_a_score_that_breaks_d2451_cannot_be_made(score: dict[str, float], message: str) -> None:
    with pytest.raises(InvalidRecord) as caught:
        Score(**score)
    assert caught.value.message == message
    assert Score.parse(score) is None


@pytest.mark.parametrize(
    "score",
    [
        {"scaled": 1},
        {"scaled": -1},
        {"raw": 0, "min": 0, "max": 10},
        {"raw": 10, "min": 0, "max": 10},
        {"min": -1},
        {"max": 1},
        {"raw": 7},
    ],
)
def test_scores_at_the_edges_are_scores(score: dict[str, float]) -> None:
    assert Score.parse(score) == Score(**score)
    assert Score(**score).to_json() == {k: float(v) for k, v in score.items()}


@pytest.mark.parametrize("value", [None, 5, "x", {"scaled": True}, {"raw": math.inf}, {"x": 1}])
def test_unusable_scores_parse_to_none(value: Any) -> None:
    assert Score.parse(value) is None


def test_only_the_numbers_of_a_score_are_kept() -> None:
    assert Score.parse({"scaled": 0.5, "raw": "9"}) == Score(scaled=0.5)
    assert Score.parse({"raw": 3}) == Score(raw=3.0)


# ----------------------------------------------------------------------------- ids


def test_stable_ids_are_uuid5_of_their_parts_and_never_change() -> None:
    """Event ids must survive redelivery and replay: pin the namespace and the encoding."""
    assert str(NAMESPACE) == "0b5f7c0e-6a43-5d0c-9b1e-3f4a2c8d9e10"
    assert stable_id("attempt", "t", 1) == "9c4d4a1b-150f-5eaf-8c24-5a58efc17fd5"
    assert stable_id("k", "é") == "acefbfd7-e6d1-5a23-ae3e-ceb44ced51d5"
    assert stable_id("a", "b") != stable_id("a", "c") != stable_id("b", "b")
    assert AttemptKey(TENANT, LEARNER, AU, REG).attempt_id(1) == (
        "6e6d778e-8a40-5194-a1bd-a8277c4c4f43"
    )


def test_attempt_ids_differ_per_key_and_sequence() -> None:
    base = AttemptKey(TENANT, LEARNER, AU, REG, None)
    ids = {
        base.attempt_id(1),
        base.attempt_id(2),
        AttemptKey("other", LEARNER, AU, REG).attempt_id(1),
        AttemptKey(TENANT, "mbox:x", AU, REG).attempt_id(1),
        AttemptKey(TENANT, LEARNER, "https://x", REG).attempt_id(1),
        AttemptKey(TENANT, LEARNER, AU, None).attempt_id(1),
        AttemptKey(TENANT, LEARNER, AU, REG, "cmi5:s").attempt_id(1),
    }
    assert len(ids) == 7


@given(st.text(), st.integers())
def test_stable_ids_are_deterministic(text: str, number: int) -> None:
    assert stable_id(text, number) == stable_id(text, number)


_PARTS = st.one_of(
    st.text(), st.integers(), st.none(), st.booleans(), st.floats(), st.lists(st.integers())
)


@given(st.lists(_PARTS, max_size=6), st.text())
def test_stable_id_is_uuid5_of_the_json_name(parts: list[object], kind: str) -> None:
    """The inline fast path (texts, null, integers) gives exactly
    uuid5(NAMESPACE, json.dumps([kind, *parts])), and so does the fallback for any other part
    (a bool is no integer here: JSON writes it true/false)."""
    import json
    import uuid

    from progress.domain.facts import NAMESPACE, stable_id

    name = json.dumps([kind, *parts], ensure_ascii=False)
    assert stable_id(kind, *parts) == str(uuid.uuid5(NAMESPACE, name))
