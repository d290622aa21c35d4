"""What the task page shows from the import analysis: the theme, the plans answering a shortcoming (or
the shortcomings a plan answers), the same problem in other years, and what later reports claimed.

The caller has already checked the actor may see the task; everything here stays in its township.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlmodel import Session

from tracker.models import Item, ItemLink, Kind, RectificationClaim, Recurrence, Report, Status, Task, TaskTheme
from tracker.recurrence import CLAIM_LABELS, recurrence_label
from tracker.themes import OTHER


@dataclass
class Related:
    task_id: int
    title: str
    report_year: int


@dataclass
class Claim:
    report_year: int
    text: str
    claim: str  # label: 已完成 / 正在整改 / 长期坚持 / 未明确
    mismatch: bool  # the report says done, the ledger has not closed the task


@dataclass
class TaskInsights:
    theme: str
    recurrence: str = ""  # 连续两年查摆 …
    earlier: list[Related] = field(default_factory=list)  # the same problem found the year(s) before
    later: list[Related] = field(default_factory=list)  # found again the year after
    linked: list[Related] = field(default_factory=list)  # plans answering it / shortcomings it answers
    claims: list[Claim] = field(default_factory=list)


def _related(session: Session, task_ids: list[int]) -> list[Related]:
    if not task_ids:
        return []
    rows = session.execute(
        select(Task.id, Task.title, Report.report_year)
        .join(Report, Report.id == Task.report_id)
        .where(Task.id.in_(task_ids))
        .order_by(Report.report_year, Task.id)
    )
    return [Related(*r) for r in rows]


def task_insights(session: Session, *, task_id: int) -> TaskInsights:
    task = session.get(Task, task_id)
    theme = session.execute(select(TaskTheme.theme).where(TaskTheme.task_id == task_id)).scalar() or OTHER
    recs = session.execute(
        select(Recurrence.task_id, Recurrence.earlier_task_id, Recurrence.years).where(
            (Recurrence.task_id == task_id) | (Recurrence.earlier_task_id == task_id)
        )
    ).all()
    out = TaskInsights(
        theme,
        recurrence_label(max((r.years for r in recs), default=0)),
        _related(session, [r.earlier_task_id for r in recs if r.task_id == task_id]),
        _related(session, [r.task_id for r in recs if r.earlier_task_id == task_id]),
    )
    mine, other = (
        (ItemLink.shortcoming_item_id, ItemLink.plan_item_id)
        if task.kind == Kind.shortcoming
        else (ItemLink.plan_item_id, ItemLink.shortcoming_item_id)
    )
    linked = select(Task.id).join(ItemLink, other == Task.item_id).where(mine == task.item_id)
    out.linked = _related(session, list(session.execute(linked).scalars()))
    for year, text, claim in session.execute(
        select(Report.report_year, Item.text, RectificationClaim.claim)
        .join(Item, Item.id == RectificationClaim.item_id)
        .join(Report, Report.id == Item.report_id)
        .where(RectificationClaim.task_id == task_id)
        .order_by(Report.report_year)
    ):
        out.claims.append(
            Claim(year, text, CLAIM_LABELS[claim], claim == "done" and task.status != Status.closed.value)
        )
    return out
