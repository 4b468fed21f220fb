"""The local stand-in for DynamoDB Streams, the relay's EventBridge bus and Lambda's scheduler.

``Pump`` runs beside the HTTP front in ``make run`` and delivers events with the very handlers
and rules AWS uses:

* SQLite (and memory): the outbox table is drained in commit order and each envelope is
  published on the ``Dispatcher`` (``catalog.RULES`` → consumer handlers, retries, dead
  letters); rows are marked published only after that.
* DynamoDB on moto: the table's stream is read and fed, in Lambda's record shape, to the
  ``outbox_relay`` handler, which publishes on the same ``Dispatcher``. Records the relay
  reports as failed are offered again on the next round, as Lambda would.
* Every ``sweep_every_s`` the ``sweeper`` handler runs, as its schedule would.

Idle rounds back off from ``interval_s`` to ``idle_s`` (a round that moves anything resets it;
50 ms on SQLite, 250 ms on moto, whose stream reads take the lock the HTTP requests need too).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from progress.app.dispatch import Dispatcher
from progress.bootstrap import Services
from progress.catalog import FUNCTIONS, Trigger

logger = logging.getLogger(__name__)

Loader = Callable[[str], Callable[[dict[str, Any], Any], Any]]


class Pump:
    def __init__(
        self,
        services: Services,
        load: Loader,
        context: Callable[[str], Any],
        *,
        interval_s: float = 0.02,
        idle_s: float | None = None,
        sweep_every_s: float = 60.0,
        batch: int = 500,
    ) -> None:
        self._svc = services
        self._context = context
        self._interval = interval_s
        if idle_s is None:  # an indexed SELECT is cheap; a moto stream poll is not
            idle_s = 0.05 if services.outbox is not None else 0.25
        self._idle = max(idle_s, interval_s)
        self._sweep_every = sweep_every_s
        self._batch = batch
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # one round at a time (thread or a test calling drain)
        self._last_sweep = time.monotonic()
        self._pending: list[dict[str, Any]] = []  # stream records the relay failed on
        self._reader: Any = None
        bus = services.bus
        if not isinstance(bus, Dispatcher):
            raise ValueError("EVENT_BUS_NAME is set: events go to EventBridge, not the local pump")
        self.dispatcher = bus
        for fn in FUNCTIONS:
            if fn.trigger is Trigger.EVENT:
                bus.register(fn.name, self._bind(load(fn.name), fn.name))
        self._sweeper = self._bind(load("sweeper"), "sweeper")
        self._relay = self._bind(load("outbox_relay"), "outbox_relay")
        if services.outbox is None:
            from progress.adapters.dynamodb.stream import StreamReader

            self._reader = StreamReader.for_table(services.settings.table_name)

    def _bind(
        self, handler: Callable[[dict[str, Any], Any], Any], name: str
    ) -> Callable[[dict[str, Any]], Any]:
        def invoke(event: dict[str, Any]) -> Any:
            return handler(event, self._context(name))

        return invoke

    # ------------------------------------------------------------------ rounds

    def drain(self) -> int:
        """Deliver everything committed so far, repeatedly, until a round finds nothing (what a
        consumer commits is delivered too). Returns the number of envelopes / records."""
        total = 0
        while True:
            with self._lock:
                moved = self._round()
            total += moved
            if moved == 0:
                return total

    def _round(self) -> int:
        outbox = self._svc.outbox
        if outbox is not None:
            rows = outbox.pending(self._batch)
            if rows:
                self.dispatcher.publish([env for _, env in rows])
                outbox.published([seq for seq, _ in rows])
            return len(rows)
        records = self._pending + self._reader.poll(self._batch)
        if not records:
            return 0
        result = self._relay({"Records": records})
        failures = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        self._pending = [r for r in records if r["dynamodb"]["SequenceNumber"] in failures]
        return len(records) - len(self._pending)

    def sweep(self) -> Any:
        return self._sweeper({"source": "local.schedule", "detail-type": "Scheduled Event"})

    # ------------------------------------------------------------------ the thread

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="event-pump", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        wait = self._interval
        while not self._stop.wait(wait):
            try:
                moved = self.drain()
                wait = self._interval if moved else min(wait * 2, self._idle)
                if time.monotonic() - self._last_sweep >= self._sweep_every:
                    self._last_sweep = time.monotonic()
                    self.sweep()
            except Exception:
                logger.exception("event pump round failed; retrying")

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)


def functions_dir_loader(functions_dir: Path | None = None) -> Loader:
    from progress.local.server import load_handler

    def load(name: str) -> Callable[[dict[str, Any], Any], Any]:
        return load_handler(name, functions_dir)

    return load
