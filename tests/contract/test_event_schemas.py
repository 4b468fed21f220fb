"""The event contract: every event the domain emits validates against its JSON Schema in
``schemas/events/``, and the schemas stay backward compatible with their baseline snapshots in
``schemas/events/.baseline/`` (see ``schemas/events/README.md``)."""

from __future__ import annotations

import copy
import json
import re
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError

from progress.domain.events import (
    EVENT_TYPES,
    AttemptClosed,
    AttemptOpened,
    CompletionRecorded,
    DomainEvent,
    ExportRequested,
    StatementStored,
    envelope,
)
from progress.domain.facts import (
    CMI5_SESSION,
    SCORM_ATTEMPT_TYPE,
    Score,
    StatementFact,
    statement_fact,
)
from progress.domain.progress_rules import CloseReason, ProgressRules
from tests.contract.schema_compat import breaking_changes
from tests.unit.progress_builders import (
    DAY,
    MIN,
    SYNC,
    T0,
    TENANT,
    Router,
    fact,
    sid,
    statement,
)

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "schemas" / "events"
BASELINE = SCHEMAS / ".baseline"
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def _date_time(value: object) -> bool:
    """RFC 3339 date-time (jsonschema checks it only with an optional extra installed)."""
    if not isinstance(value, str):
        return True
    if not RFC3339.match(value):
        return False
    datetime.fromisoformat(value.replace("Z", "+00:00"))
    return True


FORMATS = FormatChecker()
FORMATS.checks("date-time", raises=ValueError)(_date_time)


def _load(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


@cache
def validator(event_type: str) -> Draft202012Validator:
    return Draft202012Validator(_load(SCHEMAS / f"{event_type}.json"), format_checker=FORMATS)


def check(event: DomainEvent) -> dict[str, Any]:
    document = envelope(event)
    validator(document["type"]).validate(document)
    return document


# ----------------------------------------------------------------------------- the schema files


def test_there_is_one_schema_per_event_type_and_no_other() -> None:
    assert sorted(p.stem for p in SCHEMAS.glob("*.json")) == sorted(EVENT_TYPES)


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_each_schema_is_draft_2020_12_and_names_its_type(event_type: str) -> None:
    schema = _load(SCHEMAS / f"{event_type}.json")
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].endswith(f"/events/{event_type}.json")
    assert schema["properties"]["type"] == {"const": event_type}
    assert schema["required"] == ["id", "type", "source", "tenant", "time", "data"]
    data = schema["properties"]["data"]
    assert data["additionalProperties"] is False
    assert sorted(data["required"]) == sorted(data["properties"])


# ----------------------------------------------------------------------------- emitted events


def cmi5_session(session: str = "cmi5:s-1") -> list[StatementFact]:
    return [
        fact(1, "launched", 0, session=session),
        fact(2, "initialized", 1, session=session),
        fact(3, "completed", 10, session=session, completion=True, duration="PT9M"),
        fact(4, "passed", 11, session=session, score=Score(0.9, 9, 0, 10), duration="PT10M"),
        fact(5, "terminated", 12, session=session, duration="PT11M"),
    ]


def scorm_attempt() -> list[StatementFact]:
    session = "scorm:https://example.com/c/sco?attemptId=1"
    return [
        fact(11, "initialized", 0, session=session),
        fact(12, "scored", 5, session=session, score=Score(scaled=0.4)),
        fact(13, "suspended", 6, session=session),
        fact(14, "resumed", 60 * 24, session=session),
        fact(
            15,
            "terminated",
            60 * 24 + 5,
            session=session,
            completion=True,
            success=False,
            score=Score(scaled=0.5),
            duration="PT5M",
        ),
    ]


