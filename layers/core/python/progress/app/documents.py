"""Use cases of the document resources (State C§2.3, Agent Profile C§2.6, Activity Profile
C§2.7, with the concurrency rules of C§3.1) and of the Activities (C§2.5) and Agents (C§2.4)
resources."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

from progress.app.ports import ActivityStore, Clock, DocumentStore
from progress.domain.activities import activity, batch_definitions, person
from progress.domain.documents import (
    Document,
    DocumentKey,
    DocumentScope,
    Precondition,
    json_object,
    profile_put_without_precondition,
)
from progress.domain.errors import Forbidden, NotFound
from progress.domain.tenancy import Principal


def _authorize(principal: Principal, scope: DocumentScope, *, write: bool) -> None:
    """C§4.2 scopes: ``state`` for State, ``profile`` for both profile resources."""
    if scope.kind.is_profile:
        if not principal.may_use_profiles(write):
            raise Forbidden("credentials lack the profile scope")
    elif not principal.may_use_state(write):
        raise Forbidden("credentials lack the state scope")


class DocumentService:
    def __init__(self, store: DocumentStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def get(self, principal: Principal, key: DocumentKey) -> Document:
        """DOC-006: 404 when absent."""
        _authorize(principal, key.scope, write=False)
        found = self._store.get(principal.tenant_id, key)
        if found is None:
            raise NotFound(f"{key.scope.kind.id_param}: no document {key.id!r}")
        return found

    def ids(
        self, principal: Principal, scope: DocumentScope, since_us: int | None
    ) -> tuple[list[str], int | None]:
        """DOC-007: the scope's ids updated after ``since`` (exclusive) and, for Last-Modified
        (DOC-003), the newest ``updated`` among them."""
        _authorize(principal, scope, write=False)
        found = self._store.ids(principal.tenant_id, scope, since_us)
        return sorted(found), max(found.values(), default=None)

    def put(
        self,
        principal: Principal,
        key: DocumentKey,
        content: bytes,
        content_type: str | None,
        precondition: Precondition,
    ) -> None:
        """PUT replaces (DOC-006). Profile PUT without If-Match/If-None-Match is refused:
        409 on an existing document (CONC-006), 400 on a new one. State PUT needs neither
        header (C§3.1.s3, CONC-007) but honours them."""
        _authorize(principal, key.scope, write=True)
        if key.scope.kind.is_profile and not precondition.given:
            raise profile_put_without_precondition(
                self._store.get(principal.tenant_id, key) is not None
            )
        document = Document.of(content, content_type, self._clock.now_us())
        self._store.put(principal.tenant_id, key, document, precondition)

    def post(
        self,
        principal: Principal,
        key: DocumentKey,
        content: bytes,
        content_type: str | None,
        precondition: Precondition,
    ) -> None:
        """POST creates, or merges JSON objects into the stored one (DOC-004/005, CONC-005)."""
        _authorize(principal, key.scope, write=True)
        document = Document.of(content, content_type, self._clock.now_us())
        if document.is_json:
            json_object(content, "body")  # 400 before any store access (DOC-005)
        self._store.put(principal.tenant_id, key, document, precondition, merge=True)

    def delete(self, principal: Principal, key: DocumentKey, precondition: Precondition) -> None:
        _authorize(principal, key.scope, write=True)
        self._store.delete(principal.tenant_id, key, precondition)

    def delete_all(self, principal: Principal, scope: DocumentScope) -> None:
        """STATE-004: DELETE without stateId removes the whole State scope."""
        _authorize(principal, scope, write=True)
        self._store.delete_all(principal.tenant_id, scope)


class ActivityService:
    """Canonical Activities, merged from accepted Statements (ACT-001)."""

    _CACHE_SIZE = 4096

    def __init__(self, store: ActivityStore) -> None:
        self._store = store
        self._lock = threading.Lock()
        # (tenant, activity id) -> {field: digest of the value this process wrote last}. Merges
        # are per-field overwrites, so a field whose value is unchanged needs no write: the
        # ingest path skips the definitions every Statement repeats, and a batch that names an
        # Activity with fewer fields (a parent with only `type`) rewrites nothing.
        self._written: OrderedDict[tuple[str, str], dict[str, bytes]] = OrderedDict()

    def record(self, principal: Principal, statements: Sequence[Mapping[str, Any]]) -> None:
        """Merge the definitions a stored batch carries: one store call per batch.

        C§4.2 ``define``: without it the LRS SHOULD NOT update its canonical Activities, so
        Statements from such credentials are stored but leave the definitions alone.
        """
        if not principal.may_define():
            return
        tenant = principal.tenant_id
        fresh: dict[str, dict[str, Any]] = {}
        digests: dict[str, dict[str, bytes]] = {}
        with self._lock:
            for activity_id, fields in batch_definitions(statements).items():
                known = self._written.get((tenant, activity_id), {})
                for field, value in fields.items():
                    digest = hashlib.blake2b(repr(value).encode(), digest_size=16).digest()
                    if known.get(field) != digest:
                        fresh.setdefault(activity_id, {})[field] = value
                        digests.setdefault(activity_id, {})[field] = digest
        if not fresh:
            return
        self._store.merge(tenant, fresh)
        with self._lock:
            for activity_id, written in digests.items():
                key = (tenant, activity_id)
                self._written[key] = {**self._written.get(key, {}), **written}
                self._written.move_to_end(key)
            while len(self._written) > self._CACHE_SIZE:
                self._written.popitem(last=False)

    def get(self, principal: Principal, activity_id: str) -> dict[str, Any]:
        """ACT-001/002: any credential of the tenant may read canonical Activities."""
        return activity(activity_id, self._store.get(principal.tenant_id, activity_id))


def agent_person(agent: Mapping[str, Any]) -> dict[str, Any]:
    """AGT-001..004: the Person for an Agent. It carries only what the caller sent, so any
    credential may ask (2.4.s3.b1 wants elevated rights only to reveal more identifiers)."""
    return person(agent)
