"""GET /statements formats (SAPI-033) and language negotiation (SAPI-056), case by case: every
branch of ``progress.domain.formats`` with its exact output."""

from __future__ import annotations

from typing import Any

import pytest

from progress.domain.formats import (
    canonical_format,
    ids_format,
    parse_accept_language,
    pick_language,
)

NAMES = {"en-US": "Agent", "fr": "Agent FR"}
ANON = {
    "objectType": "Group",
    "name": "team",
    "member": [
        {"objectType": "Agent", "name": "Ann", "mbox": "mailto:ann@example.com"},
        {"name": "Bob", "account": {"homePage": "http://h", "name": "bob"}},
    ],
}
ANON_IDS = {
    "objectType": "Group",
    "member": [
        {"objectType": "Agent", "mbox": "mailto:ann@example.com"},
        {"account": {"homePage": "http://h", "name": "bob"}},
    ],
}


def full_statement() -> dict[str, Any]:
    return {
        "id": "s",
        "actor": ANON,
        "verb": {"id": "http://v", "display": {"en-US": "did", "fr": "a fait"}},
        "object": {
            "objectType": "Agent",
            "name": "Obj",
            "mbox_sha1sum": "ab",
            "openid": "http://o",
        },
        "authority": {
            "objectType": "Agent",
            "name": "LRS",
            "account": {"homePage": "h", "name": "k"},
        },
        "context": {
            "registration": "r",
            "instructor": {"name": "Teacher", "openid": "http://t"},
            "team": ANON,
            "contextActivities": {
                "parent": {"id": "http://p", "definition": {"name": NAMES}},
                "grouping": [{"objectType": "Activity", "id": "http://g", "definition": {}}],
            },
            "extensions": {"http://e": {"name": "kept"}},
        },
        "result": {"success": True},
        "timestamp": "t",
    }


def test_ids_format_keeps_identifiers_everywhere_and_the_rest_as_is() -> None:
    """SAPI-033 format=ids."""
    assert ids_format(full_statement()) == {
        "id": "s",
        "actor": ANON_IDS,
        "verb": {"id": "http://v"},
        "object": {"objectType": "Agent", "mbox_sha1sum": "ab", "openid": "http://o"},
        "authority": {"objectType": "Agent", "account": {"homePage": "h", "name": "k"}},
        "context": {
            "registration": "r",
            "instructor": {"openid": "http://t"},
            "team": ANON_IDS,
            "contextActivities": {
                "parent": [{"id": "http://p"}],
                "grouping": [{"id": "http://g"}],
            },
            "extensions": {"http://e": {"name": "kept"}},
        },
        "result": {"success": True},
        "timestamp": "t",
    }


@pytest.mark.parametrize(
    ("obj", "ids"),
    [
        ({"id": "http://a", "definition": {"name": NAMES}}, {"id": "http://a"}),
        (
            {"objectType": "Activity", "id": "http://a", "definition": {}},
            {"id": "http://a"},
        ),
        (
            {"objectType": "Group", "name": "G", "mbox": "mailto:g@x", "member": [{"name": "x"}]},
            {"objectType": "Group", "mbox": "mailto:g@x"},  # identified: members not listed
        ),
        ({"objectType": "Group", "name": "G"}, {"objectType": "Group", "member": []}),
        (
            {"objectType": "StatementRef", "id": "x", "extra": 1},
            {"objectType": "StatementRef", "id": "x"},
        ),
        (
            {
                "objectType": "SubStatement",
                "actor": {"name": "A", "mbox": "mailto:a@x"},
                "verb": {"id": "http://sv", "display": {"en": "v"}},
                "object": {"id": "http://so", "definition": {"name": NAMES}},
            },
            {
                "objectType": "SubStatement",
                "actor": {"mbox": "mailto:a@x"},
                "verb": {"id": "http://sv"},
                "object": {"id": "http://so"},
            },
        ),
    ],
)
def test_ids_format_of_each_object_kind(obj: dict[str, Any], ids: dict[str, Any]) -> None:
    stmt = {"actor": {"mbox": "mailto:a@x"}, "verb": {"id": "http://v"}, "object": obj}
    assert ids_format(stmt) == {
        "actor": {"mbox": "mailto:a@x"},
        "verb": {"id": "http://v"},
        "object": ids,
    }


def test_ids_format_without_context_or_authority_adds_neither() -> None:
    out = ids_format({"actor": {"mbox": "m"}, "verb": {"id": "v"}, "object": {"id": "o"}})
    assert "context" not in out
    assert "authority" not in out


def test_ids_format_of_a_context_with_neither_people_nor_activities() -> None:
    stmt = {
        "actor": {"mbox": "m"},
        "verb": {"id": "v"},
        "object": {"id": "o"},
        "context": {"platform": "p"},
    }
    assert ids_format(stmt)["context"] == {"platform": "p"}


