"""Idempotency-Key records of the admin API's writes, as Powertools persistence layers, one per
backend. ``progress.edge.idempotency`` runs Powertools' idempotency handler over them.

Every layer is confined to one tenant: SQLite rows and memory entries are keyed (tenant, key),
DynamoDB items live in the partition ``{tenant hash}#IDEMPOTENCY``. Two tenants may therefore use
the same key string without ever meeting.

The SQLite and memory layers copy the semantics of Powertools' ``DynamoDBPersistenceLayer``:

* ``_put_record`` succeeds when there is no record, when the record has expired
  (``expiry < now``, seconds), or when it is INPROGRESS with an in-progress expiry that has passed
  (``in_progress_expiry < now``, milliseconds: its run crashed). Otherwise it checks the payload
  hash (the handler trusts a record handed to it and would replay it unchecked) and raises
  ``IdempotencyItemAlreadyExistsError`` carrying the stored record.
* ``_update_record`` sets status, expiry, response (and payload hash when validating), creating
  the record if it is gone; ``_delete_record`` deletes it.

Time is ``datetime.now()``, as Powertools reads it, so that both sides agree on expiry.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, NoReturn

from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import (
    STATUS_CONSTANTS,
    DataRecord,
)

from progress.adapters.dynamodb.table import TTL_ATTRIBUTE, idempotency_pk
from progress.domain.tenancy import tenant_hash

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency.persistence.dynamodb import (
        DynamoDBPersistenceLayer,
    )
    from mypy_boto3_dynamodb import DynamoDBClient

    from progress.adapters.sqlite import Database

_INPROGRESS: Final = STATUS_CONSTANTS["INPROGRESS"]


@dataclass(frozen=True, slots=True)
class IdempotencyRow:
    """One stored record (a row of the SQLite ``idempotency`` table, a value of the memory dict)."""

    status: str
    expiry_s: int
    in_progress_expiry_ms: int | None
    response: str | None
    payload_hash: str | None

    def record(self, idempotency_key: str) -> DataRecord:
        return DataRecord(
            idempotency_key=idempotency_key,
            status=self.status,
            expiry_timestamp=self.expiry_s,
            in_progress_expiry_timestamp=self.in_progress_expiry_ms,
            response_data=self.response or "",
            payload_hash=self.payload_hash or "",
        )

    def expired(self, now_s: int) -> bool:
        return self.expiry_s < now_s

    def takeable(self, now_s: int, now_ms: int) -> bool:
        """DynamoDB's put condition, less ``attribute_not_exists``."""
        return self.expired(now_s) or (
            self.status == _INPROGRESS
            and self.in_progress_expiry_ms is not None
            and self.in_progress_expiry_ms < now_ms
        )


def _now() -> tuple[int, int]:
    """(seconds, milliseconds) since the epoch, as Powertools computes them."""
    now = dt.datetime.now().timestamp()
    return int(now), int(now * 1000)


class _TenantLayer(BasePersistenceLayer):
    def __init__(self, tenant: str) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # Powertools: untyped
        self.tenant = tenant

    def _new_row(self, data_record: DataRecord) -> IdempotencyRow:
        """What DynamoDB's put writes: the whole item, the hash only when validating."""
        assert data_record.expiry_timestamp is not None  # set by save_inprogress
        validated = self.payload_validation_enabled and data_record.payload_hash
        return IdempotencyRow(
            status=data_record.status,
            expiry_s=int(data_record.expiry_timestamp),
            in_progress_expiry_ms=data_record.in_progress_expiry_timestamp,
            response=None,
            payload_hash=data_record.payload_hash if validated else None,
        )

    def _already_exists(self, data_record: DataRecord, old: DataRecord) -> NoReturn:
        self._validate_payload(data_payload=data_record, stored_data_record=old)
        self._save_to_cache(data_record=old)
        raise IdempotencyItemAlreadyExistsError(old_data_record=old)


# ---------------------------------------------------------------------------------------------
# SQLite

_SELECT: Final = (
    "SELECT status, expiry_s, in_progress_expiry_ms, response, payload_hash"
    " FROM idempotency WHERE tenant = ? AND key = ?"
)
_INSERT: Final = (
    "INSERT OR REPLACE INTO idempotency (tenant, key, status, expiry_s, in_progress_expiry_ms,"
    " response, payload_hash) VALUES (?,?,?,?,?,?,?)"
)
_UPSERT: Final = (
    "INSERT INTO idempotency (tenant, key, status, expiry_s, response, payload_hash)"
    " VALUES (?,?,?,?,?,?) ON CONFLICT (tenant, key) DO UPDATE SET status = excluded.status,"
    " expiry_s = excluded.expiry_s, response = excluded.response"
)


