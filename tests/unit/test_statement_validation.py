"""xAPI 1.0.3 Statement validation (progress.edge.xapi.validation).

Every case cites the requirement id from ``shared/specs/LRS-REQUIREMENTS.md`` it checks, in its
docstring or in its parametrize id. Fixtures are written for these tests (not copied from the
ADL conformance suite); the suite's expectations they mirror are noted where surprising.
"""

from __future__ import annotations

import contextlib
import copy
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from progress.domain.errors import InvalidParameter, InvalidStatement
from progress.edge.xapi.validation import (
    is_duration,
    is_iri,
    is_language_tag,
    is_timestamp,
    is_uuid,
    parse_timestamp,
    validate_actor,
    validate_agent,
    validate_statement,
)

Json = Any

# ------------------------------------------------------------------------------------------
# Fixtures and helpers
# ------------------------------------------------------------------------------------------

UUID1 = "3f2a3b3c-1d2e-4f50-8a6b-7c8d9e0f1a2b"
UUID2 = "b1e2c3d4-5e6f-4a7b-9c8d-0e1f2a3b4c5d"
SHA1 = "0123456789abcdef0123456789abcdef01234567"
SHA256 = "a" * 64
VOIDED = "http://adlnet.gov/expapi/verbs/voided"
SIGNATURE = "http://adlnet.gov/expapi/attachments/signature"


def agent(**extra: Json) -> dict[str, Json]:
    return {"objectType": "Agent", "name": "Pat", "mbox": "mailto:pat@example.org", **extra}


def anonymous_group(*members: dict[str, Json]) -> dict[str, Json]:
    return {
        "objectType": "Group",
        "name": "Team",
        "member": list(members) or [{"mbox": "mailto:a@example.org"}],
    }


