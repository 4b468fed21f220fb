"""``Idempotency-Key`` on the admin API's writes (POST/PUT/DELETE), over Powertools' idempotency
utility and a tenant-scoped persistence layer (``progress.adapters.idempotency``).

Semantics follow the IETF draft "The Idempotency-Key HTTP Header Field"
(draft-ietf-httpapi-idempotency-key-header, "Error Scenarios"): the same key with the same
request gets the first response again, without a second effect; the same key with another
request gets 422; a key whose first request is still running gets 409. Records last 24 hours.

What is hashed: the record's key is the caller (the credential key) and the header value,
within the tenant, which the layer adds: one credential's key never replays another credential's
response. The payload hash covers method, path and the SHA-256 of the body bytes, so reusing a
key on another endpoint, or with a byte-different body, is 422 rather than a replay.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Final

from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from progress.domain.errors import (
    Conflict,
    InvalidParameter,
    ServiceUnavailable,
    Unprocessable,
)

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency.persistence.base import (
        BasePersistenceLayer,
    )

HEADER: Final = "Idempotency-Key"
EXPIRES_AFTER_S: Final = 24 * 60 * 60
# How long an INPROGRESS record blocks its key. Above admin_api's 29 s timeout, so a live request
# is never overtaken; a crashed one (killed process, Lambda timeout) frees its key after a minute
# rather than after 24 hours.
IN_PROGRESS_LEASE_MS: Final = 60_000
# Fixed rather than Powertools' default (function name + module), so a record means the same to
# every function and to local mode.
KEY_PREFIX: Final = "admin"

_KEY = re.compile(r"[\x20-\x7e]{1,255}")
_configure = threading.Lock()


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: str
    content_type: str
    location: str | None = None


class _Lease(LambdaContext):
    """What Powertools reads the in-progress expiry from (it asks a Lambda context)."""

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return IN_PROGRESS_LEASE_MS


def check_key(key: str) -> None:
    """1 to 255 printable ASCII characters (the draft's key is an sf-string, RFC 8941 §3.3.3)."""
    if not _KEY.fullmatch(key):
        raise InvalidParameter(f"{HEADER}: expected 1 to 255 printable ASCII characters")


def run_idempotent(
    layer: BasePersistenceLayer,
    *,
    key: str | None,
    method: str,
    path: str,
    body: bytes,
    run: Callable[[], StoredResponse],
    caller: str = "",
) -> tuple[StoredResponse, bool]:
    """``(response, replayed)``. Without a key, ``run()`` simply runs.

    A ``DomainError`` (any exception) from ``run()`` is not stored: Powertools deletes the
    in-progress record and the exception propagates, so the client may retry with the same key.
    """
    if key is None:
        return run(), False
    check_key(key)
    config = IdempotencyConfig(
        event_key_jmespath="key",
        payload_validation_jmespath="request",
        expires_after_seconds=EXPIRES_AFTER_S,
        use_local_cache=False,
        hash_function="sha256",
        lambda_context=_Lease(),
    )
    # ``configure`` marks the layer configured before it sets the rest: a layer shared between
    # threads must be configured under a lock. Once configured it only ever rewrites the prefix.
    with _configure:
        layer.configure(config, key_prefix=KEY_PREFIX)
    settings = (layer.event_key_jmespath, layer.payload_validation_enabled, layer.use_local_cache)
    if settings != ("key", True, False) or layer.expires_after_seconds != EXPIRES_AFTER_S:
        raise RuntimeError("an idempotency layer configured elsewhere was passed to run_idempotent")
    ran = False

    def execute(data: dict[str, Any]) -> dict[str, Any]:
        nonlocal ran
        ran = True
        return asdict(run())

    idempotent = idempotent_function(
        execute,
        data_keyword_argument="data",
        persistence_store=layer,
        config=config,
        key_prefix=KEY_PREFIX,
    )
    request = {
        "method": method.upper(),
        "path": path,
        "body_sha256": hashlib.sha256(body).hexdigest(),
    }
    try:
        stored: dict[str, Any] = idempotent(data={"key": [caller, key], "request": request})
    except IdempotencyValidationError as exc:
        raise Unprocessable(
            f"{HEADER}: reused with a different request (method, path or body) within 24 hours"
        ) from exc
    except IdempotencyAlreadyInProgressError as exc:
        raise Conflict(
            f"{HEADER}: a request with this key is still in progress; retry later"
        ) from exc
    except IdempotencyPersistenceLayerError as exc:
        # The record could not be read, saved or released (storage throttled or down): the
        # outcome is unknown to the client, and a retry with the same key is safe.
        raise ServiceUnavailable(f"{HEADER}: the idempotency store is unavailable; retry") from exc
    response = StoredResponse(
        status=int(stored["status"]),
        body=str(stored["body"]),
        content_type=str(stored["content_type"]),
        location=None if stored.get("location") is None else str(stored["location"]),
    )
    return response, not ran