SCENARIOS: dict[str, list[StatementFact]] = {
    "cmi5 session in order": cmi5_session(),
    "cmi5 session, terminated first": list(reversed(cmi5_session())),
    "cmi5 session, duplicated": cmi5_session() + cmi5_session(),
    "SCORM attempt suspended and resumed": scorm_attempt(),
    "offline client, a week late": [
        fact(21, "initialized", 0, stored_min=(SYNC - T0) / MIN, session=None),
        fact(22, "failed", 3, stored_min=(SYNC - T0) / MIN, score=Score(scaled=0.2)),
    ],
    "inactivity, then a new attempt": [
        fact(31, "initialized", 0),
        fact(32, "initialized", 2 * DAY / MIN),
    ],
    "voided completion": [
        fact(41, "completed", 0),
        fact(41, "completed", 0, voided=True),
    ],
    "waived AU": [fact(51, "waived", 0, success=True, completion=True)],
    "attempt after attempt": [
        fact(61, "initialized", 0),
        fact(62, "exited", 5),
        fact(63, "satisfied", 6),
    ],
}


def test_every_event_of_the_representative_scenarios_validates() -> None:
    seen: set[str] = set()
    for name, facts in SCENARIOS.items():
        router = Router(ProgressRules(mastery_score=0.8)).run(facts)
        assert router.published, name
        for event in router.published:
            seen.add(check(event)["type"])
        for f in facts:
            check(StatementStored(f))
    assert seen == set(EVENT_TYPES) - {
        "progress.statement.stored.v1",
        "progress.export.requested.v1",
    }


def test_an_explicitly_closed_attempt_and_a_revoked_record_validate() -> None:
    router = Router().run([fact(1, "passed", 0), fact(1, "passed", 0, voided=True)])
    attempt = router.only()
    attempt.close(CloseReason.ABANDONED, at_us=T0, occurred_us=T0 + MIN)
    for event in attempt.events:
        check(event)
    revoked = [e for e in attempt.events if isinstance(e, CompletionRecorded)][-1]
    assert check(revoked)["data"]["statement_ids"] == []


@pytest.mark.parametrize(
    "body",
    [
        statement("completed", result={"completion": True, "duration": "PT1M"}),
        statement(
            "passed",
            context={"registration": "X", "extensions": {CMI5_SESSION: "s"}},
            result={"success": True, "score": {"scaled": 1, "raw": 10, "min": 0, "max": 10}},
        ),
        statement(
            "terminated",
            context={
                "contextActivities": {
                    "grouping": [{"id": "https://x/a", "definition": {"type": SCORM_ATTEMPT_TYPE}}]
                }
            },
        ),
        statement(actor={"objectType": "Group", "member": [{"mbox": "mailto:a@b.c"}]}),
        statement(object={"objectType": "Agent", "mbox": "mailto:a@b.c"}),
        {
            **statement(object={"objectType": "StatementRef", "id": sid(9)}),
            "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
        },
    ],
)
def test_statement_stored_validates_for_any_stored_statement(body: dict[str, Any]) -> None:
    check(StatementStored(statement_fact(TENANT, body, T0)))
    check(StatementStored(statement_fact(TENANT, body, T0, voided=True)))


@pytest.mark.parametrize("kind", ["statements", "attempts", "completions"])
@pytest.mark.parametrize("fmt", ["ndjson", "csv"])
@pytest.mark.parametrize("learner", [None, "mbox:mailto:ann@example.com"])
def test_export_requests_and_continuations_validate(
    kind: str, fmt: str, learner: str | None
) -> None:
    check(ExportRequested(TENANT, "3f2c", kind, fmt, learner, T0))
    check(ExportRequested(TENANT, "3f2c", kind, fmt, learner, T0, continuation=3, occurred_us=T0))


def test_the_export_schema_rejects_an_unknown_kind_or_format() -> None:
    document = envelope(ExportRequested(TENANT, "x", "statements", "csv", None, T0))
    for field, value in (("kind", "documents"), ("format", "xlsx"), ("continuation", -1)):
        bad = copy.deepcopy(document)
        bad["data"][field] = value
        with pytest.raises(ValidationError):
            validator("progress.export.requested.v1").validate(bad)


