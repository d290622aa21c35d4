"""The .docx section laid out as an official document (GB/T 9704), checked with python-docx."""

from __future__ import annotations

import io

import docx
import pytest
from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from tests.test_yearend_section import AS_OF, GOLDEN, build_ledger
from tracker.yearend.run import one_section, section_bytes


@pytest.fixture
def document(engine, cli_env):
    build_ledger(engine)
    section = one_section(engine, year=2023, as_of=AS_OF, township="青石镇")
    return docx.Document(io.BytesIO(section_bytes(section, "docx")))


def _east_asia_font(style) -> str | None:
    fonts = style.element.rPr.find(qn("w:rFonts"))
    assert fonts.get(qn("w:eastAsiaTheme")) is None and fonts.get(qn("w:asciiTheme")) is None
    return fonts.get(qn("w:eastAsia"))


def _near(length, mm: float) -> bool:
    return abs(length - Mm(mm)) < Mm(0.1)


def test_page_is_a4_with_official_margins_and_22_line_grid(document):
    s = document.sections[0]
    assert s.orientation == WD_ORIENT.PORTRAIT
    assert _near(s.page_width, 210) and _near(s.page_height, 297)
    assert [
        _near(v, mm) for v, mm in ((s.top_margin, 37), (s.bottom_margin, 35), (s.left_margin, 28), (s.right_margin, 26))
    ] == [True] * 4
    grid = s._sectPr.find(qn("w:docGrid"))
    assert grid.get(qn("w:type")) == "lines" and grid.get(qn("w:linePitch")) == "579"
    # 225 mm of text height at 28.95 pt per line: the standard 22 lines to a page
    assert int((s.page_height - s.top_margin - s.bottom_margin) / Pt(28.95)) == 22
    footer = s.footer._element.xml
    assert "PAGE" in footer and "fldChar" in footer


def test_styles_fonts_sizes_and_exact_line_spacing(document):
    styles = document.styles
    body, title, heading = styles["Normal"], styles["Title"], styles["Heading 1"]
    assert (_east_asia_font(body), body.font.size) == ("仿宋_GB2312", Pt(16))
    assert (_east_asia_font(title), title.font.size) == ("方正小标宋简体", Pt(22))
    assert (_east_asia_font(heading), heading.font.size, heading.font.bold) == ("黑体", Pt(16), False)
    for style in (body, title, heading):
        pf = style.paragraph_format
        assert pf.line_spacing_rule == WD_LINE_SPACING.EXACTLY and pf.line_spacing == Pt(28.95)
        assert style.font.color.rgb == docx.shared.RGBColor(0, 0, 0)
    assert body.paragraph_format.first_line_indent == Pt(32)  # two characters of 三号
    assert title.paragraph_format.alignment == WD_ALIGN_PARAGRAPH.CENTER
    lang = styles.element.find(qn("w:docDefaults")).find(".//" + qn("w:lang"))
    assert lang.get(qn("w:eastAsia")) == "zh-CN"


def test_paragraphs_are_the_golden_text_with_title_and_heading_styles(document):
    text = (GOLDEN / "yearend-qingshi.txt").read_text(encoding="utf-8")
    golden = [line.lstrip("\u3000") for line in text.splitlines()]
    paragraphs = document.paragraphs
    assert [p.text for p in paragraphs] == golden
    roles = [p.style.name for p in paragraphs]
    assert roles[0] == "Title"
    assert [p.text[:2] for p, r in zip(paragraphs, roles) if r == "Heading 1"] == ["一、", "二、"]
    assert all(r == "Normal" for r in roles[1:] if r != "Heading 1")
    # no run overrides the styles: the document is restyled in Word by editing its styles
    assert all(run.font.name is None and run.font.size is None for p in paragraphs for run in p.runs)


def test_control_characters_from_converted_reports_do_not_break_the_docx():
    from tracker.yearend.gbt9704 import from_blocks

    doc = docx.Document(io.BytesIO(from_blocks([("title", "青石镇\x07问题整改情况"), ("body", "一是\x0b针对……")])))
    assert [p.text for p in doc.paragraphs] == ["青石镇问题整改情况", "一是针对……"]
