"""A learner's transcript as a PDF (fpdf2): A4 portrait, many pages when need be.

Import this module only where PDFs are rendered: fpdf2 pulls in fontTools and Pillow.

The input is the transcript document of ``progress.app.transcripts`` (JSON-shaped: times are
RFC 3339 strings). Every page has a header (title, learner, generation time) and a footer (page
number, the transcript's digest and the link to verify it); the first page adds the filters and
the totals; then come the completions and the attempts in progress, in tables whose heading
repeats on every page.

Text is set in Open Sans, embedded like the certificate's (``progress.adapters.pdf_fonts``):
Latin, Greek and Cyrillic names are shown exactly; characters the font lacks (CJK, Arabic,
emoji...) are approximated or shown as ``�`` by ``pdf_fonts.printable``, never dropped silently
and never an error; the JSON transcript keeps them exactly. Output is deterministic: the
document dates are the transcript's ``generated`` time, the file id is a hash of the content and
the embedded font subset depends only on the text.

Tables are laid out by hand (word wrap with the font metrics, text placed directly) rather than
with ``FPDF.table``: 500 rows render in a few tens of milliseconds instead of seconds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from fpdf import FPDF
from fpdf.actions import URIAction
from fpdf.annotations import AnnotationDict
from fpdf.drawing_primitives import convert_to_device_color
from fpdf.enums import Align, PDFResourceType, XPos, YPos
from fpdf.fonts import TTFFont
from fpdf.syntax import PDFString

from progress.adapters.certificate_docs import day_text, learner_text, score_text
from progress.adapters.pdf_fonts import add_fonts, printable
from progress.domain.facts import Score, parse_timestamp_us
from progress.domain.transcripts import duration_seconds

if TYPE_CHECKING:
    from fpdf.encryption import StandardSecurityHandler

__all__ = ["render_transcript"]

_NONE = "\u2014"  # an empty cell
_MORE = "\u2026"  # a shortened text
_SEP = "  \u00b7  "

_INK = (33, 37, 41)
_MUTED = (100, 108, 117)
_ACCENT = (20, 70, 140)
_RULE = (200, 206, 214)
_ZEBRA = (242, 245, 249)
_WHITE = (255, 255, 255)
_BOX = (236, 241, 248)
_STATUS_RGB = {"passed": (21, 115, 55), "failed": (185, 28, 28)}

_MARGIN = 15.0
_HEADER_TOP = 12.0
_CONTENT_TOP = 32.0
_FOOTER_TOP = 19.0  # from the bottom of the page
_CONTENT_BOTTOM = 23.0  # from the bottom of the page
_FOOTER_LINE = 3.5  # mm between the lines of a long verification link

_SIZE = 8.5  # table text, points
_LINE = 4.0  # table line height, mm
_PAD_X = 1.8
_PAD_Y = 1.5
_MAX_LINES = 3  # of a cell: beyond, the text is shortened
_HEAD_HEIGHT = 7.0
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class _Column:
    title: str
    width: float  # mm
    align: Align = Align.L


@dataclass(frozen=True, slots=True)
class _Cell:
    text: str
    rgb: tuple[int, int, int] = _INK
    bold: bool = False
    link: str = ""


_Placed = tuple[float, float, str, float, bool, tuple[int, int, int]]  # x, y, text, pt, bold, RGB

_COMPLETIONS = (
    _Column("Activity", 68),
    _Column("Completed", 24),
    _Column("Result", 22),
    _Column("Score", 18, Align.R),
    _Column("Duration", 26, Align.R),
    _Column("Certificate", 22, Align.C),
)
_IN_PROGRESS = (
    _Column("Activity", 110),
    _Column("Started", 35),
    _Column("Last activity", 35),
)


# ----------------------------------------------------------------------------- wording


def _str(value: Any) -> str | None:
    """A JSON value as text the font can show (``printable``); None when absent or empty."""
    if value is None:
        return None
    text = printable(value if isinstance(value, str) else str(value))
    return text if text.strip() else None


def _url(value: Any) -> str | None:
    """A link target: an absolute http(s) URL as given, non-ASCII characters percent-encoded.
    Anything else is no link: fpdf2 reads ``#name`` as an internal destination (and fails on
    an unknown one), and a relative or ``javascript:`` target has no place in a handout."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text.lower().startswith(("http://", "https://")):
        return None
    return quote(text, safe="!#$%&'()*+,/:;=?@[]~")


