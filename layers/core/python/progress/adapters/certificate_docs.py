"""The documents of a certificate: its JSON record, and the wording the PDF shows.

Light on purpose (orjson only): the verification API serves the JSON record and must not pay
for the PDF library. ``progress.adapters.pdf`` renders the PDF from the same wording.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from progress.app.ports import Certificate
from progress.domain.facts import Score
from progress.domain.statements import format_stored

PDF_CONTENT_TYPE = "application/pdf"
JSON_CONTENT_TYPE = "application/json"

_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip

# Agent keys (``progress.domain.statements.agent_key``) and other IFI spellings: the prefix to
# strip, and whether what follows is ``homePage|name`` (an account: show the name).
_LEARNER_PREFIXES = (
    ("mbox:mailto:", False),
    ("mailto:", False),
    ("mbox:", False),
    ("acct:", True),
    ("account:", True),
    ("openid:", False),
    ("sha1:", False),
    ("mbox_sha1sum:", False),
)


def learner_display(certificate: Certificate) -> str:
    """The learner's name, else their identifier without its IFI prefix."""
    return learner_text(certificate.learner, certificate.learner_name)


def learner_text(key: str, name: str | None) -> str:
    """A learner as documents show them: ``name``, else the agent key ``key`` without its IFI
    prefix (an account: its name)."""
    name = (name or "").strip()
    if name:
        return name
    for prefix, is_account in _LEARNER_PREFIXES:
        if key.startswith(prefix):
            rest = key[len(prefix) :]
            if is_account and "|" in rest:
                home, _, account_name = rest.rpartition("|")
                return account_name or home
            return rest
    return key


def activity_display(certificate: Certificate) -> str:
    name = (certificate.activity_name or "").strip()
    return name or certificate.activity_id


def completion_date(certificate: Certificate) -> str:
    """The UTC date of completion, in English whatever the process locale (``2 March 2025``)."""
    return day_text(datetime.fromtimestamp(certificate.achieved_us // 1_000_000, tz=UTC))


def day_text(day: datetime, *, short: bool = False) -> str:
    """A date in English whatever the process locale: ``2 March 2025``, or ``2 Mar 2025`` when
    ``short``."""
    month = _MONTHS[day.month - 1]
    return f"{day.day} {month[:3] if short else month} {day.year}"


def _number(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def score_text(score: Score | None) -> str | None:
    """``87.5%`` from a scaled score, else ``42 / 50`` (or ``42``) from a raw one; None when
    there is nothing to show."""
    if score is None:
        return None
    if score.scaled is not None:
        return f"{_number(score.scaled * 100)}%"
    if score.raw is not None:
        if score.max is not None:
            return f"{_number(score.raw)} / {_number(score.max)}"
        return _number(score.raw)
    return None


def status_text(certificate: Certificate) -> str:
    if certificate.passed:
        return "passed"
    return "completed" if certificate.completed else "not completed"


def title_text(certificate: Certificate) -> str:
    return "Certificate of achievement" if certificate.passed else "Certificate of completion"


def certificate_record(certificate: Certificate, verify_url: str) -> dict[str, Any]:
    """The public fields of a certificate: no tenant, no storage keys, and the learner as the
    certificate shows them (their name; their identifier only when no name is known), never
    the raw agent key."""
    score = certificate.score
    return {
        "id": certificate.id,
        "learner": learner_display(certificate),
        "activity_id": certificate.activity_id,
        "activity_name": certificate.activity_name,
        "completed": certificate.completed,
        "passed": certificate.passed,
        "score": None if score is None else score.to_json(),
        "achieved": format_stored(certificate.achieved_us),
        "issued": format_stored(certificate.issued_us),
        "revoked": certificate.revoked,
        "attempt_version": certificate.attempt_version,
        "completion_id": certificate.completion_id,
        "verify_url": verify_url,
    }


def certificate_json(certificate: Certificate, verify_url: str) -> bytes:
    """The JSON record stored beside the PDF (keys sorted: the same certificate, the same
    bytes)."""
    return orjson.dumps(certificate_record(certificate, verify_url), option=orjson.OPT_SORT_KEYS)
