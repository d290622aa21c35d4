"""extract_text / extract_file: a report's text → Extraction."""
from __future__ import annotations

from pathlib import Path

from tracker.extraction.decode import read_document
from tracker.extraction.items import section_items
from tracker.extraction.meta import Meta, read_meta
from tracker.extraction.model import KINDS, ExtractedItem, Extraction
from tracker.extraction.sections import Section, find_sections, find_tail


def extract_file(path: Path) -> Extraction:
    path = Path(path)
    return extract_text(read_document(path), source_name=path.name)


def extract_text(text: str, *, source_name: str = "") -> Extraction:
    """Never raises on a str: what cannot be found is left None/empty and explained in `warnings`."""
    tail = find_tail(text)
    sections = find_sections(text, tail.start)
    meta = read_meta(text, sections[0].start if sections else tail.start, sections, tail.lines, tail.issued_on)
    empty = []
    items: list[ExtractedItem] = []
    for sec in sections:
        if sec.kind != "other":
            found = section_items(text, sec)
            if not found:
                empty.append(f"“{sec.title}”部分没有识别出任何条目")
            items.extend(found)
    warnings = _warnings(sections, {it.kind for it in items}, meta) + empty
    items.sort(key=lambda it: it.start)  # already in order: sections and lists run forward
    seqs = dict.fromkeys(KINDS, 0)
    for it in items:
        seqs[it.kind] += 1
        it.seq = seqs[it.kind]
    return Extraction(meta.unit, meta.county, meta.report_year, meta.plan_year, tail.issued_on, meta.doc_number,
                      warnings, items, text, source_name)


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
