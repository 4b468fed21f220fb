"""Builders for progress tests, and ``Router``: attempts kept in memory and routed the way the
attempt store port will route them (the projection's contract, see ``progress.domain.projection``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from progress.domain.attempts import Attempt
from progress.domain.events import DomainEvent
from progress.domain.facts import AttemptKey, Score, StatementFact
from progress.domain.progress_rules import DEFAULT_RULES, ProgressRules
from progress.domain.projection import Projection, project

TENANT = "acme"
LEARNER = "mbox:mailto:learner@example.com"
AU = "https://example.com/courses/c1/au/1"
REG = "6f1c1c52-9a57-4c5e-8d83-1d0c8a1e0b0f"
T0 = 1_767_261_600_000_000  # 2026-01-01T10:00:00Z
MIN = 60_000_000  # one minute in microseconds
HOUR = 60 * MIN
DAY = 24 * HOUR
SYNC = T0 + 7 * DAY  # when late Statements of an offline client reach the LRS

ADL = "http://adlnet.gov/expapi/verbs/"
W3ID = "https://w3id.org/xapi/adl/verbs/"


def sid(n: int) -> str:
    """A Statement id (UUID) per small number."""
    return f"00000000-0000-4000-8000-{n:012d}"


def fact(
    n: int,
    verb: str,
    at_min: float,
    *,
    stored_min: float | None = None,
    session: str | None = None,
    registration: str | None = REG,
    learner: str | None = LEARNER,
    activity: str | None = AU,
    tenant: str = TENANT,
    success: bool | None = None,
    completion: bool | None = None,
    score: Score | None = None,
    duration: str | None = None,
    voided: bool = False,
) -> StatementFact:
    """Statement ``n`` with verb ``verb`` (an ADL verb name, or a full IRI) at ``at_min`` minutes
    after T0, stored at ``stored_min`` (default: when it happened)."""
    at = T0 + round(at_min * MIN)
    stored = at if stored_min is None else T0 + round(stored_min * MIN)
    return StatementFact(
        tenant=tenant,
        id=sid(n),
        stored_us=stored,
        timestamp_us=at,
        verb=verb if ":" in verb else verb_iri(verb),
        learner=learner,
        activity_id=activity,
        registration=registration,
        session=session,
        success=success,
        completion=completion,
        score=score,
        duration=duration,
        voided=voided,
    )


def verb_iri(name: str) -> str:
    return (W3ID if name in ("abandoned", "waived", "satisfied") else ADL) + name


def key(session: str | None = None) -> AttemptKey:
    return AttemptKey(TENANT, LEARNER, AU, REG, session)


def statement(
    verb: str = "completed",
    *,
    statement_id: str = sid(1),
    timestamp: str = "2026-01-01T10:00:00Z",
    **extra: Any,
) -> dict[str, Any]:
    """A stored Statement body about the AU."""
    return {
        "id": statement_id,
        "actor": {"objectType": "Agent", "mbox": "mailto:learner@example.com"},
        "verb": {"id": verb_iri(verb)},
        "object": {"objectType": "Activity", "id": AU},
        "context": {"registration": REG},
        "timestamp": timestamp,
        **extra,
    }


@dataclass
class Router:
    """Attempts of each key in sequence order; a fact goes to its session's attempt, else to
    the attempt whose window holds its time, else to the key's latest."""

    rules: ProgressRules = DEFAULT_RULES
    by_key: dict[AttemptKey, list[Attempt]] = field(default_factory=dict)
    published: list[DomainEvent] = field(default_factory=list)

    def route(self, f: StatementFact) -> Attempt | None:
        attempts = self.by_key.get(f.key, []) if f.key is not None else []
        for attempt in attempts:
            if attempt.covers(f.at_us):
                return attempt
        return attempts[-1] if attempts else None

    def project(self, f: StatementFact) -> Projection:
        result = project(self.route(f), f, self.rules)
        for attempt in result.attempts:
            attempts = self.by_key.setdefault(attempt.key, [])
            if attempt not in attempts:
                assert attempt.seq == len(attempts) + 1
                attempts.append(attempt)
        self.published.extend(result.events)
        return result

    def run(self, facts: list[StatementFact]) -> Router:
        for f in facts:
            self.project(f)
        return self

    def attempts(self, session: str | None = None) -> list[Attempt]:
        return self.by_key.get(key(session), [])

    def only(self, session: str | None = None) -> Attempt:
        (attempt,) = self.attempts(session)
        return attempt
