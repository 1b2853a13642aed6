"""render_pdf: PDF/A-3b output, embedded data, pagination, contents, escaping of user text."""
import io
import json
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pikepdf
import pypdf
import pytest

from reports.rendering import (
    ReportRenderingError,
    canonical_json,
    data_table,
    line_chart_svg,
    render_html,
    render_pdf,
    sha256_hex,
)

HOSTILE_REASON = "<script>alert('owned')</script>"
HOSTILE_PROMPT = "</td><td>injected cell</td><script>steal()</script>"
CHAIN_HEAD = "9f2c" * 16
LONG_TOKEN = "".join(f"Q{index:03d}" for index in range(150))  # 600 characters without a break opportunity
GENERATED_AT = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
DATA = {
    "use_case": "claims-assistant",
    "signals": [{"name": "prompt drift", "p_value": 0.004, "effect": 0.12}, {"name": "quality", "p_value": None}],
    "note": "données réelles — ünïcode",
    "chain_head": CHAIN_HEAD,
}


def _sections(*, section_count: int = 12, rows_per_section: int = 30) -> list[dict]:
    """Return report sections long enough to fill many pages, with user text and one chart."""
    start = datetime(2024, 1, 1, tzinfo=UTC)
    sections = []
    for number in range(section_count):
        rows = [
            [
                (start + timedelta(days=row)).date().isoformat(),
                f"prompt {row}: how do I file a claim for water damage in my basement? " * (1 + row % 3),
                f"{(row * 37 % 100) / 100:.2f}",
                f"{number:02d}{row:02d}" * 16,
            ]
            for row in range(rows_per_section)
        ]
        if number == 0:
            rows[0][1] = HOSTILE_PROMPT
        if number == 0 and len(rows) > 1:
            rows[1][1] = LONG_TOKEN
        points = [(start + timedelta(hours=hour), 0.02 + (hour % 7) / 1000) for hour in range(24 * 60)]
        sections.append(
            {
                "id": f"section-{number:02d}",
                "title": f"Section {number:02d} heading",
                "text": HOSTILE_REASON if number == 0 else "Signals were computed hourly against the frozen baseline.",
                "charts": [line_chart_svg([{"name": "prompt drift", "points": points}], title=f"Chart {number:02d}",
                                          y_label="share")] if number < 2 else [],
                "table": data_table(
                    columns=[("Day", "text"), ("Prompt", "long"), ("Score", "num"), ("Evidence hash", "hash")],
                    rows=rows,
                    caption="Runs",
                ),
                "subsections": [{"id": f"section-{number:02d}-detail", "title": f"Detail {number:02d} heading",
                                 "text": "Reviewed by the governance owner."}],
            }
        )
    return sections


def _context(sections: list[dict]) -> dict:
    """Return a full report context for the sections, with the contents built from them."""
    toc = []
    for section in sections:
        toc.append({"id": section["id"], "title": section["title"], "level": 2})
        toc += [{"id": sub["id"], "title": sub["title"], "level": 3} for sub in section["subsections"]]
    return {
        "use_case": "Claims assistant",
        "period": "2024-01-01 to 2024-03-31",
        "generated_at": GENERATED_AT,
        "chain_head": CHAIN_HEAD,
        "parameters": {"alpha": 0.01, "signals": "prompt, response, quality", "filter": "<b>not bold</b>"},
        "toc": toc,
        "sections": sections,
    }


def _render(context: dict, **overrides) -> bytes:
    """Render the test report with the given context."""
    arguments = {
        "template_name": "rendering_tests/sections.html",
        "context": context,
        "data": DATA,
        "title": "Post-market monitoring report",
        "header": "Claims assistant · 2024-01-01 to 2024-03-31",
    }
    return render_pdf(**{**arguments, **overrides})


@pytest.fixture(scope="module")
def long_report(report_templates) -> bytes:
    """Render one long report for the tests that only read it."""
    return _render(_context(_sections()), metadata={"author": "Compliance office", "subject": "Art. 72 monitoring",
                                                    "keywords": ["drift", "post-market"]})


@pytest.fixture(scope="module")
def page_texts(long_report) -> list[str]:
    """Return the extracted text of every page of the long report."""
    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(long_report)).pages]


