"""Themes: every shortcoming and plan item falls into one of a small fixed taxonomy.

The rule, meant to be read by the county office:
1. The title decides: the first theme in `RULES` (priority order) with a keyword in the title wins.
   Specific themes come before broad ones, so 法律顾问参与重大决策不够深入 is 法律顾问, not 依法决策,
   and 行政执法队伍力量不足 is 队伍建设, not 行政执法.
2. A title without any keyword: the theme with the most keyword occurrences in the body wins
   (ties go to the earlier theme).
3. Nothing matches: 其他.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, delete, func, insert, select
from sqlmodel import Session

from tracker.counties import township_conds
from tracker.models import Report, Status, Task, TaskTheme, User


@dataclass(frozen=True)
class Rule:
    theme: str
    keywords: tuple[str, ...]


RULES: tuple[Rule, ...] = (
    Rule("第一责任人", ("第一责任人", "主要负责人", "压力传导", "责任清单", "述法", "组织领导", "组织保障")),
    Rule("法律顾问", ("法律顾问", "公职律师", "律师")),
    Rule("政务公开", ("政务公开", "信息公开", "村务公开", "三务公开", "公开栏", "公示")),
    Rule("营商环境", ("营商环境", "涉企", "企业", "市场主体", "惠企")),
    Rule("依法决策", ("决策", "合法性审查", "规范性文件", "备案审查")),
    Rule(
        "队伍建设",
        ("队伍", "人才", "工作力量", "执法力量", "力量不足", "力量薄弱", "编制", "素养", "网格员", "专业人员"),
    ),
    Rule("矛盾纠纷化解", ("矛盾纠纷", "纠纷", "调解", "信访", "枫桥", "诉源")),
    Rule("行政执法", ("执法", "案卷", "行政复议", "行政诉讼", "应诉", "行政处罚", "行政检查")),
    Rule("学法用法", ("学法", "学习", "习近平法治思想", "法治思维", "法治理念", "法律知识考试")),
    Rule("普法宣传", ("普法", "宣传", "法治文化", "法治氛围", "法治意识", "法律明白人", "八五")),
)
OTHER = "其他"
THEMES: tuple[str, ...] = tuple(r.theme for r in RULES) + (OTHER,)


def classify(title: str, text: str = "") -> str:
    for rule in RULES:
        if any(k in title for k in rule.keywords):
            return rule.theme
    best, best_hits = OTHER, 0
    for rule in RULES:
        hits = sum(text.count(k) for k in rule.keywords)
        if hits > best_hits:
            best, best_hits = rule.theme, hits
    return best


# Built once: ingest runs these for every report, and building a statement costs more than running it.
_CLEAR = delete(TaskTheme).where(TaskTheme.task_id.in_(select(Task.id).where(Task.report_id == bindparam("report_id"))))
_ADD = insert(TaskTheme)


def assign_themes(
    session: Session, *, report_id: int, tasks: list[tuple[int, str, str]], replace: bool = True
) -> dict[int, str]:
    """Classify the report's tasks, given as (id, title, text); returns {task id: theme}.

    `replace` clears what a previous import of the report stored (titles may have changed).
    """
    themes = {tid: classify(title, text) for tid, title, text in tasks}
    conn = session.connection()
    if replace:
        conn.execute(_CLEAR, {"report_id": report_id})
    if themes:
        conn.execute(_ADD, [{"task_id": t, "theme": th} for t, th in themes.items()])
    return themes


def theme_counts(
    session: Session,
    *,
    township_id: int | None = None,
    report_year: int | None = None,
    kind: str | None = None,
    actor: User | None = None,
    county_id: int | None = None,
) -> dict[str, int]:
    """Tasks per theme (withdrawn ones left out), every theme present, in taxonomy order: for ledger filters.
    Counted over what `actor` may see (tracker.counties), in `county_id` if given."""
    q = (
        select(TaskTheme.theme, func.count())
        .join(Task, Task.id == TaskTheme.task_id)
        .where(Task.status != Status.withdrawn.value, *township_conds(actor, Task.township_id, county_id=county_id))
        .group_by(TaskTheme.theme)
    )
    if township_id is not None:
        q = q.where(Task.township_id == township_id)
    if report_year is not None:
        q = q.join(Report, Report.id == Task.report_id).where(Report.report_year == report_year)
    if kind is not None:
        q = q.where(Task.kind == kind)
    found = dict(session.execute(q).all())
    return {t: found.get(t, 0) for t in THEMES}


def theme_condition(theme: str):
    """A WHERE clause on Task for the ledger's theme filter."""
    return Task.id.in_(select(TaskTheme.task_id).where(TaskTheme.theme == theme))
