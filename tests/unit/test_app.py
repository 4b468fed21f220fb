"""Use cases on the in-memory adapters: ordering, StatementRef chains, auth, settings, cursors."""

from __future__ import annotations

import base64
import uuid
from pathlib import Path
from typing import Any

import pytest

from progress.adapters.memory import MemoryStatementStore, MemoryTenantStore
from progress.app.auth import Authenticator
from progress.app.clock import MonotonicClock
from progress.app.statements import StatementService
from progress.app.tenants import TenantAdmin
from progress.domain.errors import BadRequest, Conflict, InvalidParameter, NotFound, Unauthorized
from progress.domain.statements import Position, StatementQuery
from progress.domain.tenancy import Principal, Scope
from progress.edge.xapi.cursor import CursorCodec
from progress.settings import Settings, SettingsError

ADMIN = Principal("t", "key", frozenset({Scope.ALL}), "admin", "http://lrs/creds")
VERB = "http://example.com/verbs/did"


def stmt(**extra: Any) -> dict[str, Any]:
    return {
        "actor": {"mbox": "mailto:a@example.com"},
        "verb": {"id": VERB},
        "object": {"id": "http://example.com/a"},
        **extra,
    }


def ref(target: str, verb: str = "http://example.com/verbs/refers") -> dict[str, Any]:
    return stmt(verb={"id": verb}, object={"objectType": "StatementRef", "id": target})


@pytest.fixture
def service() -> StatementService:
    return StatementService(MemoryStatementStore(), MonotonicClock(), max_page=50)


def ids_for(service: StatementService, **required: str) -> list[str]:
    keys = frozenset(f"{k}:{v}" for k, v in required.items())
    page = service.query(ADMIN, StatementQuery(required=keys, ascending=True), None)
    return [s.id for s in page.statements]


def test_ref_chain_stored_before_its_target_matches_the_targets_filters(
    service: StatementService,
) -> None:
    """SAPI-040: X -> Y -> Z, stored in the order X, Y, Z, still all match Z's verb."""
    z = str(uuid.uuid4())
    y = str(uuid.uuid4())
    (x,) = service.store(ADMIN, [ref(y)]).ids
    service.store(ADMIN, [{**ref(z), "id": y}])
    service.store(ADMIN, [stmt(id=z, verb={"id": "http://example.com/verbs/rare"})])
    assert ids_for(service, v="http://example.com/verbs/rare") == [x, y, z]


def test_ref_filters_apply_to_the_target_as_a_whole(service: StatementService) -> None:
    """A multi-filter query matches on the referrer or on the target, never a mix of both."""
    (target,) = service.store(ADMIN, [stmt(verb={"id": "http://example.com/verbs/t"})]).ids
    service.store(ADMIN, [ref(target)])
    mixed = ids_for(
        service,
        v="http://example.com/verbs/refers",
        o="http://example.com/nowhere",
    )
    assert mixed == []


def test_consistent_through_waits_for_statements_still_being_written() -> None:
    """SAPI-054: never past a stored time whose Statement is not yet readable."""
    store = MemoryStatementStore()
    clock = MonotonicClock()
    service = StatementService(store, clock)
    seen: list[int] = []
    original = store.insert

    def slow_insert(*args: Any) -> None:
        seen.append(service.consistent_through_us())
        original(*args)

    store.insert = slow_insert  # type: ignore[method-assign,assignment]
    result = service.store(ADMIN, [stmt()])
    assert seen[0] < result.stored_us
    assert service.consistent_through_us() > result.stored_us


def test_a_conflicting_resend_names_the_id_and_stores_nothing_new(
    service: StatementService,
) -> None:
    sid = str(uuid.uuid4())
    service.store(ADMIN, [stmt(id=sid)])
    fresh = str(uuid.uuid4())
    with pytest.raises(Conflict, match=sid):
        service.store(ADMIN, [stmt(id=fresh), stmt(id=sid, verb={"id": "http://x/other"})])
    with pytest.raises(NotFound):
        service.get(ADMIN, fresh, voided=False)


def test_ids_are_case_insensitive_uuids(service: StatementService) -> None:
    sid = str(uuid.uuid4())
    service.store(ADMIN, [stmt(id=sid.upper())])
    assert service.get(ADMIN, sid, voided=False).id == sid
    with pytest.raises(BadRequest):
        service.store(ADMIN, [stmt(id=sid.upper()), stmt(id=sid)])