def base() -> dict[str, Json]:
    """A minimal valid Statement."""
    return {
        "actor": {"mbox": "mailto:learner@example.org"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
        "object": {"id": "http://example.org/activities/course-1"},
    }


def rich() -> dict[str, Json]:
    """A Statement using every top-level property."""
    return {
        "id": UUID1,
        "actor": {
            "objectType": "Agent",
            "name": "Learner One",
            "account": {"homePage": "https://lms.example.org", "name": "learner-1"},
        },
        "verb": {
            "id": "http://adlnet.gov/expapi/verbs/answered",
            "display": {"en-US": "answered", "fr-FR": "a répondu"},
        },
        "object": {
            "objectType": "Activity",
            "id": "https://example.org/course/1/quiz/2/q/3",
            "definition": {
                "name": {"en-US": "Question 3"},
                "description": {"en-US": "Pick the primes"},
                "type": "http://adlnet.gov/expapi/activities/cmi.interaction",
                "moreInfo": "https://example.org/help/q3",
                "interactionType": "choice",
                "correctResponsesPattern": ["two[,]three"],
                "choices": [
                    {"id": "two", "description": {"en-US": "2"}},
                    {"id": "three", "description": {"en-US": "3"}},
                    {"id": "four", "description": {"en-US": "4"}},
                ],
                "extensions": {"https://example.org/ext/difficulty": 3},
            },
        },
        "result": {
            "score": {"scaled": 0.5, "raw": 50, "min": 0, "max": 100},
            "success": True,
            "completion": True,
            "response": "two[,]four",
            "duration": "PT1M30.25S",
            "extensions": {"https://example.org/ext/attempt": 2},
        },
        "context": {
            "registration": UUID2,
            "instructor": agent(),
            "team": anonymous_group(),
            "contextActivities": {
                "parent": [{"id": "https://example.org/course/1/quiz/2"}],
                "grouping": {"id": "https://example.org/course/1", "objectType": "Activity"},
                "category": [
                    {
                        "id": "https://w3id.org/xapi/cmi5/context/categories/moveon",
                        "definition": {"type": "http://adlnet.gov/expapi/activities/profile"},
                    }
                ],
                "other": [],
            },
            "revision": "r2",
            "platform": "Example LMS",
            "language": "en-US",
            "statement": {"objectType": "StatementRef", "id": UUID2},
            "extensions": {"https://example.org/ext/session": "abc"},
        },
        "timestamp": "2024-03-18T14:23:11.123Z",
        "stored": "2024-03-18T14:23:12.000Z",
        "authority": {"objectType": "Agent", "mbox": "mailto:lrs@example.org"},
        "version": "1.0.3",
        "attachments": [
            {
                "usageType": "http://example.org/attachment-usage/certificate",
                "display": {"en-US": "Certificate"},
                "description": {"en-US": "Completion certificate"},
                "contentType": "application/pdf",
                "length": 12345,
                "sha2": SHA256,
                "fileUrl": "https://example.org/files/cert.pdf",
            }
        ],
    }


def substatement(**extra: Json) -> dict[str, Json]:
    return {
        "objectType": "SubStatement",
        "actor": {"mbox": "mailto:sub@example.org"},
        "verb": {"id": "http://example.org/verbs/will-attend"},
        "object": {"id": "http://example.org/meetings/42"},
        **extra,
    }


_DELETE = object()
_SEGMENT = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def edit(stmt: dict[str, Json], path: str, value: Json = _DELETE) -> dict[str, Json]:
    """Return a copy of ``stmt`` with ``path`` (``a.b[0].c``) set to ``value`` or deleted."""
    out = copy.deepcopy(stmt)
    keys: list[str | int] = [name if name else int(index) for name, index in _SEGMENT.findall(path)]
    node: Any = out
    for key in keys[:-1]:
        node = node[key]
    if value is _DELETE:
        del node[keys[-1]]
    else:
        node[keys[-1]] = copy.deepcopy(value)
    return out


def edits(stmt: dict[str, Json], *changes: tuple[str, Json]) -> dict[str, Json]:
    for path, value in changes:
        stmt = edit(stmt, path, value)
    return stmt


def rejected(stmt: Json, where: str = "statement") -> str:
    with pytest.raises(InvalidStatement) as info:
        validate_statement(stmt, where)
    return info.value.message


# ------------------------------------------------------------------------------------------
# Accepted statements: (case id citing the rule, statement)
# ------------------------------------------------------------------------------------------

ACCEPT: list[tuple[str, dict[str, Json]]] = [
    ("GEN-014 minimal actor/verb/object", base()),
    ("GEN-014 every property", rich()),
    ("GEN-014 properties in any order", dict(reversed(list(rich().items())))),
    ("STMT-001 id may be absent", base()),
    ("STMT-002 id uppercase hex", edit(base(), "id", UUID1.upper())),
    ("GEN-023 any UUID version (v1)", edit(base(), "id", "c232ab00-9414-11ec-b3c8-9f6bdeced846")),
    (
        "GEN-001 null inside extension values",
        edits(
            base(),
            ("result", {"extensions": {"http://example.org/e": None}}),
            ("context", {"extensions": {"http://example.org/e": {"a": None, "b": [None]}}}),
        ),
    ),
    (
        "GEN-018 extension values are any JSON",
        edit(
            base(),
            "object.definition",
            {
                "extensions": {
                    "http://example.org/a": [1, "x", {"k": None}],
                    "urn:example:b": {"Actor": "not checked", "objectType": 5},
                    "tag:example.org,2024:c": "",
                    "http://example.org/d": False,
                }
            },
        ),
    ),
    (
        "GEN-009 ints and floats for score numbers",
        edit(
            base(), "result", {"score": {"scaled": -1, "raw": 0.12123434, "min": -5, "max": 45.45}}
        ),
    ),
    ("STMT-010 actor objectType absent means Agent", base()),
    ("STMT-010 actor objectType Agent", edit(base(), "actor", agent())),
    (
        "STMT-011 IFI mbox_sha1sum (uppercase hex)",
        edit(base(), "actor", {"mbox_sha1sum": SHA1.upper()}),
    ),
    ("STMT-011 IFI openid", edit(base(), "actor", {"openid": "http://openid.example.org/12345"})),
    (
        "STMT-011 IFI account",
        edit(
            base(), "actor", {"account": {"homePage": "http://www.example.com", "name": "1625378"}}
        ),
    ),
    ("STMT-016 agent name may be empty", edit(base(), "actor.name", "")),
    (
        "STMT-017 anonymous group with members",
        edit(
            base(),
            "actor",
            anonymous_group(
                {"mbox": "mailto:a@example.org"}, {"openid": "https://id.example.org/b"}
            ),
        ),
    ),
    (
        "STMT-018 identified group without member",
        edit(base(), "actor", {"objectType": "Group", "mbox": "mailto:team@example.org"}),
    ),
    (
        "STMT-018 identified group with members",
        edit(
            base(),
            "actor",
            {
                "objectType": "Group",
                "account": {"homePage": "http://example.org", "name": "team-1"},
                "member": [agent()],
            },
        ),
    ),
    ("STMT-030 verb without display", base()),
    (
        "STMT-030 verb display several languages",
        edit(base(), "verb.display", {"en-US": "completed", "zh-Hant-TW": "完成", "es-419": "x"}),
    ),
    ("STMT-040 object objectType Activity", edit(base(), "object.objectType", "Activity")),
    ("STMT-041 activity with empty definition", edit(base(), "object.definition", {})),
    ("STMT-050 object Agent with objectType", edit(base(), "object", agent())),
    ("STMT-050 object Group with objectType", edit(base(), "object", anonymous_group())),
    (
        "STMT-051 object StatementRef",
        edit(base(), "object", {"objectType": "StatementRef", "id": UUID2}),
    ),
    (
        "VOID-001 voiding statement with StatementRef",
        edits(
            base(),
            ("verb", {"id": VOIDED, "display": {"en-US": "voided"}}),
            ("object", {"objectType": "StatementRef", "id": UUID2}),
        ),
    ),
    ("STMT-052 SubStatement", edit(base(), "object", substatement())),
    (
        "STMT-052 SubStatement with result, context, attachments",
        edit(
            base(),
            "object",
            substatement(
                result={"completion": False},
                context={"registration": UUID1, "revision": "1", "platform": "p"},
                timestamp="2024-01-01T00:00:00Z",
                attachments=[],
            ),
        ),
    ),
    (
        "STMT-052 SubStatement with a StatementRef object",
        edit(
            base(),
            "object",
            substatement(object={"objectType": "StatementRef", "id": UUID1}),
        ),
    ),
    (
        "STMT-054 SubStatement timestamp in the future",
        edit(base(), "object", substatement(timestamp="2999-12-31T23:59:59Z")),
    ),
    ("STMT-061 scaled 1 (inclusive)", edit(base(), "result", {"score": {"scaled": 1}})),
    ("STMT-061 scaled -1 (inclusive)", edit(base(), "result", {"score": {"scaled": -1.0}})),
    (
        "STMT-062 raw equal to min and max bounds",
        edit(base(), "result", {"score": {"raw": 0, "min": 0, "max": 10}}),
    ),
    ("STMT-062 raw without min/max", edit(base(), "result", {"score": {"raw": -1000}})),
    ("STMT-060 result response may be empty", edit(base(), "result", {"response": ""})),
    (
        "STMT-071 revision/platform with Activity without objectType",
        edit(base(), "context", {"revision": "r", "platform": "p"}),
    ),
    (
        "STMT-073 contextActivities single object",
        edit(base(), "context", {"contextActivities": {"other": {"id": "http://example.org/o"}}}),
    ),
    (
        "STMT-073 contextActivities all four keys, arrays",
        edit(
            base(),
            "context",
            {
                "contextActivities": {
                    k: [{"id": f"http://example.org/{k}"}]
                    for k in ("parent", "grouping", "category", "other")
                }
            },
        ),
    ),
    (
        "STMT-070 instructor may be a Group",
        edit(base(), "context", {"instructor": anonymous_group()}),
    ),
    (
        "STMT-076 team identified Group",
        edit(base(), "context", {"team": {"objectType": "Group", "mbox": "mailto:t@example.org"}}),
    ),
    ("STMT-081 timestamp in the future", edit(base(), "timestamp", "2999-01-01T00:00:00Z")),
    (
        "STMT-091 authority anonymous Group of two Agents (OAuth)",
        edit(
            base(),
            "authority",
            {
                "objectType": "Group",
                "member": [
                    {"account": {"homePage": "http://example.org/oauth/token", "name": "consumer"}},
                    {"mbox": "mailto:user@example.org"},
                ],
            },
        ),
    ),
    ("STMT-100 version 1.0.0", edit(base(), "version", "1.0.0")),
    ("STMT-100 version 1.0.9", edit(base(), "version", "1.0.9")),
    ("STMT-100 version 1.0 (ADL suite accepts it)", edit(base(), "version", "1.0")),
    (
        "STMT-110 attachment without optional fields",
        edit(
            base(),
            "attachments",
            [
                {
                    "usageType": "http://example.org/usage",
                    "display": {"en": "file"},
                    "contentType": "text/plain; charset=ascii",
                    "length": 0,
                    "sha2": "b" * 128,
                }
            ],
        ),
    ),
    (
        "SIG-001 signature attachment application/octet-stream",
        edit(
            base(),
            "attachments",
            [
                {
                    "usageType": SIGNATURE,
                    "display": {"en-US": "Signature"},
                    "contentType": "application/octet-stream",
                    "length": 796,
                    "sha2": SHA256,
                }
            ],
        ),
    ),
    (
        "GEN-017 unicode everywhere",
        edits(
            base(),
            ("actor.name", "Zoë 山田 🎓"),
            ("object.id", "http://example.org/活动/één"),
            ("verb.display", {"ja": "完了しました"}),
        ),
    ),
]

for _it in ("true-false", "fill-in", "long-fill-in", "numeric", "other"):
    ACCEPT.append(
        (
            f"STMT-046 interactionType {_it}",
            edit(
                base(),
                "object.definition",
                {
                    "interactionType": _it,
                    "correctResponsesPattern": ["x"],
                },
            ),
        )
    )
for _it, _lists in (
    ("choice", ("choices",)),
    ("sequencing", ("choices",)),
    ("likert", ("scale",)),
    ("matching", ("source", "target")),
    ("performance", ("steps",)),
):
    ACCEPT.append(
        (
            f"STMT-049 interactionType {_it} with {'/'.join(_lists)}",
            edit(
                base(),
                "object.definition",
                {
                    "interactionType": _it,
                    "correctResponsesPattern": [],
                    **{k: [{"id": "a"}, {"id": "b", "description": {"en": "B"}}] for k in _lists},
                },
            ),
        )
    )


@pytest.mark.parametrize("stmt", [c[1] for c in ACCEPT], ids=[c[0] for c in ACCEPT])
def test_accepts(stmt: dict[str, Json]) -> None:
    before = copy.deepcopy(stmt)
    validate_statement(stmt)
    assert stmt == before  # validation only, never mutates


# ------------------------------------------------------------------------------------------
# Rejected statements: (case id citing the rule, statement, expected message prefix)
# ------------------------------------------------------------------------------------------

S = "statement"
REJECT: list[tuple[str, Json, str]] = [
    # GEN-001: null anywhere outside extension values.
    (
        "GEN-001 null agent name",
        edit(base(), "actor.name", None),
        f"{S}.actor.name: must not be null",
    ),
    (
        "GEN-001 null language map value",
        edit(base(), "verb.display", {"en-US": None}),
        f"{S}.verb.display.en-US: must not be null",
    ),
    (
        "GEN-001 null optional property",
        edit(base(), "result", None),
        f"{S}.result: must not be null",
    ),
    (
        "GEN-001 null registration",
        edit(base(), "context", {"registration": None}),
        f"{S}.context.registration: must not be null",
    ),
    (
        "GEN-001 null score raw",
        edit(base(), "result", {"score": {"raw": None}}),
        f"{S}.result.score.raw: must not be null",
    ),
    (
        "GEN-001 null extensions map itself",
        edit(base(), "result", {"extensions": None}),
        f"{S}.result.extensions: must not be null",
    ),
    (
        "GEN-001 null in correctResponsesPattern",
        edit(
            base(),
            "object.definition",
            {"interactionType": "other", "correctResponsesPattern": [None]},
        ),
        f"{S}.object.definition.correctResponsesPattern[0]: must not be null",
    ),
    # GEN-002: strict JSON types.
    (
        "GEN-002 number as string",
        edit(base(), "result", {"score": {"raw": "5"}}),
        f"{S}.result.score.raw: must be a number",
    ),
    (
        "GEN-002 boolean as string",
        edit(base(), "result", {"success": "true"}),
        f"{S}.result.success: must be a boolean",
    ),
    (
        "GEN-002 boolean is not a number",
        edit(base(), "result", {"score": {"scaled": True}}),
        f"{S}.result.score.scaled: must be a number",
    ),
    (
        "GEN-002 number is not a boolean",
        edit(base(), "result", {"completion": 1}),
        f"{S}.result.completion: must be a boolean",
    ),
    (
        "GEN-002 revision number",
        edit(base(), "context", {"revision": 2}),
        f"{S}.context.revision: must be a string",
    ),
    ("GEN-002 statement not an object", [base()], f"{S}: must be a Statement object"),
    (
        "GEN-002 actor string",
        edit(base(), "actor", "mailto:x@example.org"),
        f"{S}.actor: must be an Agent or Group object",
    ),
    (
        "GEN-002 display string",
        edit(base(), "verb.display", "completed"),
        f"{S}.verb.display: must be a language map object",
    ),
    (
        "GEN-002 contextActivities string",
        edit(base(), "context", {"contextActivities": "x"}),
        f"{S}.context.contextActivities: must be a contextActivities object",
    ),
    # GEN-003: formatted strings, including the empty string.
    ("GEN-003 empty verb id", edit(base(), "verb.id", ""), f"{S}.verb.id: must be an IRI"),
    (
        "GEN-003 empty mbox",
        edit(base(), "actor.mbox", ""),
        f"{S}.actor.mbox: must be a mailto: IRI",
    ),
    (
        "GEN-003 empty registration",
        edit(base(), "context", {"registration": ""}),
        f"{S}.context.registration: not a UUID",
    ),
    (
        "GEN-003 empty timestamp",
        edit(base(), "timestamp", ""),
        f"{S}.timestamp: not an ISO 8601 timestamp",
    ),
    (
        "GEN-003 empty language",
        edit(base(), "context", {"language": ""}),
        f"{S}.context.language: not an RFC 5646 language tag",
    ),
    # GEN-004: case-sensitive property names.
    (
        "GEN-004 Actor",
        edits(base(), ("Actor", base()["actor"]), ("actor", _DELETE)),
        f"{S}.Actor: unknown property",
    ),
    (
        "GEN-004 objecttype",
        edit(base(), "actor.objecttype", "Agent"),
        f"{S}.actor.objecttype: unknown property",
    ),
    (
        "GEN-004 homepage",
        edit(base(), "actor", {"account": {"homepage": "http://x.org", "name": "n"}}),
        f"{S}.actor.account.homepage: unknown property",
    ),
    # GEN-005: enumerations are exact.
    (
        "GEN-005 actor objectType agent",
        edit(base(), "actor.objectType", "agent"),
        f'{S}.actor.objectType: must be "Agent" or "Group"',
    ),
    (
        "GEN-005 object objectType activity",
        edit(base(), "object.objectType", "activity"),
        f'{S}.object.objectType: must be "Activity", "Agent"',
    ),
    (
        "GEN-005 interactionType Choice",
        edit(base(), "object.definition", {"interactionType": "Choice"}),
        f"{S}.object.definition.interactionType: must be one of",
    ),
    (
        "GEN-005 StatementRef objectType case",
        edit(base(), "object", {"objectType": "statementRef", "id": UUID1}),
        f"{S}.object.objectType: must be",
    ),
    # GEN-006 / GEN-013: unknown properties anywhere outside extensions.
    ("GEN-006 top level", edit(base(), "foo", 1), f"{S}.foo: unknown property"),
    (
        "GEN-006 statement objectType",
        edit(base(), "objectType", "Statement"),
        f"{S}.objectType: unknown property",
    ),
    ("GEN-006 agent", edit(base(), "actor.age", 3), f"{S}.actor.age: unknown property"),
    ("GEN-006 verb", edit(base(), "verb.name", "x"), f"{S}.verb.name: unknown property"),
    (
        "GEN-006 activity",
        edit(base(), "object.name", {"en": "x"}),
        f"{S}.object.name: unknown property",
    ),
    (
        "GEN-006 definition",
        edit(base(), "object.definition", {"title": {"en": "x"}}),
        f"{S}.object.definition.title: unknown property",
    ),
    (
        "GEN-006 result",
        edit(base(), "result", {"passed": True}),
        f"{S}.result.passed: unknown property",
    ),
    (
        "GEN-006 context",
        edit(base(), "context", {"team_name": "x"}),
        f"{S}.context.team_name: unknown property",
    ),
    (
        "GEN-006 StatementRef",
        edit(base(), "object", {"objectType": "StatementRef", "id": UUID1, "x": 1}),
        f"{S}.object.x: unknown property",
    ),
    (
        "GEN-006 component",
        edit(
            base(),
            "object.definition",
            {"interactionType": "choice", "choices": [{"id": "a", "name": {"en": "A"}}]},
        ),
        f"{S}.object.definition.choices[0].name: unknown property",
    ),
    # GEN-007: IRIs need a scheme.
    (
        "GEN-007 verb id",
        edit(base(), "verb.id", "adlnet.gov/expapi/verbs/completed"),
        f"{S}.verb.id: must be an IRI",
    ),
    (
        "GEN-007 activity id",
        edit(base(), "object.id", "www.example.org/a"),
        f"{S}.object.id: must be an IRI",
    ),
    (
        "GEN-007 invalid scheme character",
        edit(base(), "object.id", "ab=c://should.fail.com"),
        f"{S}.object.id: must be an IRI",
    ),
    (
        "GEN-007 whitespace in IRI",
        edit(base(), "object.id", "http://example.org/a b"),
        f"{S}.object.id: must be an IRI",
    ),
    (
        "GEN-007 definition type",
        edit(base(), "object.definition", {"type": "example.org/t"}),
        f"{S}.object.definition.type: must be an IRI",
    ),
    (
        "GEN-007 moreInfo",
        edit(base(), "object.definition", {"moreInfo": "example.org/m"}),
        f"{S}.object.definition.moreInfo: must be an IRI",
    ),
    (
        "GEN-007 account homePage",
        edit(base(), "actor", {"account": {"homePage": "homePage.com/u", "name": "1"}}),
        f"{S}.actor.account.homePage: must be an IRI",
    ),
    (
        "GEN-007 definition extension key",
        edit(base(), "object.definition", {"extensions": {"not.valid.com/extension": 1}}),
        f"{S}.object.definition.extensions.not.valid.com/extension: extension key must be an IRI",
    ),
    (
        "GEN-007 context extension key",
        edit(base(), "context", {"extensions": {"example.com/x": 1}}),
        f"{S}.context.extensions.example.com/x: extension key must be an IRI",
    ),
    (
        "GEN-007 result extension key",
        edit(base(), "result", {"extensions": {"": 1}}),
        f"{S}.result.extensions.: extension key must be an IRI",
    ),
    # GEN-008 / GEN-024: language maps.
    (
        "GEN-008 language tag subtag too long",
        edit(base(), "verb.display", {"a12345678": "x"}),
        f"{S}.verb.display.a12345678: not an RFC 5646 language tag",
    ),
    (
        "GEN-008 bad middle subtag",
        edit(base(), "object.definition", {"name": {"en-something-AU": "x"}}),
        f"{S}.object.definition.name.en-something-AU: not an RFC 5646 language tag",
    ),
    (
        "GEN-024 language map value number",
        edit(base(), "verb.display", {"en": 1}),
        f"{S}.verb.display.en: must be a string",
    ),
    (
        "GEN-024 context language",
        edit(base(), "context", {"language": "english please"}),
        f"{S}.context.language: not an RFC 5646 language tag",
    ),
    # GEN-014: required properties.
    ("GEN-014 no actor", edit(base(), "actor"), f"{S}.actor: is required"),
    ("GEN-014 no verb", edit(base(), "verb"), f"{S}.verb: is required"),
    ("GEN-014 no object", edit(base(), "object"), f"{S}.object: is required"),
    # STMT-002 / GEN-023: UUIDs.
    ("STMT-002 id not a UUID", edit(base(), "id", "1234"), f"{S}.id: not a UUID"),
    (
        "GEN-023 UUID without hyphens",
        edit(base(), "id", UUID1.replace("-", "")),
        f"{S}.id: not a UUID",
    ),
    (
        "GEN-023 UUID wrong variant",
        edit(base(), "id", "3f2a3b3c-1d2e-4f50-ca6b-7c8d9e0f1a2b"),
        f"{S}.id: not a UUID",
    ),
    (
        "GEN-023 UUID too long",
        edit(base(), "id", "AA97B177-9383-4934-8543-0F91A7A028368"),
        f"{S}.id: not a UUID",
    ),
    (
        "GEN-023 UUID non-hex",
        edit(base(), "id", "MA97B177-9383-4934-8543-0F91A7A02836"),
        f"{S}.id: not a UUID",
    ),
    (
        "STMT-002 id number",
        edit(base(), "id", 12345),
        f"{S}.id: must be a UUID string, not a number",
    ),
    # STMT-010..019: Agents and Groups.
    (
        "STMT-010 actor objectType Person",
        edit(base(), "actor.objectType", "Person"),
        f'{S}.actor.objectType: must be "Agent" or "Group"',
    ),
    (
        "STMT-011 agent without IFI",
        edit(base(), "actor", {"name": "nobody"}),
        f"{S}.actor: an Agent needs exactly one of",
    ),
    (
        "STMT-011 agent with two IFIs",
        edit(base(), "actor.mbox_sha1sum", SHA1),
        f"{S}.actor: an Agent needs exactly one of mbox, mbox_sha1sum, openid, account (found 2)",
    ),
    (
        "STMT-012 mbox without mailto",
        edit(base(), "actor.mbox", "learner@example.org"),
        f"{S}.actor.mbox: must be a mailto: IRI",
    ),
    (
        "STMT-012 mbox without address",
        edit(base(), "actor.mbox", "mailto:should.fail.com"),
        f"{S}.actor.mbox: must be a mailto: IRI",
    ),
    (
        "STMT-012 mbox http IRI",
        edit(base(), "actor.mbox", "http://should.fail.com"),
        f"{S}.actor.mbox: must be a mailto: IRI",
    ),
    (
        "STMT-013 mbox_sha1sum 39 digits",
        edit(base(), "actor", {"mbox_sha1sum": SHA1[:-1]}),
        f"{S}.actor.mbox_sha1sum: must be a hex SHA-1",
    ),
    (
        "STMT-013 mbox_sha1sum non-hex",
        edit(base(), "actor", {"mbox_sha1sum": "g" * 40}),
        f"{S}.actor.mbox_sha1sum: must be a hex SHA-1",
    ),
    (
        "STMT-013 mbox_sha1sum object",
        edit(base(), "actor", {"mbox_sha1sum": {"key": "value"}}),
        f"{S}.actor.mbox_sha1sum: must be a string, not an object",
    ),
    (
        "STMT-014 openid without scheme",
        edit(base(), "actor", {"openid": "open.id.com/testUser"}),
        f"{S}.actor.openid: must be a URI",
    ),
    (
        "STMT-015 account without name",
        edit(base(), "actor", {"account": {"homePage": "http://x.org"}}),
        f"{S}.actor.account.name: is required",
    ),
    (
        "STMT-015 account without homePage",
        edit(base(), "actor", {"account": {"name": "n"}}),
        f"{S}.actor.account.homePage: is required",
    ),
    (
        "STMT-015 account name not a string",
        edit(base(), "actor", {"account": {"homePage": "http://x.org", "name": {"key": "v"}}}),
        f"{S}.actor.account.name: must be a string, not an object",
    ),
    (
        "STMT-015 account not an object",
        edit(base(), "actor", {"account": "http://x.org/n"}),
        f"{S}.actor.account: must be an account object",
    ),
    (
        "STMT-016 agent name number",
        edit(base(), "actor.name", 12),
        f"{S}.actor.name: must be a string",
    ),
    (
        "STMT-017 anonymous group without member",
        edit(base(), "actor", {"objectType": "Group", "name": "g"}),
        f"{S}.actor.member: is required in an anonymous Group",
    ),
    (
        "STMT-017 member not an array",
        edit(base(), "actor", {"objectType": "Group", "member": agent()}),
        f"{S}.actor.member: must be an array of Agents, not an object",
    ),
    (
        "STMT-017 invalid member agent",
        edit(base(), "actor", anonymous_group({"mbox": "x@example.org"})),
        f"{S}.actor.member[0].mbox: must be a mailto: IRI",
    ),
    (
        "STMT-018 identified group with two IFIs",
        edit(
            base(),
            "actor",
            {
                "objectType": "Group",
                "mbox": "mailto:g@example.org",
                "openid": "http://g.example.org",
            },
        ),
        f"{S}.actor: a Group has at most one of mbox, mbox_sha1sum, openid, account (found 2)",
    ),
    (
        "STMT-019 group in a group",
        edit(base(), "actor", anonymous_group(agent(), anonymous_group())),
        f"{S}.actor.member[1]: a Group member must be an Agent, not a Group",
    ),
    (
        "STMT-019 identified group as member",
        edit(
            base(),
            "actor",
            anonymous_group({"objectType": "Group", "mbox": "mailto:g@example.org"}),
        ),
        f"{S}.actor.member[0]: a Group member must be an Agent, not a Group",
    ),
    # STMT-030: verb.
    (
        "STMT-030 verb without id",
        edit(base(), "verb", {"display": {"en": "x"}}),
        f"{S}.verb.id: is required",
    ),
    (
        "STMT-030 verb not an object",
        edit(base(), "verb", "http://example.org/v"),
        f"{S}.verb: must be a Verb object",
    ),
    # STMT-040..042: object and Activity.
    (
        "STMT-040 object objectType Person",
        edit(base(), "object.objectType", "Person"),
        f"{S}.object.objectType: must be",
    ),
    (
        "STMT-041 activity without id",
        edit(base(), "object", {"objectType": "Activity"}),
        f"{S}.object.id: is required",
    ),
    (
        "STMT-041 activity id number",
        edit(base(), "object.id", 12),
        f"{S}.object.id: must be an IRI string",
    ),
    (
        "STMT-042 definition not an object",
        edit(base(), "object.definition", "x"),
        f"{S}.object.definition: must be an Activity Definition object",
    ),
    (
        "STMT-042 definition name not a language map",
        edit(base(), "object.definition", {"name": "x"}),
        f"{S}.object.definition.name: must be a language map object",
    ),
    # STMT-046/047/049: interactions.
    (
        "STMT-046 interactionType unknown",
        edit(base(), "object.definition", {"interactionType": "essay"}),
        f"{S}.object.definition.interactionType: must be one of",
    ),
    (
        "STMT-046 interactionType number",
        edit(base(), "object.definition", {"interactionType": 1}),
        f"{S}.object.definition.interactionType: must be a string",
    ),
    (
        "STMT-047 correctResponsesPattern without interactionType (ADL XAPI-00064)",
        edit(base(), "object.definition", {"correctResponsesPattern": ["true"]}),
        f"{S}.object.definition.interactionType: is required",
    ),
    (
        "STMT-047 choices without interactionType (ADL XAPI-00064)",
        edit(base(), "object.definition", {"choices": [{"id": "a"}]}),
        f"{S}.object.definition.interactionType: is required",
    ),
    (
        "STMT-047 scale on a choice interaction",
        edit(base(), "object.definition", {"interactionType": "choice", "scale": [{"id": "a"}]}),
        f"{S}.object.definition.scale: not allowed with interactionType 'choice'",
    ),
    (
        "STMT-047 choices on a true-false interaction",
        edit(
            base(), "object.definition", {"interactionType": "true-false", "choices": [{"id": "a"}]}
        ),
        f"{S}.object.definition.choices: not allowed with interactionType 'true-false'",
    ),
    (
        "STMT-047 correctResponsesPattern not an array",
        edit(
            base(),
            "object.definition",
            {"interactionType": "fill-in", "correctResponsesPattern": "x"},
        ),
        f"{S}.object.definition.correctResponsesPattern: must be an array of strings",
    ),
    (
        "STMT-047 correctResponsesPattern number item",
        edit(
            base(),
            "object.definition",
            {"interactionType": "numeric", "correctResponsesPattern": [4]},
        ),
        f"{S}.object.definition.correctResponsesPattern[0]: must be a string",
    ),
    (
        "STMT-049 component without id",
        edit(
            base(),
            "object.definition",
            {"interactionType": "likert", "scale": [{"description": {"en": "x"}}]},
        ),
        f"{S}.object.definition.scale[0].id: is required",
    ),
    (
        "STMT-049 duplicate component ids",
        edit(
            base(),
            "object.definition",
            {"interactionType": "matching", "source": [{"id": "a"}, {"id": "b"}, {"id": "a"}]},
        ),
        f"{S}.object.definition.source[2].id: duplicate interaction component id 'a'",
    ),
    (
        "STMT-049 component description invalid",
        edit(
            base(),
            "object.definition",
            {
                "interactionType": "performance",
                "steps": [{"id": "a", "description": {"en_US": "x"}}],
            },
        ),
        f"{S}.object.definition.steps[0].description.en_US: not an RFC 5646 language tag",
    ),
    (
        "STMT-049 component list not an array",
        edit(
            base(), "object.definition", {"interactionType": "sequencing", "choices": {"id": "a"}}
        ),
        f"{S}.object.definition.choices: must be an array of interaction components",
    ),
    # STMT-050..053: Agent/Group/StatementRef/SubStatement objects.
    (
        "STMT-050 Agent object without objectType",
        edit(base(), "object", {"mbox": "mailto:a@example.org"}),
        f"{S}.object.objectType: is required when the object is an Agent or Group",
    ),
    (
        "STMT-050 Group object without objectType",
        edit(base(), "object", {"member": [{"mbox": "mailto:a@example.org"}]}),
        f"{S}.object.objectType: is required when the object is an Agent or Group",
    ),
    (
        "STMT-050 Agent object invalid",
        edit(base(), "object", {"objectType": "Agent", "name": "x"}),
        f"{S}.object: an Agent needs exactly one of",
    ),
    (
        "STMT-051 StatementRef without id",
        edit(base(), "object", {"objectType": "StatementRef"}),
        f"{S}.object.id: is required",
    ),
    (
        "STMT-051 StatementRef id not a UUID",
        edit(base(), "object", {"objectType": "StatementRef", "id": "http://example.org/s/1"}),
        f"{S}.object.id: not a UUID",
    ),
    (
        "STMT-052 SubStatement without actor",
        edit(base(), "object", edit(substatement(), "actor")),
        f"{S}.object.actor: is required",
    ),
    (
        "STMT-052 SubStatement without verb",
        edit(base(), "object", edit(substatement(), "verb")),
        f"{S}.object.verb: is required",
    ),
    (
        "STMT-052 SubStatement without object",
        edit(base(), "object", edit(substatement(), "object")),
        f"{S}.object.object: is required",
    ),
    (
        "STMT-052 SubStatement validated like a Statement",
        edit(base(), "object", substatement(result={"duration": "1 hour"})),
        f"{S}.object.result.duration: not an ISO 8601 duration",
    ),
    (
        "STMT-052 SubStatement without objectType",
        edit(base(), "object", edit(substatement(), "objectType")),
        f"{S}.object.actor: unknown property",
    ),
    (
        "STMT-053 SubStatement with id",
        edit(base(), "object", substatement(id=UUID1)),
        f"{S}.object.id: not allowed in a SubStatement",
    ),
    (
        "STMT-053 SubStatement with stored",
        edit(base(), "object", substatement(stored="2024-01-01T00:00:00Z")),
        f"{S}.object.stored: not allowed in a SubStatement",
    ),
    (
        "STMT-053 SubStatement with version",
        edit(base(), "object", substatement(version="1.0.0")),
        f"{S}.object.version: not allowed in a SubStatement",
    ),
    (
        "STMT-053 SubStatement with authority",
        edit(base(), "object", substatement(authority=agent())),
        f"{S}.object.authority: not allowed in a SubStatement",
    ),
    (
        "STMT-053 nested SubStatement",
        edit(base(), "object", substatement(object=substatement())),
        f"{S}.object.object.objectType: a SubStatement must not contain a SubStatement",
    ),
    # VOID-001.
    (
        "VOID-001 voiding statement with Activity object",
        edit(base(), "verb.id", VOIDED),
        f"{S}.object: a voiding Statement (verb voided) must have a StatementRef object",
    ),
    # STMT-060..064: result and score.
    (
        "STMT-060 result not an object",
        edit(base(), "result", "passed"),
        f"{S}.result: must be a Result object",
    ),
    (
        "STMT-060 response not a string",
        edit(base(), "result", {"response": {"a": 1}}),
        f"{S}.result.response: must be a string, not an object",
    ),
    (
        "STMT-060 duration number",
        edit(base(), "result", {"duration": 12345}),
        f"{S}.result.duration: must be a duration string, not a number",
    ),
    (
        "STMT-060 duration invalid",
        edit(base(), "result", {"duration": "PA1H0M0S"}),
        f"{S}.result.duration: not an ISO 8601 duration",
    ),
    (
        "STMT-061 scaled above 1",
        edit(base(), "result", {"score": {"scaled": 1.01}}),
        f"{S}.result.score.scaled: must be between -1 and 1",
    ),
    (
        "STMT-061 scaled below -1",
        edit(base(), "result", {"score": {"scaled": -1.5}}),
        f"{S}.result.score.scaled: must be between -1 and 1",
    ),
    (
        "STMT-062 raw below min",
        edit(base(), "result", {"score": {"raw": -1, "min": 0}}),
        f"{S}.result.score.raw: must not be less than min",
    ),
    (
        "STMT-062 raw above max",
        edit(base(), "result", {"score": {"raw": 101, "min": 0, "max": 100}}),
        f"{S}.result.score.raw: must not be greater than max",
    ),
    (
        "STMT-063 min equal to max",
        edit(base(), "result", {"score": {"min": 5, "max": 5}}),
        f"{S}.result.score.min: must be less than max",
    ),
    (
        "STMT-063 min above max",
        edit(base(), "result", {"score": {"min": 10, "max": 1.5}}),
        f"{S}.result.score.min: must be less than max",
    ),
    (
        "STMT-064 score extra property",
        edit(base(), "result", {"score": {"percent": 50}}),
        f"{S}.result.score.percent: unknown property",
    ),
    # STMT-070..076: context.
    (
        "STMT-070 registration not a UUID",
        edit(base(), "context", {"registration": "should fail"}),
        f"{S}.context.registration: not a UUID",
    ),
    (
        "STMT-070 instructor invalid",
        edit(base(), "context", {"instructor": {"name": "x"}}),
        f"{S}.context.instructor: an Agent needs exactly one of",
    ),
    (
        "STMT-070 platform object",
        edit(base(), "context", {"platform": {"a": 1}}),
        f"{S}.context.platform: must be a string, not an object",
    ),
    (
        "STMT-071 revision with Agent object",
        edits(base(), ("object", agent()), ("context", {"revision": "r"})),
        f"{S}.context.revision: only allowed when the object is an Activity",
    ),
    (
        "STMT-071 platform with StatementRef object",
        edits(
            base(),
            ("object", {"objectType": "StatementRef", "id": UUID1}),
            ("context", {"platform": "p"}),
        ),
        f"{S}.context.platform: only allowed when the object is an Activity",
    ),
    (
        "STMT-071 revision with SubStatement object",
        edits(base(), ("object", substatement()), ("context", {"revision": "r"})),
        f"{S}.context.revision: only allowed when the object is an Activity",
    ),
    (
        "STMT-071 revision inside a SubStatement with Group object",
        edit(base(), "object", substatement(object=anonymous_group(), context={"revision": "r"})),
        f"{S}.object.context.revision: only allowed when the object is an Activity",
    ),
    (
        "STMT-072 contextActivities unknown key",
        edit(
            base(),
            "context",
            {"contextActivities": {"consequences": [{"id": "http://example.org/a"}]}},
        ),
        f"{S}.context.contextActivities.consequences: unknown property",
    ),
    (
        "STMT-073 contextActivities item not an Activity",
        edit(
            base(),
            "context",
            {"contextActivities": {"parent": [{"id": "http://example.org/a"}, agent()]}},
        ),
        f"{S}.context.contextActivities.parent[1].name: unknown property",
    ),
    (
        "STMT-073 contextActivities value string",
        edit(base(), "context", {"contextActivities": {"grouping": "http://example.org/a"}}),
        f"{S}.context.contextActivities.grouping: must be an Activity or an array of Activities",
    ),
    (
        "STMT-073 contextActivities activity id missing",
        edit(
            base(),
            "context",
            {
                "contextActivities": {
                    "parent": [{"id": "http://example.org/a"}, {"objectType": "Activity"}]
                }
            },
        ),
        f"{S}.context.contextActivities.parent[1].id: is required",
    ),
    (
        "STMT-073 contextActivities deep path",
        edit(
            base(),
            "context",
            {
                "contextActivities": {
                    "category": {"id": "http://example.org/a", "definition": {"type": "t"}}
                }
            },
        ),
        f"{S}.context.contextActivities.category.definition.type: must be an IRI",
    ),
    (
        "STMT-075 context statement not a StatementRef",
        edit(base(), "context", {"statement": {"id": UUID1}}),
        f"{S}.context.statement.objectType: is required",
    ),
    (
        "STMT-075 context statement id not a UUID",
        edit(base(), "context", {"statement": {"objectType": "StatementRef", "id": "x"}}),
        f"{S}.context.statement.id: not a UUID",
    ),
    (
        "STMT-076 team without objectType",
        edit(base(), "context", {"team": {"member": [agent()]}}),
        f"{S}.context.team.objectType: is required",
    ),
    (
        "STMT-076 team is an Agent",
        edit(base(), "context", {"team": agent()}),
        f'{S}.context.team.objectType: must be "Group"',
    ),
    # GEN-020 / STMT-082: timestamps.
    (
        "GEN-020 timestamp not ISO 8601",
        edit(base(), "timestamp", "01/011/2015"),
        f"{S}.timestamp: not an ISO 8601 timestamp",
    ),
    (
        "GEN-020 timestamp -00:00 offset (ADL suite)",
        edit(base(), "timestamp", "2008-09-15T15:53:00.601-00:00"),
        f"{S}.timestamp: not an ISO 8601 timestamp",
    ),
    (
        "GEN-020 timestamp -0000 offset (ADL suite)",
        edit(base(), "timestamp", "2008-09-15T15:53:00.601-0000"),
        f"{S}.timestamp: not an ISO 8601 timestamp",
    ),
    (
        "GEN-020 timestamp -00 offset (ADL suite)",
        edit(base(), "timestamp", "2008-09-15T15:53:00.601-00"),
        f"{S}.timestamp: not an ISO 8601 timestamp",
    ),
    (
        "GEN-020 timestamp number",
        edit(base(), "timestamp", 1700000000),
        f"{S}.timestamp: must be a timestamp string, not a number",
    ),
    (
        "STMT-082 stored validated",
        edit(base(), "stored", "yesterday"),
        f"{S}.stored: not an ISO 8601 timestamp",
    ),
    # STMT-091: authority.
    (
        "STMT-091 authority without IFI",
        edit(base(), "authority", {"objectType": "Agent"}),
        f"{S}.authority: an Agent needs exactly one of",
    ),
    (
        "STMT-091 authority Group of one",
        edit(base(), "authority", anonymous_group(agent())),
        f"{S}.authority.member: an authority Group must have exactly two Agents",
    ),
    (
        "STMT-091 authority Group of three",
        edit(
            base(),
            "authority",
            anonymous_group(
                agent(), {"mbox": "mailto:b@example.org"}, {"mbox": "mailto:c@example.org"}
            ),
        ),
        f"{S}.authority.member: an authority Group must have exactly two Agents",
    ),
    (
        "STMT-091 authority identified Group",
        edit(
            base(),
            "authority",
            {
                "objectType": "Group",
                "openid": "http://openid.example.org/1",
                "member": [agent(), {"mbox": "mailto:b@example.org"}],
            },
        ),
        f"{S}.authority: an authority Group must be anonymous",
    ),
    # STMT-101/103: version.
    (
        "STMT-101 version 0.9.5",
        edit(base(), "version", "0.9.5"),
        f'{S}.version: must be "1.0" or "1.0.x"',
    ),
    ("STMT-101 version 1.1.0", edit(base(), "version", "1.1.0"), f"{S}.version: must be"),
    ("STMT-101 version 2.0.0", edit(base(), "version", "2.0.0"), f"{S}.version: must be"),
    ("STMT-103 version not semver-like", edit(base(), "version", "1.0.x"), f"{S}.version: must be"),
    (
        "STMT-103 version number",
        edit(base(), "version", 1.0),
        f"{S}.version: must be a string, not a number",
    ),
    # STMT-110 / SIG-001: attachments.
    (
        "STMT-110 attachments not an array",
        edit(base(), "attachments", {"usageType": "http://x.org"}),
        f"{S}.attachments: must be an array of Attachments",
    ),
    (
        "STMT-110 attachment without sha2",
        edit(rich(), "attachments[0].sha2"),
        f"{S}.attachments[0].sha2: is required",
    ),
    (
        "STMT-110 attachment without display",
        edit(rich(), "attachments[0].display"),
        f"{S}.attachments[0].display: is required",
    ),
    (
        "STMT-110 attachment without usageType",
        edit(rich(), "attachments[0].usageType"),
        f"{S}.attachments[0].usageType: is required",
    ),
    (
        "STMT-110 attachment without contentType",
        edit(rich(), "attachments[0].contentType"),
        f"{S}.attachments[0].contentType: is required",
    ),
    (
        "STMT-110 attachment without length",
        edit(rich(), "attachments[0].length"),
        f"{S}.attachments[0].length: is required",
    ),
    (
        "STMT-110 attachment length float",
        edit(rich(), "attachments[0].length", 27.0),
        f"{S}.attachments[0].length: must be an integer, not a number",
    ),
    (
        "STMT-110 attachment length boolean",
        edit(rich(), "attachments[0].length", True),
        f"{S}.attachments[0].length: must be an integer, not a boolean",
    ),
    (
        "STMT-110 attachment length negative",
        edit(rich(), "attachments[0].length", -1),
        f"{S}.attachments[0].length: must not be negative",
    ),
    (
        "STMT-110 attachment sha2 not hex",
        edit(rich(), "attachments[0].sha2", "z" * 64),
        f"{S}.attachments[0].sha2: must be a hex SHA-2 hash",
    ),
    (
        "STMT-110 attachment contentType not a media type",
        edit(rich(), "attachments[0].contentType", "pdf"),
        f"{S}.attachments[0].contentType: not a media type",
    ),
    (
        "STMT-110 attachment fileUrl without scheme",
        edit(rich(), "attachments[0].fileUrl", "over.there.com/f"),
        f"{S}.attachments[0].fileUrl: must be an IRI",
    ),
    (
        "STMT-110 attachment usageType without scheme",
        edit(rich(), "attachments[0].usageType", "example.com/u"),
        f"{S}.attachments[0].usageType: must be an IRI",
    ),
    (
        "STMT-110 attachment unknown property",
        edit(rich(), "attachments[0].data", "aGVsbG8="),
        f"{S}.attachments[0].data: unknown property",
    ),
    (
        "SIG-001 signature attachment with text/plain",
        edit(
            base(),
            "attachments",
            [
                {
                    "usageType": SIGNATURE,
                    "display": {"en": "sig"},
                    "contentType": "text/plain; charset=ascii",
                    "length": 10,
                    "sha2": SHA256,
                }
            ],
        ),
        f"{S}.attachments[0].contentType: a signature attachment must be application/octet-stream",
    ),
]


@pytest.mark.parametrize(
    ("stmt", "message"), [(c[1], c[2]) for c in REJECT], ids=[c[0] for c in REJECT]
)
def test_rejects(stmt: Json, message: str) -> None:
    before = copy.deepcopy(stmt)
    assert rejected(stmt).startswith(message)
    assert stmt == before  # never mutated, even on failure


# ------------------------------------------------------------------------------------------
# Messages and the public API
# ------------------------------------------------------------------------------------------


def test_message_names_the_batch_path() -> None:
    """GEN-003: the message names the JSON path, with the caller's prefix (batch index)."""
    stmt = edit(base(), "context", {"registration": "nope"})
    assert rejected(stmt, "statements[3]") == "statements[3].context.registration: not a UUID"


def test_message_names_a_deep_path() -> None:
    """STMT-073: paths go through arrays and nested objects."""
    stmt = edit(rich(), "context.contextActivities.parent[0].id", "no-scheme")
    assert rejected(stmt) == (
        "statement.context.contextActivities.parent[0].id: must be an IRI with a scheme"
    )


def test_message_for_mbox() -> None:
    """STMT-012: short, human-readable message."""
    msg = rejected(edit(base(), "actor.mbox", "pat@example.org"))
    assert msg == "statement.actor.mbox: must be a mailto: IRI (mailto:name@host)"


def test_invalid_statement_is_a_bad_request() -> None:
    """GEN-003: a validation failure is an InvalidStatement (HTTP 400)."""
    from progress.domain.errors import BadRequest

    with pytest.raises(BadRequest):
        validate_statement({})


def test_validation_is_repeatable() -> None:
    """Internal caches never change a verdict (second run gives the same answer)."""
    bad = edit(base(), "verb.id", "no scheme")
    for _ in range(3):
        validate_statement(rich())
        assert rejected(bad).startswith("statement.verb.id")


@pytest.mark.parametrize(
    "actor",
    [
        pytest.param(agent(), id="STMT-010 Agent"),
        pytest.param(
            {"openid": "https://id.example.org/me"}, id="STMT-010 Agent without objectType"
        ),
        pytest.param(anonymous_group(), id="STMT-017 anonymous Group"),
        pytest.param({"objectType": "Group", "mbox_sha1sum": SHA1}, id="STMT-018 identified Group"),
    ],
)
def test_validate_actor_accepts(actor: dict[str, Json]) -> None:
    validate_actor(actor, "context.instructor")


def test_validate_actor_rejects_with_path() -> None:
    """STMT-011: validate_actor raises InvalidStatement naming the given path."""
    with pytest.raises(InvalidStatement, match=r"^context\.instructor: an Agent needs exactly one"):
        validate_actor({"name": "x"}, "context.instructor")


@pytest.mark.parametrize(
    "value",
    [
        pytest.param({"mbox": "mailto:a@example.org"}, id="GEN-010 Agent"),
        pytest.param(agent(), id="GEN-010 Agent with objectType"),
        pytest.param(
            {"objectType": "Group", "mbox": "mailto:g@example.org"}, id="GEN-010 identified Group"
        ),
        pytest.param(
            {"objectType": "Group", "openid": "http://g.example.org", "member": [agent()]},
            id="GEN-010 identified Group with members",
        ),
    ],
)
def test_validate_agent_accepts(value: dict[str, Json]) -> None:
    validate_agent(value)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param(
            "wrong", "agent: must be an Agent object, not a string", id="GEN-010 not JSON object"
        ),
        pytest.param({"name": "x"}, "agent: an Agent needs exactly one", id="STMT-011 no IFI"),
        pytest.param(
            {"mbox": "mailto:a@example.org", "openid": "http://a.example.org"},
            "agent: an Agent needs exactly one",
            id="STMT-011 two IFIs",
        ),
        pytest.param(
            {"mbox": "a@example.org"}, "agent.mbox: must be a mailto: IRI", id="STMT-012 mbox"
        ),
        pytest.param(
            anonymous_group(),
            "agent: a Group used as agent must have exactly one IFI",
            id="STMT-018 anonymous Group cannot identify",
        ),
        pytest.param(
            {"mbox": "mailto:a@example.org", "x": 1}, "agent.x: unknown property", id="GEN-006"
        ),
    ],
)
def test_validate_agent_rejects(value: Json, message: str) -> None:
    """GEN-010: parameter values follow the Statement rules but raise InvalidParameter."""
    with pytest.raises(InvalidParameter) as info:
        validate_agent(value)
    assert info.value.message.startswith(message)
    assert not isinstance(info.value, InvalidStatement)


