"""The ``Attempt`` aggregate: one learner's go at one Activity, from its first tracked Statement
until it is closed -- by a closing verb (terminated, abandoned, exited, waived, satisfied), by the
inactivity timeout, or explicitly.

States and transitions are one table, ``TRANSITIONS``: ``open -> closed``, and nothing leaves
``closed`` (no reopen). ``version`` goes up by one per change; every change of what the attempt
publishes (its state, its completion record) records an event in ``events``, stamped with that
version. Bookkeeping alone (a start or resume Statement, a later timestamp) changes the version
but publishes nothing.

Time and order (all in ``StatementFact.at_us``, i.e. Statement time, cmi5 §9.3):

* An attempt covers a window of Statement time: ``(opened_after_us, closed_us]``. The first
  attempt of a key starts at minus infinity, the next right after its predecessor's close, so
  the windows of a key tile the time line and every Statement has exactly one attempt.
* A Statement inside the window counts, whenever it arrives: a late one (an offline client's,
  up to days old) or one arriving after the close (``terminated`` overtaking ``completed``) still
  counts toward the attempt it happened in -- without reopening it.
* After the close: without a session, the Statement opens the key's next attempt; within a
  session (cmi5 session id, SCORM attempt IRI) it is skipped (``AFTER_CLOSE``): cmi5 §9.3.8 and
  §9.3.6 (CMI-062/063) make the LMS reject Statements after a session's end.
* A closing Statement closes at ``max(its time, the latest time seen)``, so the window holds
  every Statement already counted. A later closing Statement inside the window (a duplicate
  ``terminated``, an ``abandoned`` after ``terminated``) counts but moves nothing.
* Inactivity is measured in server time (``stored``), so a burst of late Statements from an
  offline client keeps its attempt alive while it arrives. An expired attempt closes at its
  latest Statement time plus the timeout: what happened within the timeout of the last known
  Statement is still the same attempt.
* Duplicates (a Statement id already counted) change nothing; the version stays. A voided
  Statement's outcome is taken back (VOID-002), once.

For a session whose Statements follow the spec (one start, one close, the close last -- cmi5
§9.3), any order of arrival, with any duplicates, gives the same attempt and the same record.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Final

from progress.domain.completion import CompletionRecord, Outcome, derive_completion, outcome_of
from progress.domain.events import AttemptClosed, AttemptOpened, CompletionRecorded, DomainEvent
from progress.domain.facts import AttemptKey, Score, StatementFact
from progress.domain.progress_errors import (
    AttemptMismatch,
    InvalidTransition,
    NotExpired,
    ProjectionRefused,
    SkipReason,
)
from progress.domain.progress_rules import CloseReason, ProgressRules


class AttemptState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


TRANSITIONS: Final[Mapping[AttemptState, frozenset[AttemptState]]] = {
    AttemptState.OPEN: frozenset({AttemptState.CLOSED}),
    AttemptState.CLOSED: frozenset(),  # no reopen: later Statements go to a new attempt
}


class Attempt:
    def __init__(
        self,
        key: AttemptKey,
        seq: int,
        *,
        started_us: int,
        last_us: int,
        last_seen_us: int,
        latest: tuple[int, str, bool],
        version: int,
        opened_after_us: int | None = None,
        state: AttemptState = AttemptState.OPEN,
        closed_us: int | None = None,
        close_reason: CloseReason | None = None,
        closed_by: str | None = None,
        statement_ids: frozenset[str] = frozenset(),
        voided_ids: frozenset[str] = frozenset(),
        outcomes: Mapping[str, Outcome] | None = None,
        completion: CompletionRecord | None = None,
    ) -> None:
        self.key = key
        self.seq = seq
        self.id = key.attempt_id(seq)
        self.opened_after_us = opened_after_us
        self.state = state
        self.version = version
        self.started_us = started_us  # earliest Statement time counted
        self.last_us = last_us  # latest Statement time counted
        self.last_seen_us = last_seen_us  # latest `stored` counted: inactivity runs from here
        self.latest = latest  # (time, id, suspends) of the latest Statement: suspended or not
        self.closed_us = closed_us
        self.close_reason = close_reason
        self.closed_by = closed_by
        self.statement_ids = set(statement_ids)
        self.voided_ids = set(voided_ids)
        self.outcomes = dict(outcomes or {})
        self.completion = completion
        self.events: list[DomainEvent] = []

    def __repr__(self) -> str:
        return f"<Attempt {self.id} #{self.seq} {self.state} v{self.version}>"

    # --------------------------------------------------------------------------- queries

    @property
    def suspended(self) -> bool:
        """SCORM-012: the latest Statement suspends the attempt (a later one resumes it)."""
        return self.latest[2]

    def covers(self, at_us: int) -> bool:
        """Whether Statement time ``at_us`` lies in this attempt's window."""
        after = self.opened_after_us is None or at_us > self.opened_after_us
        return after and (self.closed_us is None or at_us <= self.closed_us)

    def expires_at_us(self, rules: ProgressRules) -> int | None:
        """Server time from which the attempt may expire; None once closed."""
        if self.state is AttemptState.CLOSED:
            return None
        return self.last_seen_us + rules.timeout_us(suspended=self.suspended)

    def is_expired(self, now_us: int, rules: ProgressRules) -> bool:
        expires = self.expires_at_us(rules)
        return expires is not None and now_us >= expires

    def refusal(self, fact: StatementFact, rules: ProgressRules) -> SkipReason | None:
        """Why ``apply(fact)`` would leave this attempt unchanged (None: it would change it).
        Raises ``AttemptMismatch`` when the fact belongs to another attempt."""
        if fact.key != self.key or (
            self.opened_after_us is not None and fact.at_us <= self.opened_after_us
        ):
            raise AttemptMismatch(self.id, fact.id)
        if fact.verb not in rules.tracked:
            return SkipReason.NOT_TRACKED
        if fact.voided:
            if fact.id in self.voided_ids:
                return SkipReason.DUPLICATE
            return None if fact.id in self.outcomes else SkipReason.NOTHING_TO_VOID
        if fact.id in self.statement_ids:
            return SkipReason.DUPLICATE
        if not self.covers(fact.at_us):
            return SkipReason.AFTER_CLOSE
        return None

    # --------------------------------------------------------------------------- changes

    @classmethod
    def open(
        cls,
        fact: StatementFact,
        rules: ProgressRules,
        *,
        seq: int = 1,
        opened_after_us: int | None = None,
    ) -> Attempt:
        """A new attempt (version 1) opened by a tracked Statement, which it counts."""
        key = fact.key
        if key is None:
            raise ProjectionRefused(f"#{seq}", fact.id, SkipReason.NOT_PROJECTABLE)
        if fact.verb not in rules.tracked or fact.voided:
            reason = SkipReason.NOT_TRACKED if not fact.voided else SkipReason.NOTHING_TO_VOID
            raise ProjectionRefused(key.attempt_id(seq), fact.id, reason)
        if opened_after_us is not None and fact.at_us <= opened_after_us:
            raise AttemptMismatch(key.attempt_id(seq), fact.id)
        attempt = cls(
            key,
            seq,
            opened_after_us=opened_after_us,
            started_us=fact.at_us,
            last_us=fact.at_us,
            last_seen_us=fact.stored_us,
            latest=(fact.at_us, fact.id, fact.verb in rules.suspending),
            version=1,
        )
        attempt.events.append(
            AttemptOpened(attempt.id, key, seq, 1, fact.at_us, fact.id, occurred_us=fact.stored_us)
        )
        attempt._count(fact, rules)
        return attempt

    def apply(self, fact: StatementFact, rules: ProgressRules) -> None:
        """Count a Statement (or take back a voided one). Raises ``ProjectionRefused`` when
        ``refusal`` has a reason: callers ask first and skip."""
        reason = self.refusal(fact, rules)
        if reason is not None:
            raise ProjectionRefused(self.id, fact.id, reason)
        self.version += 1
        if fact.voided:
            self.voided_ids.add(fact.id)
            del self.outcomes[fact.id]
            self._derive(rules, fact.stored_us)
        else:
            self._count(fact, rules)

    def close(
        self,
        reason: CloseReason,
        *,
        at_us: int,
        occurred_us: int,
        closed_by: str | None = None,
    ) -> None:
        """Close the attempt at Statement time ``at_us`` (at least its latest time seen)."""
        self._check_transition(AttemptState.CLOSED)
        self.version += 1
        self._close(reason, at_us, occurred_us, closed_by)

    def expire(self, now_us: int, rules: ProgressRules) -> None:
        """Close an attempt left inactive for the tenant's timeout (server time ``now_us``)."""
        self._check_transition(AttemptState.CLOSED)
        expires = self.expires_at_us(rules)
        if expires is not None and now_us < expires:
            raise NotExpired(self.id, expires)
        self.close(
            CloseReason.EXPIRED,
            at_us=self.last_us + rules.timeout_us(suspended=self.suspended),
            occurred_us=now_us,
        )

    # --------------------------------------------------------------------------- internals

    def _check_transition(self, target: AttemptState) -> None:
        if target not in TRANSITIONS[self.state]:
            raise InvalidTransition(self.id, self.state, target)

    def _count(self, fact: StatementFact, rules: ProgressRules) -> None:
        at = fact.at_us
        self.statement_ids.add(fact.id)
        self.started_us = min(self.started_us, at)
        self.last_us = max(self.last_us, at)
        self.last_seen_us = max(self.last_seen_us, fact.stored_us)
        self.latest = max(self.latest, (at, fact.id, fact.verb in rules.suspending))
        outcome = outcome_of(fact, rules)
        if outcome is not None:
            self.outcomes[fact.id] = outcome
            self._derive(rules, fact.stored_us)
        reason = rules.closing.get(fact.verb)
        if reason is not None and self.state is AttemptState.OPEN:
            self._close(reason, at, fact.stored_us, fact.id)

    def _close(
        self, reason: CloseReason, at_us: int, occurred_us: int, closed_by: str | None
    ) -> None:
        self._check_transition(AttemptState.CLOSED)
        self.state = AttemptState.CLOSED
        self.closed_us = max(at_us, self.last_us)
        self.close_reason = reason
        self.closed_by = closed_by
        self.events.append(
            AttemptClosed(
                self.id,
                self.key,
                self.seq,
                self.version,
                reason,
                self.started_us,
                self.closed_us,
                closed_by,
                occurred_us=occurred_us,
            )
        )

    def _derive(self, rules: ProgressRules, occurred_us: int) -> None:
        record = derive_completion(
            self.id,
            self.key,
            self.outcomes.values(),
            rules.mastery_for(self.key.activity_id),
            self.completion,
        )
        if record is None or record == self.completion:
            return
        self.completion = record
        self.events.append(CompletionRecorded(record, self.version, occurred_us))

    # --------------------------------------------------------------------------- storage

    def snapshot(self) -> dict[str, Any]:
        """Everything needed to restore the attempt, as JSON-compatible values."""
        return {
            "key": [
                self.key.tenant,
                self.key.learner,
                self.key.activity_id,
                self.key.registration,
                self.key.session,
            ],
            "seq": self.seq,
            "state": self.state.value,
            "version": self.version,
            "opened_after_us": self.opened_after_us,
            "started_us": self.started_us,
            "last_us": self.last_us,
            "last_seen_us": self.last_seen_us,
            "latest": list(self.latest),
            "closed_us": self.closed_us,
            "close_reason": None if self.close_reason is None else self.close_reason.value,
            "closed_by": self.closed_by,
            "statement_ids": sorted(self.statement_ids),
            "voided_ids": sorted(self.voided_ids),
            "outcomes": [_outcome_json(o) for _, o in sorted(self.outcomes.items())],
            "completion": None if self.completion is None else _record_json(self.completion),
        }

    @classmethod
    def restore(cls, snapshot: Mapping[str, Any]) -> Attempt:
        key = AttemptKey(*snapshot["key"])
        reason = snapshot["close_reason"]
        at, statement_id, suspends = snapshot["latest"]
        completion = snapshot["completion"]
        return cls(
            key,
            snapshot["seq"],
            opened_after_us=snapshot["opened_after_us"],
            state=AttemptState(snapshot["state"]),
            version=snapshot["version"],
            started_us=snapshot["started_us"],
            last_us=snapshot["last_us"],
            last_seen_us=snapshot["last_seen_us"],
            latest=(at, statement_id, suspends),
            closed_us=snapshot["closed_us"],
            close_reason=None if reason is None else CloseReason(reason),
            closed_by=snapshot["closed_by"],
            statement_ids=frozenset(snapshot["statement_ids"]),
            voided_ids=frozenset(snapshot["voided_ids"]),
            outcomes={o["id"]: _outcome(o) for o in snapshot["outcomes"]},
            completion=None if completion is None else _record(key, completion),
        )


