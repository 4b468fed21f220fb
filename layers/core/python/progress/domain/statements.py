"""Statement value objects and the pure rules around them: index keys, voiding, equivalence.

The Statement body itself stays the plain ``dict`` parsed from the request (validated at the edge):
it is stored byte-for-byte as serialized once, so we never return a different serialization
(GEN-015). What the store needs beyond the body is extracted here, once, on ingest.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

VOIDED_VERB = "http://adlnet.gov/expapi/verbs/voided"
SIGNATURE_USAGE = "http://adlnet.gov/expapi/attachments/signature"

# Index key kinds. A key is "<kind>:<value>"; adapters hash them as they see fit.
ALL = "*"  # every statement: the unfiltered timeline
K_AGENT = "a"  # actor or object Agent/Group (and members of such a Group) -- `agent=`
K_RAGENT = "ra"  # an agent anywhere: + authority, instructor, team, SubStatement -- related_agents
K_VERB = "v"
K_ACTIVITY = "o"  # the object Activity -- `activity=`
K_RACTIVITY = "ro"  # an activity anywhere: + contextActivities, SubStatement -- related_activities
K_REGISTRATION = "r"

Json = dict[str, Any]


def agent_key(agent: Mapping[str, Any]) -> str | None:
    """The identity of an Agent or identified Group: its one IFI, normalised (D§2.4.2.3).

    ``mbox`` domains are case-insensitive (GEN-011), so the whole address is lower-cased after
    the ``mailto:`` scheme only for the domain part. Returns None for an anonymous Group.
    """
    mbox = agent.get("mbox")
    if mbox is not None:
        local, _, domain = str(mbox).partition("@")
        return f"mbox:{local}@{domain.lower()}"
    sha1 = agent.get("mbox_sha1sum")
    if sha1 is not None:
        return f"sha1:{str(sha1).lower()}"
    openid = agent.get("openid")
    if openid is not None:
        return f"openid:{openid}"
    account = agent.get("account")
    if isinstance(account, Mapping):
        return f"acct:{account.get('homePage')}|{account.get('name')}"
    return None


def agent_of_key(key: str) -> dict[str, Any]:
    """The Agent object an ``agent_key`` stands for: its one IFI (an account's ``homePage`` and
    ``name`` split at the first ``|``). ValueError for anything ``agent_key`` does not make."""
    kind, sep, value = key.partition(":")
    if sep:
        if kind == "mbox":
            return {"mbox": value}
        if kind == "sha1":
            return {"mbox_sha1sum": value}
        if kind == "openid":
            return {"openid": value}
        if kind == "acct" and "|" in value:
            home_page, _, name = value.partition("|")
            return {"account": {"homePage": home_page, "name": name}}
    raise ValueError(f"not an agent key: {key!r}")


def _agent_keys(obj: Mapping[str, Any]) -> Iterator[str]:
    """The IFIs an Agent/Group matches on: its own, and a Group's members' (C§2.1.3 agent)."""
    own = agent_key(obj)
    if own is not None:
        yield own
    members = obj.get("member")
    if isinstance(members, list):
        for member in members:
            if isinstance(member, Mapping):
                key = agent_key(member)
                if key is not None:
                    yield key


def _is_agentish(obj: Mapping[str, Any]) -> bool:
    return obj.get("objectType") in ("Agent", "Group")


def _context_activity_ids(context: Mapping[str, Any]) -> Iterator[str]:
    ctx_acts = context.get("contextActivities")
    if not isinstance(ctx_acts, Mapping):
        return
    for value in ctx_acts.values():
        items = value if isinstance(value, list) else [value]
        for item in items:
            if isinstance(item, Mapping) and "id" in item:
                yield str(item["id"])


def index_keys(statement: Mapping[str, Any]) -> frozenset[str]:
    """Every index key a Statement is findable under (its own; ref targets add theirs later).

    The ``related_*`` kinds are supersets of the plain kinds, so one index answers each query form
    (SAPI-024..029). Keys of a SubStatement object count for the related kinds only.
    """
    keys: set[str] = {ALL, f"{K_VERB}:{statement['verb']['id']}"}
    actor = statement["actor"]
    for k in _agent_keys(actor):
        keys.add(f"{K_AGENT}:{k}")
        keys.add(f"{K_RAGENT}:{k}")
    obj = statement["object"]
    obj_type = obj.get("objectType", "Activity")
    if obj_type == "Activity":
        keys.add(f"{K_ACTIVITY}:{obj['id']}")
        keys.add(f"{K_RACTIVITY}:{obj['id']}")
    elif _is_agentish(obj):
        for k in _agent_keys(obj):
            keys.add(f"{K_AGENT}:{k}")
            keys.add(f"{K_RAGENT}:{k}")
    elif obj_type == "SubStatement":
        keys.update(_related_only_keys(obj))
    keys.update(_related_only_keys({k: v for k, v in statement.items() if k != "object"}))
    context = statement.get("context")
    if isinstance(context, Mapping) and "registration" in context:
        keys.add(f"{K_REGISTRATION}:{str(context['registration']).lower()}")
    return frozenset(keys)


def _related_only_keys(stmt: Mapping[str, Any]) -> Iterator[str]:
    """related_agents / related_activities keys of a (Sub)Statement: every place they may occur."""
    for place in ("actor", "authority"):
        who = stmt.get(place)
        if isinstance(who, Mapping):
            for k in _agent_keys(who):
                yield f"{K_RAGENT}:{k}"
    obj = stmt.get("object")
    if isinstance(obj, Mapping):
        if obj.get("objectType", "Activity") == "Activity" and "id" in obj:
            yield f"{K_RACTIVITY}:{obj['id']}"
        elif _is_agentish(obj):
            for k in _agent_keys(obj):
                yield f"{K_RAGENT}:{k}"
    context = stmt.get("context")
    if isinstance(context, Mapping):
        for place in ("instructor", "team"):
            who = context.get(place)
            if isinstance(who, Mapping):
                for k in _agent_keys(who):
                    yield f"{K_RAGENT}:{k}"
        for activity_id in _context_activity_ids(context):
            yield f"{K_RACTIVITY}:{activity_id}"


def statement_ref_target(statement: Mapping[str, Any]) -> str | None:
    """The id a Statement's StatementRef object points at (lower-cased), or None."""
    obj = statement["object"]
    if obj.get("objectType") == "StatementRef":
        return str(obj["id"]).lower()
    return None


