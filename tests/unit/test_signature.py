"""Signed Statements (D§2.6): SIG-001..007 of LRS-REQUIREMENTS.md A.6.

Real keys and certificates are generated with ``cryptography``; tokens are signed with joserfc
(malformed ones are put together by hand). The ADL suite's tokens carry no ``x5c``.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import datetime
import hashlib
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st
from joserfc import jws
from joserfc.jwk import ECKey, OctKey, RSAKey

from progress.domain.errors import BadRequest
from progress.domain.statements import statements_equivalent
from progress.edge.xapi.multipart import (
    AttachmentPart,
    match_attachments,
    render_multipart_mixed,
    split_statement_request,
)
from progress.edge.xapi.signature import SIGNATURE_USAGE, verify_signed_statement

Equivalent = Callable[[dict[str, Any], dict[str, Any]], bool]

STATEMENT: dict[str, Any] = {
    "id": "33cff416-e331-4c9d-969e-5373a1756120",
    "actor": {
        "mbox": "mailto:example@example.com",
        "name": "Example Learner",
        "objectType": "Agent",
    },
    "verb": {
        "id": "http://adlnet.gov/expapi/verbs/experienced",
        "display": {"en-US": "experienced"},
    },
    "object": {"id": "http://example.com/activities/signing", "objectType": "Activity"},
    "timestamp": "2013-04-01T12:00:00Z",
}


class Signer:
    """An RSA key with a self-signed certificate, as a client signing Statements would have."""

    def __init__(self, key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> None:
        self.key = key
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "xAPI test signer")])
        now = datetime.datetime.now(datetime.UTC)
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .sign(key, hashes.SHA256())
        )

    @property
    def x5c(self) -> list[str]:
        der = self.certificate.public_bytes(serialization.Encoding.DER)
        return [base64.b64encode(der).decode("ascii")]


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer(rsa.generate_private_key(public_exponent=65537, key_size=2048))


@pytest.fixture(scope="module")
def other_signer() -> Signer:
    return Signer(rsa.generate_private_key(public_exponent=65537, key_size=2048))


def sign(
    payload: Any,
    signer: Signer,
    alg: str = "RS256",
    x5c: bool = True,
    **header: Any,
) -> bytes:
    """A compact JWS over ``payload`` (a dict is serialized with orjson, bytes are used as-is)."""
    protected: dict[str, Any] = {"alg": alg, **header}
    if x5c:
        protected["x5c"] = signer.x5c
    data = payload if isinstance(payload, bytes) else orjson.dumps(payload)
    assert isinstance(signer.key, rsa.RSAPrivateKey)
    key = RSAKey.import_key(signer.key)
    return jws.serialize_compact(protected, data, key, algorithms=[alg]).encode("ascii")


def b64url(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def token(header: Any, payload: bytes, signature: bytes = b"sig") -> bytes:
    """Hand-made compact JWS (for tokens joserfc would refuse to produce)."""
    return b".".join([b64url(orjson.dumps(header)), b64url(payload), b64url(signature)])


def signed(
    statement: dict[str, Any],
    jws_data: bytes,
    content_type: str = "application/octet-stream",
    others: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The Statement as posted: plus its signature attachment object (like helper.signStatement)."""
    out = copy.deepcopy(statement)
    out["attachments"] = [
        *(others or []),
        {
            "usageType": SIGNATURE_USAGE,
            "display": {"en-US": "Signed by the Test Suite"},
            "contentType": content_type,
            "length": len(jws_data),
            "sha2": hashlib.sha256(jws_data).hexdigest(),
        },
    ]
    return out


def never_called(a: dict[str, Any], b: dict[str, Any]) -> bool:
    raise AssertionError("equivalence must not be reached")


# ----------------------------------------------------------------------------------------------
# Accepted


@pytest.mark.parametrize("alg", ["RS256", "RS384", "RS512"])
def test_good_signature_accepted(signer: Signer, alg: str) -> None:
    """SIG-003 / SIG-004 (XAPI-00117): RS256, RS384 and RS512 verify against the x5c cert."""
    jws_data = sign(STATEMENT, signer, alg)
    verify_signed_statement(signed(STATEMENT, jws_data), jws_data, statements_equivalent)


