"""The items of one section: sub-blocks, enumeration, each item's span, title and causes.

A section body is searched as a slice that begins with "\\n", so every paragraph start is a "\\n"
and the line-start regexes can jump from one to the next.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tracker.extraction.cleaning import (
    CLAUSE_END,
    HS,
    SKIP,
    clean,
    describe,
    first_clause,
    join_page_cut,
    skip_start,
    trim_end,
)
from tracker.extraction.model import ExtractedItem
from tracker.extraction.numerals import CIRCLED_CHARS, CN_NUM, ENUM_NUMBERS
from tracker.extraction.sections import Section

# Enumeration markers; the group that matched names the family (pc: （一）, pd: (1), nd: 1. 1、,
# ci: ①, sh: 一是, di: 第一，).
_MARK = (
    rf"(?:[（(]{HS}*(?P<pc>[{CN_NUM}]{{1,3}}){HS}*[)）]"
    rf"|[（(]{HS}*(?P<pd>\d{{1,2}}){HS}*[)）]"
    rf"|(?P<nd>\d{{1,2}}){HS}*[.．、](?!\d)"
    rf"|(?P<ci>[{CIRCLED_CHARS}])"
    rf"|(?P<sh>[{CN_NUM}]{{1,3}})是"
    rf"|第(?P<di>[{CN_NUM}]{{1,3}})[，,、：:])"
)
_MARK_FIRST = f"[（(\\d{CIRCLED_CHARS}{CN_NUM}第]"  # what a marker can start with: fail fast on other lines
_LINE_MARK_RE = re.compile(rf"\n{SKIP}(?P<at>)(?={_MARK_FIRST}){_MARK}")
# 一是……二是…… and 第一，……第二，…… also run inside a paragraph, but only after punctuation or
# space (统一是, 第一责任人 are words). They are found from their rare 是/第 with str.find, about
# ten times faster than a regex that has to try every position.
_INLINE_DI_RE = re.compile(rf"第(?P<di>[{CN_NUM}]{{1,3}})[，,、：:]")
_INLINE_AFTER = "。；;：:，,！？!? \t\r\n\u3000*]"
_INLINE_FAMILIES = ("sh", "di")
_NUMERALS_BEFORE_RE = re.compile(rf"[{CN_NUM}]+\Z")

# Sub-block leads at a paragraph start: 存在的问题主要有： / 主要原因是： / 问题整改情况： / 下一步打算：,
# or the same words as a sub-heading: （一）存在的问题 / （二）原因分析 / （三）上一年度问题整改情况。
_RECT = (
    r"(?:对|针对)?(?:上一?年度?|上年|去年|以往|往年|前期|历年)?(?:存在的?)?(?:问题|不足)?的?"
    r"整改(?:落实|工作)?(?:情况|进展|成效)"
)
_CAUSE = r"(?:存在|产生)?(?:(?:上述|这些)?(?:问题|不足))?的?(?:主要)?原因"
_PROBLEM = r"(?:目前|当前|仍然|还)?(?:存在的?|主要)(?:主要)?(?:问题|不足|短板|差距|薄弱环节|困难)"
_PLAN = (
    r"(?:下一步|下步|下一年度|今后|明年|20\d\d年)(?:的)?(?:主要)?(?:工作)?"
    r"(?:打算|计划|安排|思路|重点|举措|方向)"
)
_LEAD_MARK = rf"(?:[（(]{HS}*(?:[{CN_NUM}]{{1,3}}|\d{{1,2}}){HS}*[)）]|\d{{1,2}}{HS}*[.．、](?!\d)|[{CIRCLED_CHARS}])"
_LEAD_RE = re.compile(
    rf"\n{SKIP}(?P<mark>{_LEAD_MARK}{HS}*)?{SKIP}"
    rf"(?=[对针上去以往前历存问不的整产这原目当仍还主下今明2])"  # fail fast on the other lines
    rf"(?:(?P<rectification>{_RECT})|(?P<cause>{_CAUSE})|(?P<shortcoming>{_PROBLEM})|(?P<plan>{_PLAN}))"
    rf"(?P<rest>[^。；;，,：:\n]{{0,12}}?){SKIP}(?P<term>[：:]|。|(?=\n)|\Z)"
)
_LEAD_KINDS = ("rectification", "cause", "shortcoming", "plan")
_BARE_CAUSE_REST = ("", "是", "为", "在于")

# A cause inside a shortcoming: 原因是…… / 原因在于…… / 原因：……
_CAUSE_IN_RE = re.compile(r"原因(?:主要)?(?:是|在于|有|为)[：:]?|原因[：:]")
# A headline: the line from its first real character up to 。；： or the line's end; then the next
# line's first character, to see whether a page break cut the headline (it repeats that character).
_HEADLINE_RE = re.compile(rf"{SKIP}(?P<head>[^\n{CLAUSE_END}]*)(?:(?P<stop>[{CLAUSE_END}])|\n{SKIP}(?P<next>[^\n]))?")


def section_items(
    text: str, section: Section, display: str | None = None, original: str | None = None
) -> list[ExtractedItem]:
    """The section's items in order, `seq` left 0 for the caller to number per kind.

    Markers are searched in `text`; titles, causes and descriptions are read from `display`, and
    each item's text from `original` (all three the same length; both default to `text`)."""
    a, b = section.body_start, section.body_end
    if a < len(text) and text[a] == "\n":
        lo, shift, lead = a, a, ""
    else:  # body begins mid-line (三、存在的问题。一是……): give it a paragraph start
        lo, shift, lead = a, a - 1, "\n"
    s = lead + text[lo:b]
    shown = s if display is None or display is text else lead + display[lo:b]
    written = shown if original is None or original is display else lead + original[lo:b]
    views = _Slices(s, shown, written)
    items: list[ExtractedItem] = []
    for kind, start, end, single_ok in _segments(s, section.kind):
        marks = _marks(s, start, end)
        if marks:
            for i, (mark_start, mark_end) in enumerate(marks):
                stop = marks[i + 1][0] if i + 1 < len(marks) else end
                items.append(_item(views, kind, mark_start, mark_end, stop, shift, section.title))
        elif single_ok:
            first = skip_start(s, start, end)
            if first < end:
                items.append(_item(views, kind, first, first, end, shift, section.title))
    return items


