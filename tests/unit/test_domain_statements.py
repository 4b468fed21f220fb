"""Pure domain rules: equivalence (IMM-002), index keys, output formats, tenancy."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from progress.domain.errors import BadRequest
from progress.domain.formats import (
    canonical_format,
    ids_format,
    parse_accept_language,
    pick_language,
)
from progress.domain.statements import (
    StatementQuery,
    agent_key,
    agent_of_key,
    format_stored,
    index_keys,
    normalise_context_activities,
    statements_equivalent,
    to_micros,
)
from progress.domain.tenancy import Scope, hash_secret, parse_scopes, verify_secret

BASE: dict[str, Any] = {
    "actor": {
        "objectType": "Group",
        "member": [{"mbox": "mailto:a@example.com"}, {"mbox": "mailto:b@example.com"}],
    },
    "verb": {"id": "http://adlnet.gov/expapi/verbs/completed", "display": {"en-US": "done"}},
    "object": {"id": "http://example.com/a", "definition": {"name": {"en": "A"}}},
    "context": {"contextActivities": {"parent": {"id": "http://example.com/p"}}},
    "result": {"duration": "PT1.2345S"},
    "timestamp": "2026-03-01T10:00:00.123Z",
}


# ------------------------------------------------------------------------------ IMM-002


def test_lrs_assigned_properties_are_ignored() -> None:
    """IMM-001: id/stored/authority/version may be set by the LRS."""
    stored = {
        **BASE,
        "id": "x",
        "stored": "now",
        "authority": {"mbox": "mailto:lrs@example.com"},
        "version": "1.0.0",
    }
    assert statements_equivalent(BASE, stored)


def test_a_timestamp_the_lrs_filled_in_is_ignored() -> None:
    without = {k: v for k, v in BASE.items() if k != "timestamp"}
    assert statements_equivalent(without, BASE)


def test_the_same_instant_in_another_zone_is_equal_but_another_instant_is_not() -> None:
    shifted = {**BASE, "timestamp": "2026-03-01T12:00:00.123+02:00"}
    later = {**BASE, "timestamp": "2026-03-01T10:00:00.124Z"}
    assert statements_equivalent(BASE, shifted)
    assert not statements_equivalent(BASE, later)


def test_duration_digits_below_hundredths_are_ignored() -> None:
    """GEN-022."""
    assert statements_equivalent(BASE, {**BASE, "result": {"duration": "PT1.23S"}})
    assert not statements_equivalent(BASE, {**BASE, "result": {"duration": "PT1.24S"}})


def test_other_differences_count() -> None:
    """IMM-002: language maps, definitions and verbs are not ignored."""
    for path, value in [
        (("verb", "display"), {"en-US": "finished"}),
        (("object", "definition"), {"name": {"en": "B"}}),
        (("verb", "id"), "http://example.com/other"),
    ]:
        other = copy.deepcopy(BASE)
        other[path[0]][path[1]] = value
        assert not statements_equivalent(BASE, other), path


@st.composite
def allowed_rewrites(draw: st.DrawFn) -> dict[str, Any]:
    """BASE rewritten only in ways D§2.3.1 permits."""
    out = copy.deepcopy(BASE)
    members = out["actor"]["member"]
    out["actor"]["member"] = draw(st.permutations(members))
    if draw(st.booleans()):
        out["context"]["contextActivities"]["parent"] = [{"id": "http://example.com/p"}]
    offset = draw(st.integers(min_value=-12, max_value=14))
    moment = datetime(2026, 3, 1, 10, 0, 0, 123000, tzinfo=UTC)
    local = moment.astimezone(timezone(timedelta(hours=offset)))
    out["timestamp"] = local.isoformat()
    if draw(st.booleans()):  # mbox domains are case-insensitive
        out["actor"]["member"] = [
            {"mbox": m["mbox"].replace("@example.com", "@EXAMPLE.com")}
            for m in out["actor"]["member"]
        ]
    if draw(st.booleans()):
        out["id"] = "9f1c0b1e-0000-4000-8000-000000000000"
    return out


@given(allowed_rewrites())
def test_every_allowed_rewrite_stays_equivalent(rewritten: dict[str, Any]) -> None:
    """IMM-001/002 as a property; STMT-020 (member order) and GEN-011 (mbox domain case)."""
    assert statements_equivalent(BASE, rewritten)
    assert statements_equivalent(rewritten, BASE)


# ------------------------------------------------------------------------------ index keys


def test_index_keys_cover_each_query_form() -> None:
    stmt = {
        "actor": {"mbox": "mailto:Ann@Example.com"},
        "verb": {"id": "http://v"},
        "object": {"id": "http://o"},
        "authority": {"account": {"homePage": "http://h", "name": "lrs"}},
        "context": {
            "registration": "AAAAAAAA-0000-4000-8000-000000000000",
            "instructor": {"openid": "http://id/t"},
            "contextActivities": {"grouping": [{"id": "http://g"}]},
        },
    }
    keys = index_keys(stmt)
    assert "a:mbox:mailto:Ann@example.com" in keys  # domain is case-insensitive
    assert "ra:acct:http://h|lrs" in keys
    assert "ra:openid:http://id/t" in keys
    assert "a:openid:http://id/t" not in keys
    assert {"o:http://o", "ro:http://o", "ro:http://g", "v:http://v"} <= keys
    assert "o:http://g" not in keys
    assert "r:aaaaaaaa-0000-4000-8000-000000000000" in keys


def test_substatement_keys_are_related_only() -> None:
    stmt = {
        "actor": {"mbox": "mailto:a@x.com"},
        "verb": {"id": "http://v"},
        "object": {
            "objectType": "SubStatement",
            "actor": {"mbox": "mailto:s@x.com"},
            "verb": {"id": "http://sv"},
            "object": {"id": "http://so"},
        },
    }
    keys = index_keys(stmt)
    assert "ra:mbox:mailto:s@x.com" in keys
    assert "a:mbox:mailto:s@x.com" not in keys
    assert "ro:http://so" in keys
    assert "o:http://so" not in keys


def test_agent_key_is_none_for_an_anonymous_group() -> None:
    """STMT-022: an anonymous Group has no identity, so it never equals another Group."""
    assert agent_key({"objectType": "Group", "member": []}) is None
    assert agent_key({"mbox_sha1sum": "ABC"}) == "sha1:abc"


@pytest.mark.parametrize(
    "agent",
    [
        {"mbox": "mailto:ann@example.com"},
        {"mbox_sha1sum": "ebd31e95054c018b10727ccffd2ef2ec3a016ee9"},
        {"openid": "https://openid.example.com/ann"},
        {"account": {"homePage": "https://lms.example.com", "name": "ann|42"}},
    ],
)
def test_agent_of_key_rebuilds_the_agent_an_agent_key_stands_for(agent: dict[str, Any]) -> None:
    key = agent_key(agent)
    assert key is not None
    assert agent_of_key(key) == agent


@pytest.mark.parametrize("key", ["", "mbox", "x:y", "acct:no-bar", "MBOX:mailto:a@b.c"])
def test_agent_of_key_refuses_what_agent_key_never_makes(key: str) -> None:
    with pytest.raises(ValueError, match="not an agent key"):
        agent_of_key(key)


def test_query_scans_the_most_selective_index() -> None:
    q = StatementQuery(required=frozenset({"v:http://v", "a:mbox:x", "r:1"}))
    assert q.primary_key() == "r:1"
    assert StatementQuery(required=frozenset({"v:http://v", "a:mbox:x"})).primary_key() == (
        "a:mbox:x"
    )
    assert StatementQuery().primary_key() == "*"


def test_context_activities_are_normalised_without_copying_when_already_arrays() -> None:
    """STMT-074."""
    out = normalise_context_activities(BASE)
    assert out["context"]["contextActivities"]["parent"] == [{"id": "http://example.com/p"}]
    assert BASE["context"]["contextActivities"]["parent"] == {"id": "http://example.com/p"}
    assert normalise_context_activities(out) is out


def test_stored_rendering_round_trips_microseconds() -> None:
    us = to_micros(datetime(2026, 11, 25, 3, 4, 5, 678901, tzinfo=UTC))
    assert format_stored(us) == "2026-11-25T03:04:05.678901Z"
    parsed = datetime.fromisoformat(format_stored(us).replace("Z", "+00:00"))
    assert to_micros(parsed) == us


# ------------------------------------------------------------------------------ formats


def test_ids_format_keeps_only_identifiers() -> None:
    """SAPI-033."""
    out = ids_format(
        {
            **BASE,
            "actor": {"objectType": "Agent", "name": "Ann", "mbox": "mailto:a@x.com"},
            "context": {"instructor": {"name": "T", "openid": "http://t"}},
        }
    )
    assert out["actor"] == {"objectType": "Agent", "mbox": "mailto:a@x.com"}
    assert out["verb"] == {"id": BASE["verb"]["id"]}
    assert out["object"] == {"id": "http://example.com/a"}
    assert out["context"]["instructor"] == {"openid": "http://t"}


def test_canonical_format_picks_one_language_per_map() -> None:
    """SAPI-056."""
    stmt = {
        **BASE,
        "object": {
            "id": "http://a",
            "definition": {
                "name": {"en-US": "Hello", "de-DE": "Hallo", "fr": "Bonjour"},
                "choices": [{"id": "1", "description": {"en-US": "one", "de-DE": "eins"}}],
            },
        },
    }
    out = canonical_format(stmt, parse_accept_language("de;q=0.9, fr;q=0.1"))
    assert out["object"]["definition"]["name"] == {"de-DE": "Hallo"}
    assert out["object"]["definition"]["choices"][0]["description"] == {"de-DE": "eins"}
    assert out["verb"]["display"] == {"en-US": "done"}


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("fr-CH, fr;q=0.9, en;q=0.8, *;q=0.5", ["fr-ch", "fr", "en", "*"]),
        ("en;q=0, de", ["de"]),
        ("", []),
        (None, []),
    ],
)
def test_accept_language_order(header: str | None, expected: list[str]) -> None:
    assert parse_accept_language(header) == expected


def test_pick_language_falls_back_to_english_then_first() -> None:
    assert pick_language({"xx": "?", "en": "E"}, ["ja"]) == {"en": "E"}
    assert pick_language({"xx": "?", "yy": "!"}, []) == {"xx": "?"}


# ------------------------------------------------------------------------------ tenancy


def test_secret_hashes_verify_only_the_right_secret() -> None:
    stored = hash_secret("correct horse")
    assert verify_secret("correct horse", stored)
    assert not verify_secret("wrong horse", stored)
    assert not verify_secret("correct horse", "plain$text")
    assert hash_secret("x") != hash_secret("x")  # salted


def test_scopes_parse_and_unknown_ones_are_named() -> None:
    assert parse_scopes("all/read, state") == {Scope.ALL_READ, Scope.STATE}
    with pytest.raises(BadRequest, match="'root'"):
        parse_scopes("all root")
    with pytest.raises(BadRequest):
        parse_scopes("  ")