def _score(value: Mapping[str, float] | None) -> Score | None:
    return None if value is None else Score(**value)


def _outcome_json(outcome: Outcome) -> dict[str, Any]:
    return {
        "id": outcome.statement_id,
        "at_us": outcome.at_us,
        "completes": outcome.completes,
        "success": outcome.success,
        "score": None if outcome.score is None else outcome.score.to_json(),
        "duration": outcome.duration,
    }


def _outcome(value: Mapping[str, Any]) -> Outcome:
    return Outcome(
        value["id"],
        value["at_us"],
        value["completes"],
        value["success"],
        _score(value["score"]),
        value["duration"],
    )


def _record_json(record: CompletionRecord) -> dict[str, Any]:
    return {
        "attempt_id": record.attempt_id,
        "completed": record.completed,
        "success": record.success,
        "score": None if record.score is None else record.score.to_json(),
        "duration": record.duration,
        "time_us": record.time_us,
        "statement_ids": list(record.statement_ids),
        "mastery_score": record.mastery_score,
    }


def _record(key: AttemptKey, value: Mapping[str, Any]) -> CompletionRecord:
    return CompletionRecord(
        attempt_id=value["attempt_id"],
        key=key,
        completed=value["completed"],
        success=value["success"],
        score=_score(value["score"]),
        duration=value["duration"],
        time_us=value["time_us"],
        statement_ids=tuple(value["statement_ids"]),
        mastery_score=value["mastery_score"],
    )
