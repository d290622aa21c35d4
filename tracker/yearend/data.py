"""The ledger as year end needs it, loaded set-based: six grouped queries per chunk of 1,000
townships (tasks, progress notes, evidence counts, the tasks' journal, recurrences, links; plus one
for the list of reports), never one per township.

The picture is taken as of a date, everything in it: work closed, progress posted and evidence
uploaded after the end of that day (Asia/Shanghai) does not count yet, and a task's status, owner
(责任单位/责任人), deadline and category are the values it had then, rebuilt from the journal
(AuditEvent: each write keeps the fields' values before and after). A field changed after the date
takes the `before` of its first later change; one never changed since keeps today's value. So a
section for a past date can be regenerated and says what was true on that day.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import and_, func, or_, select, union_all
from sqlalchemy.engine import Engine

from tracker.config import TZ
from tracker.lights import light_of
from tracker.models import (
    AuditEvent,
    Evidence,
    Item,
    ItemLink,
    Progress,
    RectificationClaim,
    Recurrence,
    Report,
    Task,
    TaskTheme,
    Township,
)
from tracker.themes import OTHER
from tracker.vocabulary import Category, Kind, Status

# A task's state for the counts and the wording: closed (销号), submitted and waiting for review,
# 长期坚持, in work, and never assigned (待分派: not started, nobody is on it yet).
DONE, REVIEW, ONGOING, OPEN, UNASSIGNED = "done", "review", "ongoing", "open", "unassigned"
AS_OF_FIELDS = ("status", "owner_unit", "owner_person", "deadline", "category")  # rebuilt from the journal
REVIEW_ACTIONS = ("submit", "reject", "verify", "stage_done")  # read up to the date
UNCHANGING_ACTIONS = ("create", "progress", "update")  # journal entries that change none of AS_OF_FIELDS


@dataclass(slots=True)
class TaskFacts:
    id: int
    item_id: int
    kind: str
    title: str
    description: str
    status: str  # as of the date, like category, deadline and owner
    category: str | None
    deadline: date
    owner: str  # 责任单位 责任人 ("" while unassigned)
    percent: int | None  # the latest percent posted by the as-of date
    stage_done_year: int | None  # 长期坚持: the last year marked 阶段性完成 by the as-of date
    closed_on: date | None  # closed on or before the as-of date, in local time
    state: str
    light: str | None
    theme: str = OTHER
    notes: list[str] = field(default_factory=list)
    evidence: int = 0
    reject_reason: str | None = None  # set while the task is back in work after a 退回 (internal wording)
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
    return datetime.combine(day + timedelta(days=1), time.min, TZ).astimezone(UTC)


def _state(status: str, category: str | None) -> str:
    """The state for the counts from the status and category the task had on the day."""
    if status == Status.closed:
        return DONE
    if status == Status.unassigned:
        return UNASSIGNED
    if category == Category.ongoing:
        return ONGOING
    if status == Status.pending_review:
        return REVIEW
    return OPEN


CHUNK = 1000  # townships loaded at a time: a few grouped queries each, memory bounded at any scale


def load_chunks(
    engine: Engine,
    *,
    year: int,
    as_of: date,
    townships: list[str] | None = None,
    size: int = CHUNK,
    county_id: int | None = None,
) -> Iterator[list[TownshipYear]]:
    """Every township with a report of `year` (by name; of the county `county_id`, if given), `size` at a
    time, with its tasks (withdrawn ones left out) and their facts."""
    end = day_end_utc(as_of)
    with engine.connect() as conn:
        heads = [
            TownshipYear(r.township_id, r.name, r.county, r.id, r.report_year, r.plan_year)
            for r in conn.execute(
                select(
                    Report.id, Report.township_id, Report.report_year, Report.plan_year, Township.name, Township.county
                )
                .join(Township, Township.id == Report.township_id)
                .where(
                    Report.report_year == year,
                    *([Township.name.in_(townships)] if townships else []),
                    *([Township.county_id == county_id] if county_id is not None else []),
                )
                .order_by(Township.name)
            )
        ]
        for start in range(0, len(heads), size):
            chunk = heads[start : start + size]
            _fill(conn, {ty.report_id: ty for ty in chunk}, as_of, end)
            yield chunk


def load(engine: Engine, *, year: int, as_of: date, townships: list[str] | None = None) -> list[TownshipYear]:
    return [ty for chunk in load_chunks(engine, year=year, as_of=as_of, townships=townships) for ty in chunk]


@dataclass(slots=True)
class _Row:
    """A task's columns as loaded; `values` become the ones of the day in `_journal`."""

    id: int
    item_id: int
    report_id: int
    kind: str
    title: str
    description: str
    theme: str | None
    created_at: datetime
    values: dict  # AS_OF_FIELDS → value: today's, then replaced by the journal's `before`
    closed_at: datetime | None
    assigned_at: datetime | None  # the first assignment, if made by the date
    last_progress_at: datetime | None = None
    later: set = field(default_factory=set)  # fields already taken from a change after the date


