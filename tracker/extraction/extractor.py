"""extract_text / extract_file: a report's text → Extraction."""

from __future__ import annotations

import re
from pathlib import Path

from tracker.extraction.decode import read_document
from tracker.extraction.items import section_items
from tracker.extraction.meta import Meta, read_meta
from tracker.extraction.model import KINDS, ExtractedItem, Extraction
from tracker.extraction.numerals import date_from
from tracker.extraction.sections import Section, find_sections, find_tail
from tracker.extraction.views import make_views
from tracker.textfmt import cn_date

# A web page's publication date (发布时间：2024-01-08): not a signing date, only its stand-in.
_PUBLISHED_RE = re.compile(
    r"(?:发布时间|发布日期|发文日期|成文日期)[:：]?[^\S\n]*"
    r"(?P<y>20\d\d)[-年/.](?P<m>\d{1,2})[-月/.](?P<d>\d{1,2})"
)


def extract_file(path: Path) -> Extraction:
    path = Path(path)
    return extract_text(read_document(path), source_name=path.name)


def extract_text(text: str, *, source_name: str = "") -> Extraction:
    """Never raises on a str: what cannot be found is left None/empty and explained in `warnings`."""
    views = make_views(text)
    m, shown = views.match, views.display
    tail = find_tail(m)
    sections = find_sections(m, tail.start, shown)
    meta = read_meta(m, sections[0].start if sections else tail.start, sections, tail.lines, tail.issued_on, shown)
    empty = []
    items: list[ExtractedItem] = []
    for sec in sections:
        if sec.kind != "other":
            found = section_items(m, sec, shown, text)
            if not found:
                empty.append(f"“{sec.title}”部分没有识别出任何条目")
            items.extend(found)
    issued_on = tail.issued_on
    warnings = _warnings(sections, {it.kind for it in items}, meta) + empty
    if issued_on is None:
        # Searched in the text as written: the match view has the info line blanked as furniture.
        published = _PUBLISHED_RE.search(text) if "发布" in text or "发文" in text or "成文" in text else None
        issued_on = date_from(published) if published else None
        if issued_on:
            warnings.append(f"未找到落款日期，已用网页上的发布时间（{cn_date(issued_on)}）代替，请核对")
    items.sort(key=lambda it: it.start)  # already in order: sections and lists run forward
    seqs = dict.fromkeys(KINDS, 0)
    for it in items:
        seqs[it.kind] += 1
        it.seq = seqs[it.kind]
    return Extraction(
        meta.unit,
        meta.county,
        meta.report_year,
        meta.plan_year,
        issued_on,
        meta.doc_number,
        warnings,
        items,
        text,
        source_name,
    )


def _warnings(sections: list[Section], item_kinds: set[str], meta: Meta) -> list[str]:
    """Report-level doubts; a section found but empty has its own warning."""
    out = []
    if not sections:
        out.append("未找到“一、二、三、”式的部分标题，无法划分报告结构")
    section_kinds = {s.kind for s in sections}
    if "shortcoming" not in item_kinds | section_kinds:
        out.append("未找到“存在的不足/问题”部分，没有提取到不足事项，请核对报告的标题写法")
    if "plan" not in item_kinds | section_kinds:
        out.append("未找到下一年度计划部分（如“20XX年工作计划”“下一步工作打算”），没有提取到计划事项")
    if meta.unit is None:
        out.append("未识别出报告单位（××镇/乡/街道），请在标题或落款中核对")
    if meta.report_year is None:
        out.append("未识别出报告年度（如“2023年度”）")
    return out
