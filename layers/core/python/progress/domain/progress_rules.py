"""Per-tenant rules that turn Statements into progress: which verbs start, suspend and close an
attempt, which complete, pass or fail it, which carry the score, the mastery score, and the
inactivity timeouts.

The defaults cover the ADL verbs of the xAPI SCORM Profile (SP§3.2 verb table, SCORM-007) and the
cmi5 verbs (cmi5 §9.3):

* start: ``launched`` (cmi5 §9.3.1), ``initialized`` (§9.3.2, SCORM-010), ``resumed``
  (SCORM-011). They open an attempt and keep it alive.
* close: ``terminated`` (cmi5 §9.3.8, SCORM-013), ``abandoned`` (§9.3.6, CMI-063), ``exited`` (the
  ADL verb some players send instead of terminated), and the one-statement sessions ``waived``
  (§9.3.7, CMI-075) and ``satisfied`` (§9.3.9, CMI-072). ``suspended`` does *not* close: a SCORM
  attempt is resumed later (SCORM-012/014); it only lengthens the inactivity timeout.
* complete: ``completed`` (§9.3.3, SCORM-020), ``waived`` and ``satisfied`` (CMI-070: a waived AU
  counts as satisfied; a satisfied block or course is complete).
* pass: ``passed`` (§9.3.4, SCORM-021) and ``waived`` (§9.5.2: success true); fail: ``failed``.
* score: the pass/fail verbs, ``scored`` (SCORM-022) and ``terminated``/``suspended``, whose result
  carries the SCO's score in the SCORM Profile (SCORM-013). ``progressed`` is not a score
  (SCORM-023 puts the progress measure in ``score.scaled``) and is not tracked.

``result.completion`` and ``result.success`` count too, but only on tracked verbs (the SCORM
Profile reports the SCO's status in the ``terminated`` result, SCORM-013/015); an interaction
answered with ``success`` is about the interaction, not the attempt, and is never tracked by verb.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from progress.domain.progress_errors import InvalidRules
from progress.domain.statements import VOIDED_VERB

ADL = "http://adlnet.gov/expapi/verbs/"
ADL_W3ID = "https://w3id.org/xapi/adl/verbs/"
LAUNCHED = ADL + "launched"
INITIALIZED = ADL + "initialized"
RESUMED = ADL + "resumed"
SUSPENDED = ADL + "suspended"
TERMINATED = ADL + "terminated"
EXITED = ADL + "exited"
COMPLETED = ADL + "completed"
PASSED = ADL + "passed"
FAILED = ADL + "failed"
SCORED = ADL + "scored"
ABANDONED = ADL_W3ID + "abandoned"
WAIVED = ADL_W3ID + "waived"
SATISFIED = ADL_W3ID + "satisfied"


class CloseReason(StrEnum):
    TERMINATED = "terminated"
    EXITED = "exited"
    ABANDONED = "abandoned"
    WAIVED = "waived"
    SATISFIED = "satisfied"
    EXPIRED = "expired"  # the inactivity timeout, never a verb


DAY_S = 86_400
_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")
_VERB_SETS = ("starting", "suspending", "completing", "passing", "failing", "scoring")


def _frozen(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True, slots=True)
class ProgressRules:
    starting: frozenset[str] = frozenset({LAUNCHED, INITIALIZED, RESUMED})
    suspending: frozenset[str] = frozenset({SUSPENDED})
    closing: Mapping[str, CloseReason] = field(
        default_factory=lambda: _frozen(
            {
                TERMINATED: CloseReason.TERMINATED,
                EXITED: CloseReason.EXITED,
                ABANDONED: CloseReason.ABANDONED,
                WAIVED: CloseReason.WAIVED,
                SATISFIED: CloseReason.SATISFIED,
            }
        )
    )
    completing: frozenset[str] = frozenset({COMPLETED, WAIVED, SATISFIED})
    passing: frozenset[str] = frozenset({PASSED, WAIVED})
    failing: frozenset[str] = frozenset({FAILED})
    scoring: frozenset[str] = frozenset({SCORED, TERMINATED, SUSPENDED})
    mastery_score: float | None = None  # cmi5 §10.2.4 masteryScore, for every Activity ...
    mastery_by_activity: Mapping[str, float] = field(default_factory=lambda: _frozen({}))
    inactivity_timeout_s: int = DAY_S  # an open attempt silent this long is closed (expired)
    suspended_timeout_s: int = 30 * DAY_S  # ... and a suspended one this long
    tracked: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "closing", _frozen(self.closing))
        object.__setattr__(self, "mastery_by_activity", _frozen(self.mastery_by_activity))
        verbs = frozenset(self.closing).union(*(getattr(self, name) for name in _VERB_SETS))
        object.__setattr__(self, "tracked", verbs)
        self._validate()

    def _validate(self) -> None:
        for verb in sorted(self.tracked):
            if not _IRI.match(verb):
                raise InvalidRules(f"progress rules: verb {verb!r} is not an absolute IRI")
        if VOIDED_VERB in self.tracked:
            raise InvalidRules(
                "progress rules: the voided verb cannot be tracked (voiding removes a Statement"
                " from progress instead)"
            )
        both = self.passing & self.failing
        if both:
            raise InvalidRules(f"progress rules: verbs both pass and fail: {sorted(both)}")
        for verb, reason in self.closing.items():
            if not isinstance(reason, CloseReason) or reason is CloseReason.EXPIRED:
                raise InvalidRules(f"progress rules: closing[{verb!r}]: invalid reason {reason!r}")
        for where, score in [("masteryScore", self.mastery_score)] + [
            (f"masteryByActivity[{a!r}]", s) for a, s in self.mastery_by_activity.items()
        ]:
            _check_mastery(where, score)
        for name, seconds in (
            ("inactivityTimeoutSeconds", self.inactivity_timeout_s),
            ("suspendedTimeoutSeconds", self.suspended_timeout_s),
        ):
            if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds <= 0:
                raise InvalidRules(f"progress rules: {name}: must be a positive whole number")

    def mastery_for(self, activity_id: str) -> float | None:
        """The mastery score of an Activity: its own if set, else the tenant's."""
        return self.mastery_by_activity.get(activity_id, self.mastery_score)

    def timeout_us(self, *, suspended: bool) -> int:
        seconds = self.suspended_timeout_s if suspended else self.inactivity_timeout_s
        return seconds * 1_000_000

    # ------------------------------------------------------------------ tenant configuration

    @classmethod
    def from_json(cls, config: Mapping[str, Any]) -> ProgressRules:
        """Rules from a tenant's JSON configuration; absent settings keep their defaults."""
        unknown = sorted(set(config) - set(_JSON_NAMES))
        if unknown:
            raise InvalidRules(f"progress rules: unknown setting(s) {unknown}")
        kwargs: dict[str, Any] = {}
        for name, attr in _JSON_NAMES.items():
            if name in config:
                kwargs[attr] = _PARSE[attr](name, config[name])
        return cls(**kwargs)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, attr in _JSON_NAMES.items():
            value = getattr(self, attr)
            if attr in _VERB_SETS:
                value = sorted(value)
            elif isinstance(value, Mapping):  # closing (its reasons are str) and mastery
                value = dict(sorted(value.items()))
            out[name] = value
        return out