@dataclass(slots=True)
class _Slices:
    """A section body as searched, as displayed and as written."""

    match: str
    display: str
    original: str


def _item(v: _Slices, kind: str, start: int, body: int, stop: int, shift: int, section: str) -> ExtractedItem:
    """The item from `start` to `stop` less trailing space and noise; its title from `body` on."""
    s = v.match
    end = start + len(s[start:stop].rstrip())
    if s[end - 1 : end] in ("]", "*"):  # trailing [bookmark: …] or ** too
        end = trim_end(s, start, stop)
    causes = _causes(v.display, start, end) if kind == "shortcoming" else []
    text = v.original[start:end]
    description = text if v.display is v.original else describe(v.display[start:end])
    return ExtractedItem(
        kind, 0, _title(v.display, body, end), text, start + shift, end + shift, causes, section, description
    )


def _segments(s: str, kind: str) -> list[tuple[str, int, int, bool]]:
    """(kind, start, end, one item when not enumerated) for each sub-block of the section."""
    if kind == "plan":
        return [(kind, 0, len(s), True)]
    leads = _leads(s)
    first_end = leads[0][0] if leads else len(s)
    # Text before a 存在的问题主要有： lead is a preamble; before 主要原因是： it is the shortcoming.
    segments = [(kind, 0, first_end, not leads or leads[0][2] != kind)]
    for i, (_, content, lead_kind, _) in enumerate(leads):
        end = leads[i + 1][0] if i + 1 < len(leads) else len(s)
        segments.append((lead_kind, content, end, True))
    return segments


def _leads(s: str) -> list[tuple[int, int, str, bool]]:
    """(line start, content start, kind, bare) of each sub-block lead, stray ones dropped."""
    found = []
    for m in _LEAD_RE.finditer(s):
        rest, term, mark = m["rest"], m["term"], m["mark"]
        if term == "。" and not (mark and not rest):
            continue
        if mark and len(rest) > 3:  # （一）存在的问题 is a sub-heading, （一）存在的问题较多 an item
            continue
        lead_kind = next(k for k in _LEAD_KINDS if m[k] is not None)
        bare = lead_kind == "cause" and m["cause"] == "原因" and rest.strip() in _BARE_CAUSE_REST
        found.append((m.start() + 1, m.end(), lead_kind, bare))
    kept = []
    for i, lead in enumerate(found):
        end = found[i + 1][0] if i + 1 < len(found) else len(s)
        if lead[2] == "cause" and not _marks(s, lead[1], end):
            # 原因是…… after one shortcoming, or between its numbered points: that shortcoming's cause.
            if lead[3] or _LINE_MARK_RE.search(s, lead[1], end):
                continue
        kept.append(lead)
    return kept


