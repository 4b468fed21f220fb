"""The one catalog of what the service runs: functions, HTTP routes, event rules, state machines
and the metric names. Pure data: no AWS imports.

Both runtimes read it. ``progress.local`` serves the routes with the very handlers (and runs the
route's authorizer first, as API Gateway does); ``infra/`` builds one Lambda per function, one
API resource per route, one EventBridge rule per rule and one state machine per entry.
``tests/infra/test_divergence.py`` fails when the synthesized templates and this catalog differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class Trigger(StrEnum):
    """How a function is invoked; it decides the wiring infra gives it."""

    API = "api"  # the target of a Route, behind API Gateway (synchronous)
    AUTHORIZER = "authorizer"  # an API Gateway REQUEST authorizer (synchronous)
    STREAM = "stream"  # the table's stream (the outbox relay): batches, bisect, on-failure DLQ
    EVENT = "event"  # the target of Rules (consumers): asynchronous, its own DLQ
    SCHEDULE = "schedule"  # run every ``Function.schedule_minutes`` (EventBridge Scheduler)
    TASK = "task"  # a state machine Task


class Access(StrEnum):
    """What a function's role may do; infra turns each into the narrowest grant it can."""

    TABLE_DATA = "table-data"  # read/write items of every tenant (the multi-tenant data plane)
    CREDENTIAL_LOOKUP = "credential-lookup"  # GetItem on ``CRED#*`` keys only
    CURSOR_SECRET = "cursor-secret"  # read the HMAC key of `more` cursors  # noqa: S105
    PUBLISH_EVENTS = "publish-events"  # put events on the service bus (the outbox relay)
    CERTIFICATES = "certificates"  # read/write the certificate bucket (PDF + JSON documents)
    EXPORTS = "exports"  # write (multipart) and read the export bucket's files: the exporter
    EXPORT_LINKS = "export-links"  # GetObject on export files: sign download URLs (presigned)
    DEAD_LETTERS = "dead-letters"  # receive/delete on the consumers' DLQs (list, redrive)


@dataclass(frozen=True, slots=True)
class Function:
    """``functions/<name>/handler.py`` with a ``lambda_handler``."""

    name: str
    trigger: Trigger
    access: frozenset[Access]
    description: str
    memory_mb: int = 1024
    timeout_s: int = 29
    schedule_minutes: int | None = None  # Trigger.SCHEDULE only


@dataclass(frozen=True, slots=True)
class Route:
    """Every method under ``prefix`` goes to ``function`` (API Gateway ``{prefix}/{proxy+}``).

    ``authorizer`` runs first on every method but OPTIONS (CORS preflight carries no
    credentials, Fetch standard §3.2.2).
    """

    prefix: str
    function: str
    description: str
    authorizer: str | None = "authorizer"


@dataclass(frozen=True, slots=True)
class Rule:
    """An EventBridge rule on the service bus: these detail types of ``source`` go to
    ``target`` (a ``Trigger.EVENT`` function)."""

    name: str
    source: str
    detail_types: tuple[str, ...]
    target: str
    description: str

    def matches(self, source: str, detail_type: str) -> bool:
        return source == self.source and detail_type in self.detail_types


@dataclass(frozen=True, slots=True)
class StateMachine:
    """``statemachines/<name>.asl.json``. Its ``${...}`` placeholders are substituted by infra:
    ``${<function>_arn}`` for each function in ``tasks``, plus ``${table_name}`` and
    ``${event_bus_name}``."""

    name: str
    tasks: tuple[str, ...]
    description: str

    @property
    def definition(self) -> str:
        return f"{self.name}.asl.json"