def test_suite_shaped_signature_without_x5c_accepted(other_signer: Signer) -> None:
    """SIG-003: without x5c there is no key; structure and equivalence are still checked."""
    jws_data = sign(STATEMENT, other_signer, x5c=False)
    verify_signed_statement(signed(STATEMENT, jws_data), jws_data, statements_equivalent)


def test_spec_appendix_d_example_verifies() -> None:
    """SIG-003: the Data Appendix D example (1024-bit key, x5c chain, CRLF payload)."""
    statement = dict(APPENDIX_D_STATEMENT)
    statement["attachments"] = [
        {
            "usageType": SIGNATURE_USAGE,
            "display": {"en-US": "Signature"},
            "description": {"en-US": "A test signature"},
            "contentType": "application/octet-stream",
            "length": 4235,
            "sha2": "672fa5fa658017f1b72d65036f13379c6ab05d4ab3b6664908d8acf0b6a0c634",
        }
    ]
    verify_signed_statement(statement, APPENDIX_D_JWS, statements_equivalent)
    tampered = APPENDIX_D_JWS[:-8] + (
        b"AAAAAAAA" if not APPENDIX_D_JWS.endswith(b"A" * 8) else b"B" * 8
    )
    statement["attachments"][0]["sha2"] = hashlib.sha256(tampered).hexdigest()
    with pytest.raises(BadRequest, match="does not verify"):
        verify_signed_statement(statement, tampered, statements_equivalent)


def test_signature_attachment_removed_before_comparing(signer: Signer) -> None:
    """SIG-003: the payload is compared with the Statement minus its signature attachment."""
    other = {
        "usageType": "http://example.com/usage/report",
        "display": {"en-US": "report"},
        "contentType": "application/pdf",
        "length": 3,
        "sha2": hashlib.sha256(b"pdf").hexdigest(),
    }
    seen: list[tuple[dict[str, Any], dict[str, Any]]] = []

    def strict(a: dict[str, Any], b: dict[str, Any]) -> bool:
        seen.append((a, b))
        return a == b

    payload = {**STATEMENT, "attachments": [other]}
    jws_data = sign(payload, signer)
    verify_signed_statement(signed(STATEMENT, jws_data, others=[other]), jws_data, strict)
    assert seen == [(payload, payload)]

    seen.clear()
    jws_data = sign(STATEMENT, signer)
    received = signed(STATEMENT, jws_data)
    verify_signed_statement(received, jws_data, strict)
    assert seen == [(STATEMENT, STATEMENT)]  # 'attachments' dropped once empty
    assert len(received["attachments"]) == 1  # the caller's Statement is not mutated


def test_lrs_tolerated_differences_are_ignored(signer: Signer) -> None:
    """SIG-003 + IMM-002: e.g. timestamp precision/zone and no id in the signed payload."""
    payload = {k: v for k, v in STATEMENT.items() if k != "id"}
    payload["timestamp"] = "2013-04-01T14:00:00.000+02:00"
    jws_data = sign(payload, signer)
    verify_signed_statement(signed(STATEMENT, jws_data), jws_data, statements_equivalent)


def test_surrounding_whitespace_tolerated(signer: Signer) -> None:
    jws_data = sign(STATEMENT, signer) + b"\r\n"
    verify_signed_statement(signed(STATEMENT, jws_data), jws_data, statements_equivalent)


# ----------------------------------------------------------------------------------------------
# Rejected: algorithm (SIG-004)


@pytest.mark.filterwarnings("ignore::joserfc.errors.SecurityWarning")
def test_hs256_rejected(signer: Signer) -> None:
    """SIG-004 (XAPI-00117): the suite signs HS256 with the PEM text as the HMAC secret."""
    pem = signer.key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    jws_data = jws.serialize_compact(
        {"alg": "HS256"}, orjson.dumps(STATEMENT), OctKey.import_key(pem), algorithms=["HS256"]
    ).encode()
    with pytest.raises(
        BadRequest, match=r"^signature: alg must be RS256, RS384 or RS512, got 'HS256'$"
    ):
        verify_signed_statement(signed(STATEMENT, jws_data), jws_data, never_called)


