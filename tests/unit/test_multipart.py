"""multipart/mixed for Statements (C§1.5.2): ATT-002..009 of LRS-REQUIREMENTS.md A.7.

Bodies are built here byte by byte, shaped like the ones the ADL conformance suite posts
(``H.Communication1.5-ContentTypes.js``, ``helper.signStatement``).
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from progress.domain.errors import BadRequest
from progress.edge.xapi.multipart import (
    AttachmentPart,
    Part,
    match_attachments,
    parse_content_type,
    parse_multipart_mixed,
    render_multipart_mixed,
    split_statement_request,
)

BOUNDARY = "-------314159265358979323846"
CT = f"multipart/mixed; boundary={BOUNDARY}"
STATEMENT = b'{"actor":{"mbox":"mailto:a@example.com"}}'
TEXT1 = b"here is a simple attachment"
TEXT2 = b"here is another simple attachment"
TEXT3 = b"here is a third simple attachment"
SIGNATURE_USAGE = "http://adlnet.gov/expapi/attachments/signature"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def attachment_headers(data: bytes, content_type: str = "text/plain") -> list[str]:
    return [
        f"Content-Type: {content_type}",
        "Content-Transfer-Encoding: binary",
        f"X-Experience-API-Hash: {sha256(data)}",
    ]


def build(
    parts: Sequence[tuple[Sequence[str], bytes]],
    boundary: str = BOUNDARY,
    eol: bytes = b"\r\n",
    preamble: bytes = b"",
    epilogue: bytes = b"\r\n",
) -> bytes:
    """A multipart body: each part is (header lines, body)."""
    delimiter = b"--" + boundary.encode()
    out = [preamble]
    for headers, body in parts:
        out += [delimiter, eol, *(h.encode() + eol for h in headers), eol, body, eol]
    out += [delimiter, b"--", epilogue]
    return b"".join(out)


def statement_with(*attachments: dict[str, Any]) -> dict[str, Any]:
    return {"actor": {"mbox": "mailto:a@example.com"}, "attachments": list(attachments)}


def attachment(data: bytes, **extra: Any) -> dict[str, Any]:
    att: dict[str, Any] = {
        "usageType": "http://example.com/attachment-usage/test",
        "display": {"en-US": "A test attachment"},
        "contentType": "text/plain",
        "length": len(data),
        "sha2": sha256(data),
    }
    att.update(extra)
    return att


def part_for(data: bytes, content_type: str = "text/plain", index: int = 2) -> AttachmentPart:
    return AttachmentPart(sha256(data), content_type, data, part_index=index)


# ----------------------------------------------------------------------------------------------
# Content-Type parameters


def test_parse_content_type_reads_quoted_and_token_parameters() -> None:
    assert parse_content_type('Multipart/Mixed; Boundary="a;b \\"c\\""; x=1') == (
        "multipart/mixed",
        {"boundary": 'a;b "c"', "x": "1"},
    )
    assert parse_content_type("multipart/mixed;") == ("multipart/mixed", {})
    assert parse_content_type("multipart/mixed; junk; boundary=abc ") == (
        "multipart/mixed",
        {"boundary": "abc"},
    )
    assert parse_content_type("") == ("", {})


# ----------------------------------------------------------------------------------------------
# Parsing: happy paths


def test_parse_suite_shaped_body() -> None:
    """ATT-002: first part the Statement, then the raw attachment data (XAPI-00129 shape)."""
    body = build(
        [(["Content-Type: application/json"], STATEMENT), (attachment_headers(TEXT1), TEXT1)]
    )
    parts = parse_multipart_mixed(CT, body)
    assert [p.content_type for p in parts] == ["application/json", "text/plain"]
    assert parts[0].body == STATEMENT
    assert parts[1].body == TEXT1
    assert parts[1].headers == {
        "content-type": "text/plain",
        "content-transfer-encoding": "binary",
        "x-experience-api-hash": sha256(TEXT1),
    }


def test_parse_signed_statement_shape_leading_crlf_no_space_no_final_crlf() -> None:
    """SIG-007: helper.signStatement starts with CRLF, writes ``Name:value`` and ends at ``--``."""
    jws = b"eyJhbGciOiJSUzI1NiJ9.e30.c2ln"
    body = (
        b"\r\n--" + BOUNDARY.encode() + b"\r\nContent-Type:application/json\r\n\r\n" + STATEMENT
        + b"\r\n--" + BOUNDARY.encode()
        + b"\r\nContent-Type:application/octet-stream\r\nContent-Transfer-Encoding:binary\r\n"
        + b"X-Experience-API-Hash:" + sha256(jws).encode() + b"\r\n\r\n" + jws
        + b"\r\n--" + BOUNDARY.encode() + b"--"
    )  # fmt: skip
    statement, parts = split_statement_request(f"multipart/mixed; boundary={BOUNDARY}", body)
    assert statement == STATEMENT
    assert parts == [AttachmentPart(sha256(jws), "application/octet-stream", jws)]
    assert parts[0].part_index == 2


def test_parse_quoted_boundary_preamble_epilogue_and_padding() -> None:
    """RFC 2046: preamble/epilogue ignored, transport padding after the delimiter allowed."""
    boundary = "simple boundary:=?"
    body = build(
        [(["Content-Type: application/json"], STATEMENT), (attachment_headers(TEXT1), TEXT1)],
        boundary=boundary,
        preamble=b"This is the preamble.\r\n--not the boundary\r\n",
        epilogue=b"  \r\nThis is the epilogue.\r\n--" + boundary.encode() + b"\r\n",
    ).replace(b"\r\n--" + boundary.encode() + b"\r\n", b"\r\n--" + boundary.encode() + b" \t\r\n")
    parts = parse_multipart_mixed(f'multipart/mixed; boundary="{boundary}"', body)
    assert [p.body for p in parts] == [STATEMENT, TEXT1]


def test_parse_lf_only_line_endings() -> None:
    body = build(
        [(["Content-Type: application/json"], STATEMENT), (attachment_headers(TEXT1), TEXT1)],
        eol=b"\n",
    )
    parts = parse_multipart_mixed(CT, body)
    assert [p.body for p in parts] == [STATEMENT, TEXT1]


def test_parse_keeps_binary_edges_and_lookalike_boundaries() -> None:
    """ATT-002: raw data comes back byte for byte, even when it nearly contains the boundary."""
    data = (
        b"\r\n\x00\xff\xfe\r--" + BOUNDARY.encode() + b"X\r\n--" + BOUNDARY.encode() + b"-\r\n"
        b"\n--" + BOUNDARY.encode() + b"\r\n\r\n"  # LF + delimiter: not a CRLF delimiter line
    )
    body = build(
        [(["Content-Type: application/json"], STATEMENT), (attachment_headers(data), data)]
    )
    parts = parse_multipart_mixed(CT, body)
    assert parts[1].body == data


def test_parse_folded_header_and_part_without_headers() -> None:
    body = build(
        [
            (["Content-Type: application/json;", "\tcharset=utf-8"], STATEMENT),
            ([], b"no headers\r\n"),
        ]
    )
    parts = parse_multipart_mixed(CT, body)
    assert parts[0].headers["content-type"] == "application/json; charset=utf-8"
    assert parts[0].content_type == "application/json"
    assert parts[1] == Part(headers={}, content_type="", body=b"no headers\r\n")


@pytest.mark.parametrize(
    "body",
    [
        b"--b\r\n\r\n--b\r\n\r\n--b--",  # RFC 2046: the delimiter's own CRLF before each one
        b"--b\r\n--b\r\n--b--",  # lenient: delimiters back to back
        b"--b\n--b\n\n--b--",
    ],
)
def test_parse_empty_parts(body: bytes) -> None:
    assert parse_multipart_mixed("multipart/mixed; boundary=b", body) == [
        Part({}, "", b""),
        Part({}, "", b""),
    ]


def test_parse_ten_megabytes_quickly() -> None:
    data = bytes(range(256)) * 40_000
    body = build(
        [(["Content-Type: application/json"], STATEMENT), (attachment_headers(data), data)]
    )
    started = time.perf_counter()
    parts = parse_multipart_mixed(CT, body)
    assert parts[1].body == data
    assert time.perf_counter() - started < 1.0


# ----------------------------------------------------------------------------------------------
# Parsing: errors name the header / part at fault


@pytest.mark.parametrize(
    "header", ["multipart/mixed;", "multipart/mixed", 'multipart/mixed; boundary=""']
)
def test_missing_boundary_parameter(header: str) -> None:
    """XAPI-00131: multipart/mixed without a boundary -> 400."""
    body = build([(["Content-Type: application/json"], STATEMENT)])
    with pytest.raises(BadRequest, match=r"^Content-Type: .*boundary"):
        parse_multipart_mixed(header, body)


def test_invalid_boundary_parameter() -> None:
    with pytest.raises(BadRequest, match=r"^Content-Type: the boundary must be 1 to 70"):
        parse_multipart_mixed("multipart/mixed; boundary=" + "x" * 71, b"")


def test_not_multipart_mixed() -> None:
    """XAPI-00127: multipart/form-data is not accepted for Statements (400)."""
    body = build([(["Content-Type: application/json"], STATEMENT)])
    with pytest.raises(
        BadRequest, match=r"^Content-Type: expected multipart/mixed, got 'multipart/form-data'"
    ):
        parse_multipart_mixed(f"multipart/form-data; boundary={BOUNDARY}", body)


def test_boundary_not_in_body() -> None:
    with pytest.raises(BadRequest, match=r"^multipart body: no boundary line"):
        parse_multipart_mixed(CT, b"Content-Type: application/json\r\n\r\n{}")


def test_no_parts() -> None:
    with pytest.raises(BadRequest, match=r"^multipart body: contains no parts"):
        parse_multipart_mixed(CT, b"--" + BOUNDARY.encode() + b"--\r\n")


@pytest.mark.parametrize(
    "tail",
    [b"", b"\r\n", b"\r\n--" + BOUNDARY.encode() + b"\r\n", b"\r\n--" + BOUNDARY.encode() + b"X"],
)
def test_missing_final_boundary(tail: bytes) -> None:
    body = b"--" + BOUNDARY.encode() + b"\r\nContent-Type: application/json\r\n\r\n{}" + tail
    with pytest.raises(BadRequest, match=r"^multipart body: missing final boundary .* after part"):
        parse_multipart_mixed(CT, body)


def test_malformed_header_line_names_the_part() -> None:
    body = build(
        [(["Content-Type: application/json"], STATEMENT), (["this is not a header"], TEXT1)]
    )
    with pytest.raises(BadRequest, match=r"^part 2: malformed header line 'this is not a header'"):
        parse_multipart_mixed(CT, body)


@pytest.mark.parametrize("line", [": empty name", "Bad Name: x", "Bad\x01: x"])
def test_malformed_header_names(line: str) -> None:
    body = build([([line], STATEMENT)])
    with pytest.raises(BadRequest, match=r"^part 1: malformed header line"):
        parse_multipart_mixed(CT, body)


def test_headers_without_empty_line() -> None:
    body = b"--b\r\nContent-Type: application/json\r\n--b\r\nX-A: 1\r\n--b--"
    with pytest.raises(BadRequest, match=r"^part 1: the headers are not followed by an empty line"):
        parse_multipart_mixed("multipart/mixed; boundary=b", body)


def test_continuation_without_header() -> None:
    body = build([([" folded"], STATEMENT)])
    with pytest.raises(BadRequest, match=r"^part 1: header continuation line without a header"):
        parse_multipart_mixed(CT, body)


def test_conflicting_duplicate_header() -> None:
    body = build(
        [
            (["Content-Type: application/json"], STATEMENT),
            ([*attachment_headers(TEXT1), "X-Experience-API-Hash: " + "0" * 64], TEXT1),
        ]
    )
    with pytest.raises(BadRequest, match=r"^part 2: header 'x-experience-api-hash' appears twice"):
        parse_multipart_mixed(CT, body)


# ----------------------------------------------------------------------------------------------
# Statement requests (ATT-002, ATT-003)


def test_first_part_must_be_json() -> None:
    """XAPI-00134 / ATT-002: the first part must be application/json."""
    body = build([(["Content-Type: text/plain"], STATEMENT), (attachment_headers(TEXT1), TEXT1)])
    with pytest.raises(BadRequest, match=r"^part 1: .*application/json, got 'text/plain'"):
        split_statement_request(CT, body)


def test_first_part_without_content_type() -> None:
    body = build([([], STATEMENT)])
    with pytest.raises(BadRequest, match=r"^part 1: .*got 'no Content-Type'"):
        split_statement_request(CT, body)


def test_first_part_json_with_charset_and_no_attachments() -> None:
    """ATT-007: multipart/mixed with no attachment parts is accepted."""
    body = build([(["Content-Type: Application/JSON; charset=UTF-8"], STATEMENT)])
    assert split_statement_request(CT, body) == (STATEMENT, [])


def test_missing_leading_boundary_is_caught_as_wrong_first_part() -> None:
    """XAPI-00130: no boundary before the Statement part -> it is preamble -> 400."""
    body = (
        b"Content-Type: application/json\r\n\r\n" + STATEMENT + b"\r\n"
        + build([(attachment_headers(TEXT1), TEXT1)])
    )  # fmt: skip
    with pytest.raises(BadRequest, match=r"^part 1: "):
        split_statement_request(CT, body)


def test_statements_in_two_json_parts() -> None:
    """XAPI-00133: a second application/json part is an attachment part without a hash."""
    body = build(
        [
            (["Content-Type: application/json"], STATEMENT),
            (["Content-Type: application/json"], STATEMENT),
            (attachment_headers(TEXT1), TEXT1),
        ]
    )
    with pytest.raises(
        BadRequest, match=r"^attachment part 2: the X-Experience-API-Hash header is missing"
    ):
        split_statement_request(CT, body)


def test_missing_hash() -> None:
    """XAPI-00132 / ATT-003: every attachment part needs X-Experience-API-Hash."""
    body = build(
        [
            (["Content-Type: application/json"], STATEMENT),
            (["Content-Type: text/plain", "Content-Transfer-Encoding: binary"], TEXT1),
        ]
    )
    with pytest.raises(
        BadRequest, match=r"^attachment part 2: the X-Experience-API-Hash header is missing"
    ):
        split_statement_request(CT, body)


def test_incorrect_hash() -> None:
    """XAPI-00132 / ATT-003 / ATT-006: the hash must be the SHA-2 of the data."""
    wrong = "b018994f8bbe0f08992a65c48c8c8c56f09e9baceaa6227ed85c90ae52b73c89"
    body = build(
        [
            (["Content-Type: application/json"], STATEMENT),
            (attachment_headers(TEXT1), TEXT1),
            (["Content-Type: text/plain", f"X-Experience-API-Hash: {wrong}"], TEXT2),
        ]
    )
    with pytest.raises(
        BadRequest, match=r"^attachment part 3: X-Experience-API-Hash does not match the data$"
    ):
        split_statement_request(CT, body)


@pytest.mark.parametrize("value", ["abc", "z" * 64, "0" * 63, "sha256:" + "0" * 64])
def test_hash_not_a_sha2_hex_digest(value: str) -> None:
    body = build(
        [
            (["Content-Type: application/json"], STATEMENT),
            (["Content-Type: text/plain", f"X-Experience-API-Hash: {value}"], TEXT1),
        ]
    )
    with pytest.raises(
        BadRequest, match=r"^attachment part 2: X-Experience-API-Hash must be the hex SHA-256"
    ):
        split_statement_request(CT, body)


@pytest.mark.parametrize("algorithm", ["sha224", "sha256", "sha384", "sha512"])
def test_sha2_family_and_upper_case_hash_accepted(algorithm: str) -> None:
    """ATT-003: X-Experience-API-Hash is "a SHA-2 hash"; the digest length tells which one."""
    digest = hashlib.new(algorithm, TEXT1).hexdigest()
    body = build(
        [
            (["Content-Type: application/json"], STATEMENT),
            (["Content-Type: text/plain", f"X-Experience-API-Hash: {digest.upper()}"], TEXT1),
        ]
    )
    _, parts = split_statement_request(CT, body)
    assert parts == [AttachmentPart(digest, "text/plain", TEXT1)]


@pytest.mark.parametrize("encoding", ["base64", "quoted-printable", "8bit"])
def test_content_transfer_encoding_other_than_binary_rejected(encoding: str) -> None:
    """XAPI-00135 / ATT-003: Content-Transfer-Encoding must be binary."""
    body = build(
        [
            (["Content-Type: application/json"], STATEMENT),
            (
                [
                    "Content-Type: text/plain",
                    f"Content-Transfer-Encoding: {encoding}",
                    f"X-Experience-API-Hash: {sha256(TEXT1)}",
                ],
                TEXT1,
            ),
        ]
    )
    with pytest.raises(
        BadRequest,
        match=rf"^attachment part 2: Content-Transfer-Encoding must be binary, got '{encoding}'",
    ):
        split_statement_request(CT, body)


@pytest.mark.parametrize("encoding", [None, "binary", "BINARY"])
def test_content_transfer_encoding_binary_or_absent_accepted(encoding: str | None) -> None:
    """ATT-003: the LRS SHOULD assume binary when the header is absent."""
    headers = ["Content-Type: text/plain", f"X-Experience-API-Hash: {sha256(TEXT1)}"]
    if encoding is not None:
        headers.append(f"Content-Transfer-Encoding: {encoding}")
    body = build([(["Content-Type: application/json"], STATEMENT), (headers, TEXT1)])
    assert split_statement_request(CT, body)[1][0].data == TEXT1


def test_content_length_must_match_the_data() -> None:
    """ATT-006: Content-Length, when sent, is the part length."""
    good = build(
        [
            (["Content-Type: application/json"], STATEMENT),
            ([*attachment_headers(TEXT1), f"Content-Length: {len(TEXT1)}"], TEXT1),
        ]
    )
    assert split_statement_request(CT, good)[1][0].content_length == len(TEXT1)
    bad = good.replace(f"Content-Length: {len(TEXT1)}".encode(), b"Content-Length: 3")
    with pytest.raises(BadRequest, match=r"^attachment part 2: Content-Length '3' does not match"):
        split_statement_request(CT, bad)


# ----------------------------------------------------------------------------------------------
# Matching parts to attachment objects (ATT-004..008)


def test_match_by_sha2() -> None:
    """ATT-004: parts pair with attachment objects by hash only."""
    statements = [statement_with(attachment(TEXT1), attachment(TEXT2))]
    parts = [part_for(TEXT2, index=2), part_for(TEXT1, index=3)]
    assert match_attachments(statements, parts) == {
        sha256(TEXT1): parts[1],
        sha256(TEXT2): parts[0],
    }


def test_missing_part_names_the_attachment() -> None:
    """ATT-005 / XAPI-00129: an attachment without fileUrl and without a part -> 400."""
    statements = [statement_with(), statement_with(attachment(TEXT1), attachment(TEXT2))]
    with pytest.raises(
        BadRequest, match=r"^statements\[1\]\.attachments\[1\]: no multipart part has"
    ):
        match_attachments(statements, [part_for(TEXT1)])


def test_file_url_without_part_is_fine() -> None:
    """ATT-001 / ATT-007: fileUrl attachments need no part."""
    statements = [statement_with(attachment(TEXT1, fileUrl="http://over.there.com/file.txt"))]
    assert match_attachments(statements, []) == {}


def test_part_may_match_an_attachment_that_has_a_file_url() -> None:
    """C§2.1.3 suite test: a fileUrl attachment sent with its data too -> 200."""
    statements = [statement_with(attachment(TEXT1, fileUrl="http://over.there.com/file.txt"))]
    part = part_for(TEXT1)
    assert match_attachments(statements, [part]) == {sha256(TEXT1): part}


def test_excess_part_rejected() -> None:
    """ATT-008 / XAPI-00128: a part that matches no attachment object -> 400."""
    statements = [statement_with(attachment(TEXT1), attachment(TEXT2))]
    parts = [part_for(TEXT1, index=2), part_for(TEXT2, index=3), part_for(TEXT3, index=4)]
    with pytest.raises(
        BadRequest, match=rf"^attachment part 4: X-Experience-API-Hash {sha256(TEXT3)} matches no"
    ):
        match_attachments(statements, parts)


def test_excess_part_without_index_is_named_by_hash() -> None:
    with pytest.raises(
        BadRequest, match=r"^attachment part with X-Experience-API-Hash [0-9a-f]{64}"
    ):
        match_attachments([], [AttachmentPart(sha256(TEXT1), "text/plain", TEXT1)])


def test_one_part_serves_several_statements() -> None:
    """ATT-008: the same hash in two Statements of a batch needs the data once."""
    statements = [statement_with(attachment(TEXT1)), statement_with(attachment(TEXT1))]
    part = part_for(TEXT1)
    assert match_attachments(statements, [part]) == {sha256(TEXT1): part}


def test_sha2_compared_case_insensitively() -> None:
    statements = [statement_with(attachment(TEXT1, sha2=sha256(TEXT1).upper()))]
    assert list(match_attachments(statements, [part_for(TEXT1)])) == [sha256(TEXT1)]


def test_content_type_must_agree() -> None:
    """ATT-006: the part's Content-Type and the attachment's contentType must agree."""
    statements = [statement_with(attachment(TEXT1, contentType="image/png"))]
    with pytest.raises(
        BadRequest,
        match=r"^statements\[0\]\.attachments\[0\]: contentType 'image/png' does not match "
        r"Content-Type 'text/plain' of attachment part 2",
    ):
        match_attachments(statements, [part_for(TEXT1)])


def test_content_type_parameters_and_case_ignored() -> None:
    """ATT-006: media types compared, parameters ignored (suite: 'text/plain; charset=ascii')."""
    statements = [statement_with(attachment(TEXT1, contentType="text/plain; charset=ascii"))]
    assert match_attachments(statements, [part_for(TEXT1, "Text/Plain")])
    assert match_attachments(statements, [part_for(TEXT1, "")])  # part without Content-Type


def test_length_only_checked_against_a_content_length_header() -> None:
    """ATT-006: length vs Content-Length; the suite posts data whose size differs from length."""
    statements = [statement_with(attachment(TEXT1, length=5))]
    assert match_attachments(statements, [part_for(TEXT1)])  # no Content-Length header: accepted
    with_length = AttachmentPart(sha256(TEXT1), "text/plain", TEXT1, 2, len(TEXT1))
    with pytest.raises(
        BadRequest,
        match=r"^statements\[0\]\.attachments\[0\]: length 5 does not match Content-Length 27",
    ):
        match_attachments(statements, [with_length])


def test_substatement_attachments_are_matched_too() -> None:
    """ATT-005: a SubStatement "MUST be validated as a Statement", so its attachments count."""
    statement = {"object": {"objectType": "SubStatement", "attachments": [attachment(TEXT2)]}}
    with pytest.raises(
        BadRequest, match=r"^statements\[0\]\.object\.attachments\[0\]: no multipart part"
    ):
        match_attachments([statement], [])
    part = part_for(TEXT2)
    assert match_attachments([statement], [part]) == {sha256(TEXT2): part}


def test_signature_attachment_needs_a_part_even_with_file_url() -> None:
    """SIG-001 / SIG-007: a signature must be attached to be verified."""
    sig = attachment(TEXT1, usageType=SIGNATURE_USAGE, contentType="application/octet-stream")
    sig["fileUrl"] = "http://example.com/sig"
    with pytest.raises(
        BadRequest, match=r"^statements\[0\]\.attachments\[0\]: a signature attachment needs"
    ):
        match_attachments([statement_with(sig)], [])


def test_malformed_shapes_do_not_crash() -> None:
    """Shape errors are the validator's: matching skips them instead of raising TypeError."""
    statements: list[dict[str, Any]] = [
        {"attachments": "nope"},
        {"attachments": [1, None, {"sha2": 5}, {}]},
        {"object": "x"},
        {"object": {"objectType": "SubStatement", "attachments": {"a": 1}}},
    ]
    assert match_attachments(statements, []) == {}


