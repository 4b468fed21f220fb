"""Use cases for tenants and credentials (the admin command and local start-up use these)."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime

from progress.app.ports import TenantStore
from progress.domain.errors import BadRequest, Conflict, NotFound
from progress.domain.tenancy import Credential, Scope, Tenant, hash_secret

_TENANT_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_KEY = re.compile(r"^[A-Za-z0-9._~-]{8,128}$")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class TenantAdmin:
    def __init__(self, store: TenantStore) -> None:
        self._store = store

    def create_tenant(self, tenant_id: str, name: str | None = None) -> Tenant:
        if not _TENANT_ID.match(tenant_id):
            raise BadRequest(
                f"tenant: {tenant_id!r} must be 1-63 lower-case letters, digits or '-'"
            )
        existing = self._store.get_tenant(tenant_id)
        if existing is not None:
            return existing
        tenant = Tenant(id=tenant_id, name=name or tenant_id, created=_now())
        self._store.put_tenant(tenant)
        return tenant

    def create_credential(
        self,
        tenant_id: str,
        scopes: frozenset[Scope],
        *,
        label: str = "api",
        key: str | None = None,
        secret: str | None = None,
        learner: str | None = None,
    ) -> tuple[Credential, str]:
        """Create (or re-key) a credential; returns it and the plain secret, shown only once."""
        if self._store.get_tenant(tenant_id) is None:
            raise NotFound(f"tenant: no tenant {tenant_id!r}")
        key = key or secrets.token_hex(10)
        if not _KEY.match(key):
            raise BadRequest("key: 8-128 characters of A-Z a-z 0-9 . _ ~ -")
        secret = secret or secrets.token_urlsafe(24)
        if len(secret) < 8 or ":" in secret:
            raise BadRequest("secret: at least 8 characters and no ':'")
        credential = Credential(
            key=key,
            tenant_id=tenant_id,
            secret_hash=hash_secret(secret),
            scopes=scopes,
            label=label,
            created=_now(),
            learner=learner,
        )
        self._store.put_credential(credential)
        return credential, secret

    def ensure_tenant(self, tenant_id: str, name: str | None = None) -> tuple[Tenant, bool]:
        """(the tenant, whether it was created). Asking again is harmless; asking again with
        another name is a conflict, not a silent rename."""
        existing = self._store.get_tenant(tenant_id)
        if existing is None:
            return self.create_tenant(tenant_id, name), True
        if name is not None and name != existing.name:
            raise Conflict(f"tenant: {tenant_id!r} exists with another name ({existing.name!r})")
        return existing, False

    def get_tenant(self, tenant_id: str) -> Tenant:
        found = self._store.get_tenant(tenant_id)
        if found is None:
            raise NotFound(f"tenant: no tenant {tenant_id!r}")
        return found

    def list_tenants(self, after: str | None, limit: int) -> list[Tenant]:
        return self._store.list_tenants(after, limit)

    def list_credentials(self, tenant_id: str, after: str | None, limit: int) -> list[Credential]:
        """A tenant's credentials in key order after ``after`` (never their secrets)."""
        self.get_tenant(tenant_id)
        found = self._store.list_credentials(tenant_id)
        return [c for c in found if after is None or c.key > after][:limit]

    def revoke_credential(self, tenant_id: str, key: str) -> None:
        """Delete the credential. Containers that verified it recently keep accepting it for
        at most their cache TTL (``Authenticator``); this process forgets it at once."""
        if not self._store.delete_credential(tenant_id, key):
            raise NotFound(f"credential: tenant {tenant_id!r} has no key {key!r}")