def test_es256_rejected() -> None:
    """SIG-004: an EC signature, even a valid one with its x5c, is not allowed."""
    ec_signer = Signer(ec.generate_private_key(ec.SECP256R1()))
    assert isinstance(ec_signer.key, ec.EllipticCurvePrivateKey)
    jws_data = jws.serialize_compact(
        {"alg": "ES256", "x5c": ec_signer.x5c},
        orjson.dumps(STATEMENT),
        ECKey.import_key(ec_signer.key),
        algorithms=["ES256"],
    ).encode()
    with pytest.raises(
        BadRequest, match=r"^signature: alg must be RS256, RS384 or RS512, got 'ES256'$"
    ):
        verify_signed_statement(signed(STATEMENT, jws_data), jws_data, never_called)


@pytest.mark.parametrize("alg", ["PS256", "none", "rs256", None, 256])
def test_other_algorithms_rejected(alg: Any) -> None:
    """SIG-004: PS256, none, wrong case, missing or non-string alg."""
    header = {"alg": alg} if alg is not None else {"typ": "JWT"}
    jws_data = token(header, orjson.dumps(STATEMENT))
    with pytest.raises(
        BadRequest, match=r"^signature: (alg must be RS256, RS384 or RS512|malformed JWS)"
    ):
        verify_signed_statement(signed(STATEMENT, jws_data), jws_data, never_called)


# ----------------------------------------------------------------------------------------------
# Rejected: verification against x5c (SIG-003)


def test_tampered_payload_rejected(signer: Signer) -> None:
    """SIG-003: a payload changed after signing fails verification with the x5c cert."""
    header, _, signature = sign(STATEMENT, signer).split(b".")
    changed = {**STATEMENT, "timestamp": "2014-04-01T12:00:00Z"}
    jws_data = b".".join([header, b64url(orjson.dumps(changed)), signature])
    with pytest.raises(
        BadRequest,
        match=r"^signature: the JWS signature does not verify with the x5c\[0\] certificate$",
    ):
        verify_signed_statement(signed(changed, jws_data), jws_data, never_called)


def test_signature_by_another_key_rejected(signer: Signer, other_signer: Signer) -> None:
    """SIG-003: signed with one key, x5c names another certificate."""
    header = {"alg": "RS256", "x5c": signer.x5c}
    _, payload, signature = sign(STATEMENT, other_signer, x5c=False).split(b".")
    jws_data = b".".join([b64url(orjson.dumps(header)), payload, signature])
    with pytest.raises(BadRequest, match="does not verify with the x5c"):
        verify_signed_statement(signed(STATEMENT, jws_data), jws_data, never_called)


@pytest.mark.parametrize(
    ("x5c", "message"),
    [
        (["not base64!"], r"x5c\[0\] is not valid base64"),
        ([base64.b64encode(b"not a certificate").decode()], r"x5c\[0\] is not a DER X.509"),
        ([], r"x5c must be a non-empty array|invalid JWS header"),
        ("MIIB", r"invalid JWS header|x5c must be"),
        ([5], r"invalid JWS header|x5c\[0\] must be"),
    ],
)
def test_bad_x5c_rejected(signer: Signer, x5c: Any, message: str) -> None:
    """SIG-002: a malformed certificate chain is a malformed signature."""
    _, payload, signature = sign(STATEMENT, signer, x5c=False).split(b".")
    jws_data = b".".join([b64url(orjson.dumps({"alg": "RS256", "x5c": x5c})), payload, signature])
    with pytest.raises(BadRequest, match=rf"^signature: ({message})"):
        verify_signed_statement(signed(STATEMENT, jws_data), jws_data, never_called)


def test_x5c_with_a_non_rsa_certificate_rejected(signer: Signer) -> None:
    ec_signer = Signer(ec.generate_private_key(ec.SECP256R1()))
    _, payload, signature = sign(STATEMENT, signer, x5c=False).split(b".")
    header = {"alg": "RS256", "x5c": ec_signer.x5c}
    jws_data = b".".join([b64url(orjson.dumps(header)), payload, signature])
    with pytest.raises(
        BadRequest, match=r"^signature: the x5c\[0\] certificate does not hold an RSA"
    ):
        verify_signed_statement(signed(STATEMENT, jws_data), jws_data, never_called)


