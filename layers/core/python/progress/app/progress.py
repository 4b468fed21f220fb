"""Use cases of progress: project stored Statements onto attempts (the ``projection`` consumer),
expire idle attempts (the sweeper), rebuild a tenant's progress from its Statement log (replay)
and list attempts and completion records.

Every change commits as one ``ProgressCommit``: the attempts (conditional on the version they
were loaded at), the events they recorded (outbox rows) and the inbox row of the event that
caused them. A redelivered event finds its inbox row and changes nothing; a version conflict
(another delivery won the race) reloads and projects again, which is idempotent.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import orjson

from progress.app.ports import (
    AlreadyProcessed,
    AttemptChange,
    AttemptFilter,
    AttemptStore,
    AttemptSummary,
    Clock,
    Envelope,
    InboxEntry,
    ListPosition,
    ProgressCommit,
    RulesStore,
    StatementStore,
    VersionConflict,
)
from progress.domain.errors import BadRequest, ServiceUnavailable
from progress.domain.events import StatementStored, envelope, fact_from_data
from progress.domain.facts import StatementFact, statement_fact
from progress.domain.progress_rules import DEFAULT_RULES, ProgressRules
from progress.domain.projection import Projection, project
from progress.domain.statements import (
    ALL,
    Position,
    StatementQuery,
    StoredStatement,
    format_stored,
)

logger = logging.getLogger(__name__)

PROJECTION = "projection"  # the consumer name its inbox rows carry
STORED_TYPE = StatementStored.TYPE
_CONFLICT_RETRIES = 8
_RULES_TTL_S = 30.0


class Outcome(StrEnum):
    APPLIED = "applied"  # attempts changed (and events, if any, are in the outbox)
    SKIPPED = "skipped"  # nothing to project (the reason is logged); the inbox row is kept
    DUPLICATE = "duplicate"  # the inbox already had the event: no second effect


@dataclass(frozen=True, slots=True)
class ProjectResult:
    outcome: Outcome
    events: int = 0
    reason: str | None = None


@dataclass(slots=True)
class ReplayReport:
    statements: int = 0
    applied: int = 0
    skipped: int = 0
    events: int = 0
    skip_reasons: dict[str, int] = field(default_factory=dict)


class RulesCache:
    """Per-tenant rules, re-read at most every ``ttl_s`` (rules change rarely; a container
    serves many events)."""

    def __init__(self, store: RulesStore, ttl_s: float = _RULES_TTL_S) -> None:
        self._store = store
        self._ttl = ttl_s
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, ProgressRules]] = {}

    def get(self, tenant: str) -> ProgressRules:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(tenant)
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1]
        rules = self._store.get_rules(tenant) or DEFAULT_RULES
        with self._lock:
            self._cache[tenant] = (now, rules)
        return rules

    def put(self, tenant: str, rules: ProgressRules) -> None:
        self._store.put_rules(tenant, rules)
        with self._lock:
            self._cache[tenant] = (time.monotonic(), rules)


class ProgressService:
    def __init__(
        self,
        attempts: AttemptStore,
        statements: StatementStore,
        rules: RulesStore,
        clock: Clock,
        *,
        consumer: str = PROJECTION,
    ) -> None:
        self._attempts = attempts
        self._statements = statements
        self.rules = RulesCache(rules)
        self._clock = clock
        self._consumer = consumer

    # ------------------------------------------------------------------ the projection consumer

    def handle(self, event: Envelope) -> ProjectResult:
        """Project one ``progress.statement.stored.v1`` envelope (at-least-once delivery)."""
        if event.get("type") != STORED_TYPE:
            raise BadRequest(f"type: projection consumes {STORED_TYPE}, got {event.get('type')!r}")
        tenant = str(event["tenant"])
        entry = InboxEntry(self._consumer, str(event["id"]))
        if self._attempts.processed(tenant, entry):
            return ProjectResult(Outcome.DUPLICATE)
        fact = self._current_fact(fact_from_data(tenant, event["data"]))
        if fact is None:  # no inbox row: the resent Statement's event must still apply
            logger.warning("event of a Statement not stored", extra={"event": entry.event_id})
            return ProjectResult(Outcome.SKIPPED, reason="not-stored")
        return self._project(fact, entry)

    def _current_fact(self, fact: StatementFact) -> StatementFact | None:
        """The fact as the store has it now (VOID-002): a voiding Statement projects its
        target's voided copy; any other Statement is read with its current voided flag, so
        either arrival order of a Statement and its voiding ends the same way. None when the
        Statement itself is not stored: its batch was rolled back after the event left (a
        DynamoDB batch of several transactions); a resend stores and announces it again."""
        wanted = [fact.id] if fact.voids is None else [fact.id, fact.voids]
        stored = self._statements.get(fact.tenant, wanted)
        own = stored.get(fact.id)
        if own is None:
            return None
        if fact.voids is None:
            return fact.voided_copy() if own.voided else fact
        target = stored.get(fact.voids)
        if target is None or target.voiding:
            return fact  # the target is unknown (yet): its own projection reads it as voided
        return statement_fact(
            fact.tenant, orjson.loads(target.body), target.stored_us
        ).voided_copy()

    def _project(self, fact: StatementFact, entry: InboxEntry | None) -> ProjectResult:
        tenant = fact.tenant
        for _ in range(_CONFLICT_RETRIES):
            rules = self.rules.get(tenant)
            key = fact.key
            current = None if key is None else self._attempts.route(tenant, key, fact.at_us)
            loaded = (
                {}
                if current is None
                else {current.id: (current.version, current.expires_at_us(rules))}
            )
            result = project(current, fact, rules)
            try:
                self._attempts.commit(_commit(tenant, result, rules, loaded, entry))
            except VersionConflict:
                continue  # another delivery changed the attempt: reload, project again
            except AlreadyProcessed:
                return ProjectResult(Outcome.DUPLICATE)
            if result.skipped is not None:
                logger.info(
                    "statement not projected",
                    extra={"tenant": tenant, "statement": fact.id, "reason": result.skipped.value},
                )
                return ProjectResult(Outcome.SKIPPED, len(result.events), result.skipped.value)
            return ProjectResult(Outcome.APPLIED, len(result.events))
        raise ServiceUnavailable(f"attempt of statement {fact.id} kept changing; retry later")

    # ------------------------------------------------------------------ the sweeper

    def sweep(self, now_us: int | None = None, limit: int = 500) -> int:
        """Close open attempts past their inactivity timeout; returns how many closed. A race
        with a Statement for the same attempt is settled by the version check (reload)."""
        now = self._clock.now_us() if now_us is None else now_us
        closed = 0
        for tenant, attempt_id in self._attempts.due(now, limit):
            for _ in range(_CONFLICT_RETRIES):
                attempt = self._attempts.get(tenant, attempt_id)
                rules = self.rules.get(tenant)
                if attempt is None or not attempt.is_expired(now, rules):
                    break  # gone, closed meanwhile, or kept alive by a newer Statement
                version, previous = attempt.version, attempt.expires_at_us(rules)
                attempt.expire(now, rules)
                change = AttemptChange(attempt, version, None, previous)
                events = tuple(envelope(e) for e in attempt.events)
                try:
                    self._attempts.commit(ProgressCommit(tenant, (change,), events))
                except VersionConflict:
                    continue
                closed += 1
                break
        return closed

    # ------------------------------------------------------------------ replay

    def replay(
        self,
        tenant: str,
        *,
        page: int = 500,
        progress: Callable[[ReplayReport], None] | None = None,
    ) -> ReplayReport:
        """Rebuild ``tenant``'s attempts and completion records from its Statement log.

        Statements are re-projected in ``stored`` order, each read as it was when stored: voided
        only by a voiding Statement stored before it (the live projection saw no later one).
        Event ids are stable, so consumers' inboxes absorb what they already applied."""
        self._attempts.clear(tenant, self._consumer)
        report = ReplayReport()
        voided: set[str] = set()
        for stored in self._log(tenant, page):
            fact = statement_fact(tenant, orjson.loads(stored.body), stored.stored_us)
            if fact.voids is not None:
                voided.add(fact.voids)
            entry = InboxEntry(self._consumer, StatementStored(fact).event_id)
            fact = self._replayed_fact(fact, voided)
            result = self._project(fact, entry)
            report.statements += 1
            report.events += result.events
            if result.outcome is Outcome.SKIPPED:
                report.skipped += 1
                reason = result.reason or "?"
                report.skip_reasons[reason] = report.skip_reasons.get(reason, 0) + 1
            else:
                report.applied += 1
            if progress is not None and report.statements % page == 0:
                progress(report)
        if progress is not None:
            progress(report)
        return report

    def _replayed_fact(self, fact: StatementFact, voided: set[str]) -> StatementFact:
        if fact.voids is None:
            return fact.voided_copy() if fact.id in voided else fact
        target = self._statements.get(fact.tenant, [fact.voids]).get(fact.voids)
        if target is None or target.voiding or target.stored_us > fact.stored_us:
            return fact  # voids nothing yet: the target, stored later, is read as voided
        body = orjson.loads(target.body)
        return statement_fact(fact.tenant, body, target.stored_us).voided_copy()

    def _log(self, tenant: str, page: int) -> Iterator[StoredStatement]:
        query = StatementQuery(required=frozenset(), ascending=True)
        after: Position | None = None
        while True:
            batch, exhausted = self._statements.scan(tenant, ALL, query, after, page)
            yield from batch
            if exhausted or not batch:
                return
            after = Position(batch[-1].stored_us, batch[-1].id)

    # ------------------------------------------------------------------ reads

    def learners(self, tenant: str, after: str | None, limit: int) -> tuple[list[str], str | None]:
        """A page of the tenant's learners with attempts (``AttemptStore.learners``)."""
        return self._attempts.learners(tenant, after, limit)

    def list(
        self, tenant: str, where: AttemptFilter, after: ListPosition | None, limit: int
    ) -> tuple[list[AttemptSummary], ListPosition | None]:
        return self._attempts.list(tenant, where, after, limit)


