"""ProgressService and the local Dispatcher on the in-memory adapters: the projection consumer
(inbox, outbox, voiding, conflicts), the sweeper, replay, dead letters and redrive."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from progress.adapters import memory
from progress.app.dispatch import Dispatcher, eventbridge_event, redrive
from progress.app.ports import AttemptFilter, Envelope, ProgressCommit, VersionConflict
from progress.app.progress import Outcome, ProgressService
from progress.app.statements import StatementService
from progress.domain.progress_rules import (
    COMPLETED,
    INITIALIZED,
    PASSED,
    TERMINATED,
    ProgressRules,
)
from progress.domain.tenancy import Principal, Scope

TENANT = "acme"
COURSE = "http://example.com/course/1"
VOIDED = "http://adlnet.gov/expapi/verbs/voided"


class StepClock:
    def __init__(self, start: int = 1_750_000_000_000_000) -> None:
        self.now = start

    def now_us(self) -> int:
        self.now += 1_000
        return self.now


@dataclass
class World:
    clock: StepClock
    outbox: memory.MemoryOutbox
    statements: StatementService
    store: memory.MemoryStatementStore
    attempts: memory.MemoryAttemptStore
    progress: ProgressService
    principal: Principal

    def post(self, *stmts: dict[str, Any]) -> list[str]:
        return self.statements.store(self.principal, list(stmts)).ids

    def drain(self) -> list[Envelope]:
        rows = self.outbox.pending(10_000)
        self.outbox.published([s for s, _ in rows])
        return [env for _, env in rows]

    def project_all(self) -> list[Envelope]:
        """Project every pending statement.stored event; returns the attempt events emitted."""
        emitted: list[Envelope] = []
        while rows := self.drain():
            for env in rows:
                if env["type"] == "progress.statement.stored.v1":
                    self.progress.handle(env)
                else:
                    emitted.append(env)
        return emitted


@pytest.fixture
def world() -> World:
    clock = StepClock()
    outbox = memory.MemoryOutbox()
    store = memory.MemoryStatementStore(outbox)
    attempts = memory.MemoryAttemptStore(outbox)
    return World(
        clock,
        outbox,
        StatementService(store, clock),
        store,
        attempts,
        ProgressService(attempts, store, memory.MemoryRulesStore(), clock),
        Principal(TENANT, "key", frozenset({Scope.ALL}), "test", "https://lrs.example.com"),
    )


def stmt(verb: str, *, who: str = "ann", session: str = "s1", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "actor": {"mbox": f"mailto:{who}@example.com", "name": who.title()},
        "verb": {"id": verb},
        "object": {"id": COURSE},
        "context": {
            "registration": "6fe2b1d5-2ee5-4a5b-9b3e-1f2a3b4c5d6e",
            "extensions": {"https://w3id.org/xapi/cmi5/context/extensions/sessionid": session},
        },
    }
    body.update(extra)
    return body


def test_a_session_opens_completes_and_closes_with_its_events(world: World) -> None:
    world.post(stmt(INITIALIZED), stmt(COMPLETED), stmt(TERMINATED))
    events = world.project_all()
    assert [e["type"] for e in events] == [
        "progress.attempt.opened.v1",
        "progress.completion.recorded.v1",
        "progress.attempt.closed.v1",
    ]
    (summary,), _ = world.progress.list(TENANT, AttemptFilter(activity_id=COURSE), None, 10)
    assert summary.state == "closed"
    assert summary.close_reason == "terminated"
    assert summary.completion is not None
    assert summary.completion.completed


def test_redelivery_changes_nothing(world: World) -> None:
    world.post(stmt(INITIALIZED), stmt(PASSED, result={"score": {"scaled": 0.9}}))
    stored = list(world.drain())
    first = [world.progress.handle(e).outcome for e in stored]
    again = [world.progress.handle(e).outcome for e in stored]
    assert first == [Outcome.APPLIED, Outcome.APPLIED]
    assert again == [Outcome.DUPLICATE, Outcome.DUPLICATE]
    types = [e["type"] for e in world.drain()]
    assert types.count("progress.completion.recorded.v1") == 1


def test_untracked_and_unprojectable_statements_are_skipped_with_a_reason(world: World) -> None:
    world.post(stmt("http://adlnet.gov/expapi/verbs/experienced"))
    (env,) = world.drain()
    result = world.progress.handle(env)
    assert (result.outcome, result.reason) == (Outcome.SKIPPED, "not-tracked")
    assert world.progress.handle(env).outcome is Outcome.DUPLICATE  # the skip was committed


def test_voiding_takes_the_outcome_back_in_either_order(world: World) -> None:
    completed = stmt(COMPLETED)
    world.post(stmt(INITIALIZED), completed)
    world.project_all()
    world.post(
        stmt(VOIDED, object={"objectType": "StatementRef", "id": completed["id"]}),
    )
    events = world.project_all()
    recorded = [e for e in events if e["type"] == "progress.completion.recorded.v1"]
    assert recorded
    assert recorded[-1]["data"]["completed"] is False
    # The other order: the voiding Statement is stored before its target is projected.
    late = stmt(COMPLETED, who="bob")
    world.post(stmt(INITIALIZED, who="bob"), late)
    world.post(stmt(VOIDED, who="bob", object={"objectType": "StatementRef", "id": late["id"]}))
    events = world.project_all()
    assert not [e for e in events if e["type"] == "progress.completion.recorded.v1"]


def test_version_conflicts_are_retried_by_reloading(world: World) -> None:
    world.post(stmt(INITIALIZED))
    world.project_all()
    world.post(stmt(COMPLETED))
    (env,) = world.drain()
    real = world.attempts.commit
    calls = {"n": 0}

    def flaky(commit: ProgressCommit) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise VersionConflict("raced")
        real(commit)

    world.attempts.commit = flaky  # type: ignore[method-assign]
    assert world.progress.handle(env).outcome is Outcome.APPLIED
    assert calls["n"] == 2


def test_sweeper_closes_idle_attempts_once(world: World) -> None:
    world.post(stmt(INITIALIZED), stmt(COMPLETED))
    world.project_all()
    day = 86_400 * 1_000_000
    assert world.progress.sweep(world.clock.now + day // 2) == 0
    assert world.progress.sweep(world.clock.now + 2 * day) == 1
    closed = [e for e in world.drain() if e["type"] == "progress.attempt.closed.v1"]
    assert [e["data"]["reason"] for e in closed] == ["expired"]
    assert world.progress.sweep(world.clock.now + 3 * day) == 0


def test_tenant_rules_apply(world: World) -> None:
    world.progress.rules.put(TENANT, ProgressRules.from_json({"masteryScore": 0.8}))
    world.post(stmt(INITIALIZED), stmt(PASSED, result={"score": {"scaled": 0.5}}))
    events = world.project_all()
    (recorded,) = [e for e in events if e["type"] == "progress.completion.recorded.v1"]
    assert recorded["data"]["passed"] is False
    assert recorded["data"]["failed"] is True


def test_replay_rebuilds_the_live_projection(world: World) -> None:
    void_me = stmt(COMPLETED, who="cy", session="s9")
    world.post(
        stmt(INITIALIZED),
        stmt(COMPLETED),
        stmt(TERMINATED),
        stmt(INITIALIZED, who="bob", session="s2"),
        stmt(PASSED, who="bob", session="s2", result={"score": {"scaled": 0.7}}),
        stmt(INITIALIZED, who="cy", session="s9"),
        void_me,
    )
    world.project_all()
    world.post(stmt(VOIDED, who="cy", object={"objectType": "StatementRef", "id": void_me["id"]}))
    world.project_all()

    def snapshot() -> list[dict[str, Any]]:
        rows, _ = world.progress.list(TENANT, AttemptFilter(activity_id=COURSE), None, 100)
        return [world.attempts.get(TENANT, r.attempt_id).snapshot() for r in rows]  # type: ignore[union-attr]

    live = snapshot()
    assert len(live) == 3
    report = world.progress.replay(TENANT)
    assert report.statements == 8
    assert report.applied + report.skipped == 8
    assert snapshot() == live
    replayed = world.drain()  # the same events again, with the same ids
    assert replayed
    assert all(e["type"].startswith("progress.") for e in replayed)


# ------------------------------------------------------------------ dispatcher


def test_dispatcher_routes_by_rule_retries_then_dead_letters_and_redrives() -> None:
    dead = memory.MemoryDeadLetters()
    bus = Dispatcher(dead, backoff_s=0)
    seen: list[str] = []
    fail = {"on": True}

    def projection(event: dict[str, Any]) -> None:
        if fail["on"]:
            raise KeyError("verb")
        seen.append(event["detail"]["id"])

    bus.register("projection", projection)
    stored: Envelope = {
        "id": "e1",
        "type": "progress.statement.stored.v1",
        "source": "progress",
        "tenant": TENANT,
        "time": "2025-01-01T00:00:00.000000Z",
        "data": {},
    }
    other: Envelope = {**stored, "id": "e2", "type": "progress.attempt.opened.v1"}
    assert bus.publish([stored, other]) == [None, None]
    (letter,) = dead.list(None, 10)
    assert (letter.consumer, letter.envelope, letter.reason, letter.attempts) == (
        "projection",
        stored,
        "KeyError: 'verb'",
        3,
    )
    fail["on"] = False
    done, failed = redrive(dead, bus)
    assert [d.id for d in done] == [letter.id]
    assert failed == []
    assert seen == ["e1"]
    assert dead.list(None, 10) == []


def test_a_rule_whose_consumer_is_not_running_dead_letters() -> None:
    dead = memory.MemoryDeadLetters()
    bus = Dispatcher(dead, backoff_s=0)
    env: Envelope = {
        "id": "e1",
        "type": "progress.completion.recorded.v1",
        "source": "progress",
        "tenant": TENANT,
        "time": "2025-01-01T00:00:00.000000Z",
        "data": {},
    }
    bus.publish([env])
    assert [d.consumer for d in dead.list(None, 10)] == ["certificates"]


def test_eventbridge_event_carries_the_envelope_as_detail() -> None:
    env: Envelope = {
        "id": "e1",
        "type": "t",
        "source": "progress",
        "tenant": TENANT,
        "time": "2025-01-01T00:00:00.000000Z",
        "data": {},
    }
    event = eventbridge_event(env)
    assert event["detail"] == env
    assert event["detail-type"] == "t"
    assert event["source"] == "progress"


def test_an_event_whose_statement_is_not_stored_is_skipped_without_an_inbox_row(
    world: World,
) -> None:
    """A DynamoDB batch rolled back after its stream records left: the resend must still apply."""
    from progress.domain.events import StatementStored, envelope
    from progress.domain.facts import statement_fact

    body = stmt(INITIALIZED)
    env = envelope(StatementStored(statement_fact(TENANT, body, world.clock.now_us())))
    result = world.progress.handle(env)
    assert (result.outcome, result.reason) == (Outcome.SKIPPED, "not-stored")
    world.post(body)
    (stored,) = world.drain()
    assert stored["id"] == env["id"]  # the resend announces the same event
    assert world.progress.handle(stored).outcome is Outcome.APPLIED