# ----------------------------------------------------------------------------------------------
# Rejected: payload (SIG-003, SIG-005)


def test_payload_not_matching_the_statement_rejected(signer: Signer) -> None:
    """SIG-003: a valid signature over a different Statement."""
    other = {**STATEMENT, "verb": {"id": "http://adlnet.gov/expapi/verbs/failed"}}
    jws_data = sign(other, signer)
    with pytest.raises(
        BadRequest, match=r"^signature: the signed payload does not match the Statement$"
    ):
        verify_signed_statement(signed(STATEMENT, jws_data), jws_data, statements_equivalent)


def test_payload_with_another_id_rejected(signer: Signer) -> None:
    """SIG-003: a client-chosen id is never changed by the LRS, so it must match."""
    jws_data = sign({**STATEMENT, "id": "5a1e8bbf-3a8f-4b43-9b4e-8b2d1b0d7c11"}, signer)
    with pytest.raises(BadRequest, match=r"does not match the Statement \(id differs\)"):
        verify_signed_statement(signed(STATEMENT, jws_data), jws_data, statements_equivalent)


def test_payload_not_json_rejected(signer: Signer) -> None:
    """SIG-005 (XAPI-00116): the suite's breakJson turns the first '"' into "'"."""
    broken = orjson.dumps(STATEMENT).decode().replace('"', "'", 1).encode()
    jws_data = sign(broken, signer)
    with pytest.raises(BadRequest, match=r"^signature: the JWS payload is not valid JSON"):
        verify_signed_statement(signed(STATEMENT, jws_data), jws_data, never_called)


@pytest.mark.parametrize("payload", [b"[]", b'"statement"', b"42", b"null"])
def test_payload_not_an_object_rejected(signer: Signer, payload: bytes) -> None:
    """SIG-005: the payload must be the serialized Statement, a JSON object."""
    jws_data = sign(payload, signer)
    with pytest.raises(BadRequest, match=r"^signature: the JWS payload must be a JSON object"):
        verify_signed_statement(signed(STATEMENT, jws_data), jws_data, never_called)


# ----------------------------------------------------------------------------------------------
# Rejected: malformed JWS (SIG-002, SIG-006)


@pytest.mark.parametrize(
    "jws_data",
    [
        b"",
        b"abc",
        b"eyJhbGciOiJSUzI1NiJ9.e30",  # two segments
        b"eyJhbGciOiJSUzI1NiJ9.e30.c2ln.c2ln",  # four segments
        b"eyJhbGciOiJSUzI1NiJ9.e30.c2ln.c2ln.c2ln",  # five: a JWE
        b"!!!.e30.c2ln",  # bad base64 header
        b"eyJhbGciOiJSUzI1NiJ9.***.c2ln",  # bad base64 payload
        b"eyJhbGciOiJSUzI1NiJ9.e30.c2ln+/==",  # base64, not base64url
        b64url(b"not json") + b".e30.c2ln",  # header not JSON
        b64url(b'"alg b64"') + b".e30.c2ln",  # header a JSON string
        b64url(b"[1]") + b".e30.c2ln",  # header a JSON array
        b"\xff\xfe.\x00.\x80",  # not even ASCII
    ],
)
def test_malformed_jws_rejected(jws_data: bytes) -> None:
    """SIG-002: malformed signatures -> 400 with a message."""
    with pytest.raises(BadRequest, match=r"^signature: (malformed JWS|alg must be)"):
        verify_signed_statement(signed(STATEMENT, jws_data), jws_data, never_called)


def test_bad_signature_segment_with_x5c_rejected(signer: Signer) -> None:
    header, payload, _ = sign(STATEMENT, signer).split(b".")
    jws_data = header + b"." + payload + b".%%%"
    with pytest.raises(BadRequest, match=r"^signature: "):
        verify_signed_statement(signed(STATEMENT, jws_data), jws_data, never_called)


def test_json_serialization_rejected(signer: Signer) -> None:
    """SIG-006: JWS JSON Serialization is discouraged; this LRS asks for the compact form."""
    assert isinstance(signer.key, rsa.RSAPrivateKey)
    value = jws.serialize_json(
        {"protected": {"alg": "RS256"}},
        orjson.dumps(STATEMENT),
        RSAKey.import_key(signer.key),
    )
    jws_data = orjson.dumps(value)
    with pytest.raises(BadRequest, match=r"^signature: JWS JSON Serialization is not supported"):
        verify_signed_statement(signed(STATEMENT, jws_data), jws_data, never_called)


