"""The internal admin API (``/admin``): its documents, authorization and list paging.

The OpenAPI 3.1 document (``schemas/openapi/admin-api.json``) is generated from these pydantic
models and the routes of ``functions/admin_api/handler.py`` (``make openapi``); a test fails
when the committed document and the code differ.

Who may call what (``progress.domain.tenancy.Scope``):
* ``operator``: tenants and dead letters, and everything of every tenant;
* ``admin``: everything under ``/admin/tenants/{tenant}`` of its own tenant only.

Every list answers ``{"items": [...], "next": <cursor or null>}``; ``cursor=<next>`` fetches the
next page. Cursors are opaque and HMAC-signed (the codec of ``more`` in GET /statements), bound
to the list and tenant they were issued for, so a tampered or misplaced cursor is a 400.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import BaseModel, ConfigDict, Field

from progress.domain.errors import Forbidden, InvalidParameter
from progress.domain.statements import Position
from progress.domain.tenancy import Principal, Scope
from progress.edge.xapi.cursor import CursorCodec

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
TENANT_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"

Limit = Annotated[int, Field(ge=1, le=MAX_LIMIT, description="page size")]


class _In(BaseModel):
    """Request documents: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


# ------------------------------------------------------------------------------ tenants


class TenantIn(_In):
    id: str = Field(pattern=TENANT_PATTERN, description="1-63 of a-z 0-9 -, first not '-'")
    name: str | None = Field(default=None, min_length=1, max_length=200)


class TenantOut(BaseModel):
    id: str
    name: str
    created: str = Field(description="RFC 3339, UTC")


class TenantPage(BaseModel):
    items: list[TenantOut]
    next: str | None = Field(description="cursor of the next page; null on the last")


# ------------------------------------------------------------------------------ credentials


class ScopeName(StrEnum):
    """The scopes a credential may carry (xAPI's, plus ``admin`` and ``operator``)."""

    ALL = Scope.ALL.value
    ALL_READ = Scope.ALL_READ.value
    STATEMENTS_WRITE = Scope.STATEMENTS_WRITE.value
    STATEMENTS_READ = Scope.STATEMENTS_READ.value
    STATEMENTS_READ_MINE = Scope.STATEMENTS_READ_MINE.value
    STATE = Scope.STATE.value
    DEFINE = Scope.DEFINE.value
    PROFILE = Scope.PROFILE.value
    ADMIN = Scope.ADMIN.value
    OPERATOR = Scope.OPERATOR.value


class CredentialIn(_In):
    scopes: list[ScopeName] = Field(min_length=1, max_length=len(ScopeName))
    label: str = Field(default="api", min_length=1, max_length=100)
    agent: dict[str, Any] | None = Field(
        default=None,
        description="a learner's own credential: the learner (an xAPI Agent) whose progress"
        " statements/read/mine lets it read",
    )


class CredentialOut(BaseModel):
    key: str
    tenant: str
    scopes: list[str]
    label: str
    created: str
    learner: str | None = Field(description="the learner of a learner's own credential")


class NewCredential(CredentialOut):
    secret: str | None = Field(
        description="shown once, in the response that created the credential; only a scrypt"
        " hash is stored, so a replay of the request (same Idempotency-Key) has null here:"
        " revoke the credential and create another if that first response was lost"
    )


class CredentialPage(BaseModel):
    items: list[CredentialOut]
    next: str | None


# ------------------------------------------------------------------------------ progress


class Score(BaseModel):
    model_config = ConfigDict(extra="allow")
    scaled: float | None = None
    raw: float | None = None
    min: float | None = None
    max: float | None = None


class CompletionOut(BaseModel):
    id: str
    completed: bool
    passed: bool
    failed: bool
    score: Score | None
    duration: str | None
    time: str | None
    statement_ids: list[str]
    mastery_score: float | None


class AttemptOut(BaseModel):
    id: str
    sequence: int
    learner: str = Field(description="the learner's identifier (agent key)")
    activity_id: str
    registration: str | None
    session: str | None
    state: Literal["open", "closed"]
    version: int
    started: str
    last_activity: str
    closed: str | None
    close_reason: str | None
    completion: CompletionOut | None


class AttemptPage(BaseModel):
    items: list[AttemptOut]
    next: str | None


class LearnerOut(BaseModel):
    learner: dict[str, Any] = Field(description="{id: agent key, name}")
    totals: dict[str, Any]
    transcript: str = Field(description="the path of the learner's transcript")


class LearnerListed(BaseModel):
    id: str = Field(description="the learner's identifier (agent key)")
    agent: dict[str, Any] = Field(
        description="the xAPI Agent the identifier stands for: its one IFI (mbox, mbox_sha1sum,"
        " openid or account)"
    )
    learner: str = Field(description="the path of this learner's summary (name and totals)")
    transcript: str = Field(description="the path of the learner's transcript")


class LearnerPage(BaseModel):
    """The learners of a tenant that have at least one attempt, in an order of the store's."""

    items: list[LearnerListed]
    next: str | None = Field(description="cursor of the next page (as cursor=); null on the last")


# ------------------------------------------------------------------------------ dead letters


class DeadLetterOut(BaseModel):
    id: str
    consumer: str
    event_id: str | None
    event_type: str | None
    tenant: str | None
    reason: str
    failed: str
    attempts: int


