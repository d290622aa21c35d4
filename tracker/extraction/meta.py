"""Who wrote the report and when: unit, county, report and plan years, document number.

All of it sits in the header (before the first section heading) or in the closing lines, so the
regexes here only ever run over those; names and numbers over the header's short lines only
(titles, addressee, document number), not its opening paragraph.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from tracker.extraction.cleaning import HS, SKIP
from tracker.extraction.sections import Section

_HAN = r"\u4e00-\u9fff"
_TOWN = rf"[{_HAN}]{{1,8}}?(?:镇|乡|街道)"
_COUNTY = rf"[{_HAN}]{{2,6}}?(?:自治县|县|区|市|旗)"
# 中共西里镇委 / 西里镇人民政府 / 中共北塘街道工作委员会 / 博爱县孝敬镇人民政府: found from the
# end of the name (a fast scan), then the name read from the run of Han characters before it.
_ORG_END_RE = re.compile(r"(?:镇|乡|街道)(?=人民政府|办事处|党委|党工委|工委|工作委员会|委员会|委)")
_ORG_NAME_RE = re.compile(rf"(?:中共)?(?P<county>{_COUNTY})?(?!关于|现将)(?P<unit>{_TOWN})")
_HAN_RUN_RE = re.compile(rf"[{_HAN}]+\Z")
_MAX_ORG_NAME = 20
# A title line (no sentence punctuation, unlike 现将石桥镇2023年度……报告如下：): 西大沟镇2024年度法治政府建设工作总结
_UNIT_TITLE_RE = re.compile(
    rf"(?![^\n]*[，。：:；]){SKIP}(?P<county>{_COUNTY})?(?P<unit>{_TOWN}){HS}*(?=2{HS}?0|二[〇○零]|关于|法治|\Z)"
)
_UNIT_BODY_RE = re.compile(rf"现将(?![我本全该])(?P<unit>{_TOWN})")
# The addressee (a line ending in a colon): 中共博爱县委、博爱县人民政府：
_ADDRESSEE_COUNTY_RE = re.compile(
    rf"(?<![{_HAN}])(?:中共)?(?P<county>[{_HAN}]{{1,6}}?(?:自治县|县|区|市|旗))(?=委|人民政府|政府)"
)
# 石政 [2023] 105号 / 西政〔2024〕3号, alone on its line
_DOC_NUMBER_RE = re.compile(
    rf"{SKIP}(?P<dn>[{_HAN}]{{1,10}}{HS}*[〔\[【［(（]{HS}*\d{{4}}{HS}*[〕\]】］)）]{HS}*(?:第{HS}*)?\d{{1,5}}{HS}*号){SKIP}"
)
_YEAR = rf"(?P<y>2{HS}?0{HS}?\d{HS}?\d)"
_REPORT_YEAR_RE = re.compile(rf"{_YEAR}{HS}*年{HS}*度")
_YEAR_RE = re.compile(rf"{_YEAR}{HS}*年")
_SHORT_LINE = 80  # longer header lines are the opening paragraph: names are looked for elsewhere


@dataclass(slots=True)
class Meta:
    unit: str | None
    county: str | None
    report_year: int | None
    plan_year: int | None
    doc_number: str | None


def read_meta(
    text: str,
    header_end: int,
    sections: list[Section],
    tail_lines: list[tuple[int, int]],
    issued_on: datetime.date | None,
    display: str | None = None,
) -> Meta:
    """Searched in `text`; names and the document number are read, as written, from `display`
    (the same length; default `text`)."""
    display = text if display is None else display
    header = text[:header_end]
    spans, pos = [], 0
    for line in header.split("\n"):
        if 0 < len(line) <= _SHORT_LINE:
            spans.append((pos, pos + len(line)))
        pos += len(line) + 1
    lines = _Lines(text, display, spans)
    unit, unit_county = _unit(header, display, lines, _Lines(text, display, tail_lines))
    report_year, plan_year = _years(header, sections, issued_on)
    dn = lines.first(_DOC_NUMBER_RE.fullmatch)
    return Meta(unit, _county(lines) or unit_county, report_year, plan_year, dn.shown("dn").strip() if dn else None)


@dataclass(slots=True)
class _Found:
    """A match in a searched line, read back from the same place of the displayed line."""

    m: re.Match
    shown_line: str

    def shown(self, group: str) -> str | None:
        return self.shown_line[self.m.start(group) : self.m.end(group)] if self.m[group] is not None else None


class _Lines:
    """Lines of the searched text with their displayed twins (same spans)."""

    def __init__(self, text: str, display: str, spans: list[tuple[int, int]]):
        self.pairs = [(text[a:b], display[a:b]) for a, b in spans]

    def first(self, find) -> _Found | None:
        """The first line's match (the header's and closing lines are a handful)."""
        for line, shown in self.pairs:
            m = find(line)
            if m:
                return _Found(m, shown)
        return None


def _unit(header: str, display: str, lines: _Lines, tail_lines: _Lines) -> tuple[str | None, str | None]:
    """The township as written (西里镇, not 中共西里镇委); the county when written before it."""
    found = lines.first(_org_name) or lines.first(_UNIT_TITLE_RE.match) or tail_lines.first(_org_name)
    if found is None:
        m = _UNIT_BODY_RE.search(header)
        found = _Found(m, display) if m else None
    if found is None:
        return None, None
    return found.shown("unit"), found.shown("county") if "county" in found.m.re.groupindex else None


def _org_name(line: str) -> re.Match | None:
    for end in _ORG_END_RE.finditer(line):
        stop = end.end()
        run = _HAN_RUN_RE.search(line, max(0, stop - _MAX_ORG_NAME), stop)  # the name's characters
        m = _ORG_NAME_RE.fullmatch(line, run.start(), stop)
        if m:
            return m
    return None


def _county(lines: _Lines) -> str | None:
    for line, shown in lines.pairs:
        if line.rstrip().endswith(("：", ":")):
            m = _ADDRESSEE_COUNTY_RE.search(line)
            if m:
                return shown[m.start("county") : m.end("county")]
    return None


def _years(header: str, sections: list[Section], issued_on: datetime.date | None) -> tuple[int | None, int | None]:
    """上一年度 in a heading is the report year, 下一年度 the plan year = report year + 1."""
    plan = next((s for s in sections if s.kind == "plan"), None)
    plan_m = _YEAR_RE.search(plan.topic) if plan else None
    plan_year = _int(plan_m)
    m = (
        _REPORT_YEAR_RE.search(header)
        or next(filter(None, (_REPORT_YEAR_RE.search(s.topic) for s in sections if s is not plan)), None)
        or _YEAR_RE.search(header)
    )
    report_year = _int(m)
    if report_year is None:
        if plan_year is not None:
            report_year = plan_year - 1
        elif issued_on is not None:  # signed early in the next year, or in the year's last weeks
            report_year = issued_on.year if issued_on.month >= 11 else issued_on.year - 1
    if plan_year is None and report_year is not None:
        plan_year = report_year + 1
    return report_year, plan_year


def _int(m: re.Match | None) -> int | None:
    return int("".join(m["y"].split())) if m else None
