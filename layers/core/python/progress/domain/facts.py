"""What progress needs of a stored Statement: a small ``StatementFact``, extracted once.

Projection never reads the Statement body, only this fact, so it can be carried whole by the
``progress.statement.stored.v1`` event and replayed without the Statement store.

Times are epoch microseconds, like ``stored``. ``at_us`` is the time progress orders by: the
Statement's ``timestamp`` (cmi5 §9.3: "order is determined by the value of the timestamp"),
but never later than ``stored``: a clock running ahead must not push an attempt's window into the
future, where it would swallow the learner's next attempt.
"""

from __future__ import annotations

import hashlib
import json
import json.encoder
import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from progress.domain.progress_errors import InvalidRecord
from progress.domain.statements import VOIDED_VERB, agent_key, to_micros

CMI5_SESSION = "https://w3id.org/xapi/cmi5/context/extensions/sessionid"  # cmi5 §9.6.3.1
SCORM_ATTEMPT_TYPE = "http://adlnet.gov/expapi/activities/attempt"  # SP§5.0, SCORM-003

# Namespace of every id progress derives (attempts, completions, events): fixed forever, since
# redelivered and replayed events must keep their ids for the consumers' inboxes.
NAMESPACE = uuid.UUID("0b5f7c0e-6a43-5d0c-9b1e-3f4a2c8d9e10")


_NAMESPACE_BYTES = NAMESPACE.bytes


def stable_id(kind: str, *parts: object) -> str:
    """A UUID (v5) that depends only on ``kind`` and ``parts``: the same inputs, the same id.

    The name is the JSON array ``[kind, *parts]`` (``json.dumps``, ``ensure_ascii=False``);
    the UUID is RFC 4122's v5 of it, computed inline: this runs once per ingested Statement."""
    try:  # the hot case, texts, null and integers: the same text json.dumps makes, faster
        name = "[" + ", ".join(map(_json_scalar, (kind, *parts))) + "]"
    except _NotScalar:
        name = json.dumps([kind, *parts], ensure_ascii=False)
    digest = bytearray(
        hashlib.sha1(_NAMESPACE_BYTES + name.encode(), usedforsecurity=False).digest()[:16]
    )
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_json_string = json.encoder.encode_basestring  # a JSON string literal (C), non-ASCII kept


class _NotScalar(Exception):
    pass


def _json_scalar(value: object) -> str:
    """``json.dumps(value, ensure_ascii=False)`` of a text, None or an integer (not a bool)."""
    if isinstance(value, str):
        return _json_string(value)
    if value is None:
        return "null"
    if type(value) is int:  # an IntEnum or a bool is written otherwise
        return str(value)
    raise _NotScalar


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


@dataclass(frozen=True, slots=True)
class Score:
    """A result score (D§2.4.5.1): scaled in [-1, 1], raw within [min, max], min < max."""

    scaled: float | None = None
    raw: float | None = None
    min: float | None = None
    max: float | None = None

    def __post_init__(self) -> None:
        if self.scaled is None and self.raw is None and self.min is None and self.max is None:
            raise InvalidRecord("score: at least one of scaled, raw, min, max")
        if self.scaled is not None and not -1 <= self.scaled <= 1:
            raise InvalidRecord(f"score.scaled: {self.scaled} is outside [-1, 1]")
        if self.min is not None and self.max is not None and self.min >= self.max:
            raise InvalidRecord(f"score: min {self.min} must be below max {self.max}")
        if self.raw is not None and (
            (self.min is not None and self.raw < self.min)
            or (self.max is not None and self.raw > self.max)
        ):
            raise InvalidRecord(f"score.raw: {self.raw} is outside [min, max]")

    @classmethod
    def parse(cls, value: Any) -> Score | None:
        """The score of a result, or None when absent or unusable (never raises: a Statement
        whose score cannot be used still counts for everything else)."""
        if not isinstance(value, Mapping):
            return None
        fields = {name: _number(value.get(name)) for name in ("scaled", "raw", "min", "max")}
        try:
            return cls(**fields)
        except InvalidRecord:
            return None

    def to_json(self) -> dict[str, float]:
        out = {"scaled": self.scaled, "raw": self.raw, "min": self.min, "max": self.max}
        return {name: value for name, value in out.items() if value is not None}


