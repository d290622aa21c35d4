"""Word documents laid out like official documents (GB/T 9704—2012, 党政机关公文格式).

A4; margins top 37 mm, bottom 35 mm, left 28 mm, right 26 mm (版心 156 × 225 mm); body in 仿宋_GB2312
三号 (16 pt), first line indented two characters; title in 方正小标宋简体 二号, centred; headings
(一、…) in 黑体 三号; exact line spacing 28.95 pt, which puts the standard 22 lines of 28 characters
on a page; page numbers — 1 — in 宋体 四号 at the foot. Fonts are named for East Asian text
(w:eastAsia), as Word needs for Chinese.
"""

from __future__ import annotations

import io
import re
from copy import deepcopy
from functools import lru_cache

from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.section import WD_ORIENT
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor

BODY_FONT, HEADING_FONT, TITLE_FONT, PAGE_NUMBER_FONT = "仿宋_GB2312", "黑体", "方正小标宋简体", "宋体"
BODY_SIZE, TITLE_SIZE, TABLE_SIZE, PAGE_NUMBER_SIZE = Pt(16), Pt(22), Pt(10.5), Pt(14)
LINE_SPACING = Pt(28.95)
LINE_PITCH_TWIPS = 579  # 28.95 pt in twentieths of a point, for the document grid
MARGINS = {"top_margin": Mm(37), "bottom_margin": Mm(35), "left_margin": Mm(28), "right_margin": Mm(26)}
TITLE_STYLE, HEADING_STYLE, TABLE_STYLE, CELL_STYLE = "Title", "Heading 1", "Table Grid", "表格文字"


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_safe(value) -> str:
    """Text as Word and Excel accept it: control characters left over from converted reports dropped."""
    return "" if value is None else _NOT_XML.sub("", str(value))


def set_fonts(rpr_owner, name: str) -> None:
    """Name one font for Latin and East Asian text, dropping theme fonts that would override it."""
    rpr = rpr_owner.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(attr), None)
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attr), name)


def _style(
    doc: DocumentObject,
    name: str,
    font: str,
    size,
    *,
    indent: bool,
    align=WD_ALIGN_PARAGRAPH.JUSTIFY,
    bold: bool = False,
) -> None:
    style = doc.styles[name]
    set_fonts(style.element, font)
    style.font.size = size
    style.font.bold = bold
    style.font.color.rgb = RGBColor(0, 0, 0)
    pf = style.paragraph_format
    pf.alignment = align
    pf.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    pf.line_spacing = LINE_SPACING
    pf.space_before = pf.space_after = Pt(0)
    pf.first_line_indent = Pt(32) if indent else Pt(0)


def _page_number_footer(section) -> None:
    """— PAGE — centred in 宋体 四号 (a field, so Word fills in each page's number)."""
    p = section.footer.paragraphs[0]
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER

    def run(text: str | None = None, field: str | None = None, instr: str | None = None):
        r = p.add_run(text)
        set_fonts(r._r, PAGE_NUMBER_FONT)
        r.font.size = PAGE_NUMBER_SIZE
        if field:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), field)
            r._r.append(el)
        if instr:
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = instr
            r._r.append(el)

    run("— ")
    run(field="begin")
    run(instr=" PAGE ")
    run(field="separate")
    run("1")
    run(field="end")
    run(" —")


@lru_cache(maxsize=2)
def _template(landscape: bool) -> bytes:
    """The styled empty document, built once and reloaded for every file (much faster than restyling)."""
    doc = Document()
    rpr_default = doc.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    lang = rpr_default.find(qn("w:lang"))
    lang.set(qn("w:val"), "zh-CN")
    lang.set(qn("w:eastAsia"), "zh-CN")
    _style(doc, "Normal", BODY_FONT, BODY_SIZE, indent=True)
    _style(doc, TITLE_STYLE, TITLE_FONT, TITLE_SIZE, indent=False, align=WD_ALIGN_PARAGRAPH.CENTER)
    _style(doc, HEADING_STYLE, HEADING_FONT, BODY_SIZE, indent=True)
    title = doc.styles[TITLE_STYLE].element
    for border in title.findall(".//" + qn("w:pBdr")):  # the default Title has a rule under it
        border.getparent().remove(border)
    cell = doc.styles.add_style(CELL_STYLE, WD_STYLE_TYPE.PARAGRAPH)
    cell.base_style = doc.styles["Normal"]
    cell.font.size = TABLE_SIZE
    cell.paragraph_format.first_line_indent = Pt(0)
    cell.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
    cell.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.LEFT
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    if landscape:
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = section.page_height, section.page_width
    for attr, value in MARGINS.items():
        setattr(section, attr, value)
    grid = section._sectPr.find(qn("w:docGrid"))
    grid.set(qn("w:type"), "lines")
    grid.set(qn("w:linePitch"), str(LINE_PITCH_TWIPS))
    _page_number_footer(section)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def new_document(*, landscape: bool = False) -> DocumentObject:
    return Document(io.BytesIO(_template(landscape)))


def to_bytes(doc: DocumentObject) -> bytes:
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def from_blocks(blocks: list[tuple[str, str]]) -> bytes:
    """(role, text) paragraphs — title, heading or body — as a .docx."""
    doc = new_document()
    styles = {"title": TITLE_STYLE, "heading": HEADING_STYLE, "body": None}
    for role, text in blocks:
        doc.add_paragraph(xml_safe(text), style=styles[role])
    return to_bytes(doc)


def add_table(doc: DocumentObject, header: list[str], rows: list[list]) -> None:
    """A ruled table in 五号, its header row repeated on every page.

    Body rows are copies of one prepared row with only their texts set: python-docx's own row and
    paragraph calls cost milliseconds each, which a table of every township in a province cannot afford.
    """
    table = doc.add_table(rows=2, cols=len(header))
    table.style = doc.styles[TABLE_STYLE]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    style_id = doc.styles[CELL_STYLE].style_id
    for row, values in zip(table.rows, (header, [""] * len(header))):
        for cell, value in zip(row.cells, values):
            p = cell.paragraphs[0]
            p._p.style = style_id
            p.add_run(value or " ")
    repeat = OxmlElement("w:tblHeader")
    repeat.set(qn("w:val"), "true")
    table.rows[0]._tr.get_or_add_trPr().append(repeat)
    tbl, prepared = table._tbl, table.rows[1]._tr
    tbl.remove(prepared)
    for values in rows:
        tr = deepcopy(prepared)
        for t, value in zip(tr.iter(qn("w:t")), values):
            t.text = xml_safe(value)
        tbl.append(tr)
