"""A report text typeset as the PDF a township publishes, and a scanned PDF with no text layer.

The layout follows the government document standard (GB/T 9704): A4, margins 37/35/28/26 mm
(top/bottom/left/right), 16 pt STSong-Light, 28 characters a line, 22 lines a page, paragraphs
hard-wrapped at the line width with a two-character first-line indent, the title centred, the
signature block set right, a page number centred under every page, and optionally a running header.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

PAGE_DASH = "— {n} —"  # page-number styles: {n} the page, {total} the page count
PAGE_HYPHEN = "-{n}-"
PAGE_OF = "第{n}页 共{total}页"

FONT = "STSong-Light"
BODY_SIZE = 16
TITLE_SIZE = 22
PAGE_NUMBER_SIZE = 14
HEADER_SIZE = 10.5
CHARS_PER_LINE = 28
LINES_PER_PAGE = 22
PAGE_W, PAGE_H = A4
TOP, BOTTOM, LEFT, RIGHT = 37 * mm, 35 * mm, 28 * mm, 26 * mm
WIDTH = PAGE_W - LEFT - RIGHT
LEADING = (PAGE_H - TOP - BOTTOM) / LINES_PER_PAGE
# 28 characters of 16 pt are a little wider than the 156 mm text block: the standard tightens them.
CHAR_SPACE = (WIDTH - CHARS_PER_LINE * BODY_SIZE) / CHARS_PER_LINE
NO_LINE_START = set("，。、；：？！）》”’」』…")  # hangs in the margin rather than starting a line
# Leftovers of a .docx → .txt conversion in the shared reports; a typeset PDF has none of them.
CONVERSION_NOISE = re.compile(r"\[bookmark:[^\]\n]*\]|\*\*")

pdfmetrics.registerFont(UnicodeCIDFont(FONT))


@dataclass(frozen=True)
class Line:
    text: str
    align: str = "left"  # left | center | right
    indent: int = 0  # characters before the text (left) or after it (right)
    size: float = BODY_SIZE


def layout(text: str, font: str = FONT) -> list[list[Line]]:
    """The report's lines on pages of LINES_PER_PAGE lines."""
    sources = [CONVERSION_NOISE.sub("", s).strip() for s in text.split("\n")]
    lines: list[Line] = []
    title = _title_block(sources)
    for s in sources[:title]:
        if s:
            lines.extend(Line(part, "center", size=TITLE_SIZE) for part in _wrap(s, 0, TITLE_SIZE, font))
    if title:
        lines.append(Line(""))
    signature = False
    first = True
    for s in sources[title:]:
        if not s:
            continue  # a typeset page separates paragraphs by their indent, not by empty lines
        if signature:
            lines.append(Line(s, "right", indent=4))
        elif first and s.endswith("：") and len(s) <= CHARS_PER_LINE:  # the salutation: 县委、县政府：
            lines.append(Line(s))
        else:
            lines.extend(Line(part, indent=2 if i == 0 else 0) for i, part in enumerate(_wrap(s, 2, BODY_SIZE, font)))
        signature = signature or s.startswith("特此报告")
        first = False
    return [lines[i : i + LINES_PER_PAGE] for i in range(0, len(lines), LINES_PER_PAGE)] or [[]]


def report_pdf(
    text: str,
    path: Path | None = None,
    *,
    header: str | None = None,
    page_number: str = PAGE_DASH,
    furniture_first: bool = False,
    font: str = FONT,
    password: str | None = None,
    owner_password: str | None = None,
) -> bytes:
    """The PDF bytes (also written to `path` when given).

    `header`: a running header line on every page; `page_number`: PAGE_DASH, PAGE_HYPHEN, PAGE_OF
    (or any such format); `furniture_first`: header and page number come before the body in the
    content stream, as some producers write them; `font`: another registered reportlab font (an
    embedded TrueType subset, say) instead of the standard, non-embedded STSong-Light;
    `password`: needed to open it; `owner_password` alone: opens freely but forbids copying and
    printing, as many published reports do.
    """
    pages = layout(text, font)
    buf = io.BytesIO()
    encrypt = None
    if password is not None or owner_password is not None:
        from reportlab.lib.pdfencrypt import StandardEncryption

        encrypt = StandardEncryption(password or "", owner_password, canPrint=0, canCopy=0)
    c = canvas.Canvas(buf, pagesize=A4, invariant=True, encrypt=encrypt)
    c.setTitle(header or "")
    for n, page in enumerate(pages, 1):
        before = [("header", header)] if header else []  # top to bottom: header, body, number
        after = [("number", page_number.format(n=n, total=len(pages)))]
        if furniture_first:
            before, after = before + after, []
        _draw_furniture(c, before, font)
        for i, line in enumerate(page):
            _draw(c, line, PAGE_H - TOP - i * LEADING - 0.88 * BODY_SIZE, font)
        _draw_furniture(c, after, font)
        c.showPage()
    c.save()
    data = buf.getvalue()
    if path is not None:
        Path(path).write_bytes(data)
    return data