class DeadLetterPage(BaseModel):
    items: list[DeadLetterOut]
    next: str | None


class RedriveIn(_In):
    consumer: str | None = Field(default=None, description="all of this consumer's letters")
    ids: list[str] = Field(default_factory=list, max_length=1000, description="or these only")


class RedriveFailure(BaseModel):
    id: str
    error: str


class RedriveOut(BaseModel):
    redriven: list[str]
    failed: list[RedriveFailure]


# ------------------------------------------------------------------------------ exports


class ExportIn(_In):
    kind: Literal["statements", "attempts", "completions"]
    format: Literal["ndjson", "csv"] = "ndjson"
    agent: dict[str, Any] | None = Field(
        default=None, description="one learner (an xAPI Agent); absent: the whole tenant"
    )


class ExportProgress(BaseModel):
    rows: int
    total: int | None


class ExportDownload(BaseModel):
    url: str
    expires: str = Field(description="RFC 3339; fetch a fresh URL from the job after that")


class ExportOut(BaseModel):
    id: str
    tenant: str
    kind: str
    format: str
    learner: str | None
    status: Literal["queued", "running", "done", "failed"]
    created: str
    updated: str
    progress: ExportProgress
    error: str | None
    size: int | None
    sha256: str | None
    download: ExportDownload | None


class ExportPage(BaseModel):
    items: list[ExportOut]
    next: str | None


class ErrorBody(BaseModel):
    status: int
    message: str


class ErrorOut(BaseModel):
    error: ErrorBody


Responses = dict[int, OpenAPIResponse]


def _answer(description: str, model: Any) -> OpenAPIResponse:
    if model is None:
        return {"description": description}
    return {"description": description, "content": {"application/json": {"model": model}}}


ERRORS: Responses = {
    code: _answer(text, ErrorOut)
    for code, text in (
        (400, "bad input; the message names the field, parameter or header at fault"),
        (401, "no or unknown credentials"),
        (403, "the credential's scopes do not allow this"),
        (404, "no such resource"),
    )
}
WRITE_ERRORS: Responses = {
    **ERRORS,
    409: _answer("the Idempotency-Key is still in use, or a conflict with stored data", ErrorOut),
    422: _answer("Idempotency-Key reused with a different request", ErrorOut),
    503: _answer("storage unavailable: the outcome is unknown, retry with the same key", ErrorOut),
}
TRANSCRIPT: Responses = {
    200: {
        "description": "the transcript (JSON, or PDF with format=pdf or Accept: application/pdf)",
        "content": {"application/json": {"schema": {}}, "application/pdf": {"schema": {}}},
    },
    **ERRORS,
}


def ok(model: Any, description: str = "OK") -> Responses:
    """A read: 200 with ``model``, and the errors every route may answer."""
    return {200: _answer(description, model), **ERRORS}


def written(answers: dict[int, tuple[str, Any]]) -> Responses:
    """A write: its answers (status: (description, model or None)) and the write errors."""
    return {
        **{code: _answer(text, model) for code, (text, model) in answers.items()},
        **WRITE_ERRORS,
    }


# ------------------------------------------------------------------------------ authorization


def require_operator(principal: Principal) -> None:
    if not principal.is_operator():
        raise Forbidden("credentials lack the operator scope this resource needs")


def require_admin(principal: Principal, tenant: str) -> None:
    if not principal.may_administer(tenant):
        raise Forbidden(
            f"tenant: credentials may not administer {tenant!r}"
            " (the admin scope of that tenant, or operator, is needed)"
        )


# ------------------------------------------------------------------------------ paging


def encode_cursor(
    cursors: CursorCodec, listing: str, tenant: str, at: tuple[int, str], **carried: str
) -> str:
    return cursors.encode({"list": listing, "tenant": tenant, **carried}, Position(*at))


def decode_cursor(
    cursors: CursorCodec, token: str, listing: str, tenant: str
) -> tuple[dict[str, str], tuple[int, str]]:
    """(the parameters the cursor carries, its position); 400 unless issued for this list."""
    try:
        params, at = cursors.decode(token)
    except InvalidParameter:
        raise InvalidParameter("cursor: not a cursor this service issued") from None
    if params.pop("list", None) != listing or params.pop("tenant", None) != tenant:
        raise InvalidParameter(f"cursor: issued for another list than {listing} of {tenant!r}")
    return params, (at.stored_us, at.statement_id)


def scopes_granted(principal: Principal, wanted: list[ScopeName]) -> frozenset[Scope]:
    """An admin may hand out its tenant's scopes, but only an operator may make operators."""
    scopes = frozenset(Scope(s.value) for s in wanted)
    if Scope.OPERATOR in scopes and not principal.is_operator():
        raise Forbidden("scopes: only an operator may grant the operator scope")
    return scopes


def agent_of(agent: dict[str, Any]) -> str:
    """The learner key of an Agent object; 400 naming ``agent`` when it has no identifier."""
    from progress.domain.statements import agent_key
    from progress.edge.xapi.validation import validate_agent

    validate_agent(agent, "agent")
    key = agent_key(agent)
    if key is None:
        raise InvalidParameter("agent: an Agent with one identifier is required")
    return key