# ------------------------------------------------------------------------------------------
# Format predicates
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("3f2a3b3c-1d2e-4f50-8a6b-7c8d9e0f1a2b", True),
        ("3F2A3B3C-1D2E-4F50-BA6B-7C8D9E0F1A2B", True),
        ("3f2a3b3c-1d2e-1f50-9a6b-7c8d9e0f1a2b", True),  # any version
        ("3f2a3b3c-1d2e-4f50-7a6b-7c8d9e0f1a2b", False),  # NCS variant
        ("3f2a3b3c-1d2e-4f50-ca6b-7c8d9e0f1a2b", False),  # Microsoft variant
        ("00000000-0000-0000-0000-000000000000", False),
        ("3f2a3b3c1d2e4f508a6b7c8d9e0f1a2b", False),
        ("{3f2a3b3c-1d2e-4f50-8a6b-7c8d9e0f1a2b}", False),
        ("3f2a3b3c-1d2e-4f50-8a6b-7c8d9e0f1a2", False),
        (" 3f2a3b3c-1d2e-4f50-8a6b-7c8d9e0f1a2b", False),
        ("", False),
    ],
)
def test_is_uuid(value: str, ok: bool) -> None:
    """GEN-023: RFC 4122 variant, any version, hyphenated."""
    assert is_uuid(value) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("http://example.org/a", True),
        ("urn:uuid:3f2a3b3c-1d2e-4f50-8a6b-7c8d9e0f1a2b", True),
        ("tag:example.org,2024:x", True),
        ("mailto:a@example.org", True),
        ("x-custom+v1.2-a:thing", True),
        ("http://example.org/δοκιμή", True),
        ("http:", True),
        ("example.org/a", False),
        ("not.a.valid.iri.com/verb", False),
        ("ab=c://should.fail.com", False),
        ("1http://example.org", False),
        (":nothing", False),
        ("http://example.org/a b", False),
        ("http://example.org/a\tb", False),
        ("http://example.org/a\u00a0b", False),
        ("", False),
    ],
)
def test_is_iri(value: str, ok: bool) -> None:
    """GEN-007/GEN-012: best effort - a scheme and no whitespace."""
    assert is_iri(value) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("en", True),
        ("en-US", True),
        ("EN-us", True),
        ("zh-Hant-TW", True),
        ("es-419", True),
        ("tlh", True),
        ("cmn", True),
        ("zh-yue-HK", True),
        ("sr-Latn-RS", True),
        ("de-CH-1901", True),
        ("sl-rozaj-biske", True),
        ("en-a-bbb-x-private", True),
        ("x-private", True),
        ("x-whatever-1", True),
        ("i-klingon", True),
        ("en-GB-oed", True),
        ("sgn-BE-FR", True),
        ("art-lojban", True),
        ("", False),
        ("e", False),
        ("english", True),  # 5-8 letter primary subtags are syntactically allowed
        ("a12345678", False),
        ("en-", False),
        ("en--US", False),
        ("en_US", False),
        ("en-something-AU", False),
        ("en-US-x", False),
        ("x", False),
        ("123", False),
        ("en US", False),
    ],
)
def test_is_language_tag(value: str, ok: bool) -> None:
    """GEN-008: RFC 5646 subtag-length structure."""
    assert is_language_tag(value) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("PT1H0M0S", True),
        ("PT1H0M0.01S", True),
        ("PT4H35M59.14S", True),
        ("PT16559.14S", True),
        ("P3Y1M29DT4H35M59.14S", True),
        ("P3Y", True),
        ("P1D", True),
        ("P4W", True),
        ("PT0S", True),
        ("PT1,5S", True),
        ("PT0.123456789S", True),  # GEN-022: finer than 0.01 s is not rejected
        ("P0.5Y", True),
        ("PT1.5H", True),
        ("P", False),
        ("PT", False),
        ("P1DT", False),
        ("P4W1D", False),
        ("P1.5DT1H", False),  # fraction only on the lowest-order component
        ("PT1.5H2M", False),
        ("P16559.14S", False),  # seconds need the T designator
        ("PT1S1M", False),
        ("P0003-04-06T04:05:06", False),  # alternative format (GEN-021)
        ("PA1H0M0S", False),
        ("pt1h", False),
        ("-PT1H", False),
        ("PT.5S", False),
        ("1H", False),
        ("", False),
    ],
)
def test_is_duration(value: str, ok: bool) -> None:
    """GEN-021/GEN-022: ISO 8601 4.4.3.2 durations."""
    assert is_duration(value) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("2024-03-18T14:23:11.123Z", True),
        ("2024-03-18T14:23:11Z", True),
        ("2024-03-18T14:23:11+00:00", True),
        ("2024-03-18T14:23:11.1234567891+05:30", True),
        ("2024-03-18T14:23:11-05:00", True),
        ("2024-03-18T14:23:11-00:30", True),
        ("2024-03-18T14:23:11+0530", True),
        ("2024-03-18T14:23:11+05", True),
        ("2024-03-18T14:23Z", True),
        ("2024-03-18T14:23:11", True),  # no offset: allowed (SHOULD*), read as UTC
        ("2024-03-18t14:23:11z", True),
        ("2024-03-18T14:23:11,5Z", True),
        ("2024-02-29T00:00:00Z", True),
        ("2000-02-29T00:00:00Z", True),
        ("2024-03-18T14:23:11-00:00", False),
        ("2024-03-18T14:23:11-0000", False),
        ("2024-03-18T14:23:11-00", False),
        ("2023-02-29T00:00:00Z", False),
        ("1900-02-29T00:00:00Z", False),
        ("2024-04-31T00:00:00Z", False),
        ("2024-13-01T00:00:00Z", False),
        ("2024-03-18T24:00:00Z", False),
        ("2024-03-18T14:60:00Z", False),
        ("2024-03-18T14:23:60Z", False),
        ("2024-03-18T14:23:11+24:00", False),
        ("0000-01-01T00:00:00Z", False),
        ("2024-03-18", False),
        ("2024-03-18 14:23:11Z", False),
        ("20240318T142311Z", False),
        ("01/011/2015", False),
        ("2024-03-18T14:23:11.Z", False),
        ("should fail", False),
        ("", False),
    ],
)
def test_is_timestamp(value: str, ok: bool) -> None:
    """GEN-020: ISO 8601 timestamps as the ADL suite accepts them."""
    assert is_timestamp(value) is ok


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-03-18T14:23:11.123Z", datetime(2024, 3, 18, 14, 23, 11, 123000, tzinfo=UTC)),
        (
            "2024-03-18T14:23:11.123456789+05:30",
            datetime(
                2024, 3, 18, 14, 23, 11, 123456, tzinfo=timezone(timedelta(hours=5, minutes=30))
            ),
        ),
        ("2024-03-18T14:23:11-0100", datetime(2024, 3, 18, 15, 23, 11, tzinfo=UTC)),
        ("2024-03-18T14:23", datetime(2024, 3, 18, 14, 23, tzinfo=UTC)),
        ("2024-03-18t14:23:11z", datetime(2024, 3, 18, 14, 23, 11, tzinfo=UTC)),
        ("2024-03-18T14:23:11,5+00", datetime(2024, 3, 18, 14, 23, 11, 500000, tzinfo=UTC)),
    ],
)
def test_parse_timestamp(value: str, expected: datetime) -> None:
    """GEN-020: same instant, timezone-aware, at least millisecond precision."""
    parsed = parse_timestamp(value)
    assert parsed.tzinfo is not None
    assert parsed == expected


