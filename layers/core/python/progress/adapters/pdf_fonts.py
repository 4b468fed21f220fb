"""The font of the PDFs (certificates, transcripts) and the rule for text it cannot show.

Import this module only where PDFs are rendered: it is for fpdf2.

Font: Open Sans 1.10, regular and bold, from the ``ttf-opensans`` package (Apache-2.0; a runtime
dependency, so the Lambda layer that pip builds from ``[project.dependencies]`` carries the .ttf
files). fpdf2 embeds in each document only the glyphs it uses, so a PDF grows by a few tens of
KB, whatever the script.

Covered, as written: Latin (Western, Central and Eastern European, Baltic, Turkish, Romanian,
Vietnamese), modern Greek, Cyrillic (Russian, Ukrainian, Belarusian, Serbian, Bulgarian,
Kazakh...), typographic punctuation (quotes, dashes, ellipsis, bullet), the euro and a few other
currency signs, common fractions and the fi/fl ligatures.

Not covered: CJK, Arabic, Hebrew, Indic and South-East Asian scripts, emoji, most symbols. No
PyPI font package covers them at a reasonable cost (a CJK font alone is 16 MB per weight and
adds about a second to every render, and Arabic needs text shaping as well), so fpdf2's
fallback fonts are not used. Instead ``printable`` applies one rule, character by character,
after NFC composition (so a letter typed as base + accent is the letter the font has):

1. control characters (tabs, line breaks) become a space; invisible formatting characters
   (zero-width space, joiners, direction marks, soft hyphen) are dropped;
2. a character the font has is kept;
3. else it is approximated when it has a readable form in characters the font has: another
   space is a space; a compatibility form (full-width ``Ａ`` → ``A``, ``①`` → ``1``);
   a letter without an accent the font lacks; a spelling (``ẞ`` → ``SS``, ``→`` → ``->``,
   ``₹`` → ``INR``); a combining accent the font lacks is dropped (the letter it marks stays);
4. anything else is shown as U+FFFD ``�`` (a question mark in a diamond, which the font has):
   one per character, so that a name in an uncovered script is visibly incomplete rather than
   silently shortened or garbled. The JSON documents beside the PDFs keep every name exactly.

So every character of the input is shown, approximated or marked with ``�``: rendering never
fails on a name, and fpdf2 never meets a character without a glyph (which it would leave out).
"""

from __future__ import annotations

import copy
import unicodedata
from functools import cache, lru_cache
from io import BytesIO
from pathlib import Path

from fontTools import ttLib
from fpdf import FPDF
from fpdf.fonts import SubsetMap, TTFFont
from ttf_opensans import OPENSANS_BOLD, OPENSANS_REGULAR

__all__ = ["FAMILY", "REPLACEMENT", "add_fonts", "covered", "font_files", "load", "printable"]

FAMILY = "opensans"
REPLACEMENT = "\ufffd"

# Characters the font lacks that have a readable spelling in characters it has (NFKC and accent
# removal handle the rest: ligatures, full-width forms, circled digits, accented letters).
_SPELLED: dict[str, str] = {
    "\u1e9e": "SS", "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2043": "-",
    "\u2190": "<-", "\u2192": "->", "\u2194": "<->", "\u21d0": "<=", "\u21d2": "=>",
    "\u20a6": "NGN", "\u20a9": "KRW", "\u20aa": "ILS", "\u20b1": "PHP", "\u20b4": "UAH",
    "\u20b8": "KZT", "\u20b9": "INR", "\u20ba": "TRY", "\u20bd": "RUB", "\u20bf": "BTC",
}  # fmt: skip
_SPACES = frozenset({"Cc", "Zl", "Zp"})  # become a space
_INVISIBLE = "Cf"  # dropped
_MARKS = frozenset({"Mn", "Me"})  # dropped when the font lacks them: accents, variation selectors


def font_files() -> dict[str, Path]:
    """The font file of each style fpdf2 is given (``""`` regular, ``"B"`` bold)."""
    return {"": Path(OPENSANS_REGULAR.path), "B": Path(OPENSANS_BOLD.path)}