def _commit(
    tenant: str,
    result: Projection,
    rules: ProgressRules,
    loaded: dict[str, tuple[int, int | None]],
    entry: InboxEntry | None,
) -> ProgressCommit:
    changes = []
    for attempt in result.attempts:
        version, previous = loaded.get(attempt.id, (0, None))
        changes.append(AttemptChange(attempt, version, attempt.expires_at_us(rules), previous))
    return ProgressCommit(tenant, tuple(changes), tuple(envelope(e) for e in result.events), entry)


# ---------------------------------------------------------------------------------- documents
# One JSON shape of attempts and completion records for every reader: the progress and admin
# APIs serve it, exports write it.


def _time(us: int | None) -> str | None:
    return None if us is None else format_stored(us)


def completion_document(summary: AttemptSummary) -> dict[str, Any] | None:
    record = summary.completion
    if record is None:
        return None
    return {
        "id": record.id,
        "completed": record.completed,
        "passed": record.passed,
        "failed": record.failed,
        "score": None if record.score is None else record.score.to_json(),
        "duration": record.duration,
        "time": _time(record.time_us),
        "statement_ids": list(record.statement_ids),
        "mastery_score": record.mastery_score,
    }


def attempt_document(summary: AttemptSummary) -> dict[str, Any]:
    key = summary.key
    return {
        "id": summary.attempt_id,
        "sequence": summary.seq,
        "learner": key.learner,
        "activity_id": key.activity_id,
        "registration": key.registration,
        "session": key.session,
        "state": summary.state,
        "version": summary.version,
        "started": format_stored(summary.started_us),
        "last_activity": format_stored(summary.last_us),
        "closed": _time(summary.closed_us),
        "close_reason": summary.close_reason,
        "completion": completion_document(summary),
    }
