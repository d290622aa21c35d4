"""A township's 问题整改情况 section: the facts put into sentences, then laid out by Jinja2 templates.

The sentences are built here (they need counting and agreement rules); the templates
(templates/yearend/*.j2) decide what goes where and may rephrase around the parts. A file of the
same name under `settings.templates_dir` (e.g. <data dir>/templates/yearend/phrases.j2) overrides
the packaged one; templates are read once per process.

What the text says:
- Items never assigned (待分派) are counted and worded apart: 尚未启动, never 正在整改.
- The measures are the progress notes written as sentences (`tracker.textfmt.measures`: trimmed,
  said once, each ending in 。).
- Internal review wording — a 退回 reason, 审核未通过, notes about being sent back — stays out of the
  official text unless `review_notes` asks for it (the /yearend form's checkbox, the CLI's
  `--include-review-notes`).
- Everything is as of the chosen date (`tracker.yearend.data`): status, owner, deadline included.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, StrictUndefined, select_autoescape

from tracker.config import get_settings
from tracker.textfmt import (
    QUOTED,
    cn_by,
    cn_date,
    cn_month,
    measures,
    ordinal,
    percent,
    problem_phrase,
    quoted,
    unit_word,
)
from tracker.yearend.data import DONE, ONGOING, OPEN, REVIEW, UNASSIGNED, TaskFacts, TownshipYear

FORMATS = ("docx", "md", "txt")
# Words of the county's review that are internal: a progress sentence holding one is left out of the
# official text unless review notes are asked for.
REVIEW_WORDS = ("审核未通过", "审核不通过", "未通过审核", "退回", "驳回", "审核意见")


@dataclass
class Paragraph:
    lead: str  # 一是
    problem: str  # the shortcoming, fit for 针对……的问题
    measures: str  # what was done, from the progress notes: sentences each ending in 。 ("" when none)
    state: str  # where it stands, one sentence: 已于2024年9月完成整改并销号，佐证材料3份。


@dataclass
class Section:
    township: str
    unit: str  # 镇 / 乡 / 街道
    report_year: int
    plan_year: int
    as_of: str  # 2024年12月20日
    title: str
    opening: str
    paragraphs: list[Paragraph]
    plans: str  # the short paragraph on the plan items ("" when the report had none)
    counts: dict[str, int]
    review_notes: bool = False  # internal review wording included


def counts(tasks: list[TaskFacts]) -> dict[str, int]:
    """done, in_progress (in work or waiting for review), ongoing (长期坚持), unassigned (尚未启动)."""
    done = sum(t.state == DONE for t in tasks)
    ongoing = sum(t.state == ONGOING for t in tasks)
    unassigned = sum(t.state == UNASSIGNED for t in tasks)
    total = len(tasks)
    return {
        "total": total,
        "done": done,
        "in_progress": total - done - ongoing - unassigned,
        "ongoing": ongoing,
        "unassigned": unassigned,
        "rate": percent(done, total),
    }


def _tally(c: dict[str, int], *, done: str, doing: str) -> str:
    """已完成整改3项，正在整改1项，长期坚持1项，尚未启动1项 — empty parts left out (done too, when `done` is "")."""
    parts = [f"{done}{c['done']}项"] if done else []
    if c["in_progress"]:
        parts.append(f"{doing}{c['in_progress']}项")
    if c["ongoing"]:
        parts.append(f"长期坚持{c['ongoing']}项")
    if c["unassigned"]:
        parts.append(f"尚未启动{c['unassigned']}项")
    return "，".join(parts)


def opening(ty: TownshipYear, c: dict[str, int], as_of: str) -> str:
    me = "我" + unit_word(ty.name)
    if not c["total"]:
        return f"{ty.report_year}年度报告未查摆具体问题。"
    assigned = c["total"] - c["unassigned"]
    if not c["unassigned"]:
        ledger = "逐项建立整改台账，明确责任单位、责任人和整改时限"
    elif assigned:
        ledger = f"建立整改台账，其中{assigned}项已明确责任单位、责任人和整改时限"
    else:
        ledger = "将其纳入整改台账，责任单位、责任人和整改时限尚待明确"
    if c["done"] == c["total"]:
        status = f"{c['total']}项问题已全部完成整改，完成率100%"
    elif c["unassigned"] == c["total"]:
        status = f"{c['total']}项问题均尚未启动整改，完成率0%"
    elif c["done"] == 0:
        status = f"{_tally(c, done='', doing='正在整改')}，尚无问题完成整改销号，完成率0%"
    else:
        status = f"{_tally(c, done='已完成整改', doing='正在整改')}，完成率{c['rate']}%"
    return f"针对{ty.report_year}年度报告查摆的{c['total']}个方面问题，{me}{ledger}。截至{as_of}，{status}。"


def state_phrase(t: TaskFacts, as_of: date, *, review_notes: bool = False) -> str:
    """Where the task stood on the day, as one sentence ending in 。."""
    evidence = f"佐证材料{t.evidence}份" if t.evidence else ""
    if t.state == DONE:
        parts = [f"已于{cn_month(t.closed_on)}完成整改并销号", evidence]
    elif t.state == REVIEW:
        parts = ["目前已完成整改，待审核销号", evidence]
    elif t.state == UNASSIGNED:
        parts = ["目前尚未启动整改，责任单位和整改时限待明确"]
    elif t.state == ONGOING:
        stage = f"{t.stage_done_year}年度阶段性任务已完成" if t.stage_done_year else "正持续推进"
        parts = ["此项工作需长期坚持", stage]
    else:
        progress = f"进度{t.percent}%" if t.percent and t.percent < 100 else ""
        reason = f"审核未通过，原因：{t.reject_reason.strip().rstrip('。')}" if t.reject_reason and review_notes else ""
        target = f"计划{cn_by(t.deadline)}前完成" if t.deadline >= as_of else f"原定{cn_by(t.deadline)}前完成，已超期"
        parts = ["目前正在整改", progress, reason, target]
    return "，".join(p for p in parts if p) + "。"


def paragraph(n: int, t: TaskFacts, as_of: date, *, review_notes: bool = False) -> Paragraph:
    done_words = measures(t.notes, leave_out=() if review_notes else REVIEW_WORDS)
    if not done_words and t.state == DONE:
        done_words = "整改措施已落实并通过审核。"
    elif not done_words and t.state == OPEN:
        done_words = "尚未报送整改进展。"
    return Paragraph(ordinal(n), problem_phrase(t.title), done_words, state_phrase(t, as_of, review_notes=review_notes))


def plans_paragraph(ty: TownshipYear) -> str:
    if not ty.plans:
        return ""
    c = counts(ty.plans)
    head = f"{ty.plan_year}年计划的{c['total']}项工作"
    if c["done"] == c["total"]:
        return f"{head}已{'' if c['total'] == 1 else '全部'}完成。"
    if c["in_progress"] == c["total"]:
        return f"{head}均在推进中，尚未完成。"
    if c["unassigned"] == c["total"]:
        return f"{head}均尚未启动。"
    if c["done"] == 0:
        return f"{head}中，{_tally(c, done='', doing='正在推进')}，尚无已完成的工作。"
    text = f"{head}中，{_tally(c, done='已完成', doing='正在推进')}。"
    unfinished = [t.title for t in ty.plans if t.state in (OPEN, REVIEW, UNASSIGNED)]
    if unfinished:
        named = quoted(unfinished) + (f"{len(unfinished)}项工作" if len(unfinished) > QUOTED else "")
        text += f"其中，{named}尚未完成，将结合{ty.plan_year + 1}年工作继续推进。"
    return text


def build(ty: TownshipYear, as_of: date, *, review_notes: bool = False) -> Section:
    c = counts(ty.shortcomings)
    when = cn_date(as_of)
    return Section(
        township=ty.name,
        unit=unit_word(ty.name),
        report_year=ty.report_year,
        plan_year=ty.plan_year,
        as_of=when,
        title=f"{ty.name}{ty.report_year}年度报告问题整改情况",
        opening=opening(ty, c, when),
        paragraphs=[paragraph(i, t, as_of, review_notes=review_notes) for i, t in enumerate(ty.shortcomings, 1)],
        plans=plans_paragraph(ty),
        counts=c,
        review_notes=review_notes,
    )


@lru_cache(maxsize=8)
def _environment(override_dir: Path) -> Environment:
    return Environment(
        loader=ChoiceLoader([FileSystemLoader(override_dir), PackageLoader("tracker.yearend", "templates")]),
        autoescape=select_autoescape(("html", "html.j2")),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=StrictUndefined,
    )


def environment() -> Environment:
    return _environment(get_settings().templates_dir)


def render(section: Section, fmt: str) -> str:
    """The section as .txt or .md text."""
    return environment().get_template(f"yearend/section.{fmt}.j2").render(s=section)


HEADING_LINE = re.compile(r"^[一二三四五六七八九十]+、")


def blocks(text: str) -> list[tuple[str, str]]:
    """The .txt layout read back as (role, text): the first line is the title, 一、… lines are
    headings, the rest body paragraphs. The .docx and the web page are laid out from these."""
    lines = [line.strip().lstrip("\u3000") for line in text.splitlines()]
    lines = [line for line in lines if line]
    return [
        ("title" if i == 0 else "heading" if HEADING_LINE.match(line) else "body", line) for i, line in enumerate(lines)
    ]