def is_voiding(statement: Mapping[str, Any]) -> bool:
    """VOID-001: the voided verb with a StatementRef object."""
    return bool(
        statement["verb"]["id"] == VOIDED_VERB
        and statement["object"].get("objectType") == "StatementRef"
    )


def attachment_hashes(statement: Mapping[str, Any]) -> tuple[str, ...]:
    """sha2 of every attachment object of a Statement (raw data travels beside it)."""
    atts = statement.get("attachments")
    if not isinstance(atts, list):
        return ()
    return tuple(str(a["sha2"]).lower() for a in atts if isinstance(a, Mapping) and "sha2" in a)


# ----------------------------------------------------------------------------------------------
# Time


def format_stored(us: int) -> str:
    """``stored`` / Consistent-Through rendering: RFC 3339 UTC with microseconds (GEN-020).

    We order by microseconds, so we render microseconds: a client passing a ``stored`` value back
    as ``since`` must exclude exactly that Statement.
    """
    return f"{_second(us // 1_000_000)}.{us % 1_000_000:06d}Z"


@lru_cache(maxsize=4096)
def _second(seconds: int) -> str:
    """The date and time of a second: strftime is most of ``format_stored``'s cost, and the
    values of one batch (and the timestamps of one session) share few seconds."""
    return f"{datetime.fromtimestamp(seconds, tz=UTC):%Y-%m-%dT%H:%M:%S}"


def to_micros(dt: datetime) -> int:
    """Epoch microseconds of an aware datetime, computed without float rounding."""
    delta = dt - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


# ----------------------------------------------------------------------------------------------
# Records moved through the ports


@dataclass(frozen=True, slots=True)
class NewStatement:
    """A validated Statement ready to store: its final body and what the indexes need."""

    id: str
    stored_us: int
    body: bytes  # the canonical serialization, returned as-is for format=exact
    keys: frozenset[str]
    ref_target: str | None = None  # StatementRef object target (voiding included)
    voiding: bool = False
    attachments: tuple[str, ...] = ()  # sha2 of attachments whose raw data the LRS holds
    # Its ``progress.statement.stored.v1`` envelope (JSON): the outbox row the store commits
    # with the Statement, and never when the Statement was already stored. Empty: none.
    event: bytes = b""


@dataclass(frozen=True, slots=True)
class StoredStatement:
    """A Statement as read back: body plus the state that is not part of the body."""

    id: str
    stored_us: int
    body: bytes
    key_groups: tuple[frozenset[str], ...]  # own keys first, then those inherited via refs
    voided: bool = False
    ref_target: str | None = None
    voiding: bool = False
    attachments: tuple[str, ...] = ()

    def matches(self, required: Iterable[str]) -> bool:
        """SAPI-040: match on own keys, or on the keys of a (transitively) referenced target."""
        need = frozenset(required)
        return any(need <= group for group in self.key_groups)