def test_canonical_format_keeps_one_language_everywhere() -> None:
    """SAPI-056 format=canonical with Accept-Language fr."""
    described = [{"id": "c1", "description": NAMES}, {"id": "c2"}]
    stmt = {
        "actor": {"mbox": "m"},
        "verb": {"id": "http://v", "display": {"en-US": "did", "fr": "a fait"}},
        "object": {
            "id": "http://a",
            "definition": {
                "name": NAMES,
                "description": {"en": "d", "fr": "d fr"},
                "choices": described,
                "scale": described,
                "source": described,
                "target": described,
                "steps": described,
                "type": "http://t",
            },
        },
        "context": {
            "registration": "r",
            "contextActivities": {
                "parent": {"id": "http://p", "definition": {"name": NAMES}},
                "grouping": [{"id": "http://g"}],
            },
        },
    }
    one = [{"id": "c1", "description": {"fr": "Agent FR"}}, {"id": "c2"}]
    assert canonical_format(stmt, ["fr"]) == {
        "actor": {"mbox": "m"},
        "verb": {"id": "http://v", "display": {"fr": "a fait"}},
        "object": {
            "id": "http://a",
            "definition": {
                "name": {"fr": "Agent FR"},
                "description": {"fr": "d fr"},
                "choices": one,
                "scale": one,
                "source": one,
                "target": one,
                "steps": one,
                "type": "http://t",
            },
        },
        "context": {
            "registration": "r",
            "contextActivities": {
                "parent": [{"id": "http://p", "definition": {"name": {"fr": "Agent FR"}}}],
                "grouping": [{"id": "http://g"}],
            },
        },
    }


def test_canonical_format_of_a_sub_statement_and_of_plain_objects() -> None:
    sub = {
        "objectType": "SubStatement",
        "actor": {"mbox": "m"},
        "verb": {"id": "http://v", "display": NAMES},
        "object": {"id": "http://a", "definition": {"name": NAMES}},
    }
    stmt = {"actor": {"mbox": "m"}, "verb": {"id": "http://v"}, "object": sub}
    assert canonical_format(stmt, ["fr"])["object"] == {
        "objectType": "SubStatement",
        "actor": {"mbox": "m"},
        "verb": {"id": "http://v", "display": {"fr": "Agent FR"}},
        "object": {"id": "http://a", "definition": {"name": {"fr": "Agent FR"}}},
    }
    agent = {"actor": {"mbox": "m"}, "verb": {"id": "v"}, "object": {"objectType": "Agent"}}
    assert canonical_format(agent, ["fr"]) == agent
    plain = {
        "actor": {"mbox": "m"},
        "verb": {"id": "v", "display": "not a map"},
        "object": {"id": "a", "definition": {"name": "not a map", "choices": "x"}},
        "context": {"contextActivities": "not a map"},
    }
    assert canonical_format(plain, ["fr"]) == plain


def test_canonical_format_without_context_adds_none() -> None:
    stmt = {"actor": {"mbox": "m"}, "verb": {"id": "v"}, "object": {"id": "a"}}
    assert canonical_format(stmt, []) == stmt
    assert "context" not in canonical_format(stmt, [])


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("", []),
        (None, []),
        (",, ,", []),
        ("fr", ["fr"]),
        ("de;q=0.5, fr", ["fr", "de"]),
        ("de;q=1, FR;q=1", ["de", "fr"]),  # equal q: header order
        ("en;q=0, fr", ["fr"]),
        ("en;q=nope, fr", ["fr"]),
        ("en;level=1, fr;q=0.9", ["en", "fr"]),  # other parameters leave q at 1
        ("de;q=0.9, , fr;q=0.95", ["fr", "de"]),
        ("de ;q=0.001", ["de"]),
    ],
)
def test_accept_language_ranks_by_quality(header: str | None, expected: list[str]) -> None:
    assert parse_accept_language(header) == expected


@pytest.mark.parametrize(
    ("lang_map", "preferred", "expected"),
    [
        ({}, ["fr"], {}),
        ({"de": "x"}, ["fr"], {"de": "x"}),
        ({"en": "e", "fr": "f"}, ["fr"], {"fr": "f"}),
        ({"en": "e", "FR-ca": "f"}, ["fr"], {"FR-ca": "f"}),  # a range matches its subtags
        ({"en": "e", "fr": "f"}, ["fr-ca"], {"fr": "f"}),  # and a subtag its range
        ({"de": "d", "en-US": "u", "en": "e"}, ["*"], {"en-US": "u"}),  # * : the default
        ({"de": "d", "en": "e"}, ["it"], {"en": "e"}),
        ({"de": "d", "it": "i"}, ["fr"], {"de": "d"}),  # no English: the first
        ({"de": "d", "fr": "f"}, ["*", "fr"], {"de": "d"}),  # nothing after *
        ({"de": "d", "fr-ch": "f"}, ["fr-c"], {"de": "d"}),  # prefixes stop at a dash
    ],
)
def test_pick_language(
    lang_map: dict[str, str], preferred: list[str], expected: dict[str, str]
) -> None:
    assert pick_language(lang_map, preferred) == expected
