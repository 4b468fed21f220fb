"""Signed Statements (xAPI 1.0.3 Data §2.6; SIG-001..007 of LRS-REQUIREMENTS.md).

:func:`verify_signed_statement` checks one Statement against the raw data of its signature
attachment part (a JWS). Every failure raises :class:`~progress.domain.errors.BadRequest`
(SIG-002: 400) with a message starting ``signature:``. Parsing and RSA verification are done by
``joserfc`` (compact serialization, base64url, header checks, RS256/384/512); only the X.509
certificate is loaded with ``cryptography``.

What the ADL conformance suite (v1_0_3, ``E.Data2.6-SignedStatements.js``) sends: a compact JWS
signed with a fixed 2048-bit RSA key and a header of only ``{"alg": ...}`` (no ``x5c``, so no
signature can be verified and only structure + equivalence are checked), whose payload is the
Statement with ``id`` and without ``attachments``; one part with
``Content-Type:application/octet-stream`` and ``Content-Transfer-Encoding:binary``. It expects
400 for ``alg`` HS256 (an HMAC keyed with the PEM text), for a payload that is not JSON
(``{'id":...``), and for a signature attachment whose ``contentType`` is
``text/plain; charset=ascii``; 200 for RS256/RS384/RS512. The spec's own Appendix D example
(RS256, 1024-bit key, ``x5c`` chain, CRLF-formatted payload) verifies here.

Deliberate choices:

* JWS JSON Serialization is rejected (SIG-006: compact SHOULD* be used; the JSON form "will be
  forbidden in a future version"), with a message saying so.
* With ``x5c`` only the signature against the first certificate is checked: not the chain, not
  validity dates, not trust (D§2.6: "intended as a way to catch mistakes in the signature, not
  as a security measure"). Keys under 2048 bits are accepted (the spec example uses 1024).
* Besides ``equivalent`` (IMM-002, which ignores ``id``), the payload's ``id``, when both sides
  have one, must equal the Statement's: an LRS never changes a client-chosen id.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable, Mapping
from typing import Any, Final

import orjson
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey
from joserfc.jws import CompactSignature, JWSRegistry
from joserfc.util import urlsafe_b64decode

from progress.domain.errors import BadRequest
from progress.domain.statements import SIGNATURE_USAGE

__all__ = ["SIGNATURE_USAGE", "verify_signed_statement"]

_ALGORITHMS: Final = ("RS256", "RS384", "RS512")
_SIGNATURE_CONTENT_TYPE: Final = "application/octet-stream"
_SHA2_BY_HEX_LENGTH: Final = {56: "sha224", 64: "sha256", 96: "sha384", 128: "sha512"}


class _StatementSignatureRegistry(JWSRegistry):
    """joserfc's limits fit tokens, not Statements: an ``x5c`` chain alone is several KB."""

    max_header_length = 64 * 1024
    max_payload_length = 16 * 1024 * 1024
    max_signature_length = 2048  # base64url of an RSA-8192 signature is 1366 characters


# strict_check_header=False: unknown (private) header parameters are allowed, registered ones
# (x5c, crit, b64, ...) are still type-checked.
_REGISTRY: Final = _StatementSignatureRegistry(algorithms=_ALGORITHMS, strict_check_header=False)


def verify_signed_statement(
    statement: Mapping[str, Any],
    jws_data: bytes,
    equivalent: Callable[[dict[str, Any], dict[str, Any]], bool],
) -> None:
    """Check a signed Statement (SIG-001..006); return None or raise BadRequest.

    ``statement`` is the Statement as received (before the LRS adds id/stored/authority);
    ``jws_data`` the raw data of its signature attachment part, found by the caller through
    :func:`~progress.edge.xapi.multipart.match_attachments`; ``equivalent`` the IMM-002
    comparison (e.g. :func:`progress.domain.statements.statements_equivalent`), called as
    ``equivalent(payload, received_without_signature)``; it must accept any JSON object.

    Steps: the signature attachment is the one with the signature usageType whose ``sha2`` is
    the hash of ``jws_data``, and its contentType must be application/octet-stream (SIG-001);
    the JWS must be a compact serialization (SIG-006) with ``alg`` RS256/RS384/RS512 (SIG-004)
    and a JSON-object payload (SIG-005); if the header has ``x5c`` the signature must verify
    with the first certificate's RSA key; finally the payload must be equivalent to the Statement
    without that attachment object (``attachments`` dropped if it becomes empty) (SIG-003).
    """
    index = _signature_attachment(statement, jws_data)
    token = _decode(jws_data)
    header = token.headers()
    payload = _payload(token)
    certificates = header.get("x5c")
    if certificates is not None:
        _verify_with_certificate(token, certificates)

    attachments = statement["attachments"]
    received = dict(statement)
    rest = [a for j, a in enumerate(attachments) if j != index]
    if rest:
        received["attachments"] = rest
    else:
        del received["attachments"]
    signed_id, received_id = payload.get("id"), received.get("id")
    if (
        isinstance(signed_id, str)
        and isinstance(received_id, str)
        and signed_id.lower() != received_id.lower()
    ):
        raise BadRequest("signature: the signed payload does not match the Statement (id differs)")
    if not equivalent(payload, received):
        raise BadRequest("signature: the signed payload does not match the Statement")