def test_crit_header_not_understood_rejected(signer: Signer) -> None:
    """RFC 7515 §4.1.11: an unknown critical header parameter makes the JWS invalid."""
    jws_data = token({"alg": "RS256", "crit": ["exp"], "exp": 1}, orjson.dumps(STATEMENT))
    with pytest.raises(BadRequest, match=r"^signature: (invalid JWS header|malformed JWS)"):
        verify_signed_statement(signed(STATEMENT, jws_data), jws_data, never_called)


# ----------------------------------------------------------------------------------------------
# Rejected: the signature attachment object (SIG-001)


def test_signature_attachment_content_type_must_be_octet_stream(signer: Signer) -> None:
    """SIG-001 (XAPI-00115): the suite's 'bad content type' case, text/plain; charset=ascii."""
    jws_data = sign(STATEMENT, signer)
    statement = signed(STATEMENT, jws_data, content_type="text/plain; charset=ascii")
    with pytest.raises(
        BadRequest,
        match=r"^signature: attachments\[0\]\.contentType must be application/octet-stream",
    ):
        verify_signed_statement(statement, jws_data, never_called)


def test_content_type_parameters_allowed(signer: Signer) -> None:
    """SIG-001: the media type is what counts."""
    jws_data = sign(STATEMENT, signer)
    statement = signed(STATEMENT, jws_data, content_type="Application/Octet-Stream; x=1")
    verify_signed_statement(statement, jws_data, statements_equivalent)


def test_no_signature_attachment(signer: Signer) -> None:
    """SIG-001: a signature is an attachment with the signature usageType."""
    jws_data = sign(STATEMENT, signer)
    with pytest.raises(
        BadRequest, match=r"^signature: the Statement has no attachment with usageType"
    ):
        verify_signed_statement(dict(STATEMENT), jws_data, never_called)
    with pytest.raises(BadRequest, match=r"^signature: the Statement has no attachment"):
        verify_signed_statement({**STATEMENT, "attachments": "x"}, jws_data, never_called)


def test_signature_attachment_sha2_must_match_the_jws(signer: Signer) -> None:
    """SIG-007: the JWS part is the one whose hash is the signature attachment's sha2."""
    jws_data = sign(STATEMENT, signer)
    statement = signed(STATEMENT, jws_data)
    with pytest.raises(
        BadRequest, match=r"^signature: no signature attachment has a sha2 matching"
    ):
        verify_signed_statement(statement, jws_data + b"x", never_called)


def test_signature_attachment_with_sha512(signer: Signer) -> None:
    jws_data = sign(STATEMENT, signer)
    statement = signed(STATEMENT, jws_data)
    statement["attachments"][0]["sha2"] = hashlib.sha512(jws_data).hexdigest()
    verify_signed_statement(statement, jws_data, statements_equivalent)


# ----------------------------------------------------------------------------------------------
# End to end with the multipart module (SIG-007)


def test_signed_statement_through_multipart(signer: Signer) -> None:
    """SIG-007: the JWS travels as a multipart part matched by sha2, then verifies."""
    jws_data = sign(STATEMENT, signer, "RS512")
    statement = signed(STATEMENT, jws_data)
    part = AttachmentPart(
        hashlib.sha256(jws_data).hexdigest(), "application/octet-stream", jws_data
    )
    content_type, body = render_multipart_mixed(orjson.dumps(statement), [part])
    raw, parts = split_statement_request(content_type, body)
    received = orjson.loads(raw)
    by_sha2 = match_attachments([received], parts)
    sha2 = received["attachments"][0]["sha2"]
    verify_signed_statement(received, by_sha2[sha2].data, statements_equivalent)


# ----------------------------------------------------------------------------------------------
# Property: no input makes it raise anything but BadRequest