# ----------------------------------------------------------------------------------------------
# Rendering (ATT-009)


def test_render_then_parse_round_trip_preserves_bytes() -> None:
    """ATT-009: JSON first, then one part per attachment, data byte for byte."""
    a1 = AttachmentPart(sha256(b"\x00\xff\r\n"), "application/octet-stream", b"\x00\xff\r\n")
    a2 = AttachmentPart(sha256(b"\r\n\r\n--x--\r"), "text/plain; charset=utf-8", b"\r\n\r\n--x--\r")
    content_type, body = render_multipart_mixed(STATEMENT, [a1, a2, a1])
    parts = parse_multipart_mixed(content_type, body)
    assert [p.body for p in parts] == [STATEMENT, a1.data, a2.data]  # a1 once: distinct sha2
    assert parts[0].headers == {"content-type": "application/json"}
    assert parts[2].headers == {
        "content-type": "text/plain; charset=utf-8",
        "content-transfer-encoding": "binary",
        "x-experience-api-hash": a2.sha2,
    }
    assert split_statement_request(content_type, body) == (STATEMENT, [a1, a2])


def test_render_header_is_what_the_suite_parses() -> None:
    """ATT-009: suite reads ``ContentType.split(";")[1].replace(" boundary=", "")``."""
    content_type, body = render_multipart_mixed(b"{}", [])
    boundary = content_type.split(";")[1].replace(" boundary=", "")
    assert content_type.split(";")[0] == "multipart/mixed"
    assert (
        body
        == b"--"
        + boundary.encode()
        + b"\r\nContent-Type: application/json\r\n\r\n{}\r\n--"
        + boundary.encode()
        + b"--\r\n"
    )
    assert render_multipart_mixed(b"{}", [])[0] != content_type  # random boundary


