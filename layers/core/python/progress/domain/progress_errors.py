"""Errors of the progress model (attempts, completions, rules) and why a Statement is skipped.

A skipped Statement is not an error of ingestion: it is stored and announced like any other, and
the projection records the reason and moves on (a Statement that cannot be projected never blocks
anything). The aggregates raise ``ProjectionRefused`` only when a caller ignores that verdict.
"""

from __future__ import annotations

from enum import StrEnum

from progress.domain.errors import BadRequest, Conflict, DomainError


class SkipReason(StrEnum):
    """Why a Statement leaves progress unchanged."""

    NOT_PROJECTABLE = "not-projectable"  # no identified learner, or the object is no Activity
    NOT_TRACKED = "not-tracked"  # its verb plays no part in the tenant's progress rules
    DUPLICATE = "duplicate"  # already applied (or already voided): idempotent redelivery
    AFTER_CLOSE = "after-close"  # a session's Statement timestamped after the session closed
    NOTHING_TO_VOID = "nothing-to-void"  # voiding a Statement progress never counted


class InvalidTransition(Conflict):
    """An attempt was asked to move between states the transition table does not allow."""

    def __init__(self, attempt_id: str, current: str, target: str) -> None:
        super().__init__(f"attempt {attempt_id}: cannot go from {current} to {target}")
        self.attempt_id = attempt_id
        self.current = current
        self.target = target


class ProjectionRefused(Conflict):
    """A Statement was applied to an attempt that must not take it (see ``SkipReason``)."""

    def __init__(self, attempt_id: str, statement_id: str, reason: SkipReason) -> None:
        super().__init__(f"attempt {attempt_id}: statement {statement_id} refused ({reason})")
        self.attempt_id = attempt_id
        self.statement_id = statement_id
        self.reason = reason


class NotExpired(Conflict):
    """An open attempt was asked to expire before its inactivity timeout ran out."""

    def __init__(self, attempt_id: str, expires_at_us: int) -> None:
        super().__init__(f"attempt {attempt_id}: not inactive long enough to expire")
        self.attempt_id = attempt_id
        self.expires_at_us = expires_at_us


class AttemptMismatch(DomainError):
    """A Statement was routed to an attempt of another learner, activity, registration or
    session, or to an attempt whose time window does not hold it: a caller's bug."""

    def __init__(self, attempt_id: str, statement_id: str) -> None:
        super().__init__(f"attempt {attempt_id}: statement {statement_id} belongs elsewhere")
        self.attempt_id = attempt_id
        self.statement_id = statement_id


class InvalidRules(BadRequest):
    """A tenant's progress rules are inconsistent; the message names the setting (400)."""


class InvalidRecord(DomainError):
    """A score or completion record would break its invariants."""
