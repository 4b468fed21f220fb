"""Certificate documents: the PDF (fpdf2) and the JSON record beside it.

No PDF parser is installed, so the PDF is read as what it is: objects in plain text and page
content in zlib-compressed streams whose text is ``(...) Tj`` strings (core fonts) or hex glyph
ids (an embedded font).
"""

from __future__ import annotations

import dataclasses
import re
import zlib
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from progress.adapters.certificate_docs import (
    certificate_json,
    completion_date,
    learner_display,
    score_text,
)
from progress.adapters.pdf import latin1, render_certificate
from progress.app.ports import Certificate
from progress.domain.facts import Score

URL = "https://progress.example.com/certificates/0b4f3f52-8f0e-5e55-9c1b-6a7d2e1c9a10"
ACHIEVED_US = 1_740_000_000_123_456  # 2025-02-19T21:20:00.123456Z
ISSUED_US = 1_740_000_100_000_000
DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def cert(**changes: object) -> Certificate:
    base = Certificate(
        id="0b4f3f52-8f0e-5e55-9c1b-6a7d2e1c9a10",
        tenant="tenant-one",
        completion_id="completion-1",
        attempt_version=4,
        learner="mbox:mailto:ann@example.com",
        learner_name="Ann Example",
        activity_id="https://example.com/courses/safety",
        activity_name="Workplace safety",
        completed=True,
        passed=False,
        score=None,
        achieved_us=ACHIEVED_US,
        issued_us=ISSUED_US,
        revoked=False,
        pdf_key="h/0b4f/v4.pdf",
        json_key="h/0b4f/v4.json",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


# ------------------------------------------------------------------------- reading a PDF

_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.DOTALL)
_TJ = re.compile(rb"\(((?:\\.|[^\\)])*)\)\s*Tj", re.DOTALL)
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def streams(pdf: bytes) -> list[bytes]:
    """Every stream, inflated where it is compressed."""
    out = []
    for match in _STREAM.finditer(pdf):
        try:
            out.append(zlib.decompress(match.group(1)))
        except zlib.error:
            out.append(match.group(1))
    return out


def _unescape(literal: bytes) -> bytes:
    def one(match: re.Match[bytes]) -> bytes:
        escaped = match.group(1)
        if escaped[:1].isdigit():
            return bytes([int(escaped, 8) & 0xFF])
        return _ESCAPES.get(escaped, escaped)

    return re.sub(rb"\\([0-7]{1,3}|.)", one, literal, flags=re.DOTALL)


def page_lines(pdf: bytes) -> list[str]:
    """The text strings the page shows, in order (core fonts: WinAnsi, Latin-1 here)."""
    return [_unescape(m.group(1)).decode("latin-1") for s in streams(pdf) for m in _TJ.finditer(s)]


def page_text(pdf: bytes) -> str:
    return "\n".join(page_lines(pdf))


def assert_well_formed(pdf: bytes) -> None:
    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")
    assert b"/Count 1" in pdf  # one page
    assert b"/MediaBox [0 0 841.89 595.28]" in pdf  # A4 landscape, in points
    assert b"startxref" in pdf
    assert b"trailer" in pdf


# --------------------------------------------------------------------------------- PDF


def test_the_pdf_is_a_one_page_landscape_a4_document() -> None:
    assert_well_formed(render_certificate(cert(), URL))


def test_the_pdf_names_learner_activity_date_status_and_verification() -> None:
    pdf = render_certificate(cert(score=Score(scaled=0.875)), URL)
    lines = page_lines(pdf)
    assert "Certificate of completion" in lines
    assert "Ann Example" in lines
    assert "Workplace safety" in lines
    assert "on 19 February 2025" in lines
    assert "Status: completed     Score: 87.5%" in lines
    assert "Verification id: 0b4f3f52-8f0e-5e55-9c1b-6a7d2e1c9a10" in lines
    assert f"Verify at: {URL}" in lines
    assert "REVOKED" not in page_text(pdf)


def test_the_verification_url_is_a_clickable_link() -> None:
    pdf = render_certificate(cert(), URL)
    assert b"/Subtype /Link" in pdf
    assert b"/URI (" + URL.encode() + b")" in pdf


def test_a_passed_completion_is_a_certificate_of_achievement() -> None:
    lines = page_lines(render_certificate(cert(passed=True), URL))
    assert "Certificate of achievement" in lines
    assert "has passed" in lines
    assert "Status: passed" in lines


def test_the_revoked_banner_appears_only_when_revoked() -> None:
    revoked = page_text(render_certificate(cert(revoked=True), URL))
    assert "REVOKED" in revoked
    assert "This certificate has been revoked and is no longer valid." in revoked
    assert "REVOKED" not in page_text(render_certificate(cert(revoked=False), URL))


@pytest.mark.parametrize(
    ("learner", "shown"),
    [
        ("mbox:mailto:ann@example.com", "ann@example.com"),
        ("mailto:ann@example.com", "ann@example.com"),
        ("acct:https://lms.example.com|learner-42", "learner-42"),
        ("account:https://lms.example.com|learner-42", "learner-42"),
        ("openid:https://id.example.com/ann", "https://id.example.com/ann"),
        ("sha1:ab12cd", "ab12cd"),
        ("something-else", "something-else"),
    ],
)
def test_without_a_name_the_learner_identifier_is_shown_without_its_prefix(
    learner: str, shown: str
) -> None:
    certificate = cert(learner=learner, learner_name=None)
    assert learner_display(certificate) == shown
    assert shown in page_lines(render_certificate(certificate, URL))
    assert learner_display(cert(learner=learner, learner_name="  ")) == shown