def _moment(value: Any) -> datetime | None:
    us = parse_timestamp_us(value)
    return None if us is None else datetime.fromtimestamp(us // 1_000_000, tz=UTC)


def _date(value: Any) -> str:
    """``25 Nov 2026`` (UTC); what was given when it is no timestamp; a dash when absent."""
    moment = _moment(value)
    if moment is not None:
        return day_text(moment, short=True)
    return _str(value) or _NONE


def _duration(value: Any) -> str:
    """An ISO 8601 duration for people: its two largest units (``1 h 20 min``, ``45 s``)."""
    text = _str(value)
    seconds = duration_seconds(text)
    if seconds is None:
        return text or _NONE
    if 0 < seconds < 1:
        return f"{seconds:.1f} s"
    total = round(seconds)
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "min"), (secs, "s")]
    if total == 0:
        return "0 s"
    first = next(i for i, (n, _) in enumerate(parts) if n)
    return " ".join(f"{n} {unit}" for n, unit in parts[first : first + 2] if n)


def _score(value: Any) -> str:
    score = Score.parse(value) if isinstance(value, Mapping) else None
    return score_text(score) or _NONE


def _activity(row: Mapping[str, Any]) -> str:
    return _str(row.get("activity_name")) or _str(row.get("activity_id")) or _NONE


def _learner(learner: Any) -> str:
    if not isinstance(learner, Mapping):
        return _NONE
    shown = learner_text(_str(learner.get("id")) or "", _str(learner.get("name")))
    return shown.strip() or _NONE


def _rows(transcript: Mapping[str, Any], key: str) -> Sequence[Mapping[str, Any]]:
    rows = transcript.get(key)
    if not isinstance(rows, Sequence) or isinstance(rows, str):
        return ()
    return [row for row in rows if isinstance(row, Mapping)]


def _filters(filters: Any) -> str | None:
    if not isinstance(filters, Mapping):
        return None
    since, until = _str(filters.get("since")), _str(filters.get("until"))
    activity, lang = _str(filters.get("activity")), _str(filters.get("lang"))
    parts = [
        *([f"completed from {_date(since)}"] if since else []),
        *([f"completed before {_date(until)}"] if until else []),
        *([f"activity {activity}"] if activity else []),
        *([f"language {lang}"] if lang else []),
    ]
    return "Filtered: " + _SEP.join(parts) if parts else None


def _short_digest(value: Any) -> str | None:
    text = _str(value)
    if text is None:
        return None
    algorithm, _, hexdigits = text.rpartition(":")
    if len(hexdigits) <= 24:
        return text
    return f"{algorithm}:{hexdigits[:12]}{_MORE}{hexdigits[-8:]}" if algorithm else text


# ------------------------------------------------------------------------------ layout


class _UrlLink(AnnotationDict):
    """A link annotation to a URL (what ``FPDF.link`` adds) that serializes to the very same
    text as ``AnnotationDict.serialize``, without its generic introspection (``dir()`` of
    every annotation, then ``build_obj_dict``): a transcript has one per certificate, and those
    were a fifth of the time of a 500-row transcript. A test holds the two texts equal."""

    __slots__ = ()

    def serialize(
        self,
        _security_handler: StandardSecurityHandler | None = None,
        _obj_id: int | None = None,
    ) -> str:
        action = self.a
        if _security_handler is not None or not isinstance(action, URIAction) or action.next:
            return super().serialize(_security_handler, _obj_id)
        return (
            f"<</A <</S /URI /URI {PDFString(action.uri).serialize()}>>\n/Border {self.border}"
            f"\n/F {self.f}\n/Rect {self.rect}\n/Subtype /Link\n/Type /Annot>>"
        )