FUNCTIONS: Final[tuple[Function, ...]] = (
    Function(
        "xapi_api",
        Trigger.API,
        frozenset({Access.TABLE_DATA, Access.CURSOR_SECRET}),
        "xAPI 1.0.3 resources (statements, documents, activities, agents, about)",
        memory_mb=1769,  # one full vCPU: ingest is CPU-bound (parse, validate, serialize)
    ),
    Function(
        "authorizer",
        Trigger.AUTHORIZER,
        frozenset({Access.CREDENTIAL_LOOKUP}),
        "HTTP Basic key/secret -> tenant and scopes (API Gateway REQUEST authorizer)",
        timeout_s=10,
    ),
    Function(
        "outbox_relay",
        Trigger.STREAM,
        frozenset({Access.PUBLISH_EVENTS}),
        "Table stream -> EventBridge: publishes the outbox rows of new and changed items",
        timeout_s=60,
    ),
    Function(
        "projection",
        Trigger.EVENT,
        frozenset({Access.TABLE_DATA}),
        "progress.statement.stored.v1 -> attempts and completion records (inbox, outbox)",
        timeout_s=60,
    ),
    Function(
        "certificates",
        Trigger.EVENT,
        # CURSOR_SECRET: certificate ids are keyed by a key derived from it (bootstrap)
        frozenset({Access.TABLE_DATA, Access.CERTIFICATES, Access.CURSOR_SECRET}),
        "progress.completion.recorded.v1 -> one certificate per completion (PDF + JSON)",
        timeout_s=60,
    ),
    Function(
        "exporter",
        Trigger.EVENT,
        # CURSOR_SECRET: completion rows link their certificates, whose ids are keyed from it
        frozenset({Access.TABLE_DATA, Access.EXPORTS, Access.CURSOR_SECRET}),
        "progress.export.requested.v1 -> a compliance export file (NDJSON or CSV) in parts",
        timeout_s=900,  # Lambda's limit: longer exports checkpoint and continue (docs/exports.md)
    ),
    Function(
        "sweeper",
        Trigger.SCHEDULE,
        frozenset({Access.TABLE_DATA}),
        "Closes attempts past their inactivity timeout",
        timeout_s=300,
        schedule_minutes=5,
    ),
    Function(
        "progress_api",
        Trigger.API,
        frozenset({Access.TABLE_DATA, Access.CURSOR_SECRET, Access.CERTIFICATES}),
        "Attempts and completions per learner / activity; certificate verification",
    ),
    Function(
        "admin_api",
        Trigger.API,
        frozenset(
            {
                Access.TABLE_DATA,
                Access.CURSOR_SECRET,
                Access.PUBLISH_EVENTS,  # dead-letter redrive
                Access.DEAD_LETTERS,
                Access.EXPORT_LINKS,  # presigned download URLs of export files
            }
        ),
        "Internal admin API: tenants, credentials, learners, transcripts, exports, dead letters",
    ),
)

ROUTES: Final[tuple[Route, ...]] = (
    Route(
        "/xapi",
        "xapi_api",
        "xAPI 1.0.3 resources (statements, state, activity/agent profiles, activities, agents,"
        " about)",
    ),
    Route(
        "/progress",
        "progress_api",
        "Attempts and completion records per learner and per activity (cursor-paginated)",
    ),
    Route(
        "/admin",
        "admin_api",
        "Internal admin API (OpenAPI: schemas/openapi/admin-api.json)",
    ),
    Route(
        "/certificates",
        "progress_api",
        "Certificate verification: anyone holding a certificate's id may check it",
        authorizer=None,
    ),
    Route(
        "/exports",
        "progress_api",
        "Export downloads by signed, expiring URL (the local runtime's; S3 presigns on AWS)",
        authorizer=None,
    ),
)

RULES: Final[tuple[Rule, ...]] = (
    Rule(
        "statement-stored-to-projection",
        "progress",
        ("progress.statement.stored.v1",),
        "projection",
        "Every stored Statement is projected onto attempts and completion records",
    ),
    Rule(
        "completion-recorded-to-certificates",
        "progress",
        ("progress.completion.recorded.v1",),
        "certificates",
        "Each completion record (each new attempt version) issues or revises its certificate",
    ),
    Rule(
        "export-requested-to-exporter",
        "progress",
        ("progress.export.requested.v1",),
        "exporter",
        "A requested export (or its continuation) is written by the exporter",
    ),
)
# The GDPR erasure saga adds a state machine; until then the table is empty.
STATE_MACHINES: Final[tuple[StateMachine, ...]] = ()


def function(name: str) -> Function:
    for fn in FUNCTIONS:
        if fn.name == name:
            return fn
    raise KeyError(f"{name}: not in progress.catalog.FUNCTIONS")


def route_for(path: str) -> Route | None:
    for route in ROUTES:
        if path == route.prefix or path.startswith(route.prefix + "/"):
            return route
    return None


def rules_for(source: str, detail_type: str) -> tuple[Rule, ...]:
    """The rules an event matches: what EventBridge does on AWS and the local dispatcher does."""
    return tuple(rule for rule in RULES if rule.matches(source, detail_type))


# ---------------------------------------------------------------------------------------------
# Metrics (CloudWatch EMF via Powertools). The handlers emit them; infra/ charts and alarms on
# them by these names.

METRICS_NAMESPACE: Final = "progress"


class Metric(StrEnum):
    STATEMENTS_STORED = "StatementsStored"  # xapi_api: Statements accepted by PUT/POST
    STATEMENT_QUERY_LATENCY = "StatementQueryLatency"  # xapi_api: ms of a GET /statements query
    CREDENTIALS_REJECTED = "CredentialsRejected"  # authorizer: wrong key or secret
    # Emitted by the outbox relay and the projection consumer of issue 4 (events); the
    # dashboards already chart them and say so.
    OUTBOX_LAG = "OutboxLag"  # ms from outbox row commit to publication on the bus
    PROJECTION_LAG = "ProjectionLag"  # ms from event time to the projection's commit