def _signature_attachment(statement: Mapping[str, Any], jws_data: bytes) -> int:
    """Index in ``attachments`` of the signature attachment whose sha2 is that of the JWS."""
    attachments = statement.get("attachments")
    candidates: list[tuple[int, Mapping[str, Any]]] = []
    if isinstance(attachments, list):
        candidates = [
            (j, a)
            for j, a in enumerate(attachments)
            if isinstance(a, Mapping) and a.get("usageType") == SIGNATURE_USAGE
        ]
    if not candidates:
        raise BadRequest(
            f"signature: the Statement has no attachment with usageType {SIGNATURE_USAGE}"
        )
    digests: dict[str, str] = {}
    for j, attachment in candidates:
        sha2 = attachment.get("sha2")
        algorithm = _SHA2_BY_HEX_LENGTH.get(len(sha2)) if isinstance(sha2, str) else None
        if sha2 is None or algorithm is None:
            continue
        if algorithm not in digests:
            digests[algorithm] = hashlib.new(algorithm, jws_data).hexdigest()
        if digests[algorithm] != sha2.lower():
            continue
        content_type = attachment.get("contentType")
        media = (
            content_type.partition(";")[0].strip().lower() if isinstance(content_type, str) else ""
        )
        if media != _SIGNATURE_CONTENT_TYPE:
            raise BadRequest(
                f"signature: attachments[{j}].contentType must be {_SIGNATURE_CONTENT_TYPE} "
                f"for a signature, got {content_type!r}"
            )
        return j
    raise BadRequest("signature: no signature attachment has a sha2 matching the JWS data")


def _decode(jws_data: bytes) -> CompactSignature:
    value = jws_data.strip(b" \t\r\n")
    if value.startswith(b"{"):
        raise BadRequest(
            "signature: JWS JSON Serialization is not supported, use JWS Compact Serialization "
            "(xAPI Data 2.6)"
        )
    try:
        token = jws.extract_compact(value, registry=_REGISTRY)
        header = token.headers()
        if not isinstance(header, dict):
            raise BadRequest("signature: malformed JWS: the header is not a JSON object")
    except JoseError as err:
        raise BadRequest(
            f"signature: malformed JWS compact serialization ({err.description})"
        ) from err
    except (ValueError, TypeError, AttributeError, KeyError) as err:
        # joserfc assumes a JSON-object header in places; anything else fails there
        raise BadRequest("signature: malformed JWS compact serialization") from err

    signature = token.segments["signature"]
    try:
        valid_signature = bool(signature) and bool(urlsafe_b64decode(signature))
    except (binascii.Error, ValueError, TypeError):
        valid_signature = False
    if not valid_signature:
        raise BadRequest(
            "signature: malformed JWS compact serialization (the signature segment is not "
            "non-empty base64url)"
        )

    alg = header.get("alg")
    if alg not in _ALGORITHMS:
        raise BadRequest(f"signature: alg must be RS256, RS384 or RS512, got {alg!r}")
    try:
        _REGISTRY.check_header(header)
    except JoseError as err:
        raise BadRequest(f"signature: invalid JWS header ({err.description})") from err
    return token


def _payload(token: CompactSignature) -> dict[str, Any]:
    try:
        payload = orjson.loads(token.payload)
    except orjson.JSONDecodeError as err:
        raise BadRequest(
            "signature: the JWS payload is not valid JSON (it must be the serialized Statement)"
        ) from err
    if not isinstance(payload, dict):
        raise BadRequest("signature: the JWS payload must be a JSON object (the Statement)")
    return payload


def _verify_with_certificate(token: CompactSignature, certificates: Any) -> None:
    if not isinstance(certificates, list) or not certificates:
        raise BadRequest("signature: x5c must be a non-empty array of certificates")
    first = certificates[0]
    if not isinstance(first, str):
        raise BadRequest("signature: x5c[0] must be a base64 string")
    try:
        der = base64.b64decode(first, validate=True)
    except (binascii.Error, ValueError) as err:
        raise BadRequest("signature: x5c[0] is not valid base64") from err
    try:
        public_key = x509.load_der_x509_certificate(der).public_key()
    except (ValueError, UnsupportedAlgorithm) as err:
        raise BadRequest("signature: x5c[0] is not a DER X.509 certificate") from err
    if not isinstance(public_key, RSAPublicKey):
        raise BadRequest("signature: the x5c[0] certificate does not hold an RSA public key")
    # RSAKey(...) rather than RSAKey.import_key: the latter warns about keys under 2048 bits
    key = RSAKey(public_key, public_key)
    try:
        valid = jws.validate_compact(token, key, registry=_REGISTRY)
    except JoseError as err:
        raise BadRequest(f"signature: cannot verify the JWS ({err.description})") from err
    if not valid:
        raise BadRequest("signature: the JWS signature does not verify with the x5c[0] certificate")
