"""Domain events of progress and their envelope (DESIGN.md, Events).

Five event types, each with a JSON Schema ``schemas/events/<type>.json`` (the contract):

* ``progress.statement.stored.v1`` -- a Statement was stored; carries its ``StatementFact``, so
  projection (and its replay) never needs the Statement store;
* ``progress.attempt.opened.v1`` / ``progress.attempt.closed.v1`` -- attempt state changes;
* ``progress.completion.recorded.v1`` -- an attempt's completion record has a new value;
* ``progress.export.requested.v1`` -- a compliance export was requested (or a worker that ran
  out of time hands the rest of it on: a continuation).

Ids are stable: a UUIDv5 of the type, the tenant, the aggregate (Statement or attempt) and, for
attempt events, the attempt version that recorded them. A redelivered, re-derived or replayed
event therefore keeps its id, which is what consumers' inboxes deduplicate on. ``time`` is the
server time of the cause (the ``stored`` of the Statement that caused it, or the clock reading
that expired the attempt), never the time of publishing, for the same reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from progress.domain.completion import CompletionRecord
from progress.domain.facts import (
    AttemptKey,
    Score,
    StatementFact,
    parse_timestamp_us,
    stable_id,
)
from progress.domain.progress_rules import CloseReason
from progress.domain.statements import format_stored

SOURCE = "progress"


def _time(us: int | None) -> str | None:
    return None if us is None else format_stored(us)


def _key_data(key: AttemptKey) -> dict[str, Any]:
    return {
        "learner": key.learner,
        "activity_id": key.activity_id,
        "registration": key.registration,
        "session": key.session,
    }


def _score(score: Score | None) -> dict[str, float] | None:
    return None if score is None else score.to_json()


@dataclass(frozen=True, slots=True)
class StatementStored:
    TYPE: ClassVar[str] = "progress.statement.stored.v1"
    fact: StatementFact

    @property
    def tenant(self) -> str:
        return self.fact.tenant

    @property
    def event_id(self) -> str:
        return stable_id("event", self.TYPE, self.fact.tenant, self.fact.id)

    @property
    def occurred_us(self) -> int:
        return self.fact.stored_us

    def data(self) -> dict[str, Any]:
        fact = self.fact
        return {
            "statement_id": fact.id,
            "stored": format_stored(fact.stored_us),
            "timestamp": format_stored(fact.timestamp_us),
            "verb": fact.verb,
            "learner": fact.learner,
            "activity_id": fact.activity_id,
            "registration": fact.registration,
            "session": fact.session,
            "result": {
                "success": fact.success,
                "completion": fact.completion,
                "score": _score(fact.score),
                "duration": fact.duration,
            },
            "voids": fact.voids,
            "voided": fact.voided,
        }


def fact_from_data(tenant: str, data: dict[str, Any]) -> StatementFact:
    """The fact a ``progress.statement.stored.v1`` event carries (the inverse of ``data()``)."""
    result = data["result"]
    stored_us = parse_timestamp_us(data["stored"])
    timestamp_us = parse_timestamp_us(data["timestamp"])
    if stored_us is None or timestamp_us is None:
        raise ValueError("progress.statement.stored.v1: stored and timestamp must be date-times")
    return StatementFact(
        tenant=tenant,
        id=data["statement_id"],
        stored_us=stored_us,
        timestamp_us=timestamp_us,
        verb=data["verb"],
        learner=data["learner"],
        activity_id=data["activity_id"],
        registration=data["registration"],
        session=data["session"],
        success=result["success"],
        completion=result["completion"],
        score=Score.parse(result["score"]),
        duration=result["duration"],
        voids=data["voids"],
        voided=data["voided"],
    )


class _AttemptVersionEvent:
    """Identity shared by the events of one Attempt version: the same id on every replay."""

    __slots__ = ()
    TYPE: ClassVar[str]
    attempt_id: str
    key: AttemptKey
    version: int

    @property
    def tenant(self) -> str:
        return self.key.tenant

    @property
    def event_id(self) -> str:
        return stable_id("event", self.TYPE, self.key.tenant, self.attempt_id, self.version)


@dataclass(frozen=True, slots=True)
class AttemptOpened(_AttemptVersionEvent):
    TYPE: ClassVar[str] = "progress.attempt.opened.v1"
    attempt_id: str
    key: AttemptKey
    seq: int
    version: int
    opened_at_us: int
    statement_id: str
    occurred_us: int

    def data(self) -> dict[str, Any]:
        return {
            "attempt_id": self.attempt_id,
            "sequence": self.seq,
            **_key_data(self.key),
            "opened_at": format_stored(self.opened_at_us),
            "statement_id": self.statement_id,
            "attempt_version": self.version,
        }


@dataclass(frozen=True, slots=True)
class AttemptClosed(_AttemptVersionEvent):
    TYPE: ClassVar[str] = "progress.attempt.closed.v1"
    attempt_id: str
    key: AttemptKey
    seq: int
    version: int
    reason: CloseReason
    started_at_us: int
    closed_at_us: int
    closed_by: str | None  # the closing Statement; None when expired
    occurred_us: int

    def data(self) -> dict[str, Any]:
        return {
            "attempt_id": self.attempt_id,
            "sequence": self.seq,
            **_key_data(self.key),
            "reason": self.reason.value,
            "started_at": format_stored(self.started_at_us),
            "closed_at": format_stored(self.closed_at_us),
            "closed_by": self.closed_by,
            "attempt_version": self.version,
        }


@dataclass(frozen=True, slots=True)
class CompletionRecorded:
    TYPE: ClassVar[str] = "progress.completion.recorded.v1"
    record: CompletionRecord
    version: int  # of the attempt: a consumer keeps the record with the highest
    occurred_us: int

    @property
    def tenant(self) -> str:
        return self.record.key.tenant

    @property
    def event_id(self) -> str:
        return stable_id(
            "event", self.TYPE, self.record.key.tenant, self.record.attempt_id, self.version
        )

    def data(self) -> dict[str, Any]:
        record = self.record
        return {
            "completion_id": record.id,
            "attempt_id": record.attempt_id,
            **_key_data(record.key),
            "completed": record.completed,
            "passed": record.passed,
            "failed": record.failed,
            "score": _score(record.score),
            "duration": record.duration,
            "time": _time(record.time_us),
            "statement_ids": list(record.statement_ids),
            "mastery_score": record.mastery_score,
            "attempt_version": self.version,
        }


@dataclass(frozen=True, slots=True)
class ExportRequested:
    """The job is committed with this event; the ``exporter`` consumer runs it. A worker that
    reaches the end of its time budget checkpoints and publishes continuation ``n`` (its id
    differs from the request's, so it is a new event, not a redelivery)."""

    TYPE: ClassVar[str] = "progress.export.requested.v1"
    tenant: str
    export_id: str
    kind: str
    format: str
    learner: str | None
    requested_us: int
    continuation: int = 0  # 0: the request itself
    occurred_us: int = 0  # 0: the request time

    @property
    def event_id(self) -> str:
        return stable_id("event", self.TYPE, self.tenant, self.export_id, self.continuation)

    def __post_init__(self) -> None:
        if not self.occurred_us:
            object.__setattr__(self, "occurred_us", self.requested_us)

    def data(self) -> dict[str, Any]:
        return {
            "export_id": self.export_id,
            "kind": self.kind,
            "format": self.format,
            "learner": self.learner,
            "requested_at": format_stored(self.requested_us),
            "continuation": self.continuation,
        }


DomainEvent = StatementStored | AttemptOpened | AttemptClosed | CompletionRecorded | ExportRequested
EVENT_TYPES = tuple(
    cls.TYPE
    for cls in (
        StatementStored,
        AttemptOpened,
        AttemptClosed,
        CompletionRecorded,
        ExportRequested,
    )
)


def envelope(
    event: DomainEvent,
    *,
    tenant: str | None = None,
    source: str = SOURCE,
    id: str | None = None,
    time: str | None = None,
) -> dict[str, Any]:
    """The published form of an event: ``{id, type, source, tenant, time, data}``. Defaults:
    the event's stable id, its tenant and the time of its cause."""
    return {
        "id": id or event.event_id,
        "type": event.TYPE,
        "source": source,
        "tenant": tenant or event.tenant,
        "time": time or format_stored(event.occurred_us),
        "data": event.data(),
    }
