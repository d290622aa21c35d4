"""Report texts as other programs hand them over: full-width digits, reworded headings, traditional
script, and text copied out of a PDF viewer (hard line breaks, page numbers, running headers)."""

from __future__ import annotations

import json
import re
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
REPORTS = SHARED / "reports"
GOLDS = sorted(REPORTS.glob("*.gold.json"))


def report_text(gold: Path) -> str:
    return (gold.parent / json.loads(gold.read_text(encoding="utf-8"))["file"]).read_text(encoding="utf-8")


# --- full-width --------------------------------------------------------------------------------------
_WIDE = {c: chr(c + 0xFEE0) for c in range(0x21, 0x7F)}


def full_width(text: str) -> str:
    """Digits and ASCII letters and punctuation as an input method in full-width mode types them:
    ２０２４年, １．, （１）. (Spaces and line breaks stay.)"""
    return text.translate(_WIDE)


# --- reworded headings --------------------------------------------------------------------------------
_PROBLEM_HEADING_RE = re.compile(r"^(\s*[一二三四五六七八九十]+、\s*)(.*(?:存在|不足).*)$", re.M)
_PLAN_HEADING_RE = re.compile(r"^(\s*[一二三四五六七八九十]+、\s*)(.*(?:20\d\d年|下一年度).*(?:计划|安排).*)$", re.M)

# How published reports name the two sections (one pair per variant).
HEADING_VARIANTS = [
    ("存在的短板和差距", "下步工作打算"),
    ("工作中的薄弱环节及原因", "今后工作思路"),
    ("面临的困难和问题", "明年工作重点"),
    ("当前存在的不足", "{plan_year}年工作举措"),
    ("存在的差距和不足", "下一步工作方向"),
    ("推进法治政府建设中存在的短板弱项", "{plan_year}年工作安排"),
]


def reworded(text: str, variant: int, plan_year: int) -> str:
    problem, plan = (h.format(plan_year=plan_year) for h in HEADING_VARIANTS[variant])
    out, n = _PROBLEM_HEADING_RE.subn(lambda m: m[1] + problem, text, count=1)
    assert n == 1, "no problems heading"
    out, n = _PLAN_HEADING_RE.subn(lambda m: m[1] + plan, out, count=1)
    assert n == 1, "no plan heading"
    return out


# --- copied out of a PDF viewer ------------------------------------------------------------------------
def _width(s: str) -> int:
    return sum(1 if ord(c) < 0x2E80 else 2 for c in s)


def _wrap(paragraph: str, width: int) -> list[str]:
    """A paragraph cut into lines of at most `width` (CJK counting two), as a typesetter breaks it,
    punctuation allowed to hang at a line's end as Chinese typesetting does."""
    lines, line, w = [], [], 0
    for ch in paragraph:
        cw = 1 if ord(ch) < 0x2E80 else 2
        if w + cw > width and line and ch not in "，。、；：？！”）":
            lines.append("".join(line))
            line, w = [], 0
        line.append(ch)
        w += cw
    if line:
        lines.append("".join(line))
    return lines


PAGE_NUMBERS = {
    "dash": lambda n, total: f"— {n} —",
    "hyphen": lambda n, total: f"-{n}-",
    "of": lambda n, total: f"第{n}页 共{total}页",
}


def pdf_viewer_copy(
    text: str,
    *,
    width: int = 56,
    lines_per_page: int = 22,
    page_numbers: str = "dash",
    running_header: str | None = None,
    form_feeds: bool = False,
) -> str:
    """What Ctrl+A, Ctrl+C in a PDF viewer gives for the report typeset on pages of `lines_per_page`
    lines `width` wide: every line broken where the page broke it, the page number after each page,
    the running header before every page but the first, optionally a form feed between pages."""
    body = []
    for paragraph in text.split("\n"):
        paragraph = paragraph.strip()
        body.extend(_wrap(paragraph, width) if paragraph else [])
    pages = [body[i : i + lines_per_page] for i in range(0, len(body), lines_per_page)]
    out = []
    for n, page in enumerate(pages, 1):
        if n > 1:
            if form_feeds:
                out.append("\f")
            if running_header:
                out.append(running_header)
        out.extend(page)
        out.append(PAGE_NUMBERS[page_numbers](n, len(pages)))
    return "\n".join(out).replace("\n\f\n", "\n\f")