@pytest.mark.parametrize("value", ["", "2024-03-18T14:23:11-00:00", "2023-02-29T00:00:00Z", "x"])
def test_parse_timestamp_rejects(value: str) -> None:
    """GEN-020: invalid timestamps raise ValueError."""
    with pytest.raises(ValueError, match="not an ISO 8601 timestamp"):
        parse_timestamp(value)


def test_hostile_strings_are_rejected_quickly() -> None:
    """GEN-003/GEN-008: long crafted values are rejected without regex blow-up."""
    assert not is_language_tag("en" + "-abcde" * 100)  # over the 255-character cap
    stmt = edit(rich(), "attachments[0].contentType", "text/plain" + " " * 50_000 + "x")
    assert rejected(stmt).startswith("statement.attachments[0].contentType: not a media type")
    assert not is_duration("P" + "1" * 50_000 + ".1X")


@pytest.mark.parametrize("predicate", [is_uuid, is_iri, is_timestamp, is_duration, is_language_tag])
@pytest.mark.parametrize("value", [None, 5, ["en"], {"a": 1}])
def test_predicates_reject_non_strings(predicate: Callable[[Any], bool], value: Json) -> None:
    """GEN-002: format predicates are False for non-strings rather than raising."""
    assert predicate(value) is False


# ------------------------------------------------------------------------------------------
# Property-based tests
# ------------------------------------------------------------------------------------------