def test_render_replaces_unsafe_content_type() -> None:
    bad = AttachmentPart(sha256(TEXT1), "text/plain\r\nX-Injected: 1", TEXT1)
    empty = AttachmentPart(sha256(TEXT2), "", TEXT2)
    content_type, body = render_multipart_mixed(b"{}", [bad, empty])
    parts = parse_multipart_mixed(content_type, body)
    assert [p.content_type for p in parts[1:]] == ["application/octet-stream"] * 2
    assert "x-injected" not in parts[1].headers


def test_render_rejects_a_non_hex_sha2() -> None:
    with pytest.raises(ValueError, match="sha2"):
        render_multipart_mixed(b"{}", [AttachmentPart("not hex", "text/plain", b"")])


# ----------------------------------------------------------------------------------------------
# Properties

content_types = st.sampled_from(
    ["application/octet-stream", "text/plain", "image/jpeg", "text/plain; charset=ascii", ""]
)


@settings(max_examples=300, deadline=None)
@given(
    json_body=st.binary(max_size=200),
    items=st.lists(st.tuples(st.binary(max_size=300), content_types), max_size=5),
)
def test_parse_of_render_is_identity(json_body: bytes, items: list[tuple[bytes, str]]) -> None:
    """ATT-002 / ATT-009: split(render(x)) == x for arbitrary binary data."""
    attachments: dict[str, AttachmentPart] = {}
    for data, content_type in items:
        attachments.setdefault(sha256(data), AttachmentPart(sha256(data), content_type, data))
    expected = [
        a if a.content_type else AttachmentPart(a.sha2, "application/octet-stream", a.data)
        for a in attachments.values()
    ]
    header, body = render_multipart_mixed(json_body, list(attachments.values()))
    assert split_statement_request(header, body) == (json_body, expected)


