"""``progress.domain`` documents, tenancy and activities: exact messages and edge cases that the
behaviour tests elsewhere leave implicit (C§2.2, C§3.1, C§4.2, D§2.4.4.1)."""

from __future__ import annotations

import pytest

from progress.domain.activities import assemble_definition, definition_fields
from progress.domain.documents import (
    Document,
    Precondition,
    is_json_type,
    merge_json,
    profile_put_without_precondition,
)
from progress.domain.errors import BadRequest, Conflict, PreconditionFailed
from progress.domain.tenancy import (
    Principal,
    Scope,
    hash_secret,
    parse_scopes,
    tenant_hash,
    verify_secret,
)

# ----------------------------------------------------------------------------- documents


@pytest.mark.parametrize(
    ("content_type", "is_json"),
    [
        ("application/json", True),
        ("Application/JSON ; charset=utf-8", True),
        ("application/json;charset=utf-8", True),
        ("application/json; a=b; c=d", True),
        ("application/json-patch+json", False),
        ("text/plain; x=application/json", False),
    ],
)
def test_json_content_types(content_type: str, is_json: bool) -> None:
    assert is_json_type(content_type) is is_json


def test_a_merged_document_is_compact_utf8_json_with_the_posted_type_and_time() -> None:
    """DOC-004: the merge result as stored."""
    current = Document.of(b'{"a": "\xc3\xa9", "b": 1}', "application/json", 1)
    posted = Document.of(b'{"b": 2}', "application/json; charset=utf-8", 7)
    merged = merge_json(current, posted)
    assert merged.content == b'{"a":"\xc3\xa9","b":2}'
    assert (merged.content_type, merged.updated_us) == ("application/json; charset=utf-8", 7)


def test_a_document_without_content_type_is_octet_stream() -> None:
    assert Document.of(b"x", None, 1).content_type == "application/octet-stream"


def test_merging_into_a_stored_non_json_document_names_both_ways_out() -> None:
    current = Document.of(b"x", "text/plain", 1)
    posted = Document.of(b"{}", "application/json", 2)
    with pytest.raises(BadRequest) as caught:
        merge_json(current, posted)
    assert caught.value.message == (
        "Content-Type: the stored document is 'text/plain', not application/json;"
        " PUT to replace it instead of merging with POST"
    )


def test_merging_a_posted_non_json_document_names_the_type() -> None:
    current = Document.of(b"{}", "application/json", 1)
    with pytest.raises(BadRequest) as caught:
        merge_json(current, Document.of(b"x", "text/plain", 2))
    assert caught.value.message == (
        "Content-Type: 'text/plain' cannot be merged into the stored document;"
        " POST application/json objects only, or PUT to replace the document"
    )


def test_failed_preconditions_say_which_header_failed() -> None:
    """CONC-003/004/005."""
    if_match = Precondition(if_match=frozenset({"abc"}))
    with pytest.raises(PreconditionFailed) as caught:
        if_match.check("def")
    assert caught.value.message == (
        "If-Match: the document is absent or has changed; GET it for its current ETag"
    )
    if_match.check("abc")
    if_none_match = Precondition(if_none_match=frozenset({"*"}))
    with pytest.raises(PreconditionFailed) as caught:
        if_none_match.check("abc")
    assert caught.value.message == "If-None-Match: the document exists (or has that ETag)"
    if_none_match.check(None)


def test_a_profile_put_without_precondition_says_what_to_send() -> None:
    """CONC-006 and C§3.1.s3.b1."""
    exists = profile_put_without_precondition(True)
    assert isinstance(exists, Conflict)
    assert exists.message == (
        "If-Match: the document already exists; GET it to check its current state, then"
        " retry the PUT with If-Match set to its ETag"
    )
    new = profile_put_without_precondition(False)
    assert type(new) is BadRequest
    assert new.message == (
        "If-Match / If-None-Match: a profile document PUT must send one of them (C§3.1);"
        " use If-None-Match: * to create the document"
    )


# ----------------------------------------------------------------------------- tenancy


def test_unknown_and_missing_scopes_are_named() -> None:
    with pytest.raises(BadRequest) as caught:
        parse_scopes("all nope")
    assert caught.value.message == (
        "scopes: unknown scope 'nope' (known: all, all/read, statements/write,"
        " statements/read, statements/read/mine, state, define, profile, admin, operator)"
    )
    with pytest.raises(BadRequest) as caught:
        parse_scopes(" , ")
    assert caught.value.message == "scopes: at least one scope is required"


def test_tenant_hash_is_a_16_hex_digit_sha256_prefix() -> None:
    assert tenant_hash("acme") == "822b33ad87c148a0"


def test_a_secret_hash_uses_the_given_salt_or_a_fresh_16_byte_one() -> None:
    salted = hash_secret("s", salt=b"\x01" * 16)
    assert salted.startswith("scrypt$" + "01" * 16 + "$")
    assert hash_secret("s", salt=b"\x01" * 16) == salted
    assert len(hash_secret("s").split("$")[1]) == 32


@pytest.mark.parametrize("stored", ["bcrypt$00$00", "nodollars", "a$b$c$d"])
def test_a_foreign_or_malformed_hash_never_verifies(stored: str) -> None:
    assert verify_secret("s", stored) is False


@pytest.mark.parametrize(
    "scope",
    [Scope.STATE, Scope.PROFILE, Scope.DEFINE],
)
def test_document_scopes_grant_no_statement_access(scope: Scope) -> None:
    """C§4.2 scopes table."""
    principal = Principal("t", "k", frozenset({scope}), "label", "http://h")
    assert not principal.may_write_statements()
    assert not principal.may_read_all_statements()
    assert not principal.may_read_own_statements()


# ----------------------------------------------------------------------------- activities


def test_only_language_maps_and_extensions_are_split_into_fields() -> None:
    """ACT-001: other object-valued properties are one field, replaced whole."""
    assert definition_fields({"name": {"en": "A"}, "custom": {"x": 1}, "type": "t"}) == {
        "name/en": "A",
        "custom": {"x": 1},
        "type": "t",
    }
    assert definition_fields({"name": "not a map"}) == {"name": "not a map"}


def test_fields_reassemble_in_d2441_order() -> None:
    fields = {
        "extensions/http://e": 1,
        "type": "http://t",
        "custom/x": 2,
        "description/en": "D",
        "zzz": 3,
        "name/en": "A",
        "moreInfo": "http://m",
    }
    out = assemble_definition(fields)
    assert out == {
        "name": {"en": "A"},
        "description": {"en": "D"},
        "type": "http://t",
        "moreInfo": "http://m",
        "extensions": {"http://e": 1},
        "custom/x": 2,
        "zzz": 3,
    }
    assert list(out) == [
        "name",
        "description",
        "type",
        "moreInfo",
        "extensions",
        "custom/x",
        "zzz",
    ]


def test_admins_administer_their_own_tenant_and_operators_every_tenant() -> None:
    def principal(*scopes: Scope) -> Principal:
        return Principal("t1", "k", frozenset(scopes), "label", "https://h")

    admin, operator = principal(Scope.ADMIN), principal(Scope.OPERATOR)
    assert admin.may_administer("t1")
    assert not admin.may_administer("t2")
    assert operator.may_administer("t2")
    assert operator.is_operator()
    assert not admin.is_operator()
    xapi = principal(Scope.ALL)
    assert not xapi.may_administer("t1")
    assert not admin.may_write_statements()
    assert not admin.may_read_own_statements()
