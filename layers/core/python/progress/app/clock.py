"""The service clock: epoch microseconds, strictly increasing within a process."""

from __future__ import annotations

import threading
import time


class MonotonicClock:
    """Wall-clock microseconds that never repeat or go backwards in this process, so two
    Statements never share a ``stored`` value and paging by ``stored`` is total."""

    def __init__(self) -> None:
        self._last = 0
        self._lock = threading.Lock()

    def now_us(self) -> int:
        with self._lock:
            now = time.time_ns() // 1000
            self._last = now if now > self._last else self._last + 1
            return self._last
