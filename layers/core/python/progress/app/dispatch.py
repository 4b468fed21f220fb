"""What EventBridge and asynchronous Lambda invocation do, in one process: the local event bus.

``Dispatcher.publish`` matches each envelope against the catalog's rules (the very table infra
turns into EventBridge rules) and invokes each target consumer with an EventBridge-shaped event.
A consumer that raises is retried (Lambda retries an asynchronous invocation twice); after the
last attempt the event goes to the dead letters with the error as its reason, like a Lambda
DLQ. ``redrive`` publishes dead letters again: consumers' inboxes absorb any duplicate.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from progress.app.ports import DeadLetter, DeadLetters, Envelope, EventBus
from progress.catalog import rules_for

logger = logging.getLogger(__name__)

Consumer = Callable[[dict[str, Any]], Any]  # a Lambda handler bound to its context
LAMBDA_ASYNC_ATTEMPTS = 3  # one invocation and two retries


def eventbridge_event(
    env: Envelope, *, account: str = "000000000000", region: str = "local"
) -> dict[str, Any]:
    """The event a rule target receives: the envelope is its ``detail``."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": env["type"],
        "source": env["source"],
        "account": account,
        "time": env["time"],
        "region": region,
        "resources": [],
        "detail": env,
    }


def envelope_of(event: Mapping[str, Any]) -> Envelope:
    """The envelope in an EventBridge event (what consumers receive)."""
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise ValueError("detail: an EventBridge event carrying a progress envelope expected")
    return detail


class Dispatcher:
    """The local ``EventBus``: rules → consumers, retries, dead letters."""

    def __init__(
        self,
        dead_letters: DeadLetters,
        *,
        attempts: int = LAMBDA_ASYNC_ATTEMPTS,
        backoff_s: float = 0.05,
    ) -> None:
        self._consumers: dict[str, Consumer] = {}
        self._dead = dead_letters
        self._attempts = attempts
        self._backoff = backoff_s
        self._lock = threading.Lock()
        self.delivered = 0
        self.failed = 0

    def register(self, name: str, consumer: Consumer) -> None:
        self._consumers[name] = consumer

    @property
    def consumers(self) -> Collection[str]:
        return self._consumers.keys()

    def publish(self, envelopes: Sequence[Envelope]) -> list[str | None]:
        for env in envelopes:
            for rule in rules_for(str(env.get("source")), str(env.get("type"))):
                self.deliver(rule.target, env)
        return [None] * len(envelopes)

    def deliver(self, consumer: str, env: Envelope) -> bool:
        """Invoke ``consumer`` until it succeeds or the attempts run out (then: dead letter)."""
        target = self._consumers.get(consumer)
        if target is None:
            self._dead.add(consumer, env, f"no consumer named {consumer!r} is running", 0)
            return False
        reason = ""
        for attempt in range(1, self._attempts + 1):
            try:
                target(eventbridge_event(env))
            except Exception as exc:
                reason = f"{type(exc).__name__}: {exc}"
                logger.warning(
                    "consumer failed",
                    extra={"consumer": consumer, "event": env.get("id"), "attempt": attempt},
                )
                if attempt < self._attempts:
                    time.sleep(self._backoff * attempt)
                continue
            with self._lock:
                self.delivered += 1
            return True
        with self._lock:
            self.failed += 1
        self._dead.add(consumer, env, reason, self._attempts)
        return False


def redrive(
    dead_letters: DeadLetters,
    bus: EventBus,
    *,
    consumer: str | None = None,
    ids: Collection[str] = (),
    limit: int = 1000,
) -> tuple[list[DeadLetter], list[tuple[DeadLetter, str]]]:
    """Publish dead letters again (all of ``consumer``'s, or those in ``ids``) and remove the
    ones the bus accepted. Returns (redriven, [(letter, error)])."""
    letters = [d for d in dead_letters.list(consumer, limit) if not ids or d.id in ids]
    if not letters:
        return [], []
    results = bus.publish([d.envelope for d in letters])
    done = [d for d, err in zip(letters, results, strict=True) if err is None]
    failed = [(d, err) for d, err in zip(letters, results, strict=True) if err is not None]
    dead_letters.remove([d.id for d in done])
    return done, failed