_SEGMENT_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789-._~/"
_LANG_TAGS = [
    "en",
    "en-US",
    "fr-CA",
    "zh-Hant-TW",
    "es-419",
    "x-private",
    "i-klingon",
    "de-CH-1901",
]

iris = st.builds(
    "{}:{}".format,
    st.sampled_from(["http", "https", "urn", "tag", "x-app+v1.0"]),
    st.text(_SEGMENT_CHARS, max_size=30),
)
uuids = st.uuids(version=4).map(str) | st.uuids(version=1).map(lambda u: str(u).upper())
lang_maps = st.dictionaries(st.sampled_from(_LANG_TAGS), st.text(max_size=20), max_size=3)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=10,
)
extensions = st.dictionaries(iris, json_values, max_size=3)
timestamps = st.builds(
    lambda dt, frac, tz: dt.strftime("%Y-%m-%dT%H:%M:%S") + frac + tz,
    st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1)),
    st.sampled_from(["", ".1", ".123", ".123456789"]),
    st.sampled_from(["Z", "+00:00", "+05:30", "-08:00", "+0100", "+01", ""]),
)
durations = st.builds(
    lambda y, d, h, m, s: "P" + (f"{y}Y" if y else "") + (f"{d}D" if d else "") + f"T{h}H{m}M{s}S",
    st.integers(0, 5),
    st.integers(0, 40),
    st.integers(0, 23),
    st.integers(0, 59),
    st.sampled_from(["0", "1.5", "59.99", "12,3"]),
)