def _check_mastery(where: str, score: Any) -> None:
    """CMI-010 / cmi5 §10.2.4: a decimal in [0, 1] with at most 4 decimal places."""
    if score is None:
        return
    if (
        isinstance(score, bool)
        or not isinstance(score, int | float)
        or not 0 <= score <= 1
        or round(score, 4) != score
    ):
        raise InvalidRules(
            f"progress rules: {where}: must be a decimal in [0, 1] with at most 4 places"
        )


def _verbs(name: str, value: Any) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidRules(f"progress rules: {name}: must be an array of verb IRIs")
    return frozenset(value)


def _closing(name: str, value: Any) -> Mapping[str, CloseReason]:
    if not isinstance(value, Mapping):
        raise InvalidRules(f"progress rules: {name}: must map verb IRIs to a reason")
    try:
        return {verb: CloseReason(reason) for verb, reason in value.items()}
    except ValueError:
        reasons = ", ".join(r.value for r in CloseReason if r is not CloseReason.EXPIRED)
        raise InvalidRules(f"progress rules: {name}: reasons are {reasons}") from None


def _mastery_map(name: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidRules(f"progress rules: {name}: must map Activity ids to mastery scores")
    return value


def _as_is(name: str, value: Any) -> Any:
    return value


_JSON_NAMES = {
    "starting": "starting",
    "suspending": "suspending",
    "closing": "closing",
    "completing": "completing",
    "passing": "passing",
    "failing": "failing",
    "scoring": "scoring",
    "masteryScore": "mastery_score",
    "masteryByActivity": "mastery_by_activity",
    "inactivityTimeoutSeconds": "inactivity_timeout_s",
    "suspendedTimeoutSeconds": "suspended_timeout_s",
}
_PARSE: dict[str, Any] = {
    **dict.fromkeys(_VERB_SETS, _verbs),
    "closing": _closing,
    "mastery_by_activity": _mastery_map,
    "mastery_score": _as_is,
    "inactivity_timeout_s": _as_is,
    "suspended_timeout_s": _as_is,
}

DEFAULT_RULES = ProgressRules()
