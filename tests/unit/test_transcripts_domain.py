"""Transcript arithmetic: ISO 8601 durations, their sum, and the content digest."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from progress.domain.transcripts import (
    digest,
    duration_seconds,
    format_duration,
    total_duration,
)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("PT20M", 1200.0),
        ("PT1H", 3600.0),
        ("P1D", 86400.0),
        ("P1DT2H3M4S", 93784.0),
        ("PT0.5S", 0.5),
        ("PT1.5H", 5400.0),
        ("PT0S", 0.0),
    ],
)
def test_day_time_durations_in_seconds(value: str, seconds: float) -> None:
    assert duration_seconds(value) == seconds


@pytest.mark.parametrize(
    "value", [None, "", "P", "PT", "P1M", "P1Y", "P1W", "20M", "PT1H2", "xPT1S"]
)
def test_durations_without_a_fixed_length_or_malformed_are_none(value: str | None) -> None:
    assert duration_seconds(value) is None


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "PT0S"),
        (59.6, "PT1M"),
        (61, "PT1M1S"),
        (3600, "PT1H"),
        (3661, "PT1H1M1S"),
        (90000, "PT25H"),
        (7200 + 5, "PT2H5S"),
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@given(st.integers(min_value=0, max_value=10**7))
def test_format_then_parse_round_trips(seconds: int) -> None:
    assert duration_seconds(format_duration(seconds)) == seconds


def test_total_skips_what_cannot_be_summed() -> None:
    assert total_duration(["PT20M", None, "P1M", "PT1H", "bad"]) == "PT1H20M"
    assert total_duration([None, "P1M"]) is None
    assert total_duration([]) is None


def test_digest_is_canonical_and_content_sensitive() -> None:
    a = digest({"b": [1, "é"], "a": None})
    assert a == digest({"a": None, "b": [1, "é"]})
    assert a.startswith("sha256:")
    assert len(a) == len("sha256:") + 64
    assert a != digest({"a": None, "b": [1, "e"]})
    assert digest({}) == "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