@st.composite
def ifis(draw: st.DrawFn) -> dict[str, Json]:
    kind = draw(st.sampled_from(["mbox", "mbox_sha1sum", "openid", "account"]))
    if kind == "mbox":
        local = draw(st.text("abcxyz0123.+_-", min_size=1, max_size=10))
        return {"mbox": f"mailto:{local}@example.org"}
    if kind == "mbox_sha1sum":
        return {"mbox_sha1sum": draw(st.text("0123456789abcdefABCDEF", min_size=40, max_size=40))}
    if kind == "openid":
        return {"openid": draw(iris)}
    return {"account": {"homePage": draw(iris), "name": draw(st.text(max_size=10))}}


@st.composite
def agents(draw: st.DrawFn, object_type: bool | None = None) -> dict[str, Json]:
    out = draw(ifis())
    if object_type or (object_type is None and draw(st.booleans())):
        out["objectType"] = "Agent"
    if draw(st.booleans()):
        out["name"] = draw(st.text(max_size=10))
    return out


@st.composite
def groups(draw: st.DrawFn) -> dict[str, Json]:
    out: dict[str, Json] = {"objectType": "Group"}
    identified = draw(st.booleans())
    if identified:
        out.update(draw(ifis()))
    if not identified or draw(st.booleans()):
        out["member"] = draw(st.lists(agents(), min_size=0 if identified else 1, max_size=3))
    return out