class _Metrics:
    """Text widths in one font at one size (mm), and the line breaking built on them.

    Widths are summed from the font's advance widths (``TTFFont.cw``, in thousandths of the
    size) and cached per text: a table repeats its dates, results and durations. This is
    ``FPDF.get_string_width`` without its bidirectional and markdown preparation, which would
    dominate the time of a long table."""

    __slots__ = ("_scale", "_units", "_widths")

    def __init__(self, font: TTFFont, size_pt: float, k: float):
        self._units = font.cw
        self._scale = size_pt / 1000 / k
        self._widths: dict[str, float] = {}

    def measure(self, text: str) -> float:
        width = self._widths.get(text)
        if width is None:
            width = self._widths[text] = sum(map(self._units.__getitem__, map(ord, text)))
        return width * self._scale

    def fit(self, text: str, width: float) -> str:
        """``text`` on one line of ``width``, shortened when it is too long."""
        if self.measure(text) <= width:
            return text
        return text[: self.prefix(text, width - self.measure(_MORE))].rstrip() + _MORE

    def prefix(self, text: str, room: float) -> int:
        """The length of the longest prefix of ``text`` no wider than ``room``."""
        low, high = 0, len(text)
        while low < high:
            mid = (low + high + 1) // 2
            if self.measure(text[:mid]) <= room:
                low = mid
            else:
                high = mid - 1
        return low

    def split(self, text: str, width: float, max_lines: int) -> list[str]:
        """``text`` that may have no space to wrap at (a URL) over at most ``max_lines`` lines
        of ``width``: each broken after its last space, ``/``, ``?``, ``&`` or ``=`` past the
        middle of the line, else where the line is full (always so before the last line when
        that keeps the rest whole); the last line shortened when need be."""
        lines: list[str] = []
        while len(lines) < max_lines - 1 and self.measure(text) > width:
            end = max(1, self.prefix(text, width))
            after = max(text.rfind(c, 0, end) for c in " /?&=") + 1
            last = len(lines) == max_lines - 2
            if after > end // 2 and not (last and self.measure(text[after:]) > width):
                end = after
            lines.append(text[:end].rstrip())
            text = text[end:]
        return [*lines, self.fit(text, width)]

    def wrap(self, text: str, width: float, max_lines: int) -> list[str]:
        """``text`` over lines of ``width``: at word boundaries, or within a word too long for
        a line; at most ``max_lines``, the last shortened when need be."""
        if self.measure(text) <= width:
            return [text]
        lines: list[str] = []
        line = ""
        words = text.split(" ")
        for index, word in enumerate(words):
            candidate = f"{line} {word}" if line else word
            if self.measure(candidate) <= width:
                line = candidate
                continue
            if line:
                lines.append(line)
            line = word
            while self.measure(line) > width:  # a word wider than the column
                cut = self.fit(line, width)[:-1].rstrip() or line[:1]
                cut = cut[: cut.rfind("/") + 1] if cut.rfind("/") > 0 else cut  # a URL's path
                lines.append(cut)
                line = line[len(cut) :]
            if len(lines) >= max_lines:
                rest = " ".join([line, *words[index + 1 :]])
                return [*lines[: max_lines - 1], self.fit(lines[max_lines - 1] + " " + rest, width)]
        lines.append(line)
        if len(lines) > max_lines:
            return [*lines[: max_lines - 1], self.fit(" ".join(lines[max_lines - 1 :]), width)]
        return lines


