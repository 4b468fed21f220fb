"""Use cases of the Statement resource: store (PUT/POST), get one, query."""

from __future__ import annotations

import logging
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from progress.app.ports import Clock, DuplicateIds, NoUnitOfWork, StatementStore, UnitOfWork
from progress.domain.errors import BadRequest, Conflict, Forbidden, NotFound
from progress.domain.events import StatementStored, envelope
from progress.domain.facts import statement_fact
from progress.domain.statements import (
    K_RAGENT,
    Attachment,
    NewStatement,
    Page,
    Position,
    StatementQuery,
    StoredStatement,
    agent_key,
    attachment_hashes,
    format_stored,
    index_keys,
    is_voiding,
    normalise_context_activities,
    statement_ref_target,
    statements_equivalent,
)
from progress.domain.tenancy import Principal

DEFAULT_VERSION = "1.0.0"  # STMT-102
logger = logging.getLogger(__name__)
_MAX_DUPLICATE_ROUNDS = 3


class InFlight:
    """``stored`` values assigned but not yet committed in this process.

    X-Experience-API-Consistent-Through must not pass a ``stored`` time whose Statement is still
    being written (SAPI-054), or a client paging with ``since`` would skip it forever.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: Counter[int] = Counter()

    def begin(self, stored_us: int) -> None:
        with self._lock:
            self._open[stored_us] += 1

    def end(self, stored_us: int) -> None:
        with self._lock:
            self._open[stored_us] -= 1
            if self._open[stored_us] <= 0:
                del self._open[stored_us]

    def oldest(self) -> int | None:
        with self._lock:
            return min(self._open) if self._open else None


@dataclass(frozen=True, slots=True)
class StoreResult:
    ids: list[str]
    stored_us: int


class StatementService:
    def __init__(
        self,
        store: StatementStore,
        clock: Clock,
        *,
        max_page: int = 1000,
        consistency_lag_us: int = 0,
        on_stored: Callable[[Principal, Sequence[dict[str, Any]]], None] | None = None,
        uow: UnitOfWork | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._max_page = max_page
        self._lag_us = consistency_lag_us
        self._inflight = InFlight()
        self._on_stored = on_stored  # e.g. ActivityService.record (canonical definitions)
        self._uow = uow or NoUnitOfWork()

    # ------------------------------------------------------------------------------ writes

    def store(
        self,
        principal: Principal,
        statements: Sequence[dict[str, Any]],
        attachments: Sequence[Attachment] = (),
    ) -> StoreResult:
        """Store validated Statements all-or-nothing; ids in request order (SAPI-010, SAPI-014).

        Re-sending a Statement under a stored id changes nothing: equivalent -> accepted,
        different -> 409 (SAPI-003/004). Offline clients replay whole batches, so a batch mixing
        already-stored and new Statements stores the new ones.

        Each new Statement's ``progress.statement.stored.v1`` envelope is its outbox row, which
        the store commits with it (a resent Statement announces nothing again).
        """
        if not principal.may_write_statements():
            raise Forbidden("credentials lack the statements/write scope")
        seen: set[str] = set()
        for i, stmt in enumerate(statements):
            sid = stmt.get("id")
            if sid is not None:
                sid = str(sid).lower()
                if sid in seen:
                    raise BadRequest(f"statements[{i}].id: {sid} appears twice in the batch")
                seen.add(sid)
        if not statements:
            return StoreResult([], self._clock.now_us())
        authority = principal.authority
        records: list[NewStatement] = []
        originals: dict[str, dict[str, Any]] = {}
        first_us = 0
        for stmt in statements:
            stored_us = self._clock.now_us()
            first_us = first_us or stored_us
            self._inflight.begin(stored_us)
            sid = str(stmt.get("id") or uuid.uuid4()).lower()
            body = dict(normalise_context_activities(stmt))
            body["id"] = sid
            stored = format_stored(stored_us)
            body["stored"] = stored
            body.setdefault("timestamp", stored)  # STMT-080
            body["authority"] = authority  # STMT-093
            body.setdefault("version", DEFAULT_VERSION)
            fact = statement_fact(principal.tenant_id, body, stored_us)
            records.append(
                NewStatement(
                    id=sid,
                    stored_us=stored_us,
                    body=orjson.dumps(body),
                    keys=index_keys(body),
                    ref_target=statement_ref_target(body),
                    voiding=is_voiding(body),
                    attachments=attachment_hashes(body),
                    event=orjson.dumps(envelope(StatementStored(fact))),  # the outbox row
                )
            )
            originals[sid] = stmt
        try:
            with self._uow.transaction():  # SQLite: Statements and derived rows, one commit
                self._insert(principal.tenant_id, records, originals, attachments)
                self._derive(principal, statements)
        finally:
            for rec in records:
                self._inflight.end(rec.stored_us)  # only now are they readable
        return StoreResult([r.id for r in records], first_us)

    def _derive(self, principal: Principal, statements: Sequence[dict[str, Any]]) -> None:
        """Derived data (canonical definitions) never fails a write of Statements: answering 500
        would only make the client resend; the next write naming an Activity catches it up."""
        if self._on_stored is None:
            return
        try:
            self._on_stored(principal, statements)
        except Exception:
            logger.exception("post-store hook failed", extra={"statements": len(statements)})

    def _insert(
        self,
        tenant: str,
        records: list[NewStatement],
        originals: dict[str, dict[str, Any]],
        attachments: Sequence[Attachment],
    ) -> None:
        inherited = self._check_refs(tenant, records)
        pending = records
        for _ in range(_MAX_DUPLICATE_ROUNDS):
            if not pending:
                return
            try:
                self._store.insert(tenant, pending, inherited, attachments)
                break
            except DuplicateIds as dup:
                existing = self._store.get(tenant, dup.ids)
                for sid in sorted(dup.ids):
                    stored = existing.get(sid)
                    if stored is None:
                        continue  # raced with a delete that cannot happen; retry inserts it
                    if not statements_equivalent(originals[sid], orjson.loads(stored.body)):
                        raise Conflict(
                            f"statement {sid} already exists with different content"
                        ) from None
                self._store.reindex(tenant, list(existing.values()))
                pending = [r for r in pending if r.id not in existing]
        else:  # pragma: no cover - needs a store that keeps inventing duplicates
            raise Conflict("statement ids kept colliding; retry the request")
        self._propagate_to_referrers(tenant, {r.id: (r.keys,) for r in pending})

    def _check_refs(
        self, tenant: str, records: list[NewStatement]
    ) -> dict[str, tuple[frozenset[str], ...]]:
        """StatementRef targets already stored: voiding rules (VOID-002) and key inheritance."""
        targets = {r.ref_target for r in records if r.ref_target}
        if not targets:
            return {}
        in_batch = {r.id: r for r in records}
        found = self._store.get(tenant, targets - in_batch.keys())
        inherited: dict[str, tuple[frozenset[str], ...]] = {}
        for rec in records:
            if not rec.ref_target:
                continue
            target = found.get(rec.ref_target)
            batch_target = in_batch.get(rec.ref_target)
            target_voiding = (target is not None and target.voiding) or (
                batch_target is not None and batch_target.voiding
            )
            if rec.voiding and target_voiding:
                raise BadRequest(
                    f"statement {rec.id}: a voiding Statement cannot be voided (VOID-002)"
                )
            if target is not None:
                inherited[rec.id] = (rec.keys, *target.key_groups)
            elif batch_target is not None:
                inherited[rec.id] = (rec.keys, batch_target.keys)
        return inherited

    def _propagate_to_referrers(
        self, tenant: str, new: dict[str, tuple[frozenset[str], ...]]
    ) -> None:
        """SAPI-040 for targets that arrive after the Statements referring to them."""
        frontier = new
        for _ in range(16):  # ref chains deeper than this are not followed further
            if not frontier:
                return
            refs = self._store.referrers(tenant, frontier.keys())
            nxt: dict[str, tuple[frozenset[str], ...]] = {}
            for target_id, referrer_ids in refs.items():
                for rid in referrer_ids:
                    if rid in new and rid not in frontier:
                        continue
                    self._store.inherit(tenant, rid, frontier[target_id])
                    nxt[rid] = frontier[target_id]
            frontier = nxt

    # ------------------------------------------------------------------------------ reads

    def consistent_through_us(self) -> int:
        now = self._clock.now_us() - self._lag_us
        oldest = self._inflight.oldest()
        return now if oldest is None else min(now, oldest - 1)

    def get(self, principal: Principal, statement_id: str, *, voided: bool) -> StoredStatement:
        """SAPI-020/023: by statementId only if not voided; by voidedStatementId only if voided."""
        self._require_read(principal)
        sid = statement_id.lower()
        found = self._store.get(principal.tenant_id, [sid]).get(sid)
        param = "voidedStatementId" if voided else "statementId"
        if found is None or found.voided != voided:
            raise NotFound(f"{param}: no statement {sid}")
        if not principal.may_read_all_statements() and not self._is_own(principal, found):
            raise NotFound(f"{param}: no statement {sid}")
        return found

    def query(self, principal: Principal, query: StatementQuery, after: Position | None) -> Page:
        """C§2.1.3 query: ANDed filters, voided Statements left out (VOID-006), paged by `more`."""
        self._require_read(principal)
        if not principal.may_read_all_statements():
            # statements/read/mine: only what this credential is the authority of.
            query = StatementQuery(
                required=query.required | {f"{K_RAGENT}:{agent_key(principal.authority)}"},
                since_us=query.since_us,
                until_us=query.until_us,
                ascending=query.ascending,
                limit=query.limit,
            )
        limit = min(query.limit or self._max_page, self._max_page)
        key = query.primary_key()
        out: list[StoredStatement] = []
        position = after
        mine_only = not principal.may_read_all_statements()
        while True:
            chunk = max(limit - len(out), 32)
            batch, exhausted = self._store.scan(principal.tenant_id, key, query, position, chunk)
            for stmt in batch:
                position = Position(stmt.stored_us, stmt.id)
                if stmt.voided or not stmt.matches(query.required):
                    continue
                if mine_only and not self._is_own(principal, stmt):
                    continue
                out.append(stmt)
                if len(out) == limit:
                    return Page(out, position)
            if exhausted or not batch:
                return Page(out, None)

    def attachments(self, principal: Principal, hashes: set[str]) -> dict[str, Attachment]:
        return self._store.attachments(principal.tenant_id, hashes)

    @staticmethod
    def _require_read(principal: Principal) -> None:
        if not principal.may_read_own_statements():
            raise Forbidden("credentials lack a statements read scope")

    @staticmethod
    def _is_own(principal: Principal, stmt: StoredStatement) -> bool:
        authority = orjson.loads(stmt.body).get("authority")
        return isinstance(authority, dict) and agent_key(authority) == agent_key(
            principal.authority
        )