def _squeezed(text: str) -> str:
    """Drop all whitespace, so text wrapped across lines can be searched for."""
    return "".join(text.split())


def test_long_content_paginates_over_many_pages(page_texts):
    assert len(page_texts) > 5


def test_every_page_after_the_cover_says_page_x_of_y(page_texts):
    total = len(page_texts)

    assert f"Page 2 of {total}" in page_texts[1]
    assert f"Page {total} of {total}" in page_texts[-1]
    assert all(f"Page {number} of {total}" in text for number, text in enumerate(page_texts, start=1))


def test_a_table_that_continues_on_the_next_page_repeats_its_header_row(page_texts):
    pages_with_rows = [text for text in page_texts[2:] if re.search(r"prompt \d+:", text)]

    assert len(pages_with_rows) > 5
    assert all("Evidence hash" in text for text in pages_with_rows)


def test_the_running_header_names_use_case_and_period_but_not_on_the_cover(page_texts):
    header = "Claims assistant · 2024-01-01 to 2024-03-31"

    assert header not in page_texts[0]
    assert all(header in text for text in page_texts[1:])


def test_the_cover_shows_use_case_period_time_chain_head_and_parameters(page_texts):
    cover = page_texts[0]

    assert "Post-market monitoring report" in cover
    assert "Claims assistant" in cover
    assert "2024-01-01 to 2024-03-31" in cover
    assert "2025-01-02 03:04:05 +0000" in cover
    assert CHAIN_HEAD in _squeezed(cover)
    assert "signals" in cover and "prompt, response, quality" in cover


def test_the_content_text_can_be_extracted(page_texts):
    body = "\n".join(page_texts[2:])

    assert "Section 11 heading" in body
    assert "Reviewed by the governance owner." in body
    assert "Chart 01" in body  # SVG text is drawn as text, not as an image


def test_the_contents_list_every_heading_with_the_page_it_is_on(page_texts):
    contents = page_texts[1]
    titles = [f"{kind} {number:02d} heading" for kind in ("Section", "Detail") for number in range(12)]

    for title in titles:
        listed = re.search(rf"{re.escape(title)}[ .]*?(\d+)\s*$", contents, flags=re.MULTILINE)
        actual = next(number for number, text in enumerate(page_texts, start=1) if number > 2 and title in text)
        assert listed is not None, title
        assert int(listed.group(1)) == actual, title


def test_the_embedded_attachment_is_the_data_as_canonical_json(long_report):
    pdf = pikepdf.open(io.BytesIO(long_report))

    attached = pdf.attachments["report-data.json"]
    content = attached.get_file().read_bytes()

    assert content == canonical_json(DATA)
    assert json.loads(content) == DATA
    assert attached.obj.AFRelationship == pikepdf.Name.Data
    assert attached.get_file().mime_type == "application/json"
    assert [entry.objgen for entry in pdf.Root.AF] == [attached.obj.objgen]


def test_the_file_identifies_itself_as_pdf_a_3b(long_report):
    pdf = pikepdf.open(io.BytesIO(long_report))

    metadata = pdf.open_metadata()

    assert metadata["pdfaid:part"] == "3"
    assert metadata["pdfaid:conformance"] == "B"
    assert metadata["dc:title"] == "Post-market monitoring report"
    assert pdf.Root.OutputIntents[0].S == pikepdf.Name.GTS_PDFA1


def test_descriptive_metadata_reaches_the_info_dictionary(long_report):
    pdf = pikepdf.open(io.BytesIO(long_report))

    info = pdf.docinfo

    assert str(info.Title) == "Post-market monitoring report"
    assert str(info.Author) == "Compliance office"
    assert str(info.Subject) == "Art. 72 monitoring"
    assert str(info.Keywords) == "drift, post-market"
    assert str(info.CreationDate).startswith("D:20250102030405")


def test_every_font_is_embedded(long_report):
    pdf = pikepdf.open(io.BytesIO(long_report))

    fonts = {font.objgen: font for page in pdf.pages for font in page.Resources.Font.values()}

    assert fonts
    for font in fonts.values():
        descriptor = font.DescendantFonts[0].FontDescriptor if "/DescendantFonts" in font else font.FontDescriptor
        assert any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")), font.BaseFont


