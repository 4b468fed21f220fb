"""Authentication of HTTP Basic credentials (C§4) with a per-container verification cache."""

from __future__ import annotations

import base64
import binascii
import hashlib
import threading
import time

from progress.app.ports import TenantStore
from progress.domain.errors import Unauthorized
from progress.domain.tenancy import Principal, verify_secret


class Authenticator:
    """Turns an ``Authorization`` header into a Principal.

    Secrets are stored as scrypt hashes (slow on purpose); a successful verification is cached
    for ``ttl_s`` keyed by (key, SHA-256 of the secret), so the hot path pays one dict lookup.
    """

    def __init__(self, tenants: TenantStore, homepage: str, ttl_s: float = 300.0) -> None:
        self._tenants = tenants
        self._homepage = homepage
        self._ttl = ttl_s
        self._cache: dict[tuple[str, bytes], tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def authenticate(self, header: str | None) -> Principal:
        key, secret = _parse_basic(header)
        fingerprint = (key, hashlib.sha256(secret.encode()).digest())
        now = time.monotonic()
        hit = self._cache.get(fingerprint)
        if hit is not None and hit[0] > now:
            return hit[1]
        credential = self._tenants.get_credential(key)
        if credential is None or not verify_secret(secret, credential.secret_hash):
            raise Unauthorized("Authorization: unknown key or wrong secret")
        principal = Principal(
            tenant_id=credential.tenant_id,
            key=credential.key,
            scopes=credential.scopes,
            label=credential.label,
            homepage=self._homepage,
            learner=credential.learner,
        )
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[fingerprint] = (now + self._ttl, principal)
        return principal

    def forget(self, key: str) -> None:
        """Drop cached verifications of ``key`` (after a revocation in this process)."""
        with self._lock:
            for fingerprint in [f for f in self._cache if f[0] == key]:
                del self._cache[fingerprint]


def _parse_basic(header: str | None) -> tuple[str, str]:
    if not header:
        raise Unauthorized("Authorization: header missing (HTTP Basic key:secret expected)")
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic" or not value:
        raise Unauthorized("Authorization: only the Basic scheme is supported")
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthorized("Authorization: Basic credentials are not valid base64") from None
    key, sep, secret = decoded.partition(":")
    if not sep or not key:
        raise Unauthorized("Authorization: Basic credentials must be key:secret")
    return key, secret
