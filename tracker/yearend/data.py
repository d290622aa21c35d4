"""The ledger as year end needs it, loaded set-based: seven grouped queries per chunk of 1,000
townships (tasks, progress notes, evidence counts, review events, recurrences, links; plus one for the
list of reports), never one per township.

The picture is taken as of a date: work closed, progress posted and evidence uploaded after the end
of that day (Asia/Shanghai) does not count yet, so a section for a past date can be regenerated.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import func, or_, select, union_all
from sqlalchemy.engine import Engine

from tracker.config import TZ
from tracker.lights import GREEN, RED, light_sql
from tracker.models import (AuditEvent, Category, Evidence, Item, ItemLink, Kind, Progress, RectificationClaim,
                            Recurrence, Report, Status, Task, TaskTheme, Township)
from tracker.themes import OTHER

DONE, REVIEW, ONGOING, OPEN = "done", "review", "ongoing", "open"  # a task's state for the counts


@dataclass(slots=True)
class TaskFacts:
    id: int
    item_id: int
    kind: str
    title: str
    description: str
    status: str
    category: str | None
    deadline: date
    owner: str
    percent: int | None  # the latest percent posted by the as-of date
    stage_done_year: int | None  # 长期坚持: the last year marked 阶段性完成 by the as-of date
    closed_on: date | None  # closed on or before the as-of date, in local time
    state: str
    light: str | None
    theme: str = OTHER
    notes: list[str] = field(default_factory=list)
    evidence: int = 0
    reject_reason: str | None = None  # set while the task is back in work after a 退回
    recurrence_years: int = 0
    linked_plans: int = 0

    @property
    def closed_late(self) -> bool:
        return self.closed_on is not None and self.closed_on > self.deadline


@dataclass(slots=True)
class TownshipYear:
    township_id: int
    name: str
    county: str | None
    report_id: int
    report_year: int
    plan_year: int
    shortcomings: list[TaskFacts] = field(default_factory=list)
    plans: list[TaskFacts] = field(default_factory=list)


def day_end_utc(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time.min, TZ).astimezone(timezone.utc)


def _state(status: str, category: str | None, closed_on: date | None, submitted: bool) -> str:
    if closed_on is not None:
        return DONE
    if category == Category.ongoing:
        return ONGOING
    if status in (Status.pending_review, Status.closed) and submitted:
        return REVIEW
    return OPEN


def _light(now: str | None, closed_on: date | None, deadline: date, as_of: date) -> str | None:
    """The light as of the date; a task closed since then was open that day: red if overdue, else green."""
    if closed_on is not None:
        return None
    return now or (RED if deadline < as_of else GREEN)


CHUNK = 1000  # townships loaded at a time: a few grouped queries each, memory bounded at any scale


def load_chunks(engine: Engine, *, year: int, as_of: date, townships: list[str] | None = None,
                size: int = CHUNK) -> Iterator[list[TownshipYear]]:
    """Every township with a report of `year` (by name), `size` at a time, with its tasks (withdrawn ones
    left out) and their facts."""
    end = day_end_utc(as_of)
    with engine.connect() as conn:
        heads = [TownshipYear(r.township_id, r.name, r.county, r.id, r.report_year, r.plan_year)
                 for r in conn.execute(
                     select(Report.id, Report.township_id, Report.report_year, Report.plan_year, Township.name,
                            Township.county).join(Township, Township.id == Report.township_id)
                     .where(Report.report_year == year, *([Township.name.in_(townships)] if townships else []))
                     .order_by(Township.name))]
        for start in range(0, len(heads), size):
            chunk = heads[start:start + size]
            _fill(conn, {ty.report_id: ty for ty in chunk}, as_of, end)
            yield chunk


def load(engine: Engine, *, year: int, as_of: date, townships: list[str] | None = None) -> list[TownshipYear]:
    return [ty for chunk in load_chunks(engine, year=year, as_of=as_of, townships=townships) for ty in chunk]


def _fill(conn, reports: dict[int, TownshipYear], as_of: date, end: datetime) -> None:
    in_scope = select(Task.id).where(Task.report_id.in_(list(reports)), Task.status != Status.withdrawn.value)
    tasks: dict[int, TaskFacts] = {}
    for r in conn.execute(
            select(Task.id, Task.item_id, Task.report_id, Task.kind, Task.title, Task.description, Task.status,
                   Task.category, Task.deadline, Task.owner_unit, Task.owner_person, Task.closed_at,
                   Task.submitted_at, light_sql(as_of).label("light"), TaskTheme.theme)
            .join(Item, Item.id == Task.item_id).outerjoin(TaskTheme, TaskTheme.task_id == Task.id)
            .where(Task.id.in_(in_scope)).order_by(Task.report_id, Item.start)):
        closed_on = r.closed_at.astimezone(TZ).date() if r.closed_at and r.closed_at < end else None
        submitted = r.submitted_at is not None and r.submitted_at < end
        t = TaskFacts(r.id, r.item_id, r.kind, r.title, r.description, r.status, r.category, r.deadline,
                      " ".join(x for x in (r.owner_unit, r.owner_person) if x), None, None, closed_on,
                      _state(r.status, r.category, closed_on, submitted),
                      _light(r.light, closed_on, r.deadline, as_of), r.theme or OTHER)
        tasks[t.id] = t
        ty = reports[r.report_id]
        (ty.shortcomings if t.kind == Kind.shortcoming else ty.plans).append(t)
    _facts(conn, tasks, in_scope, end)


def _facts(conn, tasks: dict[int, TaskFacts], in_scope, end: datetime) -> None:
    for task_id, note, pct in conn.execute(select(Progress.task_id, Progress.note, Progress.percent)
                                           .where(Progress.task_id.in_(in_scope), Progress.at < end)
                                           .order_by(Progress.task_id, Progress.at, Progress.id)):
        tasks[task_id].notes.append(note)
        if pct is not None:
            tasks[task_id].percent = pct
    for task_id, n in conn.execute(select(Evidence.task_id, func.count())
                                   .where(Evidence.task_id.in_(in_scope), Evidence.uploaded_at < end)
                                   .group_by(Evidence.task_id)):
        tasks[task_id].evidence = n
    # The latest review decision: a 退回 not followed by a new submission leaves its reason standing.
    last: dict[int, tuple[str, str | None]] = {}
    for task_id, action, reason, after in conn.execute(
            select(AuditEvent.entity_id, AuditEvent.action, AuditEvent.reason, AuditEvent.after)
            .where(AuditEvent.entity == "task", AuditEvent.entity_id.in_(in_scope),
                   AuditEvent.action.in_(("submit", "reject", "verify", "stage_done")), AuditEvent.at < end)
            .order_by(AuditEvent.entity_id, AuditEvent.at, AuditEvent.id)):
        if action == "stage_done":
            tasks[task_id].stage_done_year = (after or {}).get("stage_done_year")
        else:
            last[task_id] = (action, reason)
    for task_id, (action, reason) in last.items():
        if action == "reject" and tasks[task_id].state in (OPEN, ONGOING):
            tasks[task_id].reject_reason = reason
    sides = union_all(select(Recurrence.task_id.label("tid"), Recurrence.years),
                      select(Recurrence.earlier_task_id.label("tid"), Recurrence.years)).subquery()
    for task_id, years in conn.execute(select(sides.c.tid, func.max(sides.c.years))
                                       .where(sides.c.tid.in_(in_scope)).group_by(sides.c.tid)):
        tasks[task_id].recurrence_years = years
    by_item = {t.item_id: t for t in tasks.values()}
    for item_id, n in conn.execute(select(ItemLink.shortcoming_item_id, func.count())
                                   .where(ItemLink.shortcoming_item_id.in_(select(Task.item_id)
                                                                           .where(Task.id.in_(in_scope))))
                                   .group_by(ItemLink.shortcoming_item_id)):
        by_item[item_id].linked_plans = n


@dataclass
class RecurrenceRow:
    township: str
    title: str
    report_year: int
    earlier_title: str
    earlier_year: int
    years: int
    score: float


@dataclass
class ClaimRow:
    township: str
    report_year: int  # the report that makes the claim
    text: str
    task_title: str
    task_status: str


def cross_year(engine: Engine, *, year: int, townships: list[str] | None = None
               ) -> tuple[list[RecurrenceRow], list[ClaimRow]]:
    """Recurrences touching a problem of `year` (either side), and claims of done about problems of `year`
    or made by the `year` report that the ledger does not back."""
    later, earlier = Task.__table__.alias("later"), Task.__table__.alias("earlier")
    rl, re_ = Report.__table__.alias("rl"), Report.__table__.alias("re")
    tw = Township.__table__
    where = [or_(rl.c.report_year == year, re_.c.report_year == year)]
    if townships:
        where.append(tw.c.name.in_(townships))
    with engine.connect() as conn:
        recs = [RecurrenceRow(*r) for r in conn.execute(
            select(tw.c.name, later.c.title, rl.c.report_year, earlier.c.title, re_.c.report_year,
                   Recurrence.years, Recurrence.score).select_from(Recurrence)
            .join(later, later.c.id == Recurrence.task_id).join(earlier, earlier.c.id == Recurrence.earlier_task_id)
            .join(rl, rl.c.id == later.c.report_id).join(re_, re_.c.id == earlier.c.report_id)
            .join(tw, tw.c.id == later.c.township_id).where(*where)
            .order_by(tw.c.name, rl.c.report_year, Recurrence.task_id))]
        claim_where = [or_(Report.report_year == year, re_.c.report_year == year),
                       RectificationClaim.claim == "done", earlier.c.status != Status.closed.value]
        if townships:
            claim_where.append(tw.c.name.in_(townships))
        claims = [ClaimRow(*r) for r in conn.execute(
            select(tw.c.name, Report.report_year, Item.text, earlier.c.title, earlier.c.status)
            .select_from(RectificationClaim).join(Item, Item.id == RectificationClaim.item_id)
            .join(Report, Report.id == Item.report_id)
            .join(earlier, earlier.c.id == RectificationClaim.task_id).join(re_, re_.c.id == earlier.c.report_id)
            .join(tw, tw.c.id == Report.township_id).where(*claim_where)
            .order_by(tw.c.name, Report.report_year, Item.start))]
    return recs, claims