class SqliteIdempotencyLayer(_TenantLayer):
    """The ``idempotency`` table (schema v6). The conditional put is one BEGIN IMMEDIATE
    transaction; it first deletes the tenant's expired rows (DynamoDB's TTL, done inline)."""

    def __init__(self, db: Database, tenant: str) -> None:
        super().__init__(tenant)
        self._db = db

    def _get_record(self, idempotency_key: str) -> DataRecord:
        row = self._db.conn.execute(_SELECT, (self.tenant, idempotency_key)).fetchone()
        if row is None:
            raise IdempotencyItemNotFoundError
        return IdempotencyRow(*row).record(idempotency_key)

    def _put_record(self, data_record: DataRecord) -> None:
        key, new = data_record.idempotency_key, self._new_row(data_record)
        now_s, now_ms = _now()
        with self._db.write() as conn:
            conn.execute(
                "DELETE FROM idempotency WHERE tenant = ? AND expiry_s < ?", (self.tenant, now_s)
            )
            found = conn.execute(_SELECT, (self.tenant, key)).fetchone()
            old = None if found is None else IdempotencyRow(*found)
            if old is None or old.takeable(now_s, now_ms):
                conn.execute(
                    _INSERT,
                    (
                        self.tenant,
                        key,
                        new.status,
                        new.expiry_s,
                        new.in_progress_expiry_ms,
                        new.response,
                        new.payload_hash,
                    ),
                )
                return
        # Raised after COMMIT, so that the purge above is kept.
        self._already_exists(data_record, old.record(key))

    def _update_record(self, data_record: DataRecord) -> None:
        sql = _UPSERT
        if self.payload_validation_enabled:
            sql += ", payload_hash = excluded.payload_hash"
        validated = data_record.payload_hash if self.payload_validation_enabled else None
        with self._db.write() as conn:
            conn.execute(
                sql,
                (
                    self.tenant,
                    data_record.idempotency_key,
                    data_record.status,
                    data_record.expiry_timestamp,
                    data_record.response_data,
                    validated,
                ),
            )

    def _delete_record(self, data_record: DataRecord) -> None:
        with self._db.write() as conn:
            conn.execute(
                "DELETE FROM idempotency WHERE tenant = ? AND key = ?",
                (self.tenant, data_record.idempotency_key),
            )


# ---------------------------------------------------------------------------------------------
# Memory

MemoryIdempotencyRecords = dict[tuple[str, str], IdempotencyRow]  # (tenant, hashed key) -> row
_memory_lock = threading.Lock()  # one for every dict: the memory backend is a test/dev twin


class MemoryIdempotencyLayer(_TenantLayer):
    """The in-memory twin: ``records`` is shared by every layer of one process (all tenants)."""

    def __init__(self, records: MemoryIdempotencyRecords, tenant: str) -> None:
        super().__init__(tenant)
        self._records = records

    def _get_record(self, idempotency_key: str) -> DataRecord:
        with _memory_lock:
            row = self._records.get((self.tenant, idempotency_key))
        if row is None:
            raise IdempotencyItemNotFoundError
        return row.record(idempotency_key)

    def _put_record(self, data_record: DataRecord) -> None:
        key, new = data_record.idempotency_key, self._new_row(data_record)
        now_s, now_ms = _now()
        with _memory_lock:
            for expired in [
                k for k, row in self._records.items() if k[0] == self.tenant and row.expired(now_s)
            ]:
                del self._records[expired]
            old = self._records.get((self.tenant, key))
            if old is None or old.takeable(now_s, now_ms):
                self._records[self.tenant, key] = new
                return
        self._already_exists(data_record, old.record(key))

    def _update_record(self, data_record: DataRecord) -> None:
        assert data_record.expiry_timestamp is not None  # set by save_success
        with _memory_lock:
            old = self._records.get((self.tenant, data_record.idempotency_key))
            kept_hash = None if old is None else old.payload_hash
            self._records[self.tenant, data_record.idempotency_key] = IdempotencyRow(
                status=data_record.status,
                expiry_s=int(data_record.expiry_timestamp),
                in_progress_expiry_ms=None if old is None else old.in_progress_expiry_ms,
                response=data_record.response_data,
                payload_hash=(
                    data_record.payload_hash if self.payload_validation_enabled else kept_hash
                ),
            )

    def _delete_record(self, data_record: DataRecord) -> None:
        with _memory_lock:
            self._records.pop((self.tenant, data_record.idempotency_key), None)


# ---------------------------------------------------------------------------------------------
# DynamoDB


def dynamodb_idempotency_layer(
    client: DynamoDBClient, table_name: str, tenant: str
) -> DynamoDBPersistenceLayer:
    """Powertools' own layer on the single table: pk ``{th}#IDEMPOTENCY``, sk the hashed key,
    expiry in the table's TTL attribute so that DynamoDB removes records once expired.

    Each instance registers a user-agent hook on ``client``: build one per tenant and keep it,
    not one per request (``progress.bootstrap`` caches them).
    """
    from aws_lambda_powertools.utilities.idempotency.persistence.dynamodb import (
        DynamoDBPersistenceLayer,
    )

    return DynamoDBPersistenceLayer(
        table_name=table_name,
        key_attr="pk",
        sort_key_attr="sk",
        static_pk_value=idempotency_pk(tenant_hash(tenant)),
        expiry_attr=TTL_ATTRIBUTE,
        boto3_client=client,
    )