def _marks(s: str, a: int, b: int) -> list[tuple[int, int]]:
    """(start, end) of the section's list markers: the family of the first marker numbered 1, in sequence."""
    found = [
        (m.start("at"), m.end(), m.lastgroup, True, ENUM_NUMBERS.get(m[m.lastgroup], 0))
        for m in _LINE_MARK_RE.finditer(s, a, b)
    ]
    first = next((f for f in found if f[4] == 1), None)
    # Inline 一是…… matters before the first numbered line, or all along when the lines are 一是 lines.
    inline_end = b if first is None or first[2] in _INLINE_FAMILIES else first[0]
    if inline_end > a:
        line_starts = {f[0] for f in found}
        found.extend(f for f in _inline_marks(s, a, inline_end) if f[0] not in line_starts)
        found.sort()  # by start (starts are distinct)
    chosen: list[tuple[int, int]] = []
    family = prev = None
    first_at_line_start = False
    for start, end, fam, at_line_start, n in found:
        if family is None:
            if n == 1:
                family, prev, first_at_line_start = fam, 1, at_line_start
                chosen.append((start, end))
        elif fam == family and (n == prev + 1 or (at_line_start and first_at_line_start and n > prev)):
            # Numbered lines may skip a number (a typo); inline markers must follow on exactly.
            chosen.append((start, end))
            prev = n
    return chosen


def _inline_marks(s: str, a: int, b: int) -> list[tuple[int, int, str, bool, int]]:
    """(start, end, family, False, number) of 一是 / 第一， markers inside paragraphs."""
    out = []
    pos = s.find("是", a, b)
    while pos >= 0:
        if pos > a and s[pos - 1] in CN_NUM:
            start = _NUMERALS_BEFORE_RE.search(s, max(a, pos - 3), pos).start()  # up to 3: 十二是
            if s[start - 1] in _INLINE_AFTER:
                out.append((start, pos + 1, "sh", False, ENUM_NUMBERS.get(s[start:pos], 0)))
        pos = s.find("是", pos + 1, b)
    pos = s.find("第", a, b)
    while pos >= 0:
        m = _INLINE_DI_RE.match(s, pos, b)
        if m and s[pos - 1] in _INLINE_AFTER:
            out.append((pos, m.end(), "di", False, ENUM_NUMBERS.get(m["di"], 0)))
        pos = s.find("第", pos + 1, b)
    return out


def _title(s: str, start: int, end: int) -> str:
    """The headline: the rest of the marker's line up to 。；：, or the whole line when it has none;
    the next line's when the marker stands alone."""
    while start < end:
        m = _HEADLINE_RE.match(s, start, end)
        title = clean(m["head"])
        cut = m["next"] is not None and title.endswith(m["next"])
        joined = join_page_cut(s, title, m.end("head"), end) if cut else None
        title = first_clause(joined[0]) if joined else title.rstrip("，,、")
        if title:
            return title
        start = skip_start(s, m.end("stop") if m["stop"] else m.end("head"), end)  # past the stop or line break
    return ""


def _causes(s: str, start: int, end: int) -> list[str]:
    """原因是…… inside the shortcoming or in a paragraph of its own right after it; each cause runs
    to the next one or to its paragraph's end."""
    if s.find("原因", start, end) < 0:  # most have none; skip setting up the regex scan
        return []
    matches = list(_CAUSE_IN_RE.finditer(s, start, end))
    causes = []
    para_end = -1
    for i, m in enumerate(matches):
        if para_end < m.end():  # found once per paragraph, not once per cause
            para_end = s.find("\n", m.end(), end)
            para_end = end if para_end < 0 else para_end
        stop = min(para_end, matches[i + 1].start()) if i + 1 < len(matches) else para_end
        cause = clean(s[m.end() : stop]).rstrip("。；;，,")
        if cause:
            causes.append(cause)
    return causes
