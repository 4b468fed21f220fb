"""Domain errors. Each maps to exactly one HTTP status in ``progress.edge.errors`` (one table)."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error the service raises on purpose; ``message`` is safe to show a client."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(DomainError):
    """The request is malformed or breaks an xAPI rule (400)."""


class InvalidStatement(BadRequest):
    """A Statement breaks an xAPI data rule; the message names the field path (400)."""


class InvalidParameter(BadRequest):
    """A query/form parameter or header is missing, unknown or malformed (400)."""


class Unauthorized(DomainError):
    """No credentials, or credentials the service does not recognise (401)."""


class Forbidden(DomainError):
    """Authenticated, but the credential's scopes do not allow this (403)."""


class NotFound(DomainError):
    """The single resource asked for does not exist (404)."""


class Gone(DomainError):
    """The resource existed but is no longer available, e.g. an expired signed URL (410)."""


class Conflict(DomainError):
    """The request conflicts with stored data, e.g. another Statement under a stored id (409)."""


class PreconditionFailed(DomainError):
    """An If-Match / If-None-Match precondition does not hold (412)."""


class PayloadTooLarge(DomainError):
    """A body, Statement, batch or attachment exceeds the configured limit (413)."""


class Unprocessable(DomainError):
    """Well-formed, but at odds with an earlier request, e.g. an Idempotency-Key reused with a
    different body (422)."""


class ServiceUnavailable(DomainError):
    """Storage is throttled or contended; the client should retry shortly (503)."""


class UnsupportedMediaType(DomainError):
    """The Content-Type is not one this resource accepts (415)."""