_segments = st.one_of(
    st.binary(max_size=40),
    st.sampled_from([b"", b"e30", b"W10", b"eyJhbGciOiJSUzI1NiJ9", b"eyJ4NWMiOjF9", b"bnVsbA"]),
    st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), st.text(max_size=8)),
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
        max_leaves=6,
    ).map(lambda v: b64url(orjson.dumps(v))),
)


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(_segments, min_size=1, max_size=4), alg=st.sampled_from([None, "RS256"]))
def test_arbitrary_jws_raises_only_bad_request(parts: list[bytes], alg: str | None) -> None:
    """SIG-002: any signature data either verifies or raises BadRequest (never a 500)."""
    if alg is not None:
        parts = [b64url(orjson.dumps({"alg": alg})), *parts[1:]]
    jws_data = b".".join(parts)
    with contextlib.suppress(BadRequest):
        verify_signed_statement(signed(STATEMENT, jws_data), jws_data, statements_equivalent)


# ----------------------------------------------------------------------------------------------
# xAPI 1.0.3 Data, Appendix D: the example signed Statement (spec text, CRLF-formatted payload)

APPENDIX_D_STATEMENT: dict[str, Any] = {
    "version": "1.0.0",
    "id": "33cff416-e331-4c9d-969e-5373a1756120",
    "actor": {
        "mbox": "mailto:example@example.com",
        "name": "Example Learner",
        "objectType": "Agent",
    },
    "verb": {
        "id": "http://adlnet.gov/expapi/verbs/experienced",
        "display": {"en-US": "experienced"},
    },
    "object": {
        "id": "https://www.youtube.com/watch?v=xh4kIiH3Sm8",
        "objectType": "Activity",
        "definition": {
            "name": {"en-US": "Tax Tips & Information : How to File a Tax Return "},
            "description": {
                "en-US": "Filing a tax return will require filling out either a 1040, "
                "1040A or 1040EZ form"
            },
        },
    },
    "timestamp": "2013-04-01T12:00:00Z",
}