@dataclass(frozen=True, slots=True)
class AttemptKey:
    """Whose attempts, at what: one learner, one Activity, one registration (or none), and one
    session when the Statements name it (a cmi5 session id, or a SCORM attempt IRI). Attempts
    of a key without a session follow one another in time; a session has exactly one attempt."""

    tenant: str
    learner: str
    activity_id: str
    registration: str | None = None
    session: str | None = None

    def attempt_id(self, seq: int) -> str:
        return stable_id(
            "attempt",
            self.tenant,
            self.learner,
            self.activity_id,
            self.registration,
            self.session,
            seq,
        )


@dataclass(frozen=True, slots=True)
class StatementFact:
    """The progress-relevant content of one stored Statement of one tenant."""

    tenant: str
    id: str
    stored_us: int
    timestamp_us: int
    verb: str
    learner: str | None = None  # agent_key of the actor; None for an anonymous Group
    activity_id: str | None = None  # the object, when it is an Activity
    registration: str | None = None
    session: str | None = None
    success: bool | None = None
    completion: bool | None = None
    score: Score | None = None
    duration: str | None = None
    voids: str | None = None  # a voiding Statement: the id of its target
    voided: bool = False  # this Statement has been voided (VOID-002: ignore it for progress)

    @property
    def at_us(self) -> int:
        return min(self.timestamp_us, self.stored_us)

    @property
    def key(self) -> AttemptKey | None:
        """The attempts this Statement can count toward; None when it cannot be projected."""
        if self.learner is None or self.activity_id is None:
            return None
        return AttemptKey(
            self.tenant, self.learner, self.activity_id, self.registration, self.session
        )

    def voided_copy(self) -> StatementFact:
        """This fact as it reads once its Statement is voided."""
        return replace(self, voided=True)


def parse_timestamp_us(value: Any) -> int | None:
    """Epoch microseconds of an ISO 8601 timestamp (UTC when it has no offset), else None."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)  # Python >= 3.11 reads a trailing Z
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return to_micros(parsed)


def _items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def session_of(context: Any) -> str | None:
    """cmi5 §9.6.3.1 session id extension, else the SCORM attempt activity in ``grouping``
    (SP§5.0, SCORM-003), prefixed with their scheme so that the two can never collide."""
    if not isinstance(context, Mapping):
        return None
    extensions = context.get("extensions")
    if isinstance(extensions, Mapping):
        session = extensions.get(CMI5_SESSION)
        if isinstance(session, str) and session:
            return f"cmi5:{session}"
    activities = context.get("contextActivities")
    grouping = activities.get("grouping") if isinstance(activities, Mapping) else None
    for item in _items(grouping):
        definition = item.get("definition") if isinstance(item, Mapping) else None
        if isinstance(definition, Mapping) and definition.get("type") == SCORM_ATTEMPT_TYPE:
            return f"scorm:{item.get('id')}"
    return None


def _flag(result: Mapping[str, Any], name: str) -> bool | None:
    value = result.get(name)
    return value if isinstance(value, bool) else None


def statement_fact(
    tenant: str, statement: Mapping[str, Any], stored_us: int, *, voided: bool = False
) -> StatementFact:
    """Extract the fact of a stored Statement (validated at ingest, but read defensively: this
    never raises on a Statement the store holds)."""
    actor = statement.get("actor")
    verb = statement.get("verb")
    obj = statement.get("object")
    obj = obj if isinstance(obj, Mapping) else {}
    context = statement.get("context")
    result = statement.get("result")
    result = result if isinstance(result, Mapping) else {}
    context_map = context if isinstance(context, Mapping) else {}
    registration = context_map.get("registration")
    verb_id = str(verb.get("id")) if isinstance(verb, Mapping) else ""
    kind = obj.get("objectType", "Activity")
    duration = result.get("duration")
    timestamp = parse_timestamp_us(statement.get("timestamp"))
    return StatementFact(
        tenant=tenant,
        id=str(statement.get("id", "")).lower(),
        stored_us=stored_us,
        timestamp_us=stored_us if timestamp is None else timestamp,
        verb=verb_id,
        learner=agent_key(actor) if isinstance(actor, Mapping) else None,
        activity_id=str(obj["id"]) if kind == "Activity" and "id" in obj else None,
        registration=str(registration).lower() if registration is not None else None,
        session=session_of(context),
        success=_flag(result, "success"),
        completion=_flag(result, "completion"),
        score=Score.parse(result.get("score")),
        duration=duration if isinstance(duration, str) else None,
        voids=str(obj.get("id")).lower()
        if verb_id == VOIDED_VERB and kind == "StatementRef"
        else None,
        voided=voided,
    )