actors = agents() | groups()

_COMPONENT_FOR = {
    "choice": "choices",
    "sequencing": "choices",
    "likert": "scale",
    "matching": "source",
    "performance": "steps",
}


@st.composite
def definitions(draw: st.DrawFn) -> dict[str, Json]:
    out: dict[str, Json] = {}
    if draw(st.booleans()):
        out["name"] = draw(lang_maps)
    if draw(st.booleans()):
        out["description"] = draw(lang_maps)
    if draw(st.booleans()):
        out["type"] = draw(iris)
    if draw(st.booleans()):
        out["moreInfo"] = draw(iris)
    if draw(st.booleans()):
        out["extensions"] = draw(extensions)
    if draw(st.booleans()):
        it = draw(
            st.sampled_from(
                [
                    "true-false",
                    "choice",
                    "fill-in",
                    "long-fill-in",
                    "matching",
                    "performance",
                    "sequencing",
                    "likert",
                    "numeric",
                    "other",
                ]
            )
        )
        out["interactionType"] = it
        out["correctResponsesPattern"] = draw(st.lists(st.text(max_size=10), max_size=3))
        if it in _COMPONENT_FOR:
            ids = draw(st.lists(st.text(max_size=5), unique=True, max_size=4))
            out[_COMPONENT_FOR[it]] = [{"id": i, "description": draw(lang_maps)} for i in ids]
    return out


