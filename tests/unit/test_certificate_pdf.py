"""Certificate documents: the PDF (fpdf2) and the JSON record beside it.

No PDF parser is installed, so the PDF is read as what it is: objects in plain text and page
content in zlib-compressed streams whose text is ``(...) Tj`` strings. The embedded font is a
Type0 font with Identity-H encoding: each string is a sequence of two-byte character ids, which
the font's ToUnicode CMap maps back to text, the way a PDF reader extracts it. So the tests read
what a reader's copy and paste or search would find, not what the renderer was given.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import subprocess
import sys
import tomllib
import unicodedata
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
from progress.adapters.pdf import render_certificate
from progress.adapters.pdf_fonts import REPLACEMENT, covered, font_files, printable
from progress.app.ports import Certificate
from progress.domain.facts import Score

URL = "https://progress.example.com/certificates/0b4f3f52-8f0e-5e55-9c1b-6a7d2e1c9a10"
ACHIEVED_US = 1_740_000_000_123_456  # 2025-02-19T21:20:00.123456Z
ISSUED_US = 1_740_000_100_000_000
REPO = Path(__file__).resolve().parents[2]


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

# a stream's dictionary ends with its length; its data follows ``stream`` and an end of line
_STREAM = re.compile(rb"/Length (\d+)\s[^>]*>>\s*stream\r?\n")
_OBJECT = re.compile(rb"(\d+) 0 obj(.*?)endobj", re.DOTALL)
_FONTS = re.compile(rb"/Font\s*<<(.*?)>>", re.DOTALL)
_FONT_REF = re.compile(rb"/(\w+)\s+(\d+) 0 R")
_TO_UNICODE = re.compile(rb"/ToUnicode\s+(\d+) 0 R")
_BFCHAR = re.compile(rb"beginbfchar(.*?)endbfchar", re.DOTALL)
_BFRANGE = re.compile(rb"beginbfrange(.*?)endbfrange", re.DOTALL)
_HEX = re.compile(rb"<([0-9A-Fa-f]+)>")
# a font choice (``/F1 8.50 Tf``), a position (``BT 45.35 791.44 Td``) or a string shown
# (``(...) Tj``), in the order of the page
_SHOW = re.compile(  # a font set, a text position, a shown string, or q / Q (save, restore)
    rb"/(\w+)\s+[\d.]+\s+Tf|BT\s+([\d.-]+)\s+([\d.-]+)\s+Td|\(((?:\\.|[^\\)])*)\)\s*Tj"
    rb"|(?<!\S)([qQ])(?!\S)",
    re.DOTALL,
)
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}

CMap = dict[int, str]  # a character id of a Type0 font -> the text it stands for


def _inflate(data: bytes) -> bytes:
    try:
        return zlib.decompress(data)
    except zlib.error:
        return data


def streams(pdf: bytes) -> list[bytes]:
    """Every stream, inflated where it is compressed (its data may end in an end of line
    byte, so it is cut at its length rather than where ``endstream`` follows)."""
    return [
        _inflate(pdf[match.end() : match.end() + int(match.group(1))])
        for match in _STREAM.finditer(pdf)
    ]


def _unescape(literal: bytes) -> bytes:
    def one(match: re.Match[bytes]) -> bytes:
        escaped = match.group(1)
        if escaped[:1].isdigit():
            return bytes([int(escaped, 8) & 0xFF])
        return _ESCAPES.get(escaped, escaped)

    return re.sub(rb"\\([0-7]{1,3}|.)", one, literal, flags=re.DOTALL)


def _utf16(hexdigits: bytes) -> str:
    return bytes.fromhex(hexdigits.decode()).decode("utf-16-be")


def _cmap(stream: bytes) -> CMap:
    """A ToUnicode CMap: its ``bfchar`` pairs and ``bfrange`` runs."""
    out: CMap = {}
    for block in _BFCHAR.findall(stream):
        codes = _HEX.findall(block)
        for code, text in zip(codes[::2], codes[1::2], strict=True):
            out[int(code, 16)] = _utf16(text)
    for block in _BFRANGE.findall(stream):
        codes = _HEX.findall(block)
        for low, high, start in zip(codes[::3], codes[1::3], codes[2::3], strict=True):
            first = ord(_utf16(start))
            for offset in range(int(high, 16) - int(low, 16) + 1):
                out[int(low, 16) + offset] = chr(first + offset)
    return out


def fonts(pdf: bytes) -> dict[bytes, CMap | None]:
    """The fonts the pages name (``F1``...): an embedded font's CMap, None for a core font."""
    objects = {int(m.group(1)): m.group(2) for m in _OBJECT.finditer(pdf)}
    out: dict[bytes, CMap | None] = {}
    for resources in _FONTS.findall(pdf):
        for name, ref in _FONT_REF.findall(resources):
            to_unicode = _TO_UNICODE.search(objects[int(ref)])
            if to_unicode is None:
                out[name] = None
                continue
            (stream,) = streams(objects[int(to_unicode.group(1))])
            out[name] = _cmap(stream)
    return out