def test_without_an_activity_name_the_activity_id_is_shown() -> None:
    lines = page_lines(render_certificate(cert(activity_name=None), URL))
    assert "https://example.com/courses/safety" in lines


@pytest.mark.parametrize(
    ("score", "text"),
    [
        (Score(scaled=0.875), "87.5%"),
        (Score(scaled=1.0), "100%"),
        (Score(scaled=0.0), "0%"),
        (Score(scaled=0.3333333), "33.33%"),
        (Score(scaled=0.5, raw=1, max=100), "50%"),
        (Score(raw=42, min=0, max=50), "42 / 50"),
        (Score(raw=7.5), "7.5"),
        (Score(min=0, max=10), None),
        (None, None),
    ],
)
def test_the_score_is_a_percentage_else_raw_of_max_else_omitted(
    score: Score | None, text: str | None
) -> None:
    assert score_text(score) == text
    lines = page_lines(render_certificate(cert(score=score), URL))
    status = next(line for line in lines if line.startswith("Status:"))
    assert status == (
        "Status: completed" if text is None else f"Status: completed     Score: {text}"
    )


def test_the_completion_date_is_the_utc_date_of_achievement() -> None:
    late = 1_735_689_599_000_000  # 2024-12-31T23:59:59Z: still the 31st, whatever the local TZ
    assert completion_date(cert(achieved_us=late)) == "31 December 2024"


def test_unicode_names_render_transliterated_and_never_raise() -> None:
    certificate = cert(learner_name="Zoë Ωmega 李 Łukasz “Al” Œuvre", activity_name="Ça va — ok…")
    pdf = render_certificate(certificate, URL)
    assert_well_formed(pdf)
    lines = page_lines(pdf)
    assert 'Zoë ?mega ? Lukasz "Al" OEuvre' in lines
    assert "Ça va - ok..." in lines


@settings(max_examples=60, deadline=None)
@given(name=st.text(max_size=300), activity=st.text(max_size=300))
def test_any_text_renders(name: str, activity: str) -> None:
    pdf = render_certificate(cert(learner_name=name, activity_name=activity), URL)
    assert pdf.startswith(b"%PDF-")


@given(st.text())
def test_latin1_gives_text_the_core_fonts_can_encode(text: str) -> None:
    out = latin1(text)
    out.encode("latin-1")  # never raises
    assert not any(0x80 <= ord(c) < 0xA0 or ord(c) < 0x20 for c in out)  # no controls


def test_latin1_keeps_latin1_and_approximates_the_rest() -> None:
    assert latin1("Zoë Ångström") == "Zoë Ångström"
    assert latin1("Łódź Dvořák") == "Lódz Dvorák"  # ó, á are Latin-1
    assert latin1("e\u0301") == "é"  # composed first
    assert latin1("ﬁ ½ €") == "fi ½ EUR"
    assert latin1("Ωmega 李 🙂") == "?mega ? ?"
    assert latin1("a\x00b\nc\u200bd") == "a b cd"


def test_rendering_is_deterministic() -> None:
    certificate = cert(score=Score(raw=42, max=50), revoked=True)
    first = render_certificate(certificate, URL)
    assert render_certificate(certificate, URL) == first
    assert b"/CreationDate (D:20250219212140Z)" in first  # issued_us, not the clock
    assert render_certificate(cert(issued_us=ISSUED_US + 10**6), URL) != first


def test_long_names_are_shortened_to_stay_on_the_page() -> None:
    lines = page_lines(render_certificate(cert(learner_name="x" * 500), URL))
    shown = "".join(line for line in lines if set(line) <= {"x", "."})
    assert shown.endswith("...")
    assert len(shown) <= 120


@pytest.mark.skipif(not DEJAVU.exists(), reason="DejaVuSans.ttf is not installed here")
def test_an_embedded_unicode_font_is_used_when_given() -> None:
    certificate = cert(learner_name="Zoë Ωmega")
    pdf = render_certificate(certificate, URL, font=DEJAVU)
    assert_well_formed(pdf)
    assert b"/FontFile2" in pdf  # the TrueType font is embedded (subset)
    assert render_certificate(certificate, URL, font=DEJAVU) == pdf


# -------------------------------------------------------------------------- JSON record


def test_the_json_record_holds_the_public_fields() -> None:
    certificate = cert(learner_name="Zoë Ωmega 李", passed=True, score=Score(scaled=0.9, raw=9))
    record = orjson.loads(certificate_json(certificate, URL))
    assert record == {
        "id": certificate.id,
        "learner": "Zoë Ωmega 李",  # exactly: only the PDF approximates
        "activity_id": "https://example.com/courses/safety",
        "activity_name": "Workplace safety",
        "completed": True,
        "passed": True,
        "score": {"scaled": 0.9, "raw": 9},
        "achieved": "2025-02-19T21:20:00.123456Z",
        "issued": "2025-02-19T21:21:40.000000Z",
        "revoked": False,
        "attempt_version": 4,
        "completion_id": "completion-1",
        "verify_url": URL,
    }
    assert "tenant" not in record
    assert "pdf_key" not in record


def test_the_json_record_is_deterministic_and_nullable() -> None:
    certificate = cert(score=None, learner_name=None, activity_name=None, revoked=True)
    first = certificate_json(certificate, URL)
    assert certificate_json(certificate, URL) == first
    record = orjson.loads(first)
    assert list(record) == sorted(record)
    assert record["score"] is None
    assert record["learner"] == "ann@example.com"  # no name: the identifier, no IFI prefix
    assert record["revoked"] is True


def test_the_pdf_module_offers_both_documents() -> None:
    from progress.adapters import pdf

    assert pdf.certificate_json is certificate_json
