"""One contract for every TenantStore adapter."""

from __future__ import annotations

import pytest

from progress.app.ports import TenantStore
from progress.domain.errors import Conflict
from progress.domain.tenancy import Credential, Scope, Tenant, hash_secret


def cred(key: str, tenant: str, label: str = "app") -> Credential:
    return Credential(
        key=key,
        tenant_id=tenant,
        secret_hash=hash_secret("s3cret"),
        scopes=frozenset({Scope.STATEMENTS_WRITE, Scope.STATEMENTS_READ_MINE}),
        label=label,
        created="2026-11-25T00:00:00Z",
    )


def test_tenants_round_trip(tenant_store: TenantStore) -> None:
    tenant = Tenant(id="acme", name="ACME Corp", created="2026-11-25T00:00:00Z")
    tenant_store.put_tenant(tenant)
    assert tenant_store.get_tenant("acme") == tenant
    assert tenant_store.get_tenant("other") is None


def test_credentials_round_trip_and_list_per_tenant(tenant_store: TenantStore) -> None:
    a1, a2, b1 = cred("k-a1", "a"), cred("k-a2", "a"), cred("k-b1", "b")
    for c in (a1, a2, b1):
        tenant_store.put_credential(c)
    assert tenant_store.get_credential("k-a1") == a1
    assert tenant_store.get_credential("nope") is None
    assert [c.key for c in tenant_store.list_credentials("a")] == ["k-a1", "k-a2"]
    assert [c.key for c in tenant_store.list_credentials("b")] == ["k-b1"]


def test_a_credential_key_cannot_move_to_another_tenant(tenant_store: TenantStore) -> None:
    """TEN-002: a credential belongs to exactly one tenant."""
    tenant_store.put_credential(cred("shared-key", "a"))
    with pytest.raises(Conflict):
        tenant_store.put_credential(cred("shared-key", "b"))
    stored = tenant_store.get_credential("shared-key")
    assert stored is not None
    assert stored.tenant_id == "a"


def test_a_credential_can_be_replaced_within_its_tenant(tenant_store: TenantStore) -> None:
    tenant_store.put_credential(cred("k", "a", label="old"))
    tenant_store.put_credential(cred("k", "a", label="new"))
    stored = tenant_store.get_credential("k")
    assert stored is not None
    assert stored.label == "new"


def test_tenants_list_in_id_order_page_by_page(tenant_store: TenantStore) -> None:
    for tid in ("c", "a", "b", "d"):
        tenant_store.put_tenant(Tenant(id=tid, name=tid.upper(), created="2026-12-04T00:00:00Z"))
    first = tenant_store.list_tenants(None, 3)
    assert [t.id for t in first] == ["a", "b", "c"]
    assert first[0].name == "A"
    assert [t.id for t in tenant_store.list_tenants("c", 3)] == ["d"]
    assert tenant_store.list_tenants("d", 3) == []


def test_a_credential_is_deleted_only_by_its_own_tenant(tenant_store: TenantStore) -> None:
    """TEN-002: another tenant cannot revoke (or learn of) a key it does not own."""
    tenant_store.put_credential(cred("k-a1", "a"))
    tenant_store.put_credential(cred("k-a2", "a"))
    assert tenant_store.delete_credential("b", "k-a1") is False
    assert tenant_store.get_credential("k-a1") is not None
    assert tenant_store.delete_credential("a", "k-a1") is True
    assert tenant_store.get_credential("k-a1") is None
    assert [c.key for c in tenant_store.list_credentials("a")] == ["k-a2"]
    assert tenant_store.delete_credential("a", "k-a1") is False


def test_a_learner_credential_keeps_its_learner(tenant_store: TenantStore) -> None:
    own = Credential(
        key="k-ann",
        tenant_id="a",
        secret_hash=hash_secret("s3cret"),
        scopes=frozenset({Scope.STATEMENTS_READ_MINE}),
        label="Ann's app",
        created="2026-12-04T00:00:00Z",
        learner="mbox:mailto:ann@example.com",
    )
    tenant_store.put_credential(own)
    tenant_store.put_credential(cred("k-app", "a"))
    assert tenant_store.get_credential("k-ann") == own
    listed = {c.key: c.learner for c in tenant_store.list_credentials("a")}
    assert listed == {"k-ann": "mbox:mailto:ann@example.com", "k-app": None}