APPENDIX_D_JWS = (
    "ew0KICAgICJhbGciOiAiUlMyNTYiLA0KICAgICJ4NWMiOiBbDQogICAgICAgICJNSUlEQVRDQ0FtcWdBd0lCQWdJ"
    "SkFNQjFjc051QTYra01BMEdDU3FHU0liM0RRRUJCUVVBTUhFeEN6QUpCZ05WQkFZVEFsVlRNUkl3RUFZRFZRUUlF"
    "d2xVWlc1dVpYTnpaV1V4R0RBV0JnTlZCQW9URDBWNFlXMXdiR1VnUTI5dGNHRnVlVEVRTUE0R0ExVUVBeE1IUlho"
    "aGJYQnNaVEVpTUNBR0NTcUdTSWIzRFFFSkFSWVRaWGhoYlhCc1pVQmxlR0Z0Y0d4bExtTnZiVEFlRncweE16QTBN"
    "RFF4TlRJNE16QmFGdzB4TkRBME1EUXhOVEk0TXpCYU1JR1dNUXN3Q1FZRFZRUUdFd0pWVXpFU01CQUdBMVVFQ0JN"
    "SlZHVnVibVZ6YzJWbE1SRXdEd1lEVlFRSEV3aEdjbUZ1YTJ4cGJqRVlNQllHQTFVRUNoTVBSWGhoYlhCc1pTQkRi"
    "MjF3WVc1NU1SQXdEZ1lEVlFRTEV3ZEZlR0Z0Y0d4bE1SQXdEZ1lEVlFRREV3ZEZlR0Z0Y0d4bE1TSXdJQVlKS29a"
    "SWh2Y05BUWtCRmhObGVHRnRjR3hsUUdWNFlXMXdiR1V1WTI5dE1JR2ZNQTBHQ1NxR1NJYjNEUUVCQVFVQUE0R05B"
    "RENCaVFLQmdRRGp4dlpYRjMwV0w0b0tqWllYZ1IwWnlhWCt1M3k2K0pxVHFpTmtGYS9WVG5ldDZMeTJPVDZabW1j"
    "SkVQbnEzVW5ld3BIb09RK0dmaGhUa1cxM2owNmo1aU5uNG9iY0NWV1RMOXlYTnZKSCtLbyt4dTRZbC95U1BScklQ"
    "eVRqdEhkRzBNMlh6SWxtbUxxbStDQVMrS0NiSmVINHRmNTQza0lXQzVwQzVwM2NWUUlEQVFBQm8zc3dlVEFKQmdO"
    "VkhSTUVBakFBTUN3R0NXQ0dTQUdHK0VJQkRRUWZGaDFQY0dWdVUxTk1JRWRsYm1WeVlYUmxaQ0JEWlhKMGFXWnBZ"
    "MkYwWlRBZEJnTlZIUTRFRmdRVVZzM3Y1YWZFZE9lb1llVmFqQVFFNHYwV1MxUXdId1lEVlIwakJCZ3dGb0FVeVZJ"
    "YzN5dnJhNEVCejIwSTRCRjM5SUFpeEJrd0RRWUpLb1pJaHZjTkFRRUZCUUFEZ1lFQWdTL0ZGNUQwSG5qNDRydlQ2"
    "a2duM2tKQXZ2MmxqL2Z5anp0S0lyWVMzM2xqWEduNmdHeUE0cXRiWEEyM1ByTzR1Yy93WUNTRElDRHBQb2JoNjJ4"
    "VENkOXFPYktoZ3dXT2kwNVBTQkxxVXUzbXdmQWUxNUxKQkpCcVBWWjRLMGtwcGVQQlU4bTZhSVpvSDU3TC85dDRP"
    "b2FMOHlLcy9xaktGZUkxT0ZXWnh2QT0iLA0KICAgICAgICAiTUlJRE56Q0NBcUNnQXdJQkFnSUpBTUIxY3NOdUE2"
    "K2pNQTBHQ1NxR1NJYjNEUUVCQlFVQU1IRXhDekFKQmdOVkJBWVRBbFZUTVJJd0VBWURWUVFJRXdsVVpXNXVaWE56"
    "WldVeEdEQVdCZ05WQkFvVEQwVjRZVzF3YkdVZ1EyOXRjR0Z1ZVRFUU1BNEdBMVVFQXhNSFJYaGhiWEJzWlRFaU1D"
    "QUdDU3FHU0liM0RRRUpBUllUWlhoaGJYQnNaVUJsZUdGdGNHeGxMbU52YlRBZUZ3MHhNekEwTURReE5USTFOVE5h"
    "RncweU16QTBNREl4TlRJMU5UTmFNSEV4Q3pBSkJnTlZCQVlUQWxWVE1SSXdFQVlEVlFRSUV3bFVaVzV1WlhOelpX"
    "VXhHREFXQmdOVkJBb1REMFY0WVcxd2JHVWdRMjl0Y0dGdWVURVFNQTRHQTFVRUF4TUhSWGhoYlhCc1pURWlNQ0FH"
    "Q1NxR1NJYjNEUUVKQVJZVFpYaGhiWEJzWlVCbGVHRnRjR3hsTG1OdmJUQ0JuekFOQmdrcWhraUc5dzBCQVFFRkFB"
    "T0JqUUF3Z1lrQ2dZRUExc0JuQldQWjBmN1dKVUZUSnk1KzAxU2xTNVo2RERENlV5ZTl2SzlBeWNnVjVCMytXQzhI"
    "QzV1NWg5MU11akFDMUFSUFZVT3RzdlBSczQ1cUtORklnSUdSWEtQQXdaamF3RUkyc0NKUlNLVjQ3aTZCOGJEdjRX"
    "a3VHdlFhdmVaR0kwcWxtTjVSMUVpbTJnVUl0UmoxaGdjQzlyUWF2amxuRktEWTJybFhHdWtDQXdFQUFhT0IxakNC"
    "MHpBZEJnTlZIUTRFRmdRVXlWSWMzeXZyYTRFQnoyMEk0QkYzOUlBaXhCa3dnYU1HQTFVZEl3U0JtekNCbUlBVXlW"
    "SWMzeXZyYTRFQnoyMEk0QkYzOUlBaXhCbWhkYVJ6TUhFeEN6QUpCZ05WQkFZVEFsVlRNUkl3RUFZRFZRUUlFd2xV"
    "Wlc1dVpYTnpaV1V4R0RBV0JnTlZCQW9URDBWNFlXMXdiR1VnUTI5dGNHRnVlVEVRTUE0R0ExVUVBeE1IUlhoaGJY"
    "QnNaVEVpTUNBR0NTcUdTSWIzRFFFSkFSWVRaWGhoYlhCc1pVQmxlR0Z0Y0d4bExtTnZiWUlKQU1CMWNzTnVBNitq"
    "TUF3R0ExVWRFd1FGTUFNQkFmOHdEUVlKS29aSWh2Y05BUUVGQlFBRGdZRUFEaHdUZWJHazczNXlLaG04RHFDeHZO"
    "bkVaME54c1lFWU9qZ1JHMXlYVGxXNXBFNjkxZlNINUFaK1Q2ZnB3cFpjV1k1UVlrb042RG53ak94R2tTZlFDMy95"
    "R21jVURLQlB3aVo1TzJzOUMrZkUxa1VFbnJYMlhlYTRhZ1ZuZ016UjhEUTZvT2F1TFdxZWhEQitnMkVOV1JMb1Zn"
    "UyttYTUvWWNzMEdUeXJFQ1k9Ig0KICAgIF0NCn0.ew0KICAgICJ2ZXJzaW9uIjogIjEuMC4wIiwNCiAgICAiaWQi"
    "OiAiMzNjZmY0MTYtZTMzMS00YzlkLTk2OWUtNTM3M2ExNzU2MTIwIiwNCiAgICAiYWN0b3IiOiB7DQogICAgICAg"
    "ICJtYm94IjogIm1haWx0bzpleGFtcGxlQGV4YW1wbGUuY29tIiwNCiAgICAgICAgIm5hbWUiOiAiRXhhbXBsZSBM"
    "ZWFybmVyIiwNCiAgICAgICAgIm9iamVjdFR5cGUiOiAiQWdlbnQiDQogICAgfSwNCiAgICAidmVyYiI6IHsNCiAg"
    "ICAgICAgImlkIjogImh0dHA6Ly9hZGxuZXQuZ292L2V4cGFwaS92ZXJicy9leHBlcmllbmNlZCIsDQogICAgICAg"
    "ICJkaXNwbGF5Ijogew0KICAgICAgICAgICAgImVuLVVTIjogImV4cGVyaWVuY2VkIg0KICAgICAgICB9DQogICAg"
    "fSwNCiAgICAib2JqZWN0Ijogew0KICAgICAgICAiaWQiOiAiaHR0cHM6Ly93d3cueW91dHViZS5jb20vd2F0Y2g_"
    "dj14aDRrSWlIM1NtOCIsDQogICAgICAgICJvYmplY3RUeXBlIjogIkFjdGl2aXR5IiwNCiAgICAgICAgImRlZmlu"
    "aXRpb24iOiB7DQogICAgICAgICAgICAibmFtZSI6IHsNCiAgICAgICAgICAgICAgICAiZW4tVVMiOiAiVGF4IFRp"
    "cHMgJiBJbmZvcm1hdGlvbiA6IEhvdyB0byBGaWxlIGEgVGF4IFJldHVybiAiDQogICAgICAgICAgICB9LA0KICAg"
    "ICAgICAgICAgImRlc2NyaXB0aW9uIjogew0KICAgICAgICAgICAgICAgICJlbi1VUyI6ICJGaWxpbmcgYSB0YXgg"
    "cmV0dXJuIHdpbGwgcmVxdWlyZSBmaWxsaW5nIG91dCBlaXRoZXIgYSAxMDQwLCAxMDQwQSBvciAxMDQwRVogZm9y"
    "bSINCiAgICAgICAgICAgIH0NCiAgICAgICAgfQ0KICAgIH0sDQogICAgInRpbWVzdGFtcCI6ICIyMDEzLTA0LTAx"
    "VDEyOjAwOjAwWiINCn0.FWuwaPhwUbkk7h9sKW5zSvjsYNugvxJ-TrVaEgt_DCUT0bmKhQScRrjMB6P9O50uznPw"
    "T66oF1NnU_G0HVhRzS5voiXE-y7tT3z0M3-8A6YK009Bk_digVUul-HA4Fpd5IjoBBGe3yzaQ2ZvzarvRuipvNEQ"
    "CI0onpfuZZJQ0d8"
).encode("ascii")
