"""The transcript PDF: pages, header and footer, tables, wording, robustness, determinism.

Text is read from the page streams with the certificate tests' helpers, which map the embedded
font's character ids back to text through its ToUnicode CMap, as a PDF reader extracts it.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fpdf import FPDF
from fpdf.annotations import AnnotationDict
from fpdf.fonts import TTFFont
from hypothesis import given, settings
from hypothesis import strategies as st

from progress.adapters import transcript_pdf
from progress.adapters.pdf_fonts import FAMILY, add_fonts, font_files, printable
from progress.adapters.transcript_pdf import _Transcript, _UrlLink, render_transcript
from tests.fixtures.make_transcript_sample import SAMPLE, sample_pdf, sample_transcript
from tests.unit.test_certificate_pdf import fonts, page_lines, placed, stream_lines, streams

DASH = "\u2014"


def lines(pdf: bytes) -> list[str]:
    return page_lines(pdf)


def pages(pdf: bytes) -> int:
    match = re.search(rb"/Count (\d+)\s*/Kids", pdf)
    assert match is not None
    return int(match.group(1))


def page_texts(pdf: bytes) -> list[str]:
    """The text of each page: fpdf2 writes one content stream per page, in order (the other
    streams, such as fonts or metadata, show no text)."""
    cmaps = fonts(pdf)
    out = []
    for stream in streams(pdf):
        shown = stream_lines(cmaps, stream)
        if shown:
            out.append("\n".join(shown))
    return out


def completion(n: int, **changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "activity_id": f"https://courses.example.com/c/{n}",
        "activity_name": f"Course {n}",
        "status": "passed",
        "score": {"scaled": 0.9},
        "duration": "PT1H20M",
        "time": "2026-11-25T07:02:42.485217Z",
        "attempt_id": f"a{n}",
        "completion_id": f"c{n}",
        "certificate": f"https://lrs.example.com/certificates/c{n}",
    }
    return {**row, **changes}


def transcript(rows: int = 3, **changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "learner": {"id": "mbox:mailto:ann@example.com", "name": "Ann Lee"},
        "generated": "2026-11-25T07:30:00.000000Z",
        "filters": {"since": None, "until": None, "activity": None, "lang": None},
        "totals": {
            "completions": rows,
            "passed": rows,
            "failed": 0,
            "in_progress": 1,
            "duration": "PT3H20M",
        },
        "completions": [completion(n) for n in range(rows)],
        "in_progress": [
            {
                "activity_id": "https://courses.example.com/open",
                "activity_name": "Open course",
                "started": "2026-11-01T09:00:00Z",
                "last_activity": "2026-11-20T16:30:00Z",
                "attempt_id": "p1",
            }
        ],
        "digest": "sha256:" + "ab" * 32,
        "verify_url": "https://lrs.example.com/progress/transcript?agent=x",
    }
    return {**base, **changes}


# ------------------------------------------------------------------------------- pages


def test_the_page_count_grows_with_the_rows() -> None:
    counts = [pages(render_transcript(transcript(rows))) for rows in (0, 10, 60, 200)]
    assert counts[0] == counts[1] == 1
    assert counts[1] < counts[2] < counts[3]
    assert b"/MediaBox [0 0 595.28 841.89]" in render_transcript(transcript(1))  # A4 portrait


def test_every_page_has_the_header_and_footer() -> None:
    pdf = render_transcript(transcript(120))
    count = pages(pdf)
    texts = page_texts(pdf)
    assert count >= 3
    assert len(texts) == count
    for number, text in enumerate(texts, start=1):
        assert "Learning transcript" in text
        assert "Ann Lee" in text
        assert "Generated 25 November 2026 07:30 UTC" in text
        assert f"Page {number} of {count}" in text
        assert f"Verification digest: sha256:abababababab{chr(0x2026)}abababab" in text
        assert "Verify at: https://lrs.example.com/progress/transcript?agent=x" in text
        assert "Activity" in text  # the table heading repeats


def test_the_verify_url_and_certificates_are_links() -> None:
    pdf = render_transcript(transcript(2))
    assert b"/URI (https://lrs.example.com/progress/transcript?agent=x)" in pdf
    assert b"/URI (https://lrs.example.com/certificates/c1)" in pdf
    assert lines(pdf).count("verify") == 2


def test_without_digest_or_verify_url_the_footer_omits_them() -> None:
    text = "\n".join(lines(render_transcript(transcript(1, digest=None, verify_url=None))))
    assert "Verification digest" not in text
    assert "Verify at" not in text
    assert "Page 1 of 1" in text


# ----------------------------------------------------------------------------- wording


def test_a_row_shows_date_result_score_duration() -> None:
    shown = lines(render_transcript(transcript(1)))
    for text in ("Course 0", "25 Nov 2026", "Passed", "90%", "1 h 20 min", "verify"):
        assert text in shown


def test_the_first_page_shows_filters_and_totals() -> None:
    filters = {
        "since": "2026-01-01T00:00:00Z",
        "until": None,
        "activity": "https://a",
        "lang": "fr",
    }
    shown = lines(render_transcript(transcript(2, filters=filters)))
    assert "Filtered: completed from 1 Jan 2026  ·  activity https://a  ·  language fr" in shown
    assert {"Completions", "Passed", "Failed", "In progress", "Time recorded"} <= set(shown)
    assert "3 h 20 min" in shown
    assert not any(line.startswith("Filtered") for line in lines(render_transcript(transcript(2))))


def test_without_a_name_the_learner_id_is_shown_without_its_prefix() -> None:
    learner = {"id": "mbox:mailto:ann@example.com", "name": None}
    assert "ann@example.com" in lines(render_transcript(transcript(1, learner=learner)))
    account = {"id": "account:https://lms.example.com|learner-42", "name": " "}
    assert "learner-42" in lines(render_transcript(transcript(1, learner=account)))


@pytest.mark.parametrize(
    ("score", "shown"),
    [
        ({"scaled": 0.92, "raw": 92, "min": 0, "max": 100}, "92%"),
        ({"raw": 42, "min": 0, "max": 50}, "42 / 50"),
        ({"raw": 7.5}, "7.5"),
        ({"min": 0, "max": 10}, DASH),
        ({"scaled": 3}, DASH),  # not a usable score
        (None, DASH),
    ],
)
def test_the_score_is_a_percentage_else_raw_of_max_else_a_dash(
    score: dict[str, float] | None, shown: str
) -> None:
    assert shown in lines(
        render_transcript(transcript(1, completions=[completion(0, score=score)]))
    )


@pytest.mark.parametrize(
    ("duration", "shown"),
    [
        ("PT1H20M", "1 h 20 min"),
        ("PT45S", "45 s"),
        ("PT20M", "20 min"),
        ("PT2H0M30S", "2 h"),
        ("P1DT2H", "1 d 2 h"),
        ("PT0S", "0 s"),
        ("PT0.5S", "0.5 s"),
        ("PT90M", "1 h 30 min"),
        ("P1M", "P1M"),  # no fixed length: as given
        ("soon", "soon"),
        (None, DASH),
    ],
)
def test_durations_read_as_hours_minutes_seconds(duration: str | None, shown: str) -> None:
    row = completion(0, duration=duration)
    assert shown in lines(render_transcript(transcript(1, completions=[row])))


def test_absent_fields_render_as_a_dash() -> None:
    row = completion(0, activity_name=None, score=None, duration=None, certificate=None, time=None)
    shown = lines(render_transcript(transcript(1, completions=[row], totals={})))
    assert "https://courses.example.com/c/0" in shown  # no name: the id
    assert shown.count(DASH) >= 5  # date, score, duration, certificate, total time
    assert "verify" not in shown


def test_an_unparsable_date_is_shown_as_given() -> None:
    row = completion(0, time="last Tuesday")
    assert "last Tuesday" in lines(render_transcript(transcript(1, completions=[row])))


def test_in_progress_rows_show_start_and_last_activity() -> None:
    shown = lines(render_transcript(transcript(1)))
    assert {"In progress (1)", "Open course", "1 Nov 2026", "20 Nov 2026"} <= set(shown)
    empty = lines(render_transcript(transcript(0, in_progress=[])))
    assert {"No completions.", "Nothing in progress."} <= set(empty)


# -------------------------------------------------------------------------- robustness


def test_long_activity_names_wrap_within_the_column() -> None:
    name = "Leading distributed teams through change " * 20
    unbroken = "x" * 400
    rows = [completion(0, activity_name=name), completion(1, activity_name=unbroken)]
    pdf = render_transcript(transcript(2, completions=rows))
    shown = lines(pdf)
    wrapped = [line for line in shown if line.startswith(("Leading", "change", "teams"))]
    assert 1 < len(wrapped) <= 3  # at most three lines, the last shortened
    assert any(line.endswith("\u2026") for line in shown)
    assert all(len(line) < 60 for line in shown if set(line) <= {"x", "\u2026"})
    assert pages(pdf) == 1


def test_latin_greek_and_cyrillic_names_are_shown_exactly() -> None:
    learner = {"id": "mbox:mailto:z@example.com", "name": "Zoë Łukasiewicz-Ωmega"}
    rows = [
        completion(0, activity_name="Łódź: bezpieczeństwo pracy"),
        completion(1, activity_name="Ярослав — основы охраны труда"),
        completion(2, activity_name="Ασφάλεια στην εργασία"),
    ]
    started = [{"activity_id": "x", "activity_name": "Київ «вступ»", "started": None}]
    pdf = render_transcript(transcript(3, learner=learner, completions=rows, in_progress=started))
    shown = lines(pdf)
    assert "Zoë Łukasiewicz-Ωmega" in shown
    for name in ("Łódź: bezpieczeństwo pracy", "Ярослав — основы охраны труда"):
        assert name in shown
    assert {"Ασφάλεια στην εργασία", "Київ «вступ»"} <= set(shown)
    assert not any("?" in line or "\ufffd" in line for line in shown if "?agent" not in line)


def test_characters_the_font_lacks_are_marked_and_never_raise() -> None:
    learner = {"id": "mbox:mailto:z@example.com", "name": "山田太郎 🙂"}
    rows = [completion(0, activity_name="Ça va — ok… 日本語 مرحبا", status="fa\u0000iled")]
    pdf = render_transcript(transcript(1, learner=learner, completions=rows))
    shown = lines(pdf)
    assert "���� �" in shown  # one mark a character: visibly incomplete, not shortened
    assert "Ça va — ok… ��� �����" in shown
    assert "Fa iled" in shown  # a control character: a space
    assert b"Learning transcript: \xff\xfd" not in pdf  # the title: UTF-16, marks included
    assert "Title <feff" in pdf.decode("latin-1")


def test_a_long_verify_link_is_shown_in_full_on_two_lines() -> None:
    url = "https://lrs.example.com/progress/transcript?agent=" + "%7B%22mbox%22" * 10 + "&lang=en"
    texts = page_texts(render_transcript(transcript(1, verify_url=url)))
    (text,) = texts
    first, second = text.splitlines()[-2:]
    assert first.startswith("Verify at: https://")
    assert first[len("Verify at: ") :] + second == url  # nothing lost
    query = "agent=mbox%3Amailto%3Azoe%40example.com&since=2026-01-01T00%3A00%3A00Z&lang=en"
    url = f"https://lrs.example.com/progress/transcript?{query}"
    text = page_texts(render_transcript(transcript(1, verify_url=url)))[0]
    assert text.splitlines()[-1] == "lang=en"  # after a separator past the middle of the line


def test_every_text_starts_within_the_margins() -> None:
    learner = {"id": "x", "name": "Ярослав Łukasz-Ωmega Wojciechowski-Łopuszańska " * 3}
    rows = [
        completion(n, activity_name="Охрана труда и техника безопасности " * 4) for n in range(30)
    ]
    pdf = render_transcript(transcript(30, learner=learner, completions=rows))
    margin, right = 15 * 72 / 25.4, (210 - 15) * 72 / 25.4  # points
    cmaps = fonts(pdf)
    spots = [spot for stream in streams(pdf) for spot in placed(cmaps, stream)]
    assert len(spots) > 250
    assert all(margin - 0.5 <= x < right for x, _, text in spots if text.strip())


@settings(max_examples=40, deadline=None)
@given(
    name=st.text(max_size=200),
    activity=st.text(max_size=300),
    value=st.one_of(st.none(), st.text(max_size=40), st.integers(), st.floats()),
)
def test_any_text_renders(name: str, activity: str, value: object) -> None:
    row = completion(0, activity_name=activity, duration=value, time=value, status=value)
    learner = {"id": name, "name": name}
    pdf = render_transcript(transcript(1, learner=learner, completions=[row], verify_url=value))
    assert pdf.startswith(b"%PDF-")
    lines(pdf)  # every character shown is one a reader can read back


@pytest.mark.parametrize("target", ["#", "#top", "/relative", "javascript:alert(1)", "ftp://x"])
def test_only_http_urls_become_links(target: str) -> None:
    """Found by hypothesis on CI: a verify URL of "#" was an unknown named destination."""
    row = completion(0, certificate=target)
    pdf = render_transcript(transcript(1, completions=[row], verify_url=target))
    assert pdf.startswith(b"%PDF-")
    assert b"/URI" not in pdf


def test_500_rows_render_every_page() -> None:
    """Speed is `make bench`'s (section transcripts), not a test's."""
    document = sample_transcript(500, 20)
    pdf = render_transcript(document)
    assert pages(pdf) > 15
    assert f"Page {pages(pdf)} of {pages(pdf)}" in "\n".join(lines(pdf))


# ----------------------------------------------------- fast paths equal fpdf2's own output


@settings(max_examples=60, deadline=None)
@given(
    url=st.text(),
    box=st.tuples(*[st.floats(0, 150, allow_nan=False) for _ in range(4)]),
)
def test_certificate_links_are_written_as_fpdf2_writes_links(
    url: str, box: tuple[float, float, float, float]
) -> None:
    """``url_area`` builds the annotation ``FPDF.link`` builds, and ``_UrlLink`` serializes
    it to the very text ``AnnotationDict.serialize`` gives, for any URL and area."""
    target = "https://lrs.example.com/" + url
    pdf = _Transcript("Ann", "today", None, None)
    pdf.add_page()
    theirs = pdf.link(*box, target)
    pdf.url_area(*box, target)
    annotations = pdf.pages[pdf.page].annots
    assert annotations is not None
    ours = annotations[-1]
    assert type(ours) is _UrlLink
    assert ours.serialize() == theirs.serialize() == AnnotationDict.serialize(ours)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(15, 180), st.floats(40, 270), st.text(min_size=1), st.booleans()).map(
            lambda t: (t[0], t[1], printable(t[2]), t[3])
        ),
        min_size=1,
        max_size=8,
    )
)
def test_table_text_is_placed_as_fpdf2_text_places_it(
    items: list[tuple[float, float, str, bool]],
) -> None:
    """``show`` writes many texts at once: a reader finds each where ``FPDF.text`` would have
    put it, with the same characters, in the same order."""
    drawn = []
    for fast in (True, False):
        pdf = _Transcript("Ann", "today", None, None)
        pdf.add_page()
        if fast:
            pdf.show([(x, y, text, 8.5, bold, (185, 28, 28)) for x, y, text, bold in items])
        else:
            for x, y, text, bold in items:
                pdf.style(8.5, bold=bold, rgb=(185, 28, 28))
                pdf.text(x, y, text)
        pdf.footers()
        document = bytes(pdf.output())
        assert b"0.7255 0.1098 0.1098 rg" in streams(document)[0]  # the colour, as fpdf2 writes it
        drawn.append([placed(fonts(document), stream) for stream in streams(document)])
    assert drawn[0] == drawn[1]


def _fonts_as_fpdf2_adds_them(pdf: FPDF) -> str:
    for style, path in font_files().items():
        pdf.add_font(FAMILY, style, path)
        font = pdf.fonts[f"{FAMILY}{style}"]
        assert isinstance(font, TTFFont)
        font.ttfont.recalcBBoxes = False  # add_fonts's one deliberate difference
    return FAMILY


def test_fonts_copied_from_the_parsed_template_write_what_add_font_writes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``add_fonts`` reads the font once per process and copies it into each document: the
    PDF is byte-identical to one whose fonts fpdf2 read itself, also after documents that used
    other glyphs (no glyph subset leaks from one document to the next)."""
    cyrillic = transcript(3, learner={"id": "mbox:mailto:a@example.com", "name": "Анна Ли"})
    latin = transcript(40, learner={"id": "mbox:mailto:z@example.com", "name": "Zoë Łuk"})
    ours = [render_transcript(cyrillic), render_transcript(latin), render_transcript(cyrillic)]
    monkeypatch.setattr(transcript_pdf, "add_fonts", _fonts_as_fpdf2_adds_them)
    assert ours == [render_transcript(cyrillic), render_transcript(latin), ours[0]]