def _fill(conn, reports: dict[int, TownshipYear], as_of: date, end: datetime) -> None:
    in_scope = select(Task.id).where(Task.report_id.in_(list(reports)), Task.status != Status.withdrawn.value)
    rows: dict[int, _Row] = {}
    for r in conn.execute(
        select(
            Task.id,
            Task.item_id,
            Task.report_id,
            Task.kind,
            Task.title,
            Task.description,
            Task.status,
            Task.category,
            Task.deadline,
            Task.owner_unit,
            Task.owner_person,
            Task.closed_at,
            Task.assigned_at,
            Task.created_at,
            TaskTheme.theme,
        )
        .join(Item, Item.id == Task.item_id)
        .outerjoin(TaskTheme, TaskTheme.task_id == Task.id)
        .where(Task.id.in_(in_scope))
        .order_by(Task.report_id, Item.start)
    ):
        rows[r.id] = _Row(
            r.id,
            r.item_id,
            r.report_id,
            r.kind,
            r.title,
            r.description,
            r.theme,
            r.created_at,
            {
                "status": r.status,
                "owner_unit": r.owner_unit,
                "owner_person": r.owner_person,
                "deadline": r.deadline,
                "category": r.category,
            },
            r.closed_at,
            r.assigned_at if r.assigned_at is not None and r.assigned_at < end else None,
        )
    notes: dict[int, list[str]] = {}
    percents: dict[int, int] = {}
    for task_id, note, pct, at in conn.execute(
        select(Progress.task_id, Progress.note, Progress.percent, Progress.at)
        .where(Progress.task_id.in_(in_scope), Progress.at < end)
        .order_by(Progress.task_id, Progress.at, Progress.id)
    ):
        notes.setdefault(task_id, []).append(note)
        rows[task_id].last_progress_at = at
        if pct is not None:
            percents[task_id] = pct
    review = _journal(conn, rows, in_scope, end)
    tasks: dict[int, TaskFacts] = {}
    for row in rows.values():
        v = row.values
        status, category, deadline = v["status"], v["category"], v["deadline"]
        closed_on = None
        if status == Status.closed:
            closed_on = (row.closed_at or end).astimezone(TZ).date()
        state = _state(status, category)
        light = light_of(_LightInput(status, deadline, row.last_progress_at, row.assigned_at, row.created_at), as_of)
        stage_done_year, decision = review.get(row.id, (None, None))
        t = TaskFacts(
            row.id,
            row.item_id,
            row.kind,
            row.title,
            row.description,
            status,
            category,
            deadline,
            " ".join(x for x in (v["owner_unit"], v["owner_person"]) if x),
            percents.get(row.id),
            stage_done_year,
            closed_on,
            state,
            light,
            row.theme or OTHER,
            notes.get(row.id, []),
        )
        if decision and decision[0] == "reject" and state in (OPEN, ONGOING):
            t.reject_reason = decision[1]
        tasks[t.id] = t
        ty = reports[row.report_id]
        (ty.shortcomings if t.kind == Kind.shortcoming else ty.plans).append(t)
    _facts(conn, tasks, in_scope, end)


@dataclass(slots=True)
class _LightInput:
    """What `tracker.lights.light_of` reads of a task, with the values of the day."""

    status: str
    deadline: date
    last_progress_at: datetime | None
    assigned_at: datetime | None
    created_at: datetime