FACT = st.builds(
    fact,
    n=st.integers(1, 6),
    verb=st.sampled_from(
        [
            *("launched", "initialized", "completed", "passed", "failed", "scored", "suspended"),
            *("resumed", "terminated", "abandoned", "waived", "satisfied", "exited", "experienced"),
        ]
    ),
    at_min=st.integers(0, 5000),
    stored_min=st.integers(0, 5 * 24 * 60),
    session=st.sampled_from([None, "cmi5:s"]),
    success=st.sampled_from([None, True, False]),
    completion=st.sampled_from([None, True, False]),
    score=st.sampled_from([None, Score(scaled=0.9), Score(raw=1, min=0, max=2)]),
    duration=st.sampled_from([None, "PT1M"]),
    voided=st.booleans(),
)


@given(st.lists(FACT, min_size=1, max_size=12), st.sampled_from([None, 0.5]))
def test_whatever_statements_arrive_every_emitted_event_validates(
    facts: list[StatementFact], mastery: float | None
) -> None:
    router = Router(ProgressRules(mastery_score=mastery)).run(facts)
    for event in router.published:
        check(event)
    for f in facts:
        check(StatementStored(f))


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda d: d.update(time="2026-01-01 10:00"), "time"),
        (lambda d: d.update(id="not-a-uuid"), "id"),
        (lambda d: d["data"].update(extra=1), "data"),
        (lambda d: d["data"].pop("attempt_id"), "data"),
        (lambda d: d.update(type="progress.attempt.opened.v2"), "type"),
        (lambda d: d["data"].update(opened_at="2026-02-30T00:00:00Z"), "data.opened_at"),
    ],
)
def test_the_schemas_reject_what_the_contract_does_not_allow(change: Any, path: str) -> None:
    router = Router().run([fact(1, "initialized", 0)])
    document = copy.deepcopy(envelope(router.published[0]))
    validator(document["type"]).validate(document)
    change(document)
    with pytest.raises(ValidationError) as caught:
        validator("progress.attempt.opened.v1").validate(document)
    assert ".".join(str(p) for p in caught.value.absolute_path).startswith(path.split(".")[0])


def test_every_domain_event_class_has_its_schema() -> None:
    classes = (StatementStored, AttemptOpened, AttemptClosed, CompletionRecorded, ExportRequested)
    assert tuple(cls.TYPE for cls in classes) == EVENT_TYPES
    for cls in classes:
        assert (SCHEMAS / f"{cls.TYPE}.json").is_file()


# ----------------------------------------------------------------------------- compatibility


def test_every_schema_has_a_baseline_and_every_baseline_a_schema() -> None:
    """A removed event type is a breaking change; a new one needs its baseline committed."""
    assert sorted(p.name for p in BASELINE.glob("*.json")) == sorted(
        p.name for p in SCHEMAS.glob("*.json")
    )


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_each_schema_is_backward_compatible_with_its_baseline(event_type: str) -> None:
    old = _load(BASELINE / f"{event_type}.json")
    new = _load(SCHEMAS / f"{event_type}.json")
    assert breaking_changes(old, new) == []


BASE: dict[str, Any] = {
    "type": "object",
    "required": ["a"],
    "additionalProperties": False,
    "properties": {
        "a": {"type": "string", "format": "uuid"},
        "b": {"type": ["integer", "null"], "minimum": 0, "maximum": 10},
        "c": {"enum": ["x", "y"]},
        "d": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
        "e": {"type": "object", "properties": {"f": {"type": "string"}}},
        "g": {"const": "k"},
    },
}


def changed(edit: Any) -> dict[str, Any]:
    new = copy.deepcopy(BASE)
    edit(new)
    return new


