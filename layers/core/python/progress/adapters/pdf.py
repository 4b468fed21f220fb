"""A certificate as a one-page PDF (fpdf2).

Import this module only where PDFs are rendered (the certificates consumer): fpdf2 pulls in
fontTools and Pillow.

Text is set in Open Sans, embedded (``progress.adapters.pdf_fonts``, shared with the transcript):
Latin, Greek and Cyrillic names are shown exactly; characters the font lacks (CJK, Arabic,
emoji...) are approximated or shown as ``�`` by ``pdf_fonts.printable``, never dropped
silently and never an error. The JSON record beside the PDF (``certificate_docs
.certificate_json``) keeps every name exactly.

Output is deterministic: the document dates are the certificate's ``issued_us``, the file id is a
hash of the content and the embedded font subset depends only on the text, so the same
certificate renders to the same bytes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

from fpdf import FPDF
from fpdf.enums import Align, MethodReturnValue, XPos, YPos

from progress.adapters.certificate_docs import (
    activity_display,
    certificate_json,
    completion_date,
    learner_display,
    score_text,
    status_text,
    title_text,
)
from progress.adapters.pdf_fonts import add_fonts, printable
from progress.app.ports import Certificate

__all__ = ["certificate_json", "render_certificate"]  # both documents, one import

_MAX_NAME = 120  # characters of a learner or activity name before it is shortened
_MORE = "\u2026"  # a shortened text
_STEPS, _SMALLEST = 4, 0.75  # a name that needs too many lines shrinks in 4 steps to 3/4 size


def _shorten(text: str) -> str:
    return text if len(text) <= _MAX_NAME else text[: _MAX_NAME - 1].rstrip() + _MORE


class _Certificate(FPDF):
    def __init__(self) -> None:
        super().__init__(orientation="L", unit="mm", format="A4")
        self.set_auto_page_break(auto=False)
        self.set_margins(20, 20, 20)
        self._family = add_fonts(self)

    @staticmethod
    def text_of(text: str) -> str:
        return printable(text)

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

    def fit(self, text: str) -> str:
        """``text`` on one line across the page (current font), shortened when too long."""
        if self.get_string_width(text) <= self.epw:
            return text
        low, high = 0, len(text)
        while low < high:  # the longest prefix that fits with the ellipsis
            mid = (low + high + 1) // 2
            if self.get_string_width(text[:mid].rstrip() + _MORE) <= self.epw:
                low = mid
            else:
                high = mid - 1
        return text[:low].rstrip() + _MORE

    def block_of(self, text: str, size: float, height: float, room: float) -> None:
        """Centred text in ``size`` points on lines of ``height``, wrapped within ``room`` mm
        of the page: in a smaller size (down to ``_SMALLEST`` of it) when it needs more lines
        than fit, and shortened with an ellipsis if that is not enough either."""
        text = self.text_of(_shorten(text))
        for step in range(_STEPS + 1):
            scale = 1 - step * (1 - _SMALLEST) / _STEPS
            self.set_font(self.font_family, self.font_style, size * scale)
            lines = cast(
                list[str],
                self.multi_cell(
                    0, height * scale, text, dry_run=True, output=MethodReturnValue.LINES
                ),
            )
            if len(lines) * height * scale <= room:
                break
        keep = max(1, int(room // (height * scale)))
        if len(lines) > keep:
            lines = [*lines[: keep - 1], self.fit(" ".join(lines[keep - 1 :]) + _MORE)]
        for line in lines:
            self.cell(0, height * scale, line, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


_INK = (33, 37, 41)
_MUTED = (90, 98, 107)
_ACCENT = (20, 70, 140)
_REVOKED = (185, 28, 28)


def render_certificate(certificate: Certificate, verify_url: str) -> bytes:
    """The certificate as a one-page landscape A4 PDF."""
    issued = datetime.fromtimestamp(certificate.issued_us // 1_000_000, tz=UTC)
    pdf = _Certificate()
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
    pdf.block_of(learner_display(certificate), 26, 12, room=36)  # 3 lines
    pdf.ln(2)
    pdf.style(14, rgb=_MUTED)
    pdf.line_of("has passed" if certificate.passed else "has completed", 8)
    pdf.ln(2)
    pdf.style(20, bold=True, rgb=_INK)
    pdf.block_of(activity_display(certificate), 20, 10, room=24)  # 2 lines, 3 smaller
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