def add_fonts(pdf: FPDF) -> str:
    """Registers the font's styles with ``pdf``; returns the family name for ``set_font``.

    What ``pdf.add_font(FAMILY, style, path)`` does, in a tenth of its time: fpdf2 reads the
    font's tables and computes the widths and glyph ids of its 900 characters for every
    document (7 ms a style); here that is done once per process (``_parsed``) and each document
    gets a copy that shares those read-only tables and owns what a document changes: the
    subset of glyphs it uses, the list of missing ones, its font descriptor (named and
    numbered as the document is written), and a fontTools font freshly opened (lazily, 0.1 ms),
    since writing the document subsets that font in place. It is opened from the font's data
    without the tables fpdf2 drops before subsetting (``_embeddable``), read once.

    One deliberate difference: that font keeps the glyphs' stored bounding boxes
    (``recalcBBoxes=False``) instead of decoding and re-encoding every outline it embeds to
    recompute them; subsetting never changes an outline, so they are the same boxes (only the
    font-wide box stays that of the whole font, which still bounds every glyph). A test holds
    the output otherwise byte-identical to ``add_font``'s."""
    for style in font_files():
        base = _parsed(style)
        font = copy.copy(base)
        font.i = len(pdf.fonts) + 1
        font.ttfont = ttLib.TTFont(
            BytesIO(_embeddable(style)), recalcTimestamp=False, recalcBBoxes=False, lazy=True
        )
        font.desc = copy.copy(base.desc)
        font.missing_glyphs = []
        font.biggest_size_pt = 0
        font.subset = SubsetMap(font)
        pdf.fonts[font.fontkey] = font
    return FAMILY


def load() -> None:
    """Reads the font now rather than at the first document (``add_fonts`` and ``printable``
    need it): for a process that settles its long-lived objects (``progress.edge.heap``)."""
    for style in font_files():
        _parsed(style)
        _embeddable(style)
    covered()


# The tables fpdf2 drops when it subsets a font (``fpdf.output.OutputProducer._add_fonts``:
# layout, colour and bitmap tables it has no use for); Open Sans has GDEF, GPOS and GSUB.
_DROPPED_BY_FPDF2 = (
    "FFTM", "GDEF", "GPOS", "GSUB", "MATH", "hdmx", "meta", "sbix",
    "CBDT", "CBLC", "EBDT", "EBLC", "EBSC", "SVG ", "CPAL", "COLR",
)  # fmt: skip


@cache
def _embeddable(style: str) -> bytes:
    """The style's font file without the tables fpdf2 drops when it embeds a subset: the
    subsetter would decode them (30% of its time) only to drop them."""
    font = ttLib.TTFont(font_files()[style], recalcTimestamp=False, recalcBBoxes=False, lazy=True)
    for tag in _DROPPED_BY_FPDF2:
        if tag in font:
            del font[tag]
    out = BytesIO()
    font.save(out)
    return out.getvalue()


@cache
def _parsed(style: str) -> TTFFont:
    """The style as fpdf2 reads it for a document: the template ``add_fonts`` copies."""
    pdf = FPDF()
    pdf.add_font(FAMILY, style, font_files()[style])
    font = pdf.fonts[f"{FAMILY}{style}"]
    assert isinstance(font, TTFFont)
    assert font.color_font is None  # shared as is by the copies: neither may hold state
    assert font._hbfont is None
    return font


@cache
def covered() -> frozenset[int]:
    """The code points the font has a glyph for in every style, as fpdf2 reads its cmap."""
    pdf = FPDF()
    add_fonts(pdf)
    cmaps = [frozenset(font.cmap) for font in pdf.fonts.values() if isinstance(font, TTFFont)]
    return frozenset.intersection(*cmaps)


@cache
def _characters() -> frozenset[str]:
    return frozenset(map(chr, covered()))


def _has(text: str, font: frozenset[int]) -> bool:
    return bool(text) and all(ord(c) in font for c in text)


@lru_cache(maxsize=4096)
def _char(char: str) -> str:
    font = covered()
    category = unicodedata.category(char)
    if category in _SPACES:
        return " "
    if category == _INVISIBLE:
        return ""
    if ord(char) in font:
        return char
    if category == "Zs":
        return " "
    compatible = unicodedata.normalize("NFKC", char)
    if _has(compatible, font):
        return compatible
    decomposed = unicodedata.normalize("NFKD", char)
    base = "".join(c for c in decomposed if not unicodedata.combining(c))
    if base != decomposed and _has(base, font):
        return base
    if char in _SPELLED:
        return _SPELLED[char]
    if category in _MARKS:
        return ""
    return REPLACEMENT


def printable(text: str) -> str:
    """``text`` in characters the font can show, by the rule of the module docstring (never
    raises; ``�`` marks what the font cannot show)."""
    composed = unicodedata.normalize("NFC", text)
    if composed.isprintable() and _characters().issuperset(composed):
        return composed  # the common case, at once
    return "".join(_char(c) for c in composed)
