"""Completion records: what an attempt achieved, derived by the server from its Statements.

No client writes a ``CompletionRecord``: it is a function of the attempt's *outcomes* (what each
tracked Statement says about completion, success and score) and of the tenant's rules, so it is
the same whatever order, and however often, the Statements arrive:

* completed: any outcome completes (a ``completion: false`` never takes completion back);
* success: passed if any outcome passes, else failed if any fails, else unknown. A pass is never
  undone by a fail (CMI-064: failed must not follow passed; a retry after a fail may pass);
* mastery (cmi5 §9.3.4/§9.3.5, CMI-065): a pass whose ``score.scaled`` is below the mastery score
  counts as a fail -- so a passed record never shows a scaled score below mastery;
* score: of the latest (timestamp, then id) outcome that decided success; without a success, of
  the latest scored outcome. A score alone records nothing (SCORM-022);
* duration: as reported by the latest source Statement that has one (cmi5 §9.5.4.1);
* time: when it was achieved, the latest timestamp among the source Statements.

When voiding removes every outcome the record is *revoked*: not completed, success unknown, no
sources. One attempt has at most one record (its id derives from the attempt's); a change is a new
value of the same record, ordered by the attempt version its event carries.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from progress.domain.facts import AttemptKey, Score, StatementFact, stable_id
from progress.domain.progress_errors import InvalidRecord
from progress.domain.progress_rules import ProgressRules


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one tracked Statement says about its attempt's result."""

    statement_id: str
    at_us: int
    completes: bool = False
    success: bool | None = None  # after the mastery rule
    score: Score | None = None
    duration: str | None = None

    @property
    def order(self) -> tuple[int, str]:
        return self.at_us, self.statement_id


def outcome_of(fact: StatementFact, rules: ProgressRules) -> Outcome | None:
    """The outcome of a tracked Statement, or None when it says nothing about the result.
    ``success`` is the Statement's claim; the mastery rule applies when records are derived."""
    completes = fact.verb in rules.completing or fact.completion is True
    if fact.verb in rules.passing:
        success: bool | None = True
    elif fact.verb in rules.failing:
        success = False
    else:
        success = fact.success
    scores = completes or success is not None or fact.verb in rules.scoring
    score = fact.score if scores else None
    if not completes and success is None and score is None:
        return None
    return Outcome(fact.id, fact.at_us, completes, success, score, fact.duration)


def effective_success(outcome: Outcome, mastery_score: float | None) -> bool | None:
    """CMI-065 (cmi5 §9.3.4): a pass whose scaled score is below the mastery score is a fail."""
    scaled = outcome.score.scaled if outcome.score is not None else None
    if (
        outcome.success is True
        and mastery_score is not None
        and scaled is not None
        and scaled < mastery_score
    ):
        return False
    return outcome.success


def completion_id(attempt_id: str) -> str:
    return stable_id("completion", attempt_id)


@dataclass(frozen=True, slots=True)
class CompletionRecord:
    attempt_id: str
    key: AttemptKey
    completed: bool
    success: bool | None
    score: Score | None
    duration: str | None
    time_us: int | None
    statement_ids: tuple[str, ...]  # the Statements it derives from, sorted
    mastery_score: float | None = None

    def __post_init__(self) -> None:
        if list(self.statement_ids) != sorted(set(self.statement_ids)):
            raise InvalidRecord("completion: statement ids must be sorted and unique")
        if self.achieved != bool(self.statement_ids):
            raise InvalidRecord("completion: an outcome needs source statements, and only then")
        if (self.time_us is None) != (not self.statement_ids):
            raise InvalidRecord("completion: time is that of the source statements")
        if not self.achieved and (self.score is not None or self.duration is not None):
            raise InvalidRecord("completion: a revoked record has no score or duration")
        scaled = self.score.scaled if self.score is not None else None
        if (
            self.passed
            and self.mastery_score is not None
            and scaled is not None
            and scaled < self.mastery_score
        ):
            raise InvalidRecord("completion: passed with a scaled score below mastery")

    @property
    def id(self) -> str:
        return completion_id(self.attempt_id)

    @property
    def achieved(self) -> bool:
        return self.completed or self.success is not None

    @property
    def passed(self) -> bool:
        return self.success is True

    @property
    def certified(self) -> bool:
        """Whether it earns a certificate: completed or passed (a failure alone earns none;
        ``progress.app.certificates`` issues by the same rule)."""
        return self.completed or self.passed

    @property
    def failed(self) -> bool:
        return self.success is False


def _latest(outcomes: Iterable[Outcome]) -> Outcome | None:
    return max(outcomes, key=lambda o: o.order, default=None)


def derive_completion(
    attempt_id: str,
    key: AttemptKey,
    outcomes: Iterable[Outcome],
    mastery_score: float | None,
    previous: CompletionRecord | None = None,
) -> CompletionRecord | None:
    """The record the outcomes add up to (see the module docstring); None while nothing has been
    achieved and nothing was recorded before; a revoked record once a recorded one lost all."""
    outs = list(outcomes)
    claims = {o.statement_id: effective_success(o, mastery_score) for o in outs}
    completed = any(o.completes for o in outs)
    if True in claims.values():
        success: bool | None = True
    elif False in claims.values():
        success = False
    else:
        success = None
    if not completed and success is None:
        if previous is None:
            return None
        return CompletionRecord(attempt_id, key, False, None, None, None, None, (), mastery_score)
    decides = {i for i, claim in claims.items() if success is not None and claim is success}
    deciding = [o for o in outs if o.completes or o.statement_id in decides]
    scored = [
        o for o in outs if o.score is not None and (success is None or o.statement_id in decides)
    ]
    score_source = _latest(scored)
    sources = {o.statement_id: o for o in deciding}
    if score_source is not None:
        sources[score_source.statement_id] = score_source
    timed = _latest(o for o in sources.values() if o.duration is not None)
    return CompletionRecord(
        attempt_id=attempt_id,
        key=key,
        completed=completed,
        success=success,
        score=score_source.score if score_source is not None else None,
        duration=timed.duration if timed is not None else None,
        time_us=max(o.at_us for o in sources.values()),
        statement_ids=tuple(sorted(sources)),
        mastery_score=mastery_score,
    )