_noise = st.lists(
    st.sampled_from(
        [
            b"--b",
            b"--b--",
            b"\r\n",
            b"\n",
            b"\r",
            b":",
            b" ",
            b"\t",
            b"X-A: 1",
            b"\xff",
            b"a",
            b"--",
        ]
    ),
    max_size=40,
).map(b"".join)


@settings(max_examples=500, deadline=None)
@given(body=st.one_of(_noise, st.binary(max_size=200)))
def test_arbitrary_bodies_raise_only_bad_request(body: bytes) -> None:
    """No 500s: any body either parses or raises BadRequest."""
    with contextlib.suppress(BadRequest):
        split_statement_request("multipart/mixed; boundary=b", body)


def test_obsolete_space_before_colon_accepted() -> None:
    """RFC 5322 obsolete syntax ``Name : value`` in part headers."""
    body = build([(["Content-Type : application/json"], STATEMENT)])
    assert split_statement_request(CT, body) == (STATEMENT, [])


def test_suite_hex_image_with_mismatched_length_accepted() -> None:
    """XAPI-00127 (ATT-002/006): the suite sends a JPEG as hex text, hashes that text, declares
    the binary file size as ``length`` and expects 200: length is not checked against the data."""
    hex_image = bytes(range(256)).hex().encode()
    att = attachment(hex_image, contentType="image/jpeg", length=256)
    body = build(
        [
            (["Content-Type: application/json"], STATEMENT),
            (attachment_headers(hex_image, "image/jpeg"), hex_image),
        ]
    )
    _, parts = split_statement_request(CT, body)
    assert match_attachments([statement_with(att)], parts) == {sha256(hex_image): parts[0]}
