"""One contract for the Idempotency-Key persistence layers (SQLite, DynamoDB on moto, memory),
driven through ``progress.edge.idempotency.run_idempotent`` as the admin API drives it; then the
header's validation.

Time is moved by shifting ``datetime.now()`` where Powertools and the layers read it.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
import time
import types
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from aws_lambda_powertools.utilities.idempotency import base as handler_base
from aws_lambda_powertools.utilities.idempotency.persistence import base as persistence_base
from aws_lambda_powertools.utilities.idempotency.persistence import datarecord
from aws_lambda_powertools.utilities.idempotency.persistence import dynamodb as powertools_dynamodb
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer

from progress import bootstrap
from progress.adapters import idempotency as layers
from progress.adapters.dynamodb.table import idempotency_pk
from progress.adapters.sqlite import Database
from progress.domain.errors import (
    Conflict,
    InvalidParameter,
    NotFound,
    ServiceUnavailable,
    Unprocessable,
)
from progress.domain.tenancy import tenant_hash
from progress.edge.idempotency import (
    EXPIRES_AFTER_S,
    IN_PROGRESS_LEASE_MS,
    StoredResponse,
    run_idempotent,
)
from progress.local import moto
from progress.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

TABLE = "progress-idempotency"
ACME, GLOBEX = "acme", "globex"
CREATED = StoredResponse(201, '{"id":"t-1"}', "application/json", "/admin/tenants/t-1")
BODY = b'{"name":"ACME Corp"}'

MakeLayer = Callable[[str], BasePersistenceLayer]


@dataclass
class Backend:
    make: MakeLayer
    client: DynamoDBClient | None = None  # DynamoDB: to look at the items


@contextmanager
def backend_of(name: str, tmp_path: Path) -> Iterator[Backend]:
    if name == "memory":
        records: layers.MemoryIdempotencyRecords = {}
        yield Backend(lambda tenant: layers.MemoryIdempotencyLayer(records, tenant))
    elif name == "sqlite":
        db = Database(tmp_path / "idempotency.db")
        try:
            yield Backend(lambda tenant: layers.SqliteIdempotencyLayer(db, tenant))
        finally:
            db.close()
    else:
        with ExitStack() as stack:
            client = moto.start(stack, TABLE)
            yield Backend(
                lambda tenant: layers.dynamodb_idempotency_layer(client, TABLE, tenant),
                client=client,
            )


@pytest.fixture(params=["dynamodb", "memory", "sqlite"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    with backend_of(request.param, tmp_path) as made:
        yield made


class _ShiftedClock:
    """Stands in for ``datetime.datetime`` where only ``now()`` is read."""

    def __init__(self) -> None:
        self.offset_s = 0.0

    def now(self, tz: dt.tzinfo | None = None) -> dt.datetime:
        return dt.datetime.now(tz) + dt.timedelta(seconds=self.offset_s)


@pytest.fixture
def travel(monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    """``travel(s)`` moves now ``s`` seconds ahead for Powertools and our layers alike."""
    clock = _ShiftedClock()
    fake_dt = types.SimpleNamespace(
        datetime=clock, timedelta=dt.timedelta, date=dt.date, time=dt.time
    )
    for module in (handler_base, persistence_base, datarecord, powertools_dynamodb, layers):
        monkeypatch.setattr(module, "dt", fake_dt)  # raises if a module stops reading ``dt``

    def forward(seconds: float) -> None:
        clock.offset_s += seconds

    return forward


class Counted:
    """A ``run`` that counts its effects."""

    def __init__(self, response: StoredResponse = CREATED) -> None:
        self.response = response
        self.calls = 0

    def __call__(self) -> StoredResponse:
        self.calls += 1
        return self.response


def post(
    layer: BasePersistenceLayer,
    run: Callable[[], StoredResponse],
    *,
    key: str | None = "key-1",
    method: str = "POST",
    path: str = "/admin/tenants",
    body: bytes = BODY,
) -> tuple[StoredResponse, bool]:
    return run_idempotent(layer, key=key, method=method, path=path, body=body, run=run)


# --------------------------------------------------------------------------------- contract


def test_the_first_request_runs_once_and_is_not_a_replay(backend: Backend) -> None:
    run = Counted()
    assert post(backend.make(ACME), run) == (CREATED, False)
    assert run.calls == 1


def test_a_replay_returns_the_stored_response_without_running_again(backend: Backend) -> None:
    run = Counted()
    post(backend.make(ACME), run)
    # A new layer object: the record is read back from storage, not from the first object.
    assert post(backend.make(ACME), run) == (CREATED, True)
    assert post(backend.make(ACME), run) == (CREATED, True)
    assert run.calls == 1


def test_a_response_without_location_replays_without_location(backend: Backend) -> None:
    deleted = StoredResponse(204, "", "text/plain")
    run = Counted(deleted)
    post(backend.make(ACME), run, method="DELETE", path="/admin/tenants/t-1", body=b"")
    replay = post(backend.make(ACME), run, method="DELETE", path="/admin/tenants/t-1", body=b"")
    assert replay == (deleted, True)
    assert run.calls == 1


def test_the_same_key_with_a_different_body_is_unprocessable(backend: Backend) -> None:
    run = Counted()
    post(backend.make(ACME), run)
    with pytest.raises(Unprocessable, match="Idempotency-Key"):
        post(backend.make(ACME), run, body=b'{"name":"Other"}')
    assert run.calls == 1


@pytest.mark.parametrize(
    ("method", "path"), [("PUT", "/admin/tenants"), ("POST", "/admin/tenants/acme/credentials")]
)
def test_the_same_key_on_another_endpoint_is_unprocessable(
    backend: Backend, method: str, path: str
) -> None:
    run = Counted()
    post(backend.make(ACME), run)
    with pytest.raises(Unprocessable):
        post(backend.make(ACME), run, method=method, path=path)
    assert run.calls == 1


def test_the_same_key_in_another_tenant_runs_independently(backend: Backend) -> None:
    acme_run, globex_run = Counted(), Counted(StoredResponse(201, "{}", "application/json"))
    post(backend.make(ACME), acme_run)
    # Another tenant: neither a replay of ACME's response nor a 422 for its different body.
    assert post(backend.make(GLOBEX), globex_run, body=b"{}") == (globex_run.response, False)
    assert post(backend.make(ACME), acme_run) == (CREATED, True)
    assert post(backend.make(GLOBEX), globex_run, body=b"{}") == (globex_run.response, True)
    assert (acme_run.calls, globex_run.calls) == (1, 1)


def test_a_record_is_replayed_until_24_hours_have_passed(
    backend: Backend, travel: Callable[[float], None]
) -> None:
    run = Counted()
    post(backend.make(ACME), run)
    travel(EXPIRES_AFTER_S - 5)
    assert post(backend.make(ACME), run) == (CREATED, True)
    assert run.calls == 1


def test_an_expired_record_lets_the_request_run_again(
    backend: Backend, travel: Callable[[float], None]
) -> None:
    run = Counted()
    post(backend.make(ACME), run)
    travel(EXPIRES_AFTER_S + 5)
    assert post(backend.make(ACME), run) == (CREATED, False)
    assert run.calls == 2
    # ... and the new run starts a new record: a different body now is a 422 again.
    with pytest.raises(Unprocessable):
        post(backend.make(ACME), run, body=b"{}")


def test_an_expired_record_frees_its_key_for_a_different_request(
    backend: Backend, travel: Callable[[float], None]
) -> None:
    run = Counted()
    post(backend.make(ACME), run)
    travel(EXPIRES_AFTER_S + 5)
    assert post(backend.make(ACME), run, body=b"{}") == (CREATED, False)
    assert run.calls == 2


def test_a_failed_run_leaves_no_record_and_its_error_propagates(backend: Backend) -> None:
    def missing() -> StoredResponse:
        raise NotFound("no such tenant")

    with pytest.raises(NotFound):
        post(backend.make(ACME), missing)
    run = Counted()
    assert post(backend.make(ACME), run) == (CREATED, False)
    assert run.calls == 1


def test_a_request_still_in_progress_conflicts(backend: Backend) -> None:
    layer = backend.make(ACME)  # one object shared by both threads, as a cached layer is
    started, release = threading.Event(), threading.Event()
    results: list[tuple[StoredResponse, bool]] = []

    def slow() -> StoredResponse:
        started.set()
        release.wait(10)
        return CREATED

    first = threading.Thread(target=lambda: results.append(post(layer, slow)))
    first.start()
    try:
        assert started.wait(10)
        run = Counted()
        with pytest.raises(Conflict, match="in progress"):
            post(layer, run)
        assert run.calls == 0
    finally:
        release.set()
        first.join(10)
    assert results == [(CREATED, False)]
    assert post(layer, run) == (CREATED, True)


class _Crash(BaseException):
    """Ends a run the way a killed process does: Powertools cannot clean up after it."""


def test_a_crashed_request_blocks_its_key_only_until_its_lease_ends(
    backend: Backend, travel: Callable[[float], None]
) -> None:
    def crash() -> StoredResponse:
        raise _Crash

    with pytest.raises(_Crash):
        post(backend.make(ACME), crash)
    run = Counted()
    with pytest.raises(Conflict):
        post(backend.make(ACME), run)
    travel(IN_PROGRESS_LEASE_MS / 1000 + 2)
    assert post(backend.make(ACME), run) == (CREATED, False)
    assert post(backend.make(ACME), run) == (CREATED, True)
    assert run.calls == 1


def test_a_request_without_a_key_runs_every_time_and_stores_nothing(backend: Backend) -> None:
    run = Counted()
    assert post(backend.make(ACME), run, key=None) == (CREATED, False)
    assert post(backend.make(ACME), run, key=None) == (CREATED, False)
    assert run.calls == 2
    # Nothing stored under any key: a keyed request still runs.
    assert post(backend.make(ACME), run) == (CREATED, False)


# ------------------------------------------------------------------- backend-specific storage


def test_dynamodb_records_live_in_the_tenant_partition_with_a_ttl(tmp_path: Path) -> None:
    with backend_of("dynamodb", tmp_path) as backend:
        assert backend.client is not None
        post(backend.make(ACME), Counted())
        items = backend.client.scan(TableName=TABLE)["Items"]
    records = [i for i in items if i["pk"]["S"] == idempotency_pk(tenant_hash(ACME))]
    assert len(records) == 1
    assert records[0]["pk"]["S"] == f"{tenant_hash(ACME)}#IDEMPOTENCY"
    assert records[0]["status"]["S"] == "COMPLETED"
    ttl = int(records[0]["ttl_s"]["N"])
    assert abs(ttl - (time.time() + EXPIRES_AFTER_S)) < 60


def test_sqlite_put_purges_the_tenants_expired_rows_only(
    tmp_path: Path, travel: Callable[[float], None]
) -> None:
    db = Database(tmp_path / "purge.db")
    try:

        def rows(tenant: str) -> int:
            found: Any = db.conn.execute(
                "SELECT count(*) FROM idempotency WHERE tenant = ?", (tenant,)
            ).fetchone()
            return int(found[0])

        post(layers.SqliteIdempotencyLayer(db, ACME), Counted(), key="old")
        post(layers.SqliteIdempotencyLayer(db, GLOBEX), Counted(), key="old")
        travel(EXPIRES_AFTER_S + 5)
        post(layers.SqliteIdempotencyLayer(db, ACME), Counted(), key="new")
        assert (rows(ACME), rows(GLOBEX)) == (1, 1)
    finally:
        db.close()


# ------------------------------------------------------------------------------- bootstrap


@pytest.mark.parametrize("backend_name", ["dynamodb", "memory", "sqlite"])
def test_services_give_each_tenant_layers_over_one_shared_store(
    backend_name: str, tmp_path: Path
) -> None:
    settings = Settings(backend=backend_name, data_dir=tmp_path)  # type: ignore[arg-type]
    with ExitStack() as stack:
        client = moto.start(stack, settings.table_name) if backend_name == "dynamodb" else None
        services = bootstrap.build(settings, dynamodb_client=client)
        stack.callback(services.close)
        run = Counted()
        post(services.idempotency_layer(ACME), run)
        assert post(services.idempotency_layer(ACME), run) == (CREATED, True)
        assert post(services.idempotency_layer(GLOBEX), run) == (CREATED, False)
        assert run.calls == 2
        if backend_name == "dynamodb":  # kept per tenant: each new one hooks the shared client
            assert services.idempotency_layer(ACME) is services.idempotency_layer(ACME)


# ---------------------------------------------------------------------------------- header


@pytest.mark.parametrize(
    "key",
    ["", "k" * 256, "tab\there", "line\nbreak", "caf\u00e9", "nul\x00", "del\x7f"],
    ids=["empty", "256-chars", "tab", "newline", "non-ascii", "nul", "del"],
)
def test_a_malformed_key_is_an_invalid_parameter_naming_the_header(key: str) -> None:
    run = Counted()
    with pytest.raises(InvalidParameter, match="Idempotency-Key"):
        post(layers.MemoryIdempotencyLayer({}, ACME), run, key=key)
    assert run.calls == 0


@pytest.mark.parametrize(
    "key", ["k" * 255, "8e03978e-40d5-43e8-bc93-6894a57f9324", '"quoted sf-string"', "~ !"]
)
def test_keys_of_1_to_255_printable_ascii_characters_are_accepted(key: str) -> None:
    records: layers.MemoryIdempotencyRecords = {}
    run = Counted()
    post(layers.MemoryIdempotencyLayer(records, ACME), run, key=key)
    assert post(layers.MemoryIdempotencyLayer(records, ACME), run, key=key) == (CREATED, True)
    assert run.calls == 1


def test_an_unavailable_store_is_a_retryable_503_not_a_500(tmp_path: Path) -> None:
    """The outcome is unknown when the record cannot be saved: the client retries the key."""

    class Locked(layers.SqliteIdempotencyLayer):
        def _put_record(self, data_record: datarecord.DataRecord) -> None:
            raise sqlite3.OperationalError("database is locked")

    run = Counted()
    with pytest.raises(ServiceUnavailable) as caught:
        post(Locked(Database(tmp_path / "locked.db"), ACME), run)
    assert caught.value.message.startswith("Idempotency-Key:")
    assert run.calls == 0