def _as_date(value) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _journal(conn, rows: dict[int, _Row], in_scope, end: datetime) -> dict[int, tuple[int | None, tuple | None]]:
    """Walk the tasks' journal once: events up to the date give the stage marked done and the latest
    review decision (a 退回 not followed by a new submission leaves its reason
    standing); the first later change of each field gives the field's value on the day (its `before`)."""
    review: dict[int, tuple[int | None, tuple | None]] = {}
    for task_id, at, action, reason, before, after in conn.execute(
        select(
            AuditEvent.entity_id,
            AuditEvent.at,
            AuditEvent.action,
            AuditEvent.reason,
            AuditEvent.before,
            AuditEvent.after,
        )
        .where(
            AuditEvent.entity == "task",
            AuditEvent.entity_id.in_(in_scope),
            or_(
                and_(AuditEvent.at < end, AuditEvent.action.in_(REVIEW_ACTIONS)),
                and_(AuditEvent.at >= end, AuditEvent.action.not_in(UNCHANGING_ACTIONS)),
            ),
        )
        .order_by(AuditEvent.entity_id, AuditEvent.at, AuditEvent.id)
    ):
        row = rows[task_id]
        if at < end:
            stage, decision = review.get(task_id, (None, None))
            if action == "stage_done":
                stage = (after or {}).get("stage_done_year", stage)
            elif action in ("submit", "reject", "verify"):
                decision = (action, reason)
            review[task_id] = (stage, decision)
            continue
        for f in AS_OF_FIELDS:
            if f not in row.later and before and f in before:
                row.values[f] = _as_date(before[f]) if f == "deadline" else before[f]
                row.later.add(f)
    for row in rows.values():  # a journal that lacks the 销号 event: closed after the date, so waiting then
        if row.closed_at is not None and row.closed_at >= end and row.values["status"] == Status.closed:
            row.values["status"] = Status.pending_review.value
    return review


def _facts(conn, tasks: dict[int, TaskFacts], in_scope, end: datetime) -> None:
    for task_id, n in conn.execute(
        select(Evidence.task_id, func.count())
        .where(Evidence.task_id.in_(in_scope), Evidence.uploaded_at < end)
        .group_by(Evidence.task_id)
    ):
        tasks[task_id].evidence = n
    sides = union_all(
        select(Recurrence.task_id.label("tid"), Recurrence.years),
        select(Recurrence.earlier_task_id.label("tid"), Recurrence.years),
    ).subquery()
    for task_id, years in conn.execute(
        select(sides.c.tid, func.max(sides.c.years)).where(sides.c.tid.in_(in_scope)).group_by(sides.c.tid)
    ):
        tasks[task_id].recurrence_years = years
    by_item = {t.item_id: t for t in tasks.values()}
    for item_id, n in conn.execute(
        select(ItemLink.shortcoming_item_id, func.count())
        .where(ItemLink.shortcoming_item_id.in_(select(Task.item_id).where(Task.id.in_(in_scope))))
        .group_by(ItemLink.shortcoming_item_id)
    ):
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


def cross_year(
    engine: Engine, *, year: int, townships: list[str] | None = None, county_id: int | None = None
) -> tuple[list[RecurrenceRow], list[ClaimRow]]:
    """Recurrences touching a problem of `year` (either side), and claims of done about problems of `year`
    or made by the `year` report that the ledger does not back."""
    later, earlier = Task.__table__.alias("later"), Task.__table__.alias("earlier")
    rl, re_ = Report.__table__.alias("rl"), Report.__table__.alias("re")
    tw = Township.__table__
    where = [or_(rl.c.report_year == year, re_.c.report_year == year)]
    if townships:
        where.append(tw.c.name.in_(townships))
    if county_id is not None:
        where.append(tw.c.county_id == county_id)
    with engine.connect() as conn:
        recs = [
            RecurrenceRow(*r)
            for r in conn.execute(
                select(
                    tw.c.name,
                    later.c.title,
                    rl.c.report_year,
                    earlier.c.title,
                    re_.c.report_year,
                    Recurrence.years,
                    Recurrence.score,
                )
                .select_from(Recurrence)
                .join(later, later.c.id == Recurrence.task_id)
                .join(earlier, earlier.c.id == Recurrence.earlier_task_id)
                .join(rl, rl.c.id == later.c.report_id)
                .join(re_, re_.c.id == earlier.c.report_id)
                .join(tw, tw.c.id == later.c.township_id)
                .where(*where)
                .order_by(tw.c.name, rl.c.report_year, Recurrence.task_id)
            )
        ]
        claim_where = [
            or_(Report.report_year == year, re_.c.report_year == year),
            RectificationClaim.claim == "done",
            earlier.c.status != Status.closed.value,
        ]
        if townships:
            claim_where.append(tw.c.name.in_(townships))
        if county_id is not None:
            claim_where.append(tw.c.county_id == county_id)
        claims = [
            ClaimRow(*r)
            for r in conn.execute(
                select(tw.c.name, Report.report_year, Item.text, earlier.c.title, earlier.c.status)
                .select_from(RectificationClaim)
                .join(Item, Item.id == RectificationClaim.item_id)
                .join(Report, Report.id == Item.report_id)
                .join(earlier, earlier.c.id == RectificationClaim.task_id)
                .join(re_, re_.c.id == earlier.c.report_id)
                .join(tw, tw.c.id == Report.township_id)
                .where(*claim_where)
                .order_by(tw.c.name, Report.report_year, Item.start)
            )
        ]
    return recs, claims
