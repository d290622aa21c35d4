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
_HEADING = (
    rf"{SKIP}(?P<num>[{CN_NUM}]{{1,3}}){HS}*(?P<dot>[、．.])(?P<rest>[^\n]*)"
    rf"(?=\n{SKIP}(?P<next>[^\n]))?"
)
_HEADING_RE = re.compile(r"\n" + _HEADING)
_HEADING_AT_START_RE = re.compile(_HEADING)

# What a top-level heading announces, by families of words rather than exact headings: problems
# (存在的问题 / 不足 / 短板 / 差距 / 薄弱环节 / 困难, with or without 原因) and plans (下一步 / 下步 /
# 今后 / 明年 / 2025年 with 工作计划 / 打算 / 安排 / 思路 / 重点 / 举措 / 方向).
_PROBLEM_RE = re.compile("存在|不足|短板|差距|薄弱|弱项|困难|问题")
_PLAN_WORD_RE = re.compile("计划|打算|安排|思路|展望|设想|下一步|下步|今后|明年|来年|下一?年度|新的一年|新一年")
# 重点/举措/方向/目标/措施 are plans only beside a year and not beside achievements (2024年主要举措和成效).
_PLAN_YEAR_RE = re.compile(r"20\d\d年.*(?:重点|举措|方向|目标|措施|任务)")
_ACHIEVED_RE = re.compile("成效|成绩|成果|进展|做法|情况|取得")
_EARLIER_RE = re.compile("上一?年度?|上年|去年|以往|往年|前期|历年")
_CAUSE_RE = re.compile(r"原因分析|(?:问题|不足)(?:产生)?的(?:主要)?原因|^(?:主要|产生)?原因")
_WITH_CAUSES_RE = re.compile("[和及与、]其?(?:主要)?原因")

# Lines of the closing block: 特此报告, （此件公开发布）, signatures, the date, blank lines.
_ORG = r"(?:中共)?[\u4e00-\u9fff（）()]{1,24}?(?:人民政府|委员会|党委|党工委|工委|政府|办事处|镇委|乡委|街道|镇|乡)"
# Names are separated by spaces (中共西里镇委  西里镇人民政府): a mandatory separator keeps the
# regex linear on a line of many 镇 or 乡.
_TAIL_LINE_RE = re.compile(
    rf"{SKIP}(?:特此报告[。.！!]?|[（(]此件[^（()）\n]{{0,10}}[)）]|(?:{_ORG}(?:{HS}+{_ORG})*{HS}*)?(?:{DATE})?){SKIP}"
)
_CLOSING_RE = re.compile(rf"特此报告[。.！!]?(?:\s|{NOISE})*\Z")  # matched at a found 特此报告
_DATE_LINE_RE = re.compile(rf"\n{SKIP}{DATE}{SKIP}(?=\n|\Z)")
_SIGNED_REACH = 3000  # characters from the end where a signing date is looked for
_ATTACHMENTS_RE = re.compile(rf"\n{SKIP}附{HS}*件{HS}*(?:[:：]|\d|[{CN_NUM}]|(?=\n))")
_ATTACHMENTS_REACH = 800
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
    lines: list[tuple[int, int]]  # (start, end) of the closing lines, last first (signatures name the unit)


def classify(topic: str) -> str:
    """What a top-level heading announces; the order of the checks matters (see domain.md)."""
    problem = _PROBLEM_RE.search(topic) is not None
    if _PLAN_WORD_RE.search(topic) or (_PLAN_YEAR_RE.search(topic) and not _ACHIEVED_RE.search(topic)):
        return "shortcoming" if problem else "plan"  # 存在的问题及下一步打算: the plan is a sub-block
    if (
        "整改" in topic
        and "不足" not in topic
        and "原因" not in topic
        and (_EARLIER_RE.search(topic) or "存在" not in topic)
    ):
        return "rectification"
    if _CAUSE_RE.search(topic) and not _WITH_CAUSES_RE.search(topic):  # 存在的问题和原因分析: shortcomings
        return "cause"
    return "shortcoming" if problem else "other"


def find_sections(text: str, end: int, display: str | None = None) -> list[Section]:
    """Headings numbered in increasing order (a lower number is an inner list, not a section).
    `text` is searched; titles are read from `display` (the same length; default `text`)."""
    display = text if display is None else display
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
        topic, body_start = _topic(text, m, end)
        shown = topic if display is text else _topic(display, m, end)[0]
        if sections:
            sections[-1].body_end = line_start
        number = display[m.start("num") : m.end("dot")]
        sections.append(Section(classify(topic), number + shown, topic, line_start, body_start, end))
    return sections


def _topic(s: str, m: re.Match, end: int) -> tuple[str, int]:
    """The heading's words (cleaned) and where its body starts, read from `s` at `m`'s positions."""
    rest, body_start = s[m.start("rest") : m.end("rest")], m.end("rest")
    dot = rest.find("。")
    if dot >= 0:  # heading and body on one line: 三、存在的问题。一是……
        return clean(rest[:dot]), m.start("rest") + dot + 1
    topic = clean(rest)
    nxt = m["next"] and s[m.start("next") : m.end("next")]
    if nxt and topic.endswith(nxt):
        topic, body_start = join_page_cut(s, topic, body_start, end) or (topic, body_start)
    return topic, body_start


def find_tail(text: str) -> Tail:
    """Walk back over closing lines from the signing date (or the end); the body ends where they
    begin. Whatever follows the signing date (page numbers, a site's footer, 附件 lists) is tail."""
    pos = start = _signed_line_end(text)
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
        lines.append((line_start, pos))
        start, pos = line_start, line_start - 1
    closing = text.rfind("特此报告", max(0, start - 200), start)  # "……建设。特此报告。" on one line
    if closing >= 0 and _CLOSING_RE.match(text, closing, start):
        start = closing
    attachments = _ATTACHMENTS_RE.search(text, max(0, start - _ATTACHMENTS_REACH), start)
    if attachments:  # 附件：1.…… between the body and the signature
        start = attachments.start() + 1
    return Tail(start, issued, lines)


def _signed_line_end(text: str) -> int:
    """The end of the last line that is only a date, near the end of the text; else the text's end."""
    a = max(0, len(text) - _SIGNED_REACH)
    ends = [m.end() for m in _DATE_LINE_RE.finditer(text, a)]
    return ends[-1] if ends else len(text)
