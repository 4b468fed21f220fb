"""``progress.domain.statements`` case by case: agent identity, index keys, voiding, attachment
hashes, stored rendering, key-group matching, equivalence (IMM-002) and STMT-074."""

from __future__ import annotations

import copy
import time
from typing import Any

import pytest

from progress.domain.statements import (
    VOIDED_VERB,
    StoredStatement,
    agent_key,
    attachment_hashes,
    format_stored,
    index_keys,
    is_voiding,
    normalise_context_activities,
    statement_ref_target,
    statements_equivalent,
)

BASE: dict[str, Any] = {
    "actor": {"mbox": "mailto:ann@example.com"},
    "verb": {"id": "http://v"},
    "object": {"id": "http://o"},
}


def with_(**changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(BASE)
    out.update(changes)
    return out


# ----------------------------------------------------------------------------- agent identity


@pytest.mark.parametrize(
    ("agent", "key"),
    [
        ({"mbox": "mailto:Ann@Example.COM"}, "mbox:mailto:Ann@example.com"),
        ({"mbox": "mailto:A@B@C.com"}, "mbox:mailto:A@b@c.com"),  # the first @ splits
        ({"mbox_sha1sum": "ABCDEF"}, "sha1:abcdef"),
        ({"openid": "http://Id"}, "openid:http://Id"),
        ({"account": {"homePage": "http://h", "name": "N"}}, "acct:http://h|N"),
        ({"account": "junk"}, None),
        ({"objectType": "Group", "member": [{"mbox": "mailto:m@x"}]}, None),
    ],
)
def test_agent_keys(agent: dict[str, Any], key: str | None) -> None:
    """GEN-011: mbox domains compare case-insensitively."""
    assert agent_key(agent) == key


def test_group_members_are_findable_as_agents() -> None:
    """STMT-020 / C§2.1.3 agent: a Group actor matches its members."""
    actor = {
        "objectType": "Group",
        "mbox": "mailto:g@x",
        "member": [{"mbox": "mailto:m@x"}, {"name": "anonymous"}, "junk"],
    }
    keys = index_keys(with_(actor=actor))
    assert {"a:mbox:mailto:g@x", "a:mbox:mailto:m@x", "ra:mbox:mailto:m@x"} <= keys
    assert not any("anonymous" in k or "None" in k for k in keys)


@pytest.mark.parametrize("kind", ["Agent", "Group"])
def test_an_agent_or_group_object_is_findable_as_agent(kind: str) -> None:
    keys = index_keys(with_(object={"objectType": kind, "mbox": "mailto:o@x"}))
    assert {"a:mbox:mailto:o@x", "ra:mbox:mailto:o@x"} <= keys
    assert not any(k.startswith(("o:", "ro:")) for k in keys)


def test_index_keys_of_everything_related() -> None:
    stmt = with_(
        authority={"mbox": "mailto:lrs@x"},
        object={
            "objectType": "SubStatement",
            "actor": {"mbox": "mailto:s@x"},
            "verb": {"id": "http://sv"},
            "object": {"objectType": "Agent", "mbox": "mailto:so@x"},
            "context": {
                "instructor": {"mbox": "mailto:i@x"},
                "team": {"objectType": "Group", "mbox": "mailto:t@x"},
                "contextActivities": {
                    "parent": {"id": "http://p"},
                    "other": [{"id": "http://q"}, {"definition": {}}, "junk"],
                },
            },
        },
        context={"contextActivities": "junk", "registration": "R"},
    )
    assert index_keys(stmt) == {
        "*",
        "v:http://v",
        "a:mbox:mailto:ann@example.com",
        "ra:mbox:mailto:ann@example.com",
        "ra:mbox:mailto:lrs@x",
        "ra:mbox:mailto:s@x",
        "ra:mbox:mailto:so@x",
        "ra:mbox:mailto:i@x",
        "ra:mbox:mailto:t@x",
        "ro:http://p",
        "ro:http://q",
        "r:r",
    }


def test_a_sub_statement_about_an_activity_is_related_to_it() -> None:
    sub = {
        "objectType": "SubStatement",
        "actor": {"mbox": "mailto:s@x"},
        "verb": {"id": "http://sv"},
        "object": {"id": "http://so"},
    }
    keys = index_keys(with_(object=sub))
    assert "ro:http://so" in keys
    assert "o:http://so" not in keys
    no_id = {**sub, "object": {"objectType": "Activity"}}
    assert not any(k.startswith("ro:") for k in index_keys(with_(object=no_id)))


def test_a_statement_ref_object_adds_no_object_keys() -> None:
    keys = index_keys(with_(object={"objectType": "StatementRef", "id": "x"}))
    assert keys == {
        "*",
        "v:http://v",
        "a:mbox:mailto:ann@example.com",
        "ra:mbox:mailto:ann@example.com",
    }


# ----------------------------------------------------------------------------- voiding


@pytest.mark.parametrize(
    ("verb", "obj", "voiding"),
    [
        (VOIDED_VERB, {"objectType": "StatementRef", "id": "X"}, True),  # VOID-001
        (VOIDED_VERB, {"id": "http://o"}, False),
        ("http://v", {"objectType": "StatementRef", "id": "X"}, False),
    ],
)
def test_only_the_voided_verb_with_a_statement_ref_voids(
    verb: str, obj: dict[str, Any], voiding: bool
) -> None:
    stmt = with_(verb={"id": verb}, object=obj)
    assert is_voiding(stmt) is voiding
    assert statement_ref_target(stmt) == ("x" if obj.get("objectType") else None)


# ----------------------------------------------------------------------------- attachments


def test_attachment_hashes_are_lower_cased_and_odd_entries_skipped() -> None:
    stmt = with_(attachments=[{"sha2": "ABC"}, {"usageType": "x"}, "junk", {"sha2": "def"}])
    assert attachment_hashes(stmt) == ("abc", "def")
    assert attachment_hashes(with_(attachments="junk")) == ()
    assert attachment_hashes(BASE) == ()


# ----------------------------------------------------------------------------- stored times


def test_stored_is_rendered_in_utc_whatever_the_local_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        assert format_stored(1_767_261_600_123_456) == "2026-01-01T10:00:00.123456Z"
    finally:
        monkeypatch.undo()
        time.tzset()


def test_a_query_matches_a_key_group_equal_to_what_it_requires() -> None:
    stored = StoredStatement("s", 1, b"{}", (frozenset({"a", "b"}),))
    assert stored.matches({"a", "b"})
    assert stored.matches({"a"})
    assert not stored.matches({"a", "c"})


# ----------------------------------------------------------------------------- equivalence


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (with_(attachments=[{"sha2": "x"}]), BASE),  # attachments may be omitted (IMM-002)
        (with_(timestamp="2026-01-01T10:00:00"), with_(timestamp="2026-01-01T10:00:00Z")),
        (
            with_(timestamp="2026-01-01T10:00:00Z"),
            with_(timestamp="2026-01-01T10:00:00.000999Z"),  # below 1 ms
        ),
        (with_(result={"duration": "PT1.5S"}), with_(result={"duration": "PT1.50S"})),
        (with_(actor={"mbox": "mailto:A@B@c.com"}), with_(actor={"mbox": "mailto:A@b@c.com"})),
        (
            with_(context={"contextActivities": {"parent": {"id": "http://p"}}}),
            with_(context={"contextActivities": {"parent": [{"id": "http://p"}]}}),
        ),
        (
            with_(
                actor={
                    "objectType": "Group",
                    "member": [{"mbox": "mailto:a@x"}, {"mbox": "mailto:b@x"}],
                }
            ),
            with_(
                actor={
                    "objectType": "Group",
                    "member": [{"mbox": "mailto:b@x"}, {"mbox": "mailto:a@X"}],
                }
            ),
        ),
        (
            with_(
                object={
                    "objectType": "SubStatement",
                    **BASE,
                    "timestamp": "2026-01-01T11:00:00+01:00",
                }
            ),
            with_(
                object={"objectType": "SubStatement", **BASE, "timestamp": "2026-01-01T10:00:00Z"}
            ),
        ),
    ],
)
def test_equivalent_statements(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert statements_equivalent(a, b)
    assert statements_equivalent(b, a)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (with_(timestamp="2026-01-01T10:00:00.001Z"), with_(timestamp="2026-01-01T10:00:00Z")),
        (with_(timestamp="2026-01-01T10:00:01Z"), with_(timestamp="2026-01-01T10:00:00Z")),
        (with_(result={"duration": "PT1.234S"}), with_(result={"duration": "PT1.234M"})),
        (with_(result={"duration": "PT1S"}), with_(result={"duration": "PT2S"})),
        (
            with_(context={"extensions": {"http://e": {"mbox": "mailto:a@B.com"}}}),
            with_(context={"extensions": {"http://e": {"mbox": "mailto:a@b.com"}}}),
        ),
        (
            with_(context={"extensions": {"http://e": 1}}),
            with_(context={"extensions": {"http://e": 2}}),
        ),
        (
            with_(context={"contextActivities": {"parent": [{"id": "http://p"}]}}),
            with_(context={"contextActivities": {"parent": [{"id": "http://q"}]}}),
        ),
        (
            with_(actor={"objectType": "Group", "member": [{"mbox": "mailto:a@x"}]}),
            with_(actor={"objectType": "Group", "member": [{"mbox": "mailto:b@x"}]}),
        ),
        (with_(actor={"mbox": "mailto:a@x"}), with_(actor={"mbox": "mailto:b@x"})),
        (with_(actor={"mbox": "mailto:a@ß.de"}), with_(actor={"mbox": "mailto:a@SS.de"})),
        (with_(object={"id": "http://x.123"}), with_(object={"id": "http://x.124"})),
        (
            with_(object={"id": "http://o", "definition": {"choices": [{"id": "a"}, {"id": "b"}]}}),
            with_(object={"id": "http://o", "definition": {"choices": [{"id": "b"}, {"id": "a"}]}}),
        ),
        (
            with_(object={"id": "http://o", "definition": {"choices": [{"id": "a"}]}}),
            with_(object={"id": "http://o", "definition": {"choices": [{"id": "b"}]}}),
        ),
        (
            with_(
                object={"objectType": "SubStatement", **BASE, "timestamp": "2026-01-01T10:00:01Z"}
            ),
            with_(
                object={"objectType": "SubStatement", **BASE, "timestamp": "2026-01-01T10:00:00Z"}
            ),
        ),
    ],
)
def test_statements_that_differ(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert not statements_equivalent(a, b)
    assert not statements_equivalent(b, a)


def test_a_non_string_or_unparseable_timestamp_compares_as_is() -> None:
    assert statements_equivalent(with_(timestamp=5), with_(timestamp=5))
    assert not statements_equivalent(with_(timestamp="soon"), with_(timestamp="later"))
    assert statements_equivalent(
        with_(object={"id": "o", "timestamp": 5}), with_(object={"id": "o", "timestamp": 5})
    )


# ----------------------------------------------------------------------------- STMT-074


def test_single_context_activities_of_a_sub_statement_become_arrays() -> None:
    sub = {
        "objectType": "SubStatement",
        **BASE,
        "context": {"contextActivities": {"parent": {"id": "http://p"}}},
    }
    stmt = with_(object=sub)
    out = normalise_context_activities(stmt)
    assert out["object"]["context"]["contextActivities"] == {"parent": [{"id": "http://p"}]}
    assert out is not stmt
    assert stmt["object"]["context"]["contextActivities"] == {"parent": {"id": "http://p"}}
    assert out["actor"] == stmt["actor"]


def test_single_context_activities_at_both_levels_become_arrays() -> None:
    sub = {
        "objectType": "SubStatement",
        **BASE,
        "context": {"contextActivities": {"a": {"id": "x"}}},
    }
    stmt = with_(object=sub, context={"contextActivities": {"b": {"id": "y"}, "c": [{"id": "z"}]}})
    out = normalise_context_activities(stmt)
    assert out["context"]["contextActivities"] == {"b": [{"id": "y"}], "c": [{"id": "z"}]}
    assert out["object"]["context"]["contextActivities"] == {"a": [{"id": "x"}]}


def test_a_sub_statement_with_arrays_already_is_not_copied() -> None:
    sub = {
        "objectType": "SubStatement",
        **BASE,
        "context": {"contextActivities": {"a": [{"id": "x"}]}},
    }
    stmt = with_(object=sub)
    assert normalise_context_activities(stmt) is stmt
    activity = with_(object={"id": "http://o"}, context={"contextActivities": {"a": {"id": "x"}}})
    assert normalise_context_activities(activity)["object"] is activity["object"]