@pytest.mark.parametrize(
    "edit",
    [
        lambda s: s["properties"].update(h={"type": "string"}),  # a new optional property
        lambda s: s["properties"]["a"].update(description="the id"),
        lambda s: s["properties"]["b"].update(type=["number", "null"]),  # integer -> number
        lambda s: s["properties"]["b"].update(type=["integer", "null", "string"]),
        lambda s: s["properties"]["b"].pop("maximum"),
        lambda s: s["properties"]["b"].update(minimum=-5),
        lambda s: s["properties"]["c"].update(enum=["x", "y", "z"]),
        lambda s: s["properties"]["d"].update(maxItems=5),
        lambda s: s["properties"]["d"].pop("items"),
        lambda s: s["properties"]["g"].update(enum=["k", "l"]),
        lambda s: s.update(required=[]),
        lambda s: s.update(additionalProperties=True),
        lambda s: s.update(title="T"),
    ],
)
def test_compatible_changes_pass_the_check(edit: Any) -> None:
    assert breaking_changes(BASE, changed(edit)) == []


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda s: s["properties"].pop("b"), "$.b: removed"),
        (
            lambda s: s["properties"].update(B=s["properties"].pop("b")),  # a rename
            "$.b: removed",
        ),
        (lambda s: s["required"].append("b"), "$: property 'b' is now required"),
        (lambda s: s["properties"]["b"].update(type="integer"), "$.b: type 'null' no longer"),
        (lambda s: s["properties"]["b"].update(type=["string"]), "$.b: type 'integer' no longer"),
        (lambda s: s["properties"]["c"].update(type="string"), "$.c: type narrowed to ['string']"),
        (lambda s: s["properties"]["c"].update(enum=["x"]), "$.c: enum value 'y' removed"),
        (lambda s: s["properties"]["e"].update(enum=[{}]), "$.e: enum added"),
        (lambda s: s["properties"]["g"].update(const="l"), "$.g: const 'l' added or changed"),
        (lambda s: s["properties"]["a"].update(format="uri"), "$.a: format 'uri' added or"),
        (lambda s: s["properties"]["a"].update(pattern="^x"), "$.a: pattern '^x' added or"),
        (lambda s: s["properties"]["b"].update(minimum=1), "$.b: minimum raised to 1"),
        (lambda s: s["properties"]["b"].update(maximum=9), "$.b: maximum lowered to 9"),
        (lambda s: s["properties"]["a"].update(minLength=1), "$.a: minLength raised to 1"),
        (lambda s: s["properties"]["d"].update(maxItems=2), "$.d: maxItems lowered to 2"),
        (lambda s: s["properties"]["d"].update(uniqueItems=True), "$.d: uniqueItems added"),
        (lambda s: s["properties"]["d"]["items"].update(type="integer"), "$.d[]: type 'string'"),
        (lambda s: s["properties"]["e"]["properties"].pop("f"), "$.e.f: removed"),
        (
            lambda s: s["properties"]["e"].update(additionalProperties=False),
            "$.e: additional properties no longer allowed",
        ),
        (
            lambda s: s["properties"]["e"].update(additionalProperties={"type": "string"}),
            "$.e.*: now constrained",
        ),
        (lambda s: s["properties"]["e"].update(oneOf=[{}]), "$.e: oneOf changed (not checked"),
        (lambda s: s["properties"].update(a=False), "$.a: schema changed from"),
    ],
)
def test_incompatible_changes_are_reported(edit: Any, message: str) -> None:
    problems = breaking_changes(BASE, changed(edit))
    assert any(p.startswith(message) for p in problems), problems


def test_defs_are_compared_like_properties() -> None:
    old = {"$defs": {"score": {"type": "number"}, "gone": {}}}
    new = {"$defs": {"score": {"type": "string"}}}
    assert breaking_changes(old, new) == [
        "$/$defs/gone: removed",
        "$/$defs/score: type 'number' no longer accepted",
    ]


def test_a_schema_that_accepted_nothing_can_become_anything() -> None:
    assert breaking_changes(False, {"type": "string"}) == []
    assert breaking_changes(True, True) == []
    assert breaking_changes({}, {"type": "string"}) == ["$: now constrained"]