def test_each_document_owns_what_writing_it_changes() -> None:
    """Documents rendered at once (the local server's threads) must not share what fpdf2
    changes as it writes one: the glyph subset, the missing glyphs, the font descriptor (named
    and numbered per document) and the fontTools font (subset in place). The parsed tables
    (widths, cmap) are shared, read-only."""
    first, second = FPDF(), FPDF()
    add_fonts(first)
    add_fonts(second)
    for key in (FAMILY, f"{FAMILY}B"):
        a, b = first.fonts[key], second.fonts[key]
        assert isinstance(a, TTFFont)
        assert isinstance(b, TTFFont)
        for owned in ("subset", "missing_glyphs", "desc", "ttfont"):
            assert getattr(a, owned) is not getattr(b, owned), owned
        assert a.subset.font is a
        assert a.cw is b.cw  # shared: the point of parsing once


# ------------------------------------------------------------------------- determinism


def test_rendering_is_deterministic() -> None:
    first = render_transcript(transcript(40))
    assert render_transcript(transcript(40)) == first
    assert b"/CreationDate (D:20261125073000Z)" in first  # generated, not the clock
    assert render_transcript(transcript(40, generated="2026-11-25T07:31:00Z")) != first


def test_the_committed_sample_is_what_the_renderer_produces() -> None:
    """Regenerate with ``python -m tests.fixtures.make_transcript_sample`` after a deliberate
    change of the layout."""
    assert SAMPLE.read_bytes() == sample_pdf()
    shown = lines(SAMPLE.read_bytes())
    assert pages(SAMPLE.read_bytes()) == 2
    assert "Zoë Łukasiewicz-Ωmega" in shown  # once "Zoë Lukasiewicz-?mega" (core Helvetica)
    assert "��� basics: ����" in shown  # Japanese: not in the font, marked
    assert "Completions (30)" in shown
    assert "In progress (3)" in shown
