"""Transcripts: one learner's completions (newest first), attempts in progress and totals,
optionally limited to a date range of completion and to one Activity.

Built from the attempts store (the learner's listing, followed page by page), the canonical
Activity definitions (names in the caller's language) and the learner's name as their latest
Statement gives it. The content is digested so a printed transcript can be verified: the
``digest`` covers everything but the generation time and the digest itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from progress.app.names import activity_names, actor_name
from progress.app.ports import (
    ActivityStore,
    AttemptFilter,
    AttemptStore,
    AttemptSummary,
    Clock,
    ListPosition,
    StatementStore,
)
from progress.domain.errors import NotFound
from progress.domain.statements import format_stored
from progress.domain.transcripts import digest, total_duration

PAGE = 500
MAX_ATTEMPTS = 20_000  # per transcript: beyond it, narrow the date range or the activity


@dataclass(frozen=True, slots=True)
class TranscriptQuery:
    learner: str  # agent key
    since_us: int | None = None  # completion time, inclusive
    until_us: int | None = None  # exclusive
    activity_id: str | None = None
    langs: Sequence[str] = ()


def _status(summary: AttemptSummary) -> str:
    record = summary.completion
    assert record is not None
    if record.passed:
        return "passed"
    if record.failed:
        return "failed"
    return "completed"


class TranscriptService:
    def __init__(
        self,
        attempts: AttemptStore,
        activities: ActivityStore,
        statements: StatementStore,
        clock: Clock,
        *,
        certificate_url: Callable[[str, str], str],  # (tenant, completion id) -> URL
    ) -> None:
        self._attempts = attempts
        self._activities = activities
        self._statements = statements
        self._clock = clock
        self._certificate_url = certificate_url

    def transcript(self, tenant: str, query: TranscriptQuery) -> dict[str, Any]:
        summaries = self._all(tenant, query.learner)
        if not summaries:
            raise NotFound(f"agent: no progress recorded for {query.learner}")
        done, open_ = [], []
        for s in summaries:
            if query.activity_id is not None and s.key.activity_id != query.activity_id:
                continue
            record = s.completion
            if record is not None and record.achieved:
                at = record.time_us or s.last_us
                if query.since_us is not None and at < query.since_us:
                    continue
                if query.until_us is not None and at >= query.until_us:
                    continue
                done.append(s)
            elif s.state == "open":
                open_.append(s)
        names = activity_names(
            self._activities, tenant, (s.key.activity_id for s in (*done, *open_)), query.langs
        )
        completions = [self._completion(tenant, s, names[s.key.activity_id]) for s in done]
        completions.sort(key=lambda c: (c["time"], c["completion_id"]), reverse=True)
        in_progress = [
            {
                "activity_id": s.key.activity_id,
                "activity_name": names[s.key.activity_id],
                "started": format_stored(s.started_us),
                "last_activity": format_stored(s.last_us),
                "attempt_id": s.attempt_id,
            }
            for s in sorted(open_, key=lambda s: (s.last_us, s.attempt_id), reverse=True)
        ]
        content: dict[str, Any] = {
            "learner": {"id": query.learner, "name": self._learner_name(tenant, summaries)},
            "filters": {
                "since": None if query.since_us is None else format_stored(query.since_us),
                "until": None if query.until_us is None else format_stored(query.until_us),
                "activity": query.activity_id,
                "lang": query.langs[0] if query.langs else None,
            },
            "totals": {
                "completions": len(completions),
                "passed": sum(c["status"] == "passed" for c in completions),
                "failed": sum(c["status"] == "failed" for c in completions),
                "in_progress": len(in_progress),
                "duration": total_duration(c["duration"] for c in completions),
            },
            "completions": completions,
            "in_progress": in_progress,
        }
        return {
            **content,
            "generated": format_stored(self._clock.now_us()),
            "digest": digest(content),
        }

    def _all(self, tenant: str, learner: str) -> list[AttemptSummary]:
        out: list[AttemptSummary] = []
        after: ListPosition | None = None
        where = AttemptFilter(learner=learner)
        while len(out) < MAX_ATTEMPTS:
            page, after = self._attempts.list(tenant, where, after, PAGE)
            out += page
            if after is None:
                break
        return out

    def _completion(self, tenant: str, s: AttemptSummary, name: str | None) -> dict[str, Any]:
        record = s.completion
        assert record is not None
        assert record.time_us is not None
        completion_id = record.id
        return {
            "activity_id": s.key.activity_id,
            "activity_name": name,
            "status": _status(s),
            "score": None if record.score is None else record.score.to_json(),
            "duration": record.duration,
            "time": format_stored(record.time_us),
            "attempt_id": s.attempt_id,
            "completion_id": completion_id,
            "certificate": (
                self._certificate_url(tenant, completion_id) if record.certified else None
            ),
        }

    def _learner_name(self, tenant: str, summaries: list[AttemptSummary]) -> str | None:
        """The actor's name in the latest Statement of the learner's latest completion."""
        for s in summaries:  # newest first
            if s.completion is not None and s.completion.statement_ids:
                return actor_name(self._statements, tenant, s.completion.statement_ids[-1])
        return None
