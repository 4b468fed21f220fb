"""Per-tenant progress rules: the ADL/cmi5 verb defaults and their validation (CMI-010)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from progress.domain.progress_errors import InvalidRules
from progress.domain.progress_rules import (
    ABANDONED,
    COMPLETED,
    DEFAULT_RULES,
    EXITED,
    FAILED,
    INITIALIZED,
    LAUNCHED,
    PASSED,
    RESUMED,
    SATISFIED,
    SCORED,
    SUSPENDED,
    TERMINATED,
    WAIVED,
    CloseReason,
    ProgressRules,
)
from progress.domain.statements import VOIDED_VERB

CUSTOM = "https://example.com/verbs/finished"


def test_the_defaults_cover_the_adl_and_cmi5_verbs() -> None:
    """cmi5 §9.3 and the SCORM Profile verb table (SCORM-007)."""
    rules = DEFAULT_RULES
    assert rules.starting == {LAUNCHED, INITIALIZED, RESUMED}
    assert rules.suspending == {SUSPENDED}
    assert dict(rules.closing) == {
        TERMINATED: CloseReason.TERMINATED,
        EXITED: CloseReason.EXITED,
        ABANDONED: CloseReason.ABANDONED,
        WAIVED: CloseReason.WAIVED,
        SATISFIED: CloseReason.SATISFIED,
    }
    assert rules.completing == {COMPLETED, WAIVED, SATISFIED}
    assert rules.passing == {PASSED, WAIVED}
    assert rules.failing == {FAILED}
    assert rules.scoring == {SCORED, TERMINATED, SUSPENDED}
    assert rules.mastery_score is None
    assert dict(rules.mastery_by_activity) == {}
    assert (rules.inactivity_timeout_s, rules.suspended_timeout_s) == (86_400, 30 * 86_400)
    assert rules.tracked == {
        LAUNCHED,
        INITIALIZED,
        RESUMED,
        SUSPENDED,
        TERMINATED,
        EXITED,
        ABANDONED,
        WAIVED,
        SATISFIED,
        COMPLETED,
        PASSED,
        FAILED,
        SCORED,
    }
    assert LAUNCHED == "http://adlnet.gov/expapi/verbs/launched"
    assert WAIVED == "https://w3id.org/xapi/adl/verbs/waived"


def test_a_verb_added_to_any_set_is_tracked() -> None:
    for name in ("starting", "suspending", "completing", "passing", "failing", "scoring"):
        kwargs: dict[str, Any] = {name: frozenset({CUSTOM})}
        rules = ProgressRules(**kwargs)
        assert CUSTOM in rules.tracked, name
    assert CUSTOM in ProgressRules(closing={CUSTOM: CloseReason.EXITED}).tracked


def test_mastery_is_per_activity_first_then_per_tenant() -> None:
    """cmi5 §10.2.4: the LMS may set masteryScore per AU."""
    rules = ProgressRules(mastery_score=0.8, mastery_by_activity={"https://example.com/a": 0.5})
    assert rules.mastery_for("https://example.com/a") == 0.5
    assert rules.mastery_for("https://example.com/b") == 0.8


def test_timeouts_are_in_microseconds_per_suspension() -> None:
    rules = ProgressRules(inactivity_timeout_s=2, suspended_timeout_s=3)
    assert rules.timeout_us(suspended=False) == 2_000_000
    assert rules.timeout_us(suspended=True) == 3_000_000


def test_rules_are_immutable_even_through_their_mappings() -> None:
    closing = {CUSTOM: CloseReason.EXITED}
    rules = ProgressRules(closing=closing)
    closing[TERMINATED] = CloseReason.TERMINATED
    assert dict(rules.closing) == {CUSTOM: CloseReason.EXITED}
    with pytest.raises(TypeError):
        rules.closing[TERMINATED] = CloseReason.TERMINATED  # type: ignore[index]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"completing": frozenset({"completed"})}, "verb 'completed' is not an absolute IRI"),
        ({"scoring": frozenset({"http://x.org/a b"})}, "verb 'http://x.org/a b' is not an"),
        ({"completing": frozenset({"1http://x"})}, "verb '1http://x' is not an absolute IRI"),
        ({"starting": frozenset({VOIDED_VERB})}, "the voided verb cannot be tracked"),
        ({"failing": frozenset({PASSED, FAILED})}, "verbs both pass and fail: ['http://adlnet"),
        ({"closing": {CUSTOM: CloseReason.EXPIRED}}, f"closing[{CUSTOM!r}]: invalid reason"),
        ({"closing": {CUSTOM: "exited"}}, f"closing[{CUSTOM!r}]: invalid reason 'exited'"),
        ({"mastery_score": 1.5}, "masteryScore: must be a decimal in [0, 1] with at most 4"),
        ({"mastery_score": -0.1}, "masteryScore: must be a decimal in [0, 1]"),
        ({"mastery_score": 0.12345}, "masteryScore: must be a decimal in [0, 1] with at most"),
        ({"mastery_score": True}, "masteryScore: must be a decimal"),
        ({"mastery_score": "0.5"}, "masteryScore: must be a decimal"),
        ({"mastery_by_activity": {"a": 2}}, "masteryByActivity['a']: must be a decimal in"),
        ({"inactivity_timeout_s": 0}, "inactivityTimeoutSeconds: must be a positive whole number"),
        ({"inactivity_timeout_s": 1.5}, "inactivityTimeoutSeconds: must be a positive whole"),
        ({"inactivity_timeout_s": True}, "inactivityTimeoutSeconds: must be a positive whole"),
        ({"suspended_timeout_s": -1}, "suspendedTimeoutSeconds: must be a positive whole number"),
    ],
)
def test_inconsistent_rules_are_refused_naming_the_setting(
    kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidRules) as caught:
        ProgressRules(**kwargs)
    assert caught.value.message.startswith(f"progress rules: {message}")


def test_the_voided_verb_message_says_why() -> None:
    with pytest.raises(InvalidRules) as caught:
        ProgressRules(completing=frozenset({VOIDED_VERB}))
    assert caught.value.message == (
        "progress rules: the voided verb cannot be tracked (voiding removes a Statement"
        " from progress instead)"
    )


@pytest.mark.parametrize("mastery", [0, 1, 0.5, 0.9999, None])
def test_mastery_scores_at_the_edges_are_accepted(mastery: float | None) -> None:
    assert ProgressRules(mastery_score=mastery).mastery_score == mastery


def test_the_smallest_timeouts_are_accepted() -> None:
    assert ProgressRules(inactivity_timeout_s=1, suspended_timeout_s=1).timeout_us(suspended=True)


# ----------------------------------------------------------------------------- tenant JSON


def test_rules_round_trip_through_their_json_configuration() -> None:
    rules = ProgressRules(
        completing=frozenset({COMPLETED, CUSTOM}),
        closing={TERMINATED: CloseReason.TERMINATED, CUSTOM: CloseReason.EXITED},
        mastery_score=0.75,
        mastery_by_activity={"https://example.com/b": 0.5, "https://example.com/a": 0.9},
        inactivity_timeout_s=3600,
        suspended_timeout_s=7200,
    )
    config = rules.to_json()
    assert config == {
        "starting": sorted(DEFAULT_RULES.starting),
        "suspending": [SUSPENDED],
        "closing": {TERMINATED: "terminated", CUSTOM: "exited"},
        "completing": sorted({COMPLETED, CUSTOM}),
        "passing": sorted(DEFAULT_RULES.passing),
        "failing": [FAILED],
        "scoring": sorted(DEFAULT_RULES.scoring),
        "masteryScore": 0.75,
        "masteryByActivity": {"https://example.com/a": 0.9, "https://example.com/b": 0.5},
        "inactivityTimeoutSeconds": 3600,
        "suspendedTimeoutSeconds": 7200,
    }
    assert json.loads(json.dumps(config)) == config  # plain JSON, ready to store
    assert list(config["closing"]) == sorted(config["closing"])
    assert list(config["masteryByActivity"]) == sorted(config["masteryByActivity"])
    assert ProgressRules.from_json(config) == rules


def test_an_empty_configuration_is_the_defaults() -> None:
    assert ProgressRules.from_json({}) == DEFAULT_RULES


def test_a_partial_configuration_keeps_the_other_defaults() -> None:
    rules = ProgressRules.from_json({"masteryScore": 0.6, "failing": [FAILED, CUSTOM]})
    assert (rules.mastery_score, rules.failing) == (0.6, frozenset({FAILED, CUSTOM}))
    assert rules.passing == DEFAULT_RULES.passing


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"mastery": 0.5}, "unknown setting(s) ['mastery']"),
        ({"passing": PASSED}, "passing: must be an array of verb IRIs"),
        ({"passing": [PASSED, 3]}, "passing: must be an array of verb IRIs"),
        ({"closing": [TERMINATED]}, "closing: must map verb IRIs to a reason"),
        (
            {"closing": {TERMINATED: "ended"}},
            "closing: reasons are terminated, exited, abandoned, waived, satisfied",
        ),
        ({"masteryByActivity": [0.5]}, "masteryByActivity: must map Activity ids to mastery"),
        ({"masteryScore": "high"}, "masteryScore: must be a decimal in [0, 1]"),
        ({"inactivityTimeoutSeconds": "1h"}, "inactivityTimeoutSeconds: must be a positive"),
        ({"suspendedTimeoutSeconds": None}, "suspendedTimeoutSeconds: must be a positive"),
    ],
)
def test_a_bad_configuration_is_refused_naming_the_setting(
    config: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidRules) as caught:
        ProgressRules.from_json(config)
    assert caught.value.message.startswith(f"progress rules: {message}")
