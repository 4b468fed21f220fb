"""Transcript arithmetic: ISO 8601 durations (xAPI ``result.duration``), their sum, and the
content digest a transcript's footer shows (so a printed copy can be checked against the LRS)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

# xAPI durations are ISO 8601 (D§4.1.6.1); cmi5 AUs send PnDTnHnMnS. Years, months and weeks have
# no fixed length, so a duration naming them is shown as given and left out of totals.
_DURATION = re.compile(
    r"^P(?!$)(?:(?P<d>\d+(?:\.\d+)?)D)?"
    r"(?:T(?=\d)(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


def duration_seconds(value: str | None) -> float | None:
    """Seconds of a day/time ISO 8601 duration; None when absent or not of that form."""
    if not value:
        return None
    match = _DURATION.match(value)
    if match is None:
        return None
    parts = {k: float(v) for k, v in match.groupdict().items() if v is not None}
    return (
        parts.get("d", 0.0) * 86_400
        + parts.get("h", 0.0) * 3_600
        + parts.get("m", 0.0) * 60
        + parts.get("s", 0.0)
    )


def format_duration(seconds: float) -> str:
    """An ISO 8601 duration of whole seconds: ``PT3H20M5S``; ``PT0S`` for nothing."""
    total = round(seconds)
    hours, rest = divmod(total, 3_600)
    minutes, secs = divmod(rest, 60)
    out = "PT"
    out += f"{hours}H" if hours else ""
    out += f"{minutes}M" if minutes else ""
    out += f"{secs}S" if secs or total == 0 else ""
    return out


def total_duration(values: Iterable[str | None]) -> str | None:
    """The sum of the durations that can be summed; None when there are none."""
    seconds = [s for s in (duration_seconds(v) for v in values) if s is not None]
    return format_duration(sum(seconds)) if seconds else None


def digest(content: Mapping[str, Any]) -> str:
    """``sha256:`` of the canonical JSON (sorted keys, no whitespace) of ``content``."""
    raw = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(raw.encode()).hexdigest()