class _Transcript(FPDF):
    def __init__(self, learner: str, generated: str, digest: str | None, verify: str | None):
        super().__init__(orientation="P", unit="mm", format="A4")
        self.family = add_fonts(self)
        self._metrics: dict[tuple[str, float], _Metrics] = {}
        self._shown: dict[tuple[int, str], str] = {}  # text -> its ``Tj`` operation, per font
        self._colors: dict[tuple[int, int, int], str] = {}  # RGB -> its ``rg`` operation
        self.set_auto_page_break(auto=False)
        self.set_margins(_MARGIN, _HEADER_TOP, _MARGIN)
        self._learner = learner
        self._generated = generated
        self._digest = digest
        self._verify = verify
        self.bottom = self.h - _CONTENT_BOTTOM
        self.width = self.w - 2 * _MARGIN

    # text

    def font_of(self, *, bold: bool) -> TTFFont:
        font = self.fonts[self.family + ("B" if bold else "")]
        assert isinstance(font, TTFFont)  # add_fonts registers TrueType fonts only
        return font

    def metrics(self, *, bold: bool | None = None, size: float | None = None) -> _Metrics:
        """Widths in the current font and size, or in the family's regular or bold at ``size``."""
        if bold is None:
            bold = "B" in self.font_style
        size = self.font_size_pt if size is None else size
        key = (self.family + ("B" if bold else ""), size)
        found = self._metrics.get(key)
        if found is None:
            found = self._metrics[key] = _Metrics(self.font_of(bold=bold), size, self.k)
        return found

    def style(self, size: float, *, bold: bool = False, rgb: tuple[int, int, int] = _INK) -> None:
        self.set_font(self.family, "B" if bold else "", size)
        self.set_text_color(*rgb)

    def fit(self, text: str, width: float) -> str:
        """``text`` on one line of ``width`` in the current font, shortened when too long."""
        return self.metrics().fit(text, width)

    def show(self, texts: Sequence[_Placed]) -> None:
        """Texts placed at once: each ``(x, y, text, size, bold, rgb)``, (x, y) where its
        baseline starts, in the family at ``size`` points.

        What ``FPDF.text`` does for one text, for many in one content-stream block (``q ... Q``
        restores the font and colour fpdf2 believes set): the same ``BT x y Td (...) Tj ET``
        operations, each text encoded once per document (which also adds its glyphs to the
        embedded subset) and the font registered with the page. A 500-row table spends about a
        quarter of the time ``FPDF.text`` would (per-call checks and string building)."""
        ops = ["q"]
        font_now: tuple[TTFFont, float] | None = None
        rgb_now: tuple[int, int, int] | None = None
        for x, y, text, size, bold, rgb in texts:
            font = self.font_of(bold=bold)
            if (font, size) != font_now:
                self._resource_catalog.add(PDFResourceType.FONT, font.i, self.page)
                ops.append(f"BT /F{font.i} {size:.2f} Tf ET")
                font_now = (font, size)
            if rgb != rgb_now:
                color = self._colors.get(rgb)
                if color is None:
                    color = self._colors[rgb] = convert_to_device_color(*rgb).serialize().lower()
                ops.append(color)
                rgb_now = rgb
            shown = self._shown.get((font.i, text))
            if shown is None:
                shown = self._shown[(font.i, text)] = font.encode_text(text)
            ops.append(f"BT {x * self.k:.2f} {(self.h - y) * self.k:.2f} Td {shown} ET")
        ops.append("Q")
        self._out("\n".join(ops))

    def label(
        self,
        box: tuple[float, float, float, float],
        text: str,
        size: float,
        *,
        bold: bool = False,
        rgb: tuple[int, int, int] = _INK,
        align: Align = Align.L,
    ) -> _Placed:
        """``text`` in ``box`` (x, y, width, height), where ``FPDF.cell`` would put it: the
        cell margin from the side it is aligned to, the baseline 0.3 em below the middle."""
        x, y, w, h = box
        metrics = self.metrics(bold=bold, size=size)
        if align == Align.L:
            dx = self.c_margin
        else:
            spare = w - metrics.measure(text)
            dx = spare - self.c_margin if align == Align.R else spare / 2
        return (x + dx, y + 0.5 * h + 0.3 * size / self.k, text, size, bold, rgb)

    def line_at(
        self, y: float, text: str, size: float, rgb: tuple[int, int, int], **kw: Any
    ) -> _Placed:
        """One line of page width at ``y``, shortened when need be."""
        shown = self.metrics(bold=False, size=size).fit(text, self.width)
        return self.label((_MARGIN, y, self.width, 4.5), shown, size, rgb=rgb, **kw)

    def url_area(self, x: float, y: float, w: float, h: float, url: str) -> None:
        """``FPDF.link`` to a URL, as an annotation that writes itself faster (``_UrlLink``)."""
        k = self.k
        area = _UrlLink("Link", x * k, self.h_pt - y * k, w * k, h * k, action=URIAction(url))
        self.pages[self.page].add_annotation(area)

    # page furniture

    def header(self) -> None:
        top = _HEADER_TOP
        learner = self.metrics(bold=True, size=11).fit(self._learner, self.width)
        generated = f"Generated {self._generated}"
        self.show(
            [
                self.label(
                    (_MARGIN, top, self.width, 8), "Learning transcript", 17, bold=True, rgb=_ACCENT
                ),
                self.label(
                    (_MARGIN, top + 1.5, self.width, 4), generated, 8, rgb=_MUTED, align=Align.R
                ),
                self.label((_MARGIN, top + 9, self.width, 6), learner, 11, bold=True),
            ]
        )
        self.set_draw_color(*_ACCENT)
        self.set_line_width(0.5)
        self.line(_MARGIN, top + 16.5, self.w - _MARGIN, top + 16.5)
        self.set_y(_CONTENT_TOP)

    def footer(self) -> None:
        """Nothing as pages close: ``footers`` draws them all once the page count is known."""

    def footers(self) -> None:
        """The footer of every page: its number of the total, the transcript's digest and the
        link to verify it. Drawn at the end so that "Page 2 of 7" is one string."""
        count = self.pages_count
        top = self.h - _FOOTER_TOP
        for number in range(1, count + 1):
            self.page = number
            self.set_draw_color(*_RULE)
            self.set_line_width(0.2)
            self.line(_MARGIN, top, self.w - _MARGIN, top)
            texts = [
                self.line_at(top + 1.5, f"Page {number} of {count}", 7.5, _MUTED, align=Align.R)
            ]
            if self._digest is not None:
                texts.append(
                    self.line_at(top + 1.5, f"Verification digest: {self._digest}", 7.5, _MUTED)
                )
            if self._verify is not None:  # in full, on two lines if need be: it is to be typed
                metrics = self.metrics(bold=False, size=7.5)
                shown = metrics.split(f"Verify at: {self._verify}", self.width, 2)
                em = 7.5 / self.k
                for index, line in enumerate(shown):
                    y = top + 5.5 + index * _FOOTER_LINE
                    texts.append(self.line_at(y, line, 7.5, _ACCENT))
                    x, width = texts[-1][0], metrics.measure(texts[-1][2])
                    self.url_area(x, y + 0.5 * (4.5 - em), width, em, self._verify)  # the text
            self.show(texts)

    # blocks

    def room(self, height: float) -> bool:
        return self.get_y() + height <= self.bottom

    def section(self, title: str, columns: Sequence[_Column]) -> None:
        if not self.room(10 + _HEAD_HEIGHT + _LINE + 2 * _PAD_Y):
            self.add_page()
        self.style(12, bold=True, rgb=_ACCENT)
        self.set_x(_MARGIN)
        self.cell(self.width, 8, title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(1)
        self.table_head(columns)

    def table_head(self, columns: Sequence[_Column]) -> None:
        y = self.get_y()
        self.set_fill_color(*_ACCENT)
        self.rect(_MARGIN, y, self.width, _HEAD_HEIGHT, style="F")
        titles, x = [], _MARGIN
        for column in columns:
            box = (x + _PAD_X, y, column.width - 2 * _PAD_X, _HEAD_HEIGHT)
            titles.append(
                self.label(box, column.title, 8, bold=True, rgb=_WHITE, align=column.align)
            )
            x += column.width
        self.show(titles)
        self.set_y(y + _HEAD_HEIGHT)

    def grid(self, columns: Sequence[_Column], rows: Sequence[Sequence[_Cell]]) -> None:
        baseline = _PAD_Y + _LINE * 0.72
        regular, bold = self.metrics(bold=False, size=_SIZE), self.metrics(bold=True, size=_SIZE)
        for index, cells in enumerate(rows):
            wrapped = [
                (bold if cell.bold else regular).wrap(
                    cell.text, column.width - 2 * _PAD_X, _MAX_LINES
                )
                for column, cell in zip(columns, cells, strict=True)
            ]
            height = max(len(lines) for lines in wrapped) * _LINE + 2 * _PAD_Y
            if not self.room(height):
                self.add_page()
                self.table_head(columns)
            y = self.get_y()
            if index % 2:
                self.set_fill_color(*_ZEBRA)
                self.rect(_MARGIN, y, self.width, height, style="F")
            texts: list[_Placed] = []
            x = _MARGIN
            for column, cell, lines in zip(columns, cells, wrapped, strict=True):
                metrics = bold if cell.bold else regular
                for number, line in enumerate(lines):
                    offset = 0.0
                    if column.align != Align.L:
                        spare = column.width - 2 * _PAD_X - metrics.measure(line)
                        offset = spare if column.align == Align.R else spare / 2
                    at = (x + _PAD_X + offset, y + baseline + number * _LINE)
                    texts.append((*at, line, _SIZE, cell.bold, cell.rgb))
                if cell.link:
                    self.url_area(x, y, column.width, height, cell.link)
                x += column.width
            self.show(texts)
            self.set_y(y + height)
        self.set_draw_color(*_RULE)
        self.set_line_width(0.2)
        self.line(_MARGIN, self.get_y(), self.w - _MARGIN, self.get_y())

    def totals(self, items: Sequence[tuple[str, str]]) -> None:
        gap = 2.5
        width = (self.width - gap * (len(items) - 1)) / len(items)
        y = self.get_y()
        self.set_fill_color(*_BOX)
        for number, (value, label) in enumerate(items):
            x = _MARGIN + number * (width + gap)
            self.rect(x, y, width, 15, style="F")
            self.style(14, bold=True, rgb=_INK)
            self.set_xy(x, y + 1.5)
            self.cell(width, 7, self.fit(value, width - 2), align=Align.C)
            self.style(7.5, rgb=_MUTED)
            self.set_xy(x, y + 8.5)
            self.cell(width, 4.5, label, align=Align.C)
        self.set_y(y + 15)

    def empty(self, text: str) -> None:
        self.style(9, rgb=_MUTED)
        self.set_x(_MARGIN)
        self.cell(self.width, 7, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _completion_cells(row: Mapping[str, Any]) -> list[_Cell]:
    status = _str(row.get("status")) or _NONE
    certificate = _url(row.get("certificate"))
    return [
        _Cell(_activity(row)),
        _Cell(_date(row.get("time"))),
        _Cell(printable(status.capitalize()), _STATUS_RGB.get(status, _INK), bold=True),
        _Cell(_score(row.get("score"))),
        _Cell(_duration(row.get("duration"))),
        _Cell("verify", _ACCENT, link=certificate) if certificate else _Cell(_NONE, _MUTED),
    ]


def _in_progress_cells(row: Mapping[str, Any]) -> list[_Cell]:
    return [
        _Cell(_activity(row)),
        _Cell(_date(row.get("started"))),
        _Cell(_date(row.get("last_activity"))),
    ]


def _count(totals: Mapping[str, Any], key: str, rows: Sequence[Any] = ()) -> str:
    value = totals.get(key)
    return str(value) if isinstance(value, int) else str(len(rows))


def render_transcript(transcript: Mapping[str, Any]) -> bytes:
    """The transcript as an A4 portrait PDF of as many pages as it needs."""
    generated = _moment(transcript.get("generated"))
    learner = _learner(transcript.get("learner"))
    digest = _short_digest(transcript.get("digest"))
    verify = _url(transcript.get("verify_url"))
    stamp = _NONE if generated is None else f"{day_text(generated)} {generated:%H:%M} UTC"
    pdf = _Transcript(learner, stamp, digest, verify)
    pdf.set_creation_date(generated or _EPOCH)
    pdf.set_title(f"Learning transcript: {learner}")
    pdf.set_author("progress service")
    pdf.set_creator("progress service")
    pdf.set_lang("en")
    pdf.add_page()

    filters = _filters(transcript.get("filters"))
    if filters is not None:
        for line in pdf.metrics(bold=False, size=8.5).wrap(filters, pdf.width, 2):
            pdf.show([pdf.line_at(pdf.get_y(), line, 8.5, _MUTED)])
            pdf.ln(4.5)
        pdf.ln(1.5)

    completions = _rows(transcript, "completions")
    in_progress = _rows(transcript, "in_progress")
    raw_totals = transcript.get("totals")
    totals: Mapping[str, Any] = raw_totals if isinstance(raw_totals, Mapping) else {}
    pdf.totals(
        [
            (_count(totals, "completions", completions), "Completions"),
            (_count(totals, "passed"), "Passed"),
            (_count(totals, "failed"), "Failed"),
            (_count(totals, "in_progress", in_progress), "In progress"),
            (_duration(totals.get("duration")), "Time recorded"),
        ]
    )
    pdf.ln(6)

    pdf.section(f"Completions ({len(completions)})", _COMPLETIONS)
    if completions:
        pdf.grid(_COMPLETIONS, [_completion_cells(row) for row in completions])
    else:
        pdf.empty("No completions.")
    pdf.ln(8)
    pdf.section(f"In progress ({len(in_progress)})", _IN_PROGRESS)
    if in_progress:
        pdf.grid(_IN_PROGRESS, [_in_progress_cells(row) for row in in_progress])
    else:
        pdf.empty("Nothing in progress.")
    pdf.footers()
    return bytes(pdf.output())