@dataclass(frozen=True, slots=True)
class Attachment:
    sha2: str
    content_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class StatementQuery:
    """A validated GET /statements query (C§2.1.3). ``required`` keys are ANDed (SAPI-036)."""

    required: frozenset[str] = field(default_factory=frozenset)
    since_us: int | None = None  # exclusive (SAPI-030)
    until_us: int | None = None  # inclusive (SAPI-031)
    ascending: bool = False
    limit: int = 0

    def primary_key(self) -> str:
        """The index to scan: the most selective key kind present, else the whole timeline."""
        for kind in (K_REGISTRATION, K_ACTIVITY, K_RACTIVITY, K_AGENT, K_RAGENT, K_VERB):
            for key in sorted(self.required):
                if key.startswith(kind + ":"):
                    return key
        return ALL


@dataclass(frozen=True, slots=True)
class Position:
    """Where a page stopped: the (stored, id) of its last Statement, in scan order."""

    stored_us: int
    statement_id: str


@dataclass(frozen=True, slots=True)
class Page:
    statements: list[StoredStatement]
    next: Position | None  # None when nothing is left


# ----------------------------------------------------------------------------------------------
# Equivalence (IMM-002): re-sent Statements and signatures are compared with this.

_LRS_ASSIGNED = ("id", "stored", "authority", "version")


def statements_equivalent(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """True when two Statements differ only in ways D§2.3.1 lets an LRS change.

    Ignored: LRS-assigned ``id``/``stored``/``authority``/``version``, a ``timestamp`` one side
    lacks (the LRS fills it from ``stored``), timestamp time zone and precision below 1 ms,
    a single contextActivities object vs a one-element array, Group member order, duration
    digits below 0.01 s, mbox domain case, and ``attachments`` omitted from either side.
    Not ignored: anything else, including language-map content and definition changes.
    """
    body_a, ts_a = _normalise_statement(a)
    body_b, ts_b = _normalise_statement(b)
    if ts_a is not None and ts_b is not None and ts_a != ts_b:
        return False
    return bool(body_a == body_b)


def _normalise_statement(stmt: Mapping[str, Any]) -> tuple[Any, Any]:
    """(normalised body without timestamp, normalised timestamp or None)."""
    out = {k: v for k, v in stmt.items() if k not in _LRS_ASSIGNED and k != "attachments"}
    ts = out.pop("timestamp", None)
    return _normalise(out), (None if ts is None else _normalise_timestamp(ts))


def _normalise_timestamp(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return to_micros(parsed) // 1000


def _normalise_duration(value: str) -> str:
    head, dot, frac = value.partition(".")
    if not dot:
        return value
    digits = "".join(ch for ch in frac if ch.isdigit())
    unit = frac[len(digits) :]
    return f"{head}.{(digits + '00')[:2]}{unit}"


def _normalise(value: Any) -> Any:
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in value.items():
            if k == "extensions":
                out[k] = v  # extension values are opaque JSON: compare as-is
            elif k == "contextActivities" and isinstance(v, Mapping):
                out[k] = {
                    ck: [_normalise(a) for a in (cv if isinstance(cv, list) else [cv])]
                    for ck, cv in v.items()
                }
            elif k == "member" and isinstance(v, list):
                out[k] = sorted((_normalise(m) for m in v), key=repr)
            elif k == "mbox" and isinstance(v, str):
                local, _, domain = v.partition("@")
                out[k] = f"{local}@{domain.lower()}"
            elif k == "duration" and isinstance(v, str):
                out[k] = _normalise_duration(v)
            elif k == "timestamp":
                out[k] = _normalise_timestamp(v)
            else:
                out[k] = _normalise(v)
        return out
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    return value


def normalise_context_activities(statement: dict[str, Any]) -> dict[str, Any]:
    """STMT-074: a single contextActivities object is stored (and so returned) as an array.

    Returns the statement itself when nothing changes (the common case: no copy).
    """
    changed = False
    out = statement
    context = statement.get("context")
    if isinstance(context, dict):
        ctx_acts = context.get("contextActivities")
        if isinstance(ctx_acts, dict) and any(not isinstance(v, list) for v in ctx_acts.values()):
            ctx_acts = {k: v if isinstance(v, list) else [v] for k, v in ctx_acts.items()}
            out = {**statement, "context": {**context, "contextActivities": ctx_acts}}
            changed = True
    obj = statement.get("object")
    if isinstance(obj, dict) and obj.get("objectType") == "SubStatement":
        sub = normalise_context_activities(obj)
        if sub is not obj:
            out = {**out, "object": sub} if changed else {**statement, "object": sub}
    return out