def _shown(raw: bytes, cmap: CMap | None) -> str:
    if cmap is None:  # a core font: one byte a character
        return raw.decode("latin-1")
    ids = [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]
    return "".join(cmap[i] for i in ids)  # a KeyError is a character the reader cannot read


def placed(cmaps: dict[bytes, CMap | None], stream: bytes) -> list[tuple[float, float, str]]:
    """The text strings one content stream shows, in order, each with the position it starts
    at (x, y: points from the bottom left corner). ``cmaps``: the document's ``fonts``."""
    out: list[tuple[float, float, str]] = []
    cmap: CMap | None = None
    saved: list[CMap | None] = []  # the font is part of the graphics state q saves, Q restores
    x = y = 0.0
    for match in _SHOW.finditer(stream):
        font, left, bottom, string, state = match.groups()
        if font is not None:
            cmap = cmaps[font]
        elif left is not None:
            x, y = float(left), float(bottom)
        elif string is not None:
            out.append((x, y, _shown(_unescape(string), cmap)))
        elif state == b"q":
            saved.append(cmap)
        elif saved:  # an unbalanced Q is no operator: binary data (a font program) read as text
            cmap = saved.pop()
    return out


def stream_lines(cmaps: dict[bytes, CMap | None], stream: bytes) -> list[str]:
    """The text strings one content stream shows, in order."""
    return [text for _, _, text in placed(cmaps, stream)]


def page_lines(pdf: bytes) -> list[str]:
    """The text strings the pages show, in order, as a PDF reader extracts them."""
    cmaps = fonts(pdf)
    return [line for stream in streams(pdf) for line in stream_lines(cmaps, stream)]


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


def test_latin_greek_and_cyrillic_names_are_shown_exactly() -> None:
    certificate = cert(
        learner_name="Zoë Łukasiewicz-Ωmega", activity_name="Łódź — Ярослав “Al” Œuvre… €5"
    )
    pdf = render_certificate(certificate, URL)
    assert_well_formed(pdf)
    lines = page_lines(pdf)
    assert "Zoë Łukasiewicz-Ωmega" in lines
    assert "Łódź — Ярослав “Al” Œuvre… €5" in lines
    assert "?" not in page_text(pdf)


def test_characters_the_font_lacks_are_marked_not_dropped() -> None:
    certificate = cert(learner_name="山田 太郎 (Taro) 🙂", activity_name="مرحبا ẞ→ ① e\u0301")
    lines = page_lines(render_certificate(certificate, URL))
    assert "�� �� (Taro) �" in lines  # one mark a character
    assert "����� SS-> 1 é" in lines  # approximated where there is a readable form


def test_the_font_is_open_sans_embedded_as_a_subset() -> None:
    pdf = render_certificate(cert(learner_name="Zoë Ωmega"), URL)
    assert b"/FontFile2" in pdf  # TrueType, embedded
    assert re.search(rb"/BaseFont /[A-Z]{6}\+OpenSans\n", pdf)  # a subset (tag+name)
    assert re.search(rb"/BaseFont /[A-Z]{6}\+OpenSansBold\n", pdf)
    assert b"Helvetica" not in pdf
    assert len(pdf) < 60_000  # the glyphs used, not the 200 KB of the two faces


