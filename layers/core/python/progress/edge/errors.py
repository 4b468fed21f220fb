"""Errors -> HTTP, in one table (never branch on message text)."""

from __future__ import annotations

from progress.domain import errors as e

STATUS: dict[type[e.DomainError], int] = {
    e.BadRequest: 400,
    e.Unauthorized: 401,
    e.Forbidden: 403,
    e.NotFound: 404,
    e.Conflict: 409,
    e.Gone: 410,
    e.PreconditionFailed: 412,
    e.PayloadTooLarge: 413,
    e.UnsupportedMediaType: 415,
    e.Unprocessable: 422,
    e.ServiceUnavailable: 503,
}


def status_of(exc: e.DomainError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500