def scanned_pdf(pages: int = 3, path: Path | None = None, *, page_numbers: bool = False) -> bytes:
    """A scan: each page one image of grey text lines, no text layer (with `page_numbers`, only a
    page number as text on each page, as some scanning software stamps)."""
    from PIL import Image, ImageDraw
    from reportlab.lib.utils import ImageReader

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, invariant=True)
    for n in range(1, pages + 1):
        img = Image.new("L", (620, 877), 255)  # A4 at 75 dpi
        draw = ImageDraw.Draw(img)
        for row in range(LINES_PER_PAGE):
            y = 110 + row * 30
            draw.rectangle((82 + (40 if row % 6 == 0 else 0), y, 540 - (row * 37) % 90, y + 14), fill=90)
        png = io.BytesIO()
        img.save(png, "PNG")
        c.drawImage(ImageReader(io.BytesIO(png.getvalue())), 0, 0, PAGE_W, PAGE_H)
        if page_numbers:
            c.setFont(FONT, PAGE_NUMBER_SIZE)
            c.drawCentredString(PAGE_W / 2, 20 * mm, PAGE_DASH.format(n=n))
        c.showPage()
    c.save()
    data = buf.getvalue()
    if path is not None:
        Path(path).write_bytes(data)
    return data


def _title_block(sources: list[str]) -> int:
    """How many leading lines are the title: those before the first empty line, when short."""
    for i, s in enumerate(sources[:5]):
        if not s:
            return i if i and all(len(t) <= 40 for t in sources[:i]) else 0
    return 0


def _draw_furniture(c: canvas.Canvas, furniture: list[tuple[str, str]], font: str) -> None:
    for what, text in furniture:
        if what == "header":
            c.setFont(font, HEADER_SIZE)
            c.drawCentredString(PAGE_W / 2, PAGE_H - 22 * mm, text)
            c.setLineWidth(0.5)
            c.line(LEFT, PAGE_H - 24 * mm, PAGE_W - RIGHT, PAGE_H - 24 * mm)
        else:
            c.setFont(font, PAGE_NUMBER_SIZE)
            c.drawCentredString(PAGE_W / 2, BOTTOM - 7 * mm - PAGE_NUMBER_SIZE, text)


def _wrap(s: str, indent: int, size: float, font: str) -> list[str]:
    """`s` broken into lines that fit the text block; the first line starts `indent` characters in."""
    out = []
    start, width = 0, indent * (size + CHAR_SPACE)
    for i, ch in enumerate(s):
        advance = pdfmetrics.stringWidth(ch, font, size) + CHAR_SPACE
        if width + advance > WIDTH + 0.01 and i > start and ch not in NO_LINE_START:
            out.append(s[start:i])
            start, width = i, 0.0
        width += advance
    out.append(s[start:])
    return out


def _draw(c: canvas.Canvas, line: Line, y: float, font: str) -> None:
    c.setFont(font, line.size)
    space = CHAR_SPACE if line.size == BODY_SIZE else 0
    width = sum(pdfmetrics.stringWidth(ch, font, line.size) + space for ch in line.text)
    pitch = line.size + space
    if line.align == "center":
        x = LEFT + (WIDTH - width) / 2
    elif line.align == "right":
        x = LEFT + WIDTH - width - line.indent * pitch
    else:
        x = LEFT + line.indent * pitch
    c.drawString(x, y, line.text, charSpace=space)
