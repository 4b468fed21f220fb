"""A certificate as a one-page PDF (fpdf2).

Import this module only where PDFs are rendered (the certificates consumer): fpdf2 pulls in
fontTools and Pillow.

Fonts: by default the PDF uses the core Helvetica font, which every reader has and which needs
no file in the deployment package, but which covers Latin-1 only. Text outside Latin-1 is
transliterated (``latin1``): accents that Latin-1 lacks are dropped (``Ł`` → ``L``), common
punctuation is spelled out, and what has no Latin-1 form at all (Greek, CJK, emoji) becomes
``?``. Rendering therefore never fails on a name, but such a name is shown approximately; the
JSON record beside the PDF (``certificate_docs.certificate_json``) keeps it exactly. Pass
``font=`` (a Unicode TTF such as DejaVuSans.ttf, shipped with the function) to embed it instead:
then text is written as is, and glyphs the font lacks are left out by fpdf2 (with a warning).

Output is deterministic: the document dates are the certificate's ``issued_us`` and the file
id is a hash of the content, so the same certificate renders to the same bytes.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import Align, XPos, YPos

from progress.adapters.certificate_docs import (
    activity_display,
    certificate_json,
    completion_date,
    learner_display,
    score_text,
    status_text,
    title_text,
)
from progress.app.ports import Certificate

__all__ = ["certificate_json", "latin1", "render_certificate"]  # both documents, one import

_CORE_FONT = "Helvetica"
_EMBEDDED_FONT = "certificate-unicode"
_MAX_NAME = 120  # characters of a learner or activity name before it is shortened

# Common characters outside Latin-1 with a readable Latin-1 spelling (NFKD handles accents).
_SPELLED: dict[str, str] = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-",
    "\u2026": "...", "\u2022": "\u00b7", "\u2122": "TM", "\u20ac": "EUR", "\u2032": "'",
    "\u2033": '"', "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\u200b": "",
    "\u0152": "OE", "\u0153": "oe", "\u0141": "L", "\u0142": "l", "\u0110": "D", "\u0111": "d",
    "\u0131": "i", "\u0126": "H", "\u0127": "h", "\u0166": "T", "\u0167": "t",
    "\u01c4": "DZ", "\u01c6": "dz", "\u0132": "IJ", "\u0133": "ij", "\u1e9e": "SS",
}  # fmt: skip


def _latin1_char(char: str) -> str:
    if unicodedata.category(char) in {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}:
        return "" if unicodedata.category(char) == "Cf" else " "
    if ord(char) < 256:
        return char
    if char in _SPELLED:
        return _SPELLED[char]
    decomposed = unicodedata.normalize("NFKD", char)
    base = "".join(c for c in decomposed if not unicodedata.combining(c))
    if base and all(ord(c) < 256 for c in base):
        return base
    return "?"


def latin1(text: str) -> str:
    """``text`` in characters the core PDF fonts can show (never raises)."""
    composed = unicodedata.normalize("NFC", text)
    return "".join(_latin1_char(c) for c in composed)


def _shorten(text: str) -> str:
    return text if len(text) <= _MAX_NAME else text[: _MAX_NAME - 3].rstrip() + "..."


class _Certificate(FPDF):
    def __init__(self, font: str | Path | None) -> None:
        super().__init__(orientation="L", unit="mm", format="A4")
        self.set_auto_page_break(auto=False)
        self.set_margins(20, 20, 20)
        if font is None:
            self._family = _CORE_FONT
            self._unicode = False
        else:
            self.add_font(_EMBEDDED_FONT, "", str(font))
            self.add_font(_EMBEDDED_FONT, "B", str(font))  # one face: bold is size only
            self._family = _EMBEDDED_FONT
            self._unicode = True

    def text_of(self, text: str) -> str:
        return text if self._unicode else latin1(text)

    def style(
        self, size: float, *, bold: bool = False, rgb: tuple[int, int, int] = (0, 0, 0)
    ) -> None:
        self.set_font(self._family, "B" if bold else "", size)
        self.set_text_color(*rgb)

    def line_of(self, text: str, height: float, *, link: str = "") -> None:
        """One centred line across the page."""
        self.cell(
            0,
            height,
            self.text_of(text),
            align=Align.C,
            link=link,
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )

    def lines_of(self, text: str, height: float) -> None:
        """Centred text wrapped over as many lines as it needs (at most a few: see _MAX_NAME)."""
        self.multi_cell(
            0, height, self.text_of(_shorten(text)), align=Align.C,
            new_x=XPos.LMARGIN, new_y=YPos.NEXT,
        )  # fmt: skip


_INK = (33, 37, 41)
_MUTED = (90, 98, 107)
_ACCENT = (20, 70, 140)
_REVOKED = (185, 28, 28)


def render_certificate(
    certificate: Certificate, verify_url: str, *, font: str | Path | None = None
) -> bytes:
    """The certificate as a one-page landscape A4 PDF.

    ``font``: a Unicode TrueType font to embed instead of the Latin-1 core font (see the module
    docstring)."""
    issued = datetime.fromtimestamp(certificate.issued_us // 1_000_000, tz=UTC)
    pdf = _Certificate(font)
    pdf.set_creation_date(issued)
    pdf.set_title(f"{title_text(certificate)} {certificate.id}")
    pdf.set_subject(pdf.text_of(activity_display(certificate)))
    pdf.set_author("progress service")
    pdf.set_creator("progress service")
    pdf.set_lang("en")
    pdf.add_page()
    width, height = pdf.w, pdf.h

    # Frame.
    pdf.set_draw_color(*_ACCENT)
    pdf.set_line_width(1.2)
    pdf.rect(10, 10, width - 20, height - 20)
    pdf.set_line_width(0.3)
    pdf.rect(13, 13, width - 26, height - 26)

    if certificate.revoked:
        pdf.set_fill_color(*_REVOKED)
        pdf.rect(13, 22, width - 26, 16, style="F")
        pdf.set_y(22)
        pdf.style(20, bold=True, rgb=(255, 255, 255))
        pdf.line_of("REVOKED", 9)
        pdf.style(9, rgb=(255, 255, 255))
        pdf.line_of("This certificate has been revoked and is no longer valid.", 5)

    pdf.set_y(45)
    pdf.style(32, bold=True, rgb=_ACCENT)
    pdf.line_of(title_text(certificate), 16)

    pdf.ln(6)
    pdf.style(14, rgb=_MUTED)
    pdf.line_of("This certifies that", 8)
    pdf.ln(2)
    pdf.style(26, bold=True, rgb=_INK)
    pdf.lines_of(learner_display(certificate), 12)
    pdf.ln(2)
    pdf.style(14, rgb=_MUTED)
    pdf.line_of("has passed" if certificate.passed else "has completed", 8)
    pdf.ln(2)
    pdf.style(20, bold=True, rgb=_INK)
    pdf.lines_of(activity_display(certificate), 10)
    pdf.ln(2)
    pdf.style(14, rgb=_MUTED)
    pdf.line_of(f"on {completion_date(certificate)}", 8)

    pdf.ln(4)
    pdf.style(13, rgb=_INK)
    details = [f"Status: {status_text(certificate)}"]
    score = score_text(certificate.score)
    if score is not None:
        details.append(f"Score: {score}")
    pdf.line_of("     ".join(details), 7)

    # Verification, at the foot of the page.
    pdf.set_y(height - 36)
    pdf.style(9, rgb=_MUTED)
    pdf.line_of(f"Verification id: {certificate.id}", 5)
    pdf.style(9, rgb=_ACCENT)
    pdf.line_of(f"Verify at: {verify_url}", 5, link=verify_url)
    pdf.style(7, rgb=_MUTED)
    pdf.line_of(f"Issued {issued:%Y-%m-%d %H:%M} UTC, revision {certificate.attempt_version}", 4)

    return bytes(pdf.output())