def test_paging_returns_every_match_once(service: StatementService) -> None:
    stored = service.store(ADMIN, [stmt() for _ in range(23)]).ids
    got: list[str] = []
    after: Position | None = None
    while True:
        page = service.query(ADMIN, StatementQuery(limit=5, ascending=True), after)
        got += [s.id for s in page.statements]
        if page.next is None:
            break
        after = page.next
    assert got == stored


# ------------------------------------------------------------------------------ auth


def basic(key: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()


def test_authenticator_checks_the_secret_and_caches_the_principal() -> None:
    tenants = MemoryTenantStore()
    admin = TenantAdmin(tenants)
    admin.create_tenant("acme")
    cred, secret = admin.create_credential("acme", frozenset({Scope.STATE}), label="player")
    auth = Authenticator(tenants, "http://lrs/creds")
    principal = auth.authenticate(basic(cred.key, secret))
    assert principal.tenant_id == "acme"
    assert principal.authority["account"] == {"homePage": "http://lrs/creds", "name": cred.key}
    lookups = 0
    original = tenants.get_credential

    def counting(key: str) -> Any:
        nonlocal lookups
        lookups += 1
        return original(key)

    tenants.get_credential = counting  # type: ignore[method-assign]
    assert auth.authenticate(basic(cred.key, secret)) == principal
    assert lookups == 0
    with pytest.raises(Unauthorized):
        auth.authenticate(basic(cred.key, secret + "x"))
    assert lookups == 1


def test_credentials_need_an_existing_tenant_and_sane_values() -> None:
    admin = TenantAdmin(MemoryTenantStore())
    with pytest.raises(NotFound, match="nobody"):
        admin.create_credential("nobody", frozenset({Scope.ALL}))
    admin.create_tenant("acme")
    with pytest.raises(BadRequest, match="secret"):
        admin.create_credential("acme", frozenset({Scope.ALL}), secret="a:b-long-enough")
    with pytest.raises(BadRequest, match="tenant"):
        admin.create_tenant("Not Valid!")


# ------------------------------------------------------------------------------ settings, cursors


def test_settings_list_every_problem_at_once() -> None:
    with pytest.raises(SettingsError) as info:
        Settings.from_env({"BACKEND": "oracle", "MAX_PAGE": "lots", "INDEX_SHARDS": "0"})
    message = str(info.value)
    assert "BACKEND" in message
    assert "MAX_PAGE" in message
    assert "INDEX_SHARDS" in message


def test_settings_defaults_and_overrides() -> None:
    settings = Settings.from_env({"DATA_DIR": "/tmp/x", "MAX_PAGE": "25"})
    assert settings.backend == "sqlite"
    assert settings.max_page == 25
    assert settings.sqlite_path == Path("/tmp/x/progress.db")


def test_cursors_round_trip_and_reject_forgeries() -> None:
    codec = CursorCodec(b"k" * 32)
    token = codec.encode({"verb": VERB}, Position(123, "abc"))
    assert codec.decode(token) == ({"verb": VERB}, Position(123, "abc"))
    with pytest.raises(InvalidParameter):
        CursorCodec(b"j" * 32).decode(token)
    with pytest.raises(InvalidParameter):
        codec.decode("%%%")


def test_a_failing_post_store_hook_never_fails_a_committed_write(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Derived data must not turn a committed write into a 500 (the client would resend)."""

    def broken(*_: Any) -> None:
        raise RuntimeError("definitions store down")

    service = StatementService(MemoryStatementStore(), MonotonicClock(), on_stored=broken)
    (sid,) = service.store(ADMIN, [stmt()]).ids
    assert service.get(ADMIN, sid, voided=False).id == sid
    assert "post-store hook failed" in caplog.text


def test_lambda_containers_need_a_shared_cursor_secret() -> None:
    """Each container signs `more` cursors; they must all use one key, given by the stage."""
    with pytest.raises(SettingsError, match="CURSOR_SECRET"):
        Settings.from_env({"AWS_LAMBDA_FUNCTION_NAME": "xapi", "BACKEND": "dynamodb"})
    with pytest.raises(SettingsError, match="16 bytes"):
        Settings.from_env({"CURSOR_SECRET": "short"})
    ok = Settings.from_env({"AWS_LAMBDA_FUNCTION_NAME": "xapi", "CURSOR_SECRET": "k" * 32})
    assert ok.cursor_secret == "k" * 32
