"""`make loadtest`: locust over HTTP against a running `make run`.

Each simulated client POSTs batches of 50 generated Statements (``loadtests.generator``, a fresh
random seed per client, so ids never collide with earlier runs) and mixes in GETs by agent, verb
and activity, following the ``more`` link once when there is one. Values queried are taken from
what this client already posted, so they exist in the LRS.

Environment: LRS_KEY / LRS_SECRET (the credentials `make run` prints), LRS_BATCH (50),
LRS_WAIT_MAX (max seconds between a client's requests, 0.5). Host and duration come from the
locust flags (``--host``, ``-t``) the Makefile passes.
"""

from __future__ import annotations

import base64
import itertools
import os
import random
import sys
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
from locust import HttpUser, between, task

try:
    from loadtests.generator import statements
except ModuleNotFoundError:  # locust loads this file by path, from any directory
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from loadtests.generator import statements

KEY = os.environ.get("LRS_KEY", "")
SECRET = os.environ.get("LRS_SECRET", "")
if not KEY or not SECRET:
    sys.exit("locustfile: set LRS_KEY and LRS_SECRET to the credentials `make run` printed")
BATCH = int(os.environ.get("LRS_BATCH") or 50)
WAIT_MAX = float(os.environ.get("LRS_WAIT_MAX") or 0.5)
STATEMENTS = "/xapi/statements"


class LrsClient(HttpUser):
    """A learning platform forwarding its learners' Statements and reading progress back."""

    wait_time = between(min(0.05, WAIT_MAX), WAIT_MAX)

    def on_start(self) -> None:
        token = base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
        self.headers = {
            "Authorization": f"Basic {token}",
            "X-Experience-API-Version": "1.0.3",
        }
        seed = random.SystemRandom().getrandbits(63)
        self.stream: Iterator[dict[str, Any]] = statements(sys.maxsize, seed=seed)
        # Recently posted values to query by (only what this client stored, so they exist).
        self.agents: deque[str] = deque(maxlen=200)
        self.verbs: deque[str] = deque(maxlen=200)
        self.activities: deque[str] = deque(maxlen=200)
        self.post_batch()

    @task(4)
    def post_batch(self) -> None:
        batch = list(itertools.islice(self.stream, BATCH))
        with self.client.post(
            STATEMENTS,
            data=orjson.dumps(batch),
            headers={**self.headers, "Content-Type": "application/json"},
            name=f"POST {STATEMENTS} [{BATCH}]",
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code}: {response.text[:300]}")
                return
            ids = orjson.loads(response.content)
            if not isinstance(ids, list) or len(ids) != len(batch):
                response.failure(f"expected {len(batch)} ids, got {response.text[:200]}")
                return
            response.success()
        for stmt in random.sample(batch, 3):
            actor = stmt["actor"]
            ifi = {k: v for k, v in actor.items() if k not in ("name", "objectType")}
            self.agents.append(orjson.dumps(ifi).decode())
            self.verbs.append(stmt["verb"]["id"])
            self.activities.append(stmt["object"]["id"])

    def _query(self, name: str, params: dict[str, str]) -> None:
        more = self._get(f"GET {STATEMENTS}?{name}", params)
        if more:
            self._get(f"GET {STATEMENTS}?more", None, url=more)

    def _get(self, name: str, params: dict[str, str] | None, url: str = STATEMENTS) -> str:
        """GET a StatementResult; returns its ``more`` link ("" when none or on failure)."""
        with self.client.get(
            url, params=params, headers=self.headers, name=name, catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code}: {response.text[:300]}")
                return ""
            try:
                result = orjson.loads(response.content)
                more = result["more"]
                if not isinstance(result["statements"], list) or not isinstance(more, str):
                    raise TypeError("statements must be a list, more a string")
            except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
                response.failure(f"not a StatementResult ({exc}): {response.text[:200]}")
                return ""
            response.success()
            return more

    @task(2)
    def by_agent(self) -> None:
        self._query("agent", {"agent": random.choice(self.agents), "limit": "25"})

    @task(1)
    def by_verb(self) -> None:
        self._query("verb", {"verb": random.choice(self.verbs), "limit": "25"})

    @task(2)
    def by_activity(self) -> None:
        self._query("activity", {"activity": random.choice(self.activities), "limit": "25"})
