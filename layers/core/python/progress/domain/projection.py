"""Statement -> progress: the one function a projection use case calls per stored Statement.

``project(attempt, fact, rules)`` takes the attempt the fact is routed to -- for a fact with a
session, that session's attempt; otherwise the attempt of ``fact.key`` whose window holds
``fact.at_us``, else the key's latest attempt; None when the key has none -- and returns what
changed: the attempts to save (each conditionally on the version it was loaded with, a new one
on not existing), the resulting completion record, and the events to publish with them.

It never raises on a Statement, however odd: what cannot be projected comes back with
``skipped`` set, so the use case records the reason and moves on (still saving ``attempts``: an
attempt found expired on the way is closed even when the Statement is then skipped). It raises
only on a caller's bug (``AttemptMismatch``: an attempt that is not the fact's).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from progress.domain.attempts import Attempt
from progress.domain.completion import CompletionRecord
from progress.domain.events import DomainEvent
from progress.domain.facts import StatementFact
from progress.domain.progress_errors import SkipReason
from progress.domain.progress_rules import ProgressRules


@dataclass(frozen=True, slots=True)
class Projection:
    attempts: tuple[Attempt, ...] = ()  # changed or new, in the order they changed
    completion: CompletionRecord | None = None  # of the attempt the Statement counts toward
    events: tuple[DomainEvent, ...] = ()  # recorded by this call, in order
    skipped: SkipReason | None = None


def _new_events(changed: list[Attempt], marks: Mapping[str, int]) -> tuple[DomainEvent, ...]:
    """The events recorded since ``marks`` (events already pending per attempt; none if new)."""
    return tuple(e for a in changed for e in a.events[marks[a.id] :])


def project(attempt: Attempt | None, fact: StatementFact, rules: ProgressRules) -> Projection:
    """Apply one Statement's fact to progress (see the module docstring)."""
    key = fact.key
    if key is None:
        return Projection(skipped=SkipReason.NOT_PROJECTABLE)
    if fact.verb not in rules.tracked:
        return Projection(skipped=SkipReason.NOT_TRACKED)
    if attempt is None:
        if fact.voided:
            return Projection(skipped=SkipReason.NOTHING_TO_VOID)
        opened = Attempt.open(fact, rules)
        return Projection((opened,), opened.completion, tuple(opened.events))
    marks = defaultdict(int, {attempt.id: len(attempt.events)})
    changed: list[Attempt] = []
    if attempt.is_expired(fact.stored_us, rules):
        # Expiry is decided by the Statements' own stored times, not by when a sweeper ran:
        # a replay of the same Statements closes the same attempts at the same times.
        attempt.expire(fact.stored_us, rules)
        changed.append(attempt)
    reason = attempt.refusal(fact, rules)
    if reason is SkipReason.AFTER_CLOSE and key.session is None:
        assert attempt.closed_us is not None  # AFTER_CLOSE: the attempt is closed
        following = Attempt.open(
            fact, rules, seq=attempt.seq + 1, opened_after_us=attempt.closed_us
        )
        changed.append(following)
        return Projection(tuple(changed), following.completion, _new_events(changed, marks))
    if reason is not None:
        return Projection(tuple(changed), None, _new_events(changed, marks), reason)
    attempt.apply(fact, rules)
    if attempt not in changed:
        changed.append(attempt)
    return Projection(tuple(changed), attempt.completion, _new_events(changed, marks))