def test_the_font_files_ship_with_a_runtime_dependency() -> None:
    """The Lambda layer is pip-installed from [project.dependencies]: the font must come from
    one of them, not from the machine."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert any(d.split("=")[0].split(">")[0] == "ttf-opensans" for d in project["dependencies"])
    assert "ttf-opensans==" in (REPO / "constraints.txt").read_text()
    files = font_files()
    assert set(files) == {"", "B"}
    for path in files.values():
        assert path.is_file()
        assert "site-packages" in path.parts or "dist-packages" in path.parts


@settings(max_examples=60, deadline=None)
@given(name=st.text(max_size=300), activity=st.text(max_size=300))
def test_any_text_renders(name: str, activity: str) -> None:
    pdf = render_certificate(cert(learner_name=name, activity_name=activity), URL)
    assert pdf.startswith(b"%PDF-")
    page_lines(pdf)  # every character shown is one a reader can read back


# ------------------------------------------------------------------ what the font can show


@given(st.text())
def test_printable_gives_only_characters_the_font_has(text: str) -> None:
    out = printable(text)
    assert all(ord(c) in covered() for c in out)
    assert not any(unicodedata.category(c) in {"Cc", "Cf"} for c in out)  # no controls


@given(st.characters(exclude_categories=("Cc", "Cf", "Zl", "Zp", "Mn", "Me")))
def test_printable_never_drops_a_character_silently(char: str) -> None:
    """Only controls, invisible formatting and accents may go: see ``printable``."""
    assert printable(char) != ""


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("Zoë Ångström", "Zoë Ångström"),
        ("Łódź Dvořák Ștefan İstanbul", "Łódź Dvořák Ștefan İstanbul"),  # Latin Extended
        ("Nguyễn Thị Minh Khai", "Nguyễn Thị Minh Khai"),  # Vietnamese
        ("Ωmega Αθήνα", "Ωmega Αθήνα"),  # Greek
        ("Ярослав Київ Ђорђе", "Ярослав Київ Ђорђе"),  # Cyrillic
        ("“Al” — ok… • €", "“Al” — ok… • €"),  # typography
        ("e\u0301", "é"),  # composed first
        ("ﬁ ½", "ﬁ ½"),  # the font has them
        ("Ａ① ǅ", "A1 Dž"),  # compatibility forms
        ("ẞ → ₹", "SS -> INR"),  # spelled
        ("q\u0307", "q"),  # an accent the font lacks goes, its letter stays
        ("李 🙂 مرحبا", "� � �����"),  # no form at all: one mark a character
        ("🙂\ufe0f", "�"),  # a variation selector is a mark
        ("a\x00b\nc\u200bd\u00ade", "a b cde"),  # controls: a space; formatting: dropped
        ("\ue000 \U000e0100", "� "),  # private use: marked; a variation selector: dropped
    ],
)
def test_printable_shows_covers_approximates_or_marks(text: str, shown: str) -> None:
    assert printable(text) == shown
    assert ord(REPLACEMENT) in covered()  # the mark is a glyph of the font


def test_rendering_is_deterministic() -> None:
    certificate = cert(score=Score(raw=42, max=50), revoked=True, learner_name="Zoë Ωmega 李")
    first = render_certificate(certificate, URL)
    assert render_certificate(certificate, URL) == first
    assert b"/CreationDate (D:20250219212140Z)" in first  # issued_us, not the clock
    assert render_certificate(cert(issued_us=ISSUED_US + 10**6), URL) != first


def test_rendering_is_the_same_in_another_process() -> None:
    """The embedded font subset must not depend on hash seeds or on what rendered before."""
    code = (
        "import hashlib, sys; sys.path[:0] = ['.'];"
        "from tests.unit.test_certificate_pdf import cert, URL, Score;"
        "from progress.adapters.pdf import render_certificate as r;"
        "c = cert(score=Score(raw=42, max=50), revoked=True, learner_name='Zoë Ωmega 李');"
        "print(hashlib.sha256(r(c, URL)).hexdigest())"
    )
    certificate = cert(score=Score(raw=42, max=50), revoked=True, learner_name="Zoë Ωmega 李")
    here = hashlib.sha256(render_certificate(certificate, URL)).hexdigest()
    for seed in ("1", "2"):
        done = subprocess.run(
            [sys.executable, "-c", code],
            cwd=REPO,
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        )
        assert done.stdout.strip() == here


def test_long_names_are_shortened_to_stay_on_the_page() -> None:
    lines = page_lines(render_certificate(cert(learner_name="x" * 500), URL))
    shown = "".join(line for line in lines if set(line) <= {"x", "\u2026"})
    assert shown.endswith("\u2026")
    assert len(shown) <= 120


@pytest.mark.parametrize(
    ("learner", "activity"),
    [
        (
            "Bartholomew Alexander Montgomery-Featherstonehaugh Wojciechowski-Łopuszańska " * 2,
            "Advanced leadership: leading distributed teams through organisational change, "
            "with case studies from manufacturing",
        ),
        ("ШШШШШШШШШШ " * 12, "WWWWWWWWW " * 12),  # the widest letters
        ("M" * 500, "W" * 500),  # no space to wrap at
    ],
)
def test_long_names_stay_on_the_page_clear_of_the_verification(learner: str, activity: str) -> None:
    certificate = cert(learner_name=learner, activity_name=activity, score=Score(scaled=0.5))
    pdf = render_certificate(dataclasses.replace(certificate, revoked=True), URL)
    cmaps = fonts(pdf)
    spots = [spot for stream in streams(pdf) for spot in placed(cmaps, stream)]
    status = next(y for _, y, text in spots if text.startswith("Status:"))
    verification = next(y for _, y, text in spots if text.startswith("Verification id:"))
    assert status - verification > 12  # points, baseline to baseline: no overlap
    margin = 20 * 72 / 25.4
    assert all(x >= margin - 0.5 for x, _, text in spots if text.strip())  # centred, not wider


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
