"""Top-level sections (一、二、三、…) of a report, what each is about, and where the body text ends."""
from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from tracker.extraction.cleaning import HS, NOISE, SKIP, clean, join_page_cut
from tracker.extraction.numerals import CN_NUM, DATE, date_from, to_int

# A heading starts a line: 一、 / 二． / 三.  The "\n" prefix lets the regex engine jump between
# line starts instead of trying every position (one fast pass over the document).
# The rest of the line, and (not consumed) the next line's first character: a heading cut by a page
# break goes on in the next line, which repeats that character.
_HEADING = (rf"{SKIP}(?P<num>[{CN_NUM}]{{1,3}}){HS}*(?P<dot>[、．.])(?P<rest>[^\n]*)"
            rf"(?=\n{SKIP}(?P<next>[^\n]))?")
_HEADING_RE = re.compile(r"\n" + _HEADING)
_HEADING_AT_START_RE = re.compile(_HEADING)

_ANY_KIND_RE = re.compile("计划|安排|打算|思路|下一步|下一年度|展望|整改|原因|存在|不足|短板")
_PLAN_RE = re.compile("计划|安排|打算|思路|下一步|下一年度|展望")
_EARLIER_RE = re.compile("上一?年度?|上年|去年|以往|往年|前期|历年")
_CAUSE_RE = re.compile(r"原因分析|(?:问题|不足)(?:产生)?的(?:主要)?原因|^(?:主要|产生)?原因")
_WITH_CAUSES_RE = re.compile("[和及与、]其?(?:主要)?原因")
_SHORTCOMING_RE = re.compile("存在|不足|短板")

# Lines of the closing block: 特此报告, （此件公开发布）, signatures, the date, blank lines.
_ORG = r"(?:中共)?[\u4e00-\u9fff（）()]{1,24}?(?:人民政府|委员会|党委|党工委|工委|政府|办事处|镇委|乡委|街道|镇|乡)"
# Names are separated by spaces (中共西里镇委  西里镇人民政府): a mandatory separator keeps the
# regex linear on a line of many 镇 or 乡.
_TAIL_LINE_RE = re.compile(
    rf"{SKIP}(?:特此报告[。.！!]?|[（(]此件[^（()）\n]{{0,10}}[)）]|(?:{_ORG}(?:{HS}+{_ORG})*{HS}*)?(?:{DATE})?){SKIP}")
_CLOSING_RE = re.compile(rf"特此报告[。.！!]?(?:\s|{NOISE})*\Z")  # matched at a found 特此报告
_MAX_TAIL_LINES = 12
_MAX_TAIL_LINE = 80  # characters; a longer line is body text (unless it is only white space)
_TAIL_LAST = set("府会委处道镇乡日告。.！!）)")  # how closing lines end: a cheap test before the regex


@dataclass(slots=True)
class Section:
    kind: str  # shortcoming | cause | rectification | plan | other (achievements, duties, …)
    title: str  # display form, e.g. 三、推进法治政府建设存在的不足和原因
    topic: str  # the heading without its number, cleaned
    start: int  # the heading line's start
    body_start: int
    body_end: int


@dataclass(slots=True)
class Tail:
    start: int  # where the body text ends: before 特此报告 / signatures / date
    issued_on: datetime.date | None
    lines: list[str]  # the closing lines, last first (signatures name the unit)


def classify(topic: str) -> str:
    """What a top-level heading announces; the order of the checks matters (see domain.md)."""
    if not _ANY_KIND_RE.search(topic):  # achievements, duties: most headings
        return "other"
    if _PLAN_RE.search(topic):  # 存在的问题及下一步打算: shortcomings, the plan a sub-block
        return "shortcoming" if _SHORTCOMING_RE.search(topic) else "plan"
    if "整改" in topic and "不足" not in topic and "原因" not in topic and (
            _EARLIER_RE.search(topic) or "存在" not in topic):
        return "rectification"
    if _CAUSE_RE.search(topic) and not _WITH_CAUSES_RE.search(topic):  # 存在的问题和原因分析: shortcomings
        return "cause"
    if _SHORTCOMING_RE.search(topic):
        return "shortcoming"
    return "other"


def find_sections(text: str, end: int) -> list[Section]:
    """Headings numbered in increasing order (a lower number is an inner list, not a section)."""
    found = []
    first = _HEADING_AT_START_RE.match(text, 0, end)
    if first:
        found.append((0, first))
    found.extend((m.start() + 1, m) for m in _HEADING_RE.finditer(text, 0, end))
    sections: list[Section] = []
    last = 0
    for line_start, m in found:
        n = to_int(m["num"])
        if n <= last:
            continue
        last = n
        rest, body_start = m["rest"], m.end("rest")
        dot = rest.find("。")
        if dot >= 0:  # heading and body on one line: 三、存在的问题。一是……
            topic, body_start = clean(rest[:dot]), m.start("rest") + dot + 1
        else:
            topic = clean(rest)
            if m["next"] and topic.endswith(m["next"]):
                topic, body_start = join_page_cut(text, topic, body_start, end) or (topic, body_start)
        if sections:
            sections[-1].body_end = line_start
        sections.append(Section(classify(topic), m["num"] + m["dot"] + topic, topic, line_start, body_start, end))
    return sections


def find_tail(text: str) -> Tail:
    """Walk back from the end over closing lines; the body ends where they begin."""
    pos = start = len(text)
    issued = None
    lines = []
    for _ in range(_MAX_TAIL_LINES):
        if pos <= 0:
            break
        line_start = text.rfind("\n", 0, pos) + 1
        line = text[line_start:pos]
        if line and not line.isspace():
            if len(line) > _MAX_TAIL_LINE or line.rstrip(" \t\r\u3000*]")[-1:] not in _TAIL_LAST:
                break
            m = _TAIL_LINE_RE.fullmatch(line)
            if not m:
                break
            if issued is None and m["y"]:
                issued = date_from(m)
        lines.append(line)
        start, pos = line_start, line_start - 1
    closing = text.rfind("特此报告", max(0, start - 200), start)  # "……建设。特此报告。" on one line
    if closing >= 0 and _CLOSING_RE.match(text, closing, start):
        start = closing
    return Tail(start, issued, lines)