def test_hostile_text_is_printed_as_text(page_texts):
    text = _squeezed("".join(page_texts))

    assert _squeezed(HOSTILE_REASON) in text
    assert _squeezed(HOSTILE_PROMPT) in text
    assert "<b>notbold</b>" in text


def test_hostile_text_creates_no_element_in_the_html(report_templates):
    sections = _sections(section_count=1, rows_per_section=3)

    html = render_html(template_name="rendering_tests/sections.html",
                       context={**_context(sections), "title": "t", "header": "h"})
    parser = _TagCounter()
    parser.feed(html)

    assert "script" not in parser.tags
    assert "b" not in parser.tags
    # Three table rows of four cells, plus one cell per row of the cover facts (4) and parameters (3).
    assert parser.tags.count("td") == 3 * 4 + 4 + 3
    assert "&lt;script&gt;alert(&#x27;owned&#x27;)&lt;/script&gt;" in html


def test_a_long_unbroken_token_wraps_inside_its_column(page_texts):
    lines = [line for text in page_texts for line in text.splitlines()]

    pieces = [piece for line in lines for piece in re.findall(r"[Q0-9]*Q[Q0-9]*", line)]
    joined = "".join(pieces)

    assert LONG_TOKEN in joined
    assert len(pieces) >= 5
    assert max(len(piece) for piece in pieces) < 120


def test_a_report_without_chain_head_is_refused(report_templates):
    context = _context(_sections(section_count=1, rows_per_section=1))
    del context["chain_head"]

    with pytest.raises(ReportRenderingError, match="chain_head"):
        _render(context)


def test_a_naive_generation_time_is_refused(report_templates):
    context = {**_context(_sections(section_count=1, rows_per_section=1)), "generated_at": datetime(2025, 1, 1)}

    with pytest.raises(ReportRenderingError, match="aware"):
        _render(context)


def test_a_contents_entry_without_its_heading_is_refused(report_templates):
    context = _context(_sections(section_count=1, rows_per_section=1))
    context["toc"].append({"id": "no-such-section", "title": "Missing", "level": 2})

    with pytest.raises(ReportRenderingError, match="no-such-section"):
        _render(context)


def test_unknown_metadata_is_refused(report_templates):
    with pytest.raises(ReportRenderingError, match="colour"):
        _render(_context(_sections(section_count=1, rows_per_section=1)), metadata={"colour": "blue"})


def test_the_attachment_name_can_be_chosen(report_templates):
    pdf = _render(_context(_sections(section_count=1, rows_per_section=1)), attachment_name="gate-audit.json")

    assert list(pikepdf.open(io.BytesIO(pdf)).attachments) == ["gate-audit.json"]


def test_canonical_json_sorts_keys_keeps_utf8_and_writes_dates_as_iso():
    encoded = canonical_json({"b": 1, "a": {"d": "é", "c": datetime(2024, 5, 1, 12, 0, tzinfo=UTC)}})

    assert encoded == '{"a":{"c":"2024-05-01T12:00:00Z","d":"é"},"b":1}'.encode()


def test_canonical_json_refuses_nan():
    with pytest.raises(ValueError):
        canonical_json({"p_value": float("nan")})


def test_sha256_hex_is_the_hex_digest():
    assert sha256_hex(b"abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


class _TagCounter(HTMLParser):
    """Collect the start tags of an HTML document in order."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        """Record one start tag."""
        self.tags.append(tag)


def test_a_row_taller_than_a_page_continues_on_the_next_page_without_losing_text(report_templates):
    words = [f"w{index:04d}" for index in range(2500)]
    rows = [["1", "short"], ["2", " ".join(words)], ["3", "after"]]
    table = data_table(columns=["Run", ("Prompt", "long")], rows=rows)
    section = {"id": "tall", "title": "Tall row", "text": "", "charts": [], "table": table, "subsections": []}

    pdf = _render({**_context([section]), "toc": [{"id": "tall", "title": "Tall row", "level": 2}]})
    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages[2:])

    assert len(pypdf.PdfReader(io.BytesIO(pdf)).pages) > 4
    assert all(word in text for word in words)
    assert "after" in text