@st.composite
def activities(draw: st.DrawFn) -> dict[str, Json]:
    out: dict[str, Json] = {"id": draw(iris)}
    if draw(st.booleans()):
        out["objectType"] = "Activity"
    if draw(st.booleans()):
        out["definition"] = draw(definitions())
    return out


@st.composite
def scores(draw: st.DrawFn) -> dict[str, Json]:
    out: dict[str, Json] = {}
    numbers = st.integers(-1000, 1000) | st.floats(-1000, 1000)
    if draw(st.booleans()):
        out["scaled"] = draw(st.integers(-1, 1) | st.floats(-1, 1))
    lo, hi = sorted(draw(st.lists(numbers, min_size=2, max_size=2, unique=True)))
    if lo == hi:  # e.g. 0 and 0.0
        hi = lo + 1
    raw = (
        draw(st.floats(lo, hi))
        if isinstance(lo, float) or isinstance(hi, float)
        else draw(st.integers(lo, hi))
    )
    for key, value in (("min", lo), ("max", hi), ("raw", raw)):
        if draw(st.booleans()):
            out[key] = value
    return out


@st.composite
def results(draw: st.DrawFn) -> dict[str, Json]:
    out: dict[str, Json] = {}
    if draw(st.booleans()):
        out["score"] = draw(scores())
    for key in ("success", "completion"):
        if draw(st.booleans()):
            out[key] = draw(st.booleans())
    if draw(st.booleans()):
        out["response"] = draw(st.text(max_size=20))
    if draw(st.booleans()):
        out["duration"] = draw(durations)
    if draw(st.booleans()):
        out["extensions"] = draw(extensions)
    return out


@st.composite
def contexts(draw: st.DrawFn, activity_object: bool) -> dict[str, Json]:
    out: dict[str, Json] = {}
    if draw(st.booleans()):
        out["registration"] = draw(uuids)
    if draw(st.booleans()):
        out["instructor"] = draw(actors)
    if draw(st.booleans()):
        out["team"] = draw(groups())
    if draw(st.booleans()):
        out["contextActivities"] = draw(
            st.dictionaries(
                st.sampled_from(["parent", "grouping", "category", "other"]),
                activities() | st.lists(activities(), max_size=2),
                max_size=4,
            )
        )
    if activity_object and draw(st.booleans()):
        out["revision"] = draw(st.text(max_size=5))
    if activity_object and draw(st.booleans()):
        out["platform"] = draw(st.text(max_size=5))
    if draw(st.booleans()):
        out["language"] = draw(st.sampled_from(_LANG_TAGS))
    if draw(st.booleans()):
        out["statement"] = {"objectType": "StatementRef", "id": draw(uuids)}
    if draw(st.booleans()):
        out["extensions"] = draw(extensions)
    return out


attachments = st.lists(
    st.fixed_dictionaries(
        {
            "usageType": iris,
            "display": lang_maps,
            "contentType": st.sampled_from(
                ["text/plain", "application/pdf", "image/jpeg", "text/plain; charset=utf-8"]
            ),
            "length": st.integers(0, 10**9),
            "sha2": st.text("0123456789abcdef", min_size=64, max_size=64),
        },
        optional={"description": lang_maps, "fileUrl": iris},
    ),
    max_size=2,
)


@st.composite
def statements(draw: st.DrawFn, sub: bool = False) -> dict[str, Json]:
    kinds = ["Activity", "Agent", "Group", "StatementRef"] + ([] if sub else ["SubStatement"])
    kind = draw(st.sampled_from(kinds))
    if kind == "Activity":
        obj = draw(activities())
    elif kind == "Agent":
        obj = draw(agents(object_type=True))
    elif kind == "Group":
        obj = draw(groups())
    elif kind == "StatementRef":
        obj = {"objectType": "StatementRef", "id": draw(uuids)}
    else:
        obj = draw(statements(sub=True))
        obj["objectType"] = "SubStatement"
    out: dict[str, Json] = {
        "actor": draw(actors),
        "verb": {"id": draw(iris)} | ({"display": draw(lang_maps)} if draw(st.booleans()) else {}),
        "object": obj,
    }
    if draw(st.booleans()):
        out["result"] = draw(results())
    if draw(st.booleans()):
        out["context"] = draw(contexts(kind == "Activity"))
    if draw(st.booleans()):
        out["timestamp"] = draw(timestamps)
    if draw(st.booleans()):
        out["attachments"] = draw(attachments)
    if not sub:
        if draw(st.booleans()):
            out["id"] = draw(uuids)
        if draw(st.booleans()):
            out["stored"] = draw(timestamps)
        if draw(st.booleans()):
            out["authority"] = draw(agents())
        if draw(st.booleans()):
            out["version"] = draw(st.sampled_from(["1.0", "1.0.0", "1.0.3", "1.0.99"]))
    return out


_FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_FUZZ
@given(statements())
def test_generated_valid_statements_pass(stmt: dict[str, Json]) -> None:
    """GEN-014..STMT-110: any statement built by the rules passes, unchanged, also after a
    JSON round trip (what the HTTP layer hands over)."""
    before = copy.deepcopy(stmt)
    validate_statement(stmt)
    assert stmt == before
    validate_statement(orjson.loads(orjson.dumps(stmt)))


@_FUZZ
@given(json_values)
def test_arbitrary_json_raises_only_invalid_statement(value: Json) -> None:
    """GEN-002: arbitrary JSON never crashes the validator; it passes or is rejected."""
    try:
        validate_statement(value)
    except InvalidStatement as e:
        message = e.message
    else:
        return
    assert re.match(r"^statement(\.|\[|:)", message)


def _nodes(value: Json, path: str, in_extensions: bool = False) -> Iterator[tuple[Json, str, bool]]:
    """Every (container, path, inside-an-extensions-map) in a JSON document."""
    if isinstance(value, dict):
        yield value, path, in_extensions
        for k, v in value.items():
            yield from _nodes(v, f"{path}.{k}", in_extensions or k == "extensions")
    elif isinstance(value, list):
        yield value, path, in_extensions
        for i, v in enumerate(value):
            yield from _nodes(v, f"{path}[{i}]", in_extensions)


@_FUZZ
@given(statements(), st.data())
def test_subtree_replaced_by_garbage_raises_only_invalid_statement(
    stmt: dict[str, Json], data: st.DataObject
) -> None:
    """GEN-001/002/006: replacing any part of a valid statement with arbitrary JSON either
    still validates or raises InvalidStatement - never anything else."""
    containers = [(node, path) for node, path, _ in _nodes(stmt, "statement")]
    node, _ = data.draw(st.sampled_from(containers))
    keys = list(node.keys()) if isinstance(node, dict) else list(range(len(node)))
    assume(keys)
    key = data.draw(st.sampled_from(keys))
    node[key] = data.draw(json_values)
    with contextlib.suppress(InvalidStatement):
        validate_statement(stmt)


@_FUZZ
@given(statements(), st.data())
def test_unknown_property_anywhere_is_rejected(stmt: dict[str, Json], data: st.DataObject) -> None:
    """GEN-006: an unknown key in any object outside extensions is rejected, by path."""
    dicts = [
        (node, path)
        for node, path, in_ext in _nodes(stmt, "statement")
        if isinstance(node, dict)
        and not in_ext
        and not path.endswith(("display", "name", "description"))
    ]
    node, path = data.draw(st.sampled_from(dicts))
    node["zz_unknown"] = 1
    assert rejected(stmt) == f"{path}.zz_unknown: unknown property"


@_FUZZ
@given(statements(), st.data())
def test_null_anywhere_outside_extensions_is_rejected(
    stmt: dict[str, Json], data: st.DataObject
) -> None:
    """GEN-001: a null value anywhere but inside an extensions map is rejected."""
    slots = [
        (node, key, f"{path}.{key}" if isinstance(node, dict) else f"{path}[{key}]")
        for node, path, in_ext in _nodes(stmt, "statement")
        if not in_ext
        for key in (node.keys() if isinstance(node, dict) else range(len(node)))
        if not (isinstance(node, dict) and key == "extensions")
    ]
    node, key, where = data.draw(st.sampled_from(slots))
    node[key] = None
    assert rejected(stmt) == f"{where}: must not be null"
