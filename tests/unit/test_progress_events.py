"""Progress events: data, envelopes, stable ids and the fact round trip (DESIGN.md, Events)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from progress.domain.completion import CompletionRecord
from progress.domain.events import (
    EVENT_TYPES,
    SOURCE,
    AttemptClosed,
    AttemptOpened,
    CompletionRecorded,
    ExportRequested,
    StatementStored,
    envelope,
    fact_from_data,
)
from progress.domain.facts import Score, StatementFact, stable_id, statement_fact
from progress.domain.progress_rules import CloseReason
from tests.unit.progress_builders import AU, LEARNER, MIN, REG, T0, TENANT, fact, key, sid

ATTEMPT = key().attempt_id(1)
KEY_DATA = {"learner": LEARNER, "activity_id": AU, "registration": REG, "session": None}


def test_the_event_types_are_versioned_names() -> None:
    assert EVENT_TYPES == (
        "progress.statement.stored.v1",
        "progress.attempt.opened.v1",
        "progress.attempt.closed.v1",
        "progress.completion.recorded.v1",
        "progress.export.requested.v1",
    )
    assert SOURCE == "progress"


def test_statement_stored_carries_the_fact() -> None:
    f = fact(
        1,
        "passed",
        0,
        stored_min=1,
        session="cmi5:s",
        success=True,
        score=Score(scaled=0.5, raw=5, min=0, max=10),
        duration="PT1M",
    )
    event = StatementStored(f)
    assert event.data() == {
        "statement_id": sid(1),
        "stored": "2026-01-01T10:01:00.000000Z",
        "timestamp": "2026-01-01T10:00:00.000000Z",
        "verb": "http://adlnet.gov/expapi/verbs/passed",
        "learner": LEARNER,
        "activity_id": AU,
        "registration": REG,
        "session": "cmi5:s",
        "result": {
            "success": True,
            "completion": None,
            "score": {"scaled": 0.5, "raw": 5.0, "min": 0.0, "max": 10.0},
            "duration": "PT1M",
        },
        "voids": None,
        "voided": False,
    }
    assert (event.tenant, event.occurred_us) == (TENANT, T0 + MIN)
    assert event.event_id == stable_id("event", "progress.statement.stored.v1", TENANT, sid(1))


def test_an_envelope_has_id_type_source_tenant_time_and_data() -> None:
    event = StatementStored(fact(1, "completed", 0))
    assert envelope(event) == {
        "id": event.event_id,
        "type": "progress.statement.stored.v1",
        "source": "progress",
        "tenant": TENANT,
        "time": "2026-01-01T10:00:00.000000Z",
        "data": event.data(),
    }
    custom = envelope(event, tenant="t2", source="s", id="i", time="2026-01-02T00:00:00Z")
    assert (custom["id"], custom["source"], custom["tenant"], custom["time"]) == (
        "i",
        "s",
        "t2",
        "2026-01-02T00:00:00Z",
    )


def test_attempt_events_render_their_window() -> None:
    opened = AttemptOpened(ATTEMPT, key("cmi5:s"), 2, 1, T0, sid(1), occurred_us=T0 + MIN)
    assert opened.data() == {
        "attempt_id": ATTEMPT,
        "sequence": 2,
        **KEY_DATA,
        "session": "cmi5:s",
        "opened_at": "2026-01-01T10:00:00.000000Z",
        "statement_id": sid(1),
        "attempt_version": 1,
    }
    assert (opened.tenant, opened.occurred_us) == (TENANT, T0 + MIN)
    closed = AttemptClosed(
        ATTEMPT, key(), 1, 4, CloseReason.EXPIRED, T0, T0 + 2 * MIN, None, occurred_us=T0
    )
    assert closed.data() == {
        "attempt_id": ATTEMPT,
        "sequence": 1,
        **KEY_DATA,
        "reason": "expired",
        "started_at": "2026-01-01T10:00:00.000000Z",
        "closed_at": "2026-01-01T10:02:00.000000Z",
        "closed_by": None,
        "attempt_version": 4,
    }
    assert closed.tenant == TENANT


def test_completion_recorded_says_completed_passed_failed() -> None:
    record = CompletionRecord(
        ATTEMPT, key(), True, False, Score(scaled=0.2), "PT3M", T0, (sid(1), sid(2)), 0.5
    )
    event = CompletionRecorded(record, 3, T0 + MIN)
    assert event.data() == {
        "completion_id": record.id,
        "attempt_id": ATTEMPT,
        **KEY_DATA,
        "completed": True,
        "passed": False,
        "failed": True,
        "score": {"scaled": 0.2},
        "duration": "PT3M",
        "time": "2026-01-01T10:00:00.000000Z",
        "statement_ids": [sid(1), sid(2)],
        "mastery_score": 0.5,
        "attempt_version": 3,
    }
    assert event.tenant == TENANT
    revoked = CompletionRecord(ATTEMPT, key(), False, None, None, None, None, ())
    data = CompletionRecorded(revoked, 4, T0).data()
    assert (data["time"], data["score"], data["passed"], data["failed"]) == (
        None,
        None,
        False,
        False,
    )


def test_attempt_event_ids_depend_on_type_tenant_attempt_and_version() -> None:
    opened = AttemptOpened(ATTEMPT, key(), 1, 1, T0, sid(1), occurred_us=T0)
    closed = AttemptClosed(ATTEMPT, key(), 1, 1, CloseReason.TERMINATED, T0, T0, sid(1), T0)
    record = CompletionRecord(ATTEMPT, key(), True, None, None, None, T0, (sid(1),))
    recorded = CompletionRecorded(record, 1, T0)
    assert opened.event_id == stable_id("event", opened.TYPE, TENANT, ATTEMPT, 1)
    assert closed.event_id == stable_id("event", closed.TYPE, TENANT, ATTEMPT, 1)
    assert recorded.event_id == stable_id("event", recorded.TYPE, TENANT, ATTEMPT, 1)
    assert len({opened.event_id, closed.event_id, recorded.event_id}) == 3
    later = CompletionRecorded(record, 2, T0)
    assert later.event_id != recorded.event_id


# ----------------------------------------------------------------------------- fact round trip

FACTS = st.builds(
    StatementFact,
    tenant=st.just(TENANT),
    id=st.sampled_from([sid(1), sid(2)]),
    stored_us=st.integers(T0, T0 + 10**12),
    timestamp_us=st.integers(0, T0 + 10**12),
    verb=st.sampled_from(["http://adlnet.gov/expapi/verbs/passed", "urn:x:verb"]),
    learner=st.sampled_from([None, LEARNER]),
    activity_id=st.sampled_from([None, AU]),
    registration=st.sampled_from([None, REG]),
    session=st.sampled_from([None, "cmi5:s"]),
    success=st.sampled_from([None, True, False]),
    completion=st.sampled_from([None, True, False]),
    score=st.sampled_from([None, Score(scaled=-0.5), Score(raw=1.5, min=1, max=2)]),
    duration=st.sampled_from([None, "PT1.5S"]),
    voids=st.sampled_from([None, sid(3)]),
    voided=st.booleans(),
)


@given(FACTS)
def test_a_fact_survives_the_statement_stored_event(f: StatementFact) -> None:
    event = envelope(StatementStored(f))
    assert fact_from_data(event["tenant"], event["data"]) == f


@pytest.mark.parametrize("field", ["stored", "timestamp"])
def test_an_event_without_usable_times_gives_no_fact(field: str) -> None:
    data: dict[str, Any] = StatementStored(fact(1, "completed", 0)).data()
    data[field] = "soon"
    with pytest.raises(ValueError) as caught:
        fact_from_data(TENANT, data)
    assert str(caught.value) == (
        "progress.statement.stored.v1: stored and timestamp must be date-times"
    )


def test_the_fact_of_a_stored_statement_survives_too() -> None:
    body = {
        "id": sid(1),
        "actor": {"mbox": "mailto:Learner@Example.COM"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
        "object": {"id": AU},
        "timestamp": "2026-01-01T10:00:00.123456+00:00",
        "result": {"completion": True},
    }
    f = statement_fact(TENANT, body, T0 + MIN)
    assert fact_from_data(TENANT, StatementStored(f).data()) == f


# ------------------------------------------------------------------------------ exports


def test_an_export_request_and_its_continuations_have_distinct_stable_ids() -> None:
    request = ExportRequested(TENANT, "e-1", "statements", "ndjson", LEARNER, T0)
    again = ExportRequested(TENANT, "e-1", "statements", "ndjson", LEARNER, T0)
    later = ExportRequested(
        TENANT, "e-1", "statements", "ndjson", LEARNER, T0, continuation=1, occurred_us=T0 + MIN
    )
    assert request.event_id == again.event_id == stable_id("event", request.TYPE, TENANT, "e-1", 0)
    assert later.event_id != request.event_id
    env, cont = envelope(request), envelope(later)
    assert env["time"] == env["data"]["requested_at"] == "2026-01-01T10:00:00.000000Z"
    assert cont["time"] == "2026-01-01T10:01:00.000000Z"  # when it was handed on
    assert cont["data"]["requested_at"] == env["data"]["requested_at"]
    assert env["data"] == {
        "export_id": "e-1",
        "kind": "statements",
        "format": "ndjson",
        "learner": LEARNER,
        "requested_at": "2026-01-01T10:00:00.000000Z",
        "continuation": 0,
    }
    assert env["tenant"] == TENANT
    assert env["source"] == SOURCE
