"""Certificate issuance: the ``certificates`` consumer of ``progress.completion.recorded.v1``,
and verification.

One certificate per completion: its id is derived from (tenant, completion id) under a service
key (HMAC-SHA-256, shaped as an RFC 9562 UUIDv8), so redelivery, replay and out-of-order delivery
all land on the same certificate, while nobody can compute a certificate's id from what a
Statement reveals (the verification endpoint is public: the id is what a holder shares).

Each event carries the attempt version that recorded it; the store keeps the highest, so a
late, older event changes nothing. A completion that is achieved (completed or passed) issues
or revises the certificate; one that is no longer achieved (its Statements were voided) revokes
it. A completion that never was achieved (e.g. failed only) issues nothing.

The PDF and the JSON record are written to the blob store first, under keys that name the
version, then the certificate row commits with the inbox row: a crash in between leaves
unreferenced blobs and a redelivery that writes the same bytes again.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import uuid
from collections.abc import Callable
from typing import Any

from progress.app.names import activity_name, actor_name
from progress.app.ports import (
    ActivityStore,
    AlreadyProcessed,
    BlobStore,
    Certificate,
    CertificateStore,
    Clock,
    Envelope,
    InboxEntry,
    StatementStore,
)
from progress.domain.errors import BadRequest, NotFound
from progress.domain.events import CompletionRecorded
from progress.domain.facts import Score, parse_timestamp_us
from progress.domain.tenancy import tenant_hash

logger = logging.getLogger(__name__)

CERTIFICATES = "certificates"  # the consumer name its inbox rows carry
RECORDED_TYPE = CompletionRecorded.TYPE
_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")

Renderer = Callable[[Certificate, str], bytes]


def certificate_id(key: bytes, tenant: str, completion_id: str) -> str:
    """A keyed, stable id: UUIDv8 (RFC 9562 §5.8) of HMAC-SHA-256(key, tenant, completion)."""
    digest = bytearray(
        hmac.new(key, f"{tenant}\x1f{completion_id}".encode(), hashlib.sha256).digest()[:16]
    )
    digest[6] = (digest[6] & 0x0F) | 0x80  # version 8
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 9562 variant
    return str(uuid.UUID(bytes=bytes(digest)))


class CertificateService:
    def __init__(
        self,
        store: CertificateStore,
        blobs: BlobStore,
        statements: StatementStore,
        activities: ActivityStore,
        clock: Clock,
        *,
        render_pdf: Renderer,
        render_json: Renderer,
        base_url: str,
        id_key: bytes,
        consumer: str = CERTIFICATES,
    ) -> None:
        if len(id_key) < 16:
            raise ValueError("id_key: at least 16 bytes")
        self._id_key = id_key
        self._store = store
        self._blobs = blobs
        self._statements = statements
        self._activities = activities
        self._clock = clock
        self._pdf = render_pdf
        self._json = render_json
        self._base_url = base_url.rstrip("/")
        self._consumer = consumer

    def certificate_id(self, tenant: str, completion_id: str) -> str:
        return certificate_id(self._id_key, tenant, completion_id)

    def verify_url(self, certificate_id: str) -> str:
        return f"{self._base_url}/certificates/{certificate_id}"

    # ------------------------------------------------------------------ the consumer

    def handle(self, event: Envelope) -> Certificate | None:
        """Issue, revise or revoke the certificate of one completion record; None when the
        event changes nothing (older version, redelivery, never achieved)."""
        if event.get("type") != RECORDED_TYPE:
            raise BadRequest(
                f"type: certificates consume {RECORDED_TYPE}, got {event.get('type')!r}"
            )
        tenant, data = str(event["tenant"]), event["data"]
        entry = InboxEntry(self._consumer, str(event["id"]))
        cert_id = self.certificate_id(tenant, str(data["completion_id"]))
        version = int(data["attempt_version"])
        current = self._store.get(cert_id)
        if current is not None and current.attempt_version >= version:
            return None  # an older or the same version: the certificate already says more
        achieved = bool(data["completed"]) or bool(data["passed"])
        if not achieved and current is None:
            return None  # nothing was ever certified: nothing to revoke
        issued_us = parse_timestamp_us(event.get("time")) or self._clock.now_us()
        certificate = self._certificate(
            tenant, cert_id, data, version, achieved, current, issued_us
        )
        url = self.verify_url(cert_id)
        self._blobs.put(certificate.pdf_key, self._pdf(certificate, url), "application/pdf")
        self._blobs.put(certificate.json_key, self._json(certificate, url), "application/json")
        try:
            written = self._store.save(certificate, entry)
        except AlreadyProcessed:
            return None
        return certificate if written else None

    def _certificate(
        self,
        tenant: str,
        cert_id: str,
        data: dict[str, Any],
        version: int,
        achieved: bool,
        current: Certificate | None,
        issued_us: int,
    ) -> Certificate:
        activity_id = str(data["activity_id"])
        prefix = f"{tenant_hash(tenant)}/{cert_id}/v{version}"
        if not achieved:
            assert current is not None
            return Certificate(
                **{
                    **_fields(current),
                    "attempt_version": version,
                    "revoked": True,
                    "issued_us": issued_us,
                    "pdf_key": f"{prefix}.pdf",
                    "json_key": f"{prefix}.json",
                }
            )
        achieved_us = parse_timestamp_us(data.get("time")) or self._clock.now_us()
        return Certificate(
            id=cert_id,
            tenant=tenant,
            completion_id=str(data["completion_id"]),
            attempt_version=version,
            learner=str(data["learner"]),
            learner_name=actor_name(
                self._statements, tenant, (data.get("statement_ids") or [None])[-1]
            ),
            activity_id=activity_id,
            activity_name=activity_name(self._activities, tenant, activity_id, ("en-US",)),
            completed=bool(data["completed"]),
            passed=bool(data["passed"]),
            score=Score.parse(data.get("score")),
            achieved_us=achieved_us,
            issued_us=issued_us,  # the event's time: a redelivery renders the same bytes
            revoked=False,
            pdf_key=f"{prefix}.pdf",
            json_key=f"{prefix}.json",
        )

    # ------------------------------------------------------------------ verification

    def get(self, certificate_id: str) -> Certificate:
        """By id (public: the id is the secret a certificate holder shares)."""
        if not _ID.match(certificate_id):
            raise BadRequest(f"certificate id: {certificate_id!r} is not a certificate id")
        found = self._store.get(certificate_id)
        if found is None:
            raise NotFound(f"certificate {certificate_id}: no such certificate")
        return found

    def document(self, certificate: Certificate, kind: str) -> tuple[bytes, str]:
        key = certificate.pdf_key if kind == "pdf" else certificate.json_key
        blob = self._blobs.get(key)
        if blob is None:  # written before the row: only a lost bucket gets here
            raise NotFound(f"certificate {certificate.id}: its {kind} document is missing")
        return blob


def _fields(certificate: Certificate) -> dict[str, Any]:
    return {name: getattr(certificate, name) for name in Certificate.__dataclass_fields__}
