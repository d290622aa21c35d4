"""Reading the ledger: task rows (`tracker.models.TaskRow`) with their township, report year, source span,
light and latest progress, one page at a time (`TaskPage`) or all of them for the CLI and Excel."""

from __future__ import annotations

from datetime import date

from sqlalchemy import and_, case, func, or_, select
from sqlmodel import Session

from tracker.counties import township_conds
from tracker.errors import ValidationFailed
from tracker.lights import GREEN, RED, YELLOW, light_sql, today
from tracker.models import (
    AuditEvent,
    County,
    Evidence,
    Item,
    Progress,
    Report,
    Task,
    TaskPage,
    TaskRow,
    TaskTheme,
    Township,
    User,
)
from tracker.vocabulary import Status

ORDERS = ("light", "deadline", "township", "action")
MAX_PER_PAGE = 500


# The columns of a TaskRow, named as its fields.
ROW_COLUMNS = (
    Task.id,
    Township.name.label("township"),
    County.name.label("county"),
    Report.report_year,
    Task.kind,
    Task.title,
    Task.status,
    Task.deadline,
    Task.category,
    Task.owner_unit,
    Task.owner_person,
    Task.version,
    Item.start,
    Item.end,
    Task.description,
    Task.progress_percent,
)


def row_of(row) -> TaskRow:
    """A TaskRow from a row of `ledger_select` or `list_tasks`."""
    return TaskRow.model_validate(row._mapping)


def list_tasks(
    session: Session,
    *,
    township: str | None = None,
    year: int | None = None,
    kind: str | None = None,
    status: str | None = None,
    limit: int | None = None,
    county_id: int | None = None,
) -> list[TaskRow]:
    """The CLI's listing (the operator's: every county, or `county_id`)."""
    q = (
        select(*ROW_COLUMNS, light_sql(today()).label("light"))  # today's light (None: closed or withdrawn)
        .join(Township, Task.township_id == Township.id)
        .join(County, Township.county_id == County.id)
        .join(Report, Task.report_id == Report.id)
        .join(Item, Task.item_id == Item.id)
        .order_by(Township.name, Report.report_year, Task.kind.desc(), Item.start)
    )
    if township:
        q = q.where(Township.name == township)
    if county_id is not None:
        q = q.where(Township.county_id == county_id)
    if year:
        q = q.where(Report.report_year == year)
    if kind:
        q = q.where(Task.kind == kind)
    if status:
        q = q.where(Task.status == status)
    if limit:
        q = q.limit(limit)
    return [row_of(r) for r in session.execute(q)]


def task_filters(
    *,
    actor: User | None,
    as_of: date,
    township: str | None = None,
    county: str | None = None,
    year: int | None = None,
    kind: str | None = None,
    status: str | None = None,
    light: str | None = None,
    owner: str | None = None,
    q: str | None = None,
    theme: str | None = None,
    county_id: int | None = None,
    sent_back: bool = False,
) -> list:
    """WHERE clauses on the task table alone (no joins), so counting stays an index scan.

    Always within what `actor` may see (tracker.counties); `county` (a name) or `county_id` narrows it
    to one county: the city's choice (a county user naming another county gets nothing). `sent_back`:
    only tasks sent back (退回) and not yet submitted again."""
    conds = township_conds(actor, Task.township_id, county_id=county_id)
    if township:
        conds.append(Task.township_id.in_(select(Township.id).where(Township.name == township)))
    if county:
        conds.append(
            Task.township_id.in_(
                select(Township.id).join(County, County.id == Township.county_id).where(County.name == county)
            )
        )
    if year:
        conds.append(Task.report_id.in_(select(Report.id).where(Report.report_year == year)))
    if kind:
        conds.append(Task.kind == kind)
    if status:
        conds.append(Task.status == status)
    if light:
        if light not in (RED, YELLOW, GREEN):
            raise ValidationFailed(f"预警“{light}”无效，应为 red、yellow 或 green")
        conds.append(light_sql(as_of) == light)
    if owner and owner.strip():
        o = owner.strip()
        conds.append(or_(Task.owner_unit.contains(o, autoescape=True), Task.owner_person.contains(o, autoescape=True)))
    if q and q.strip():
        s = q.strip()
        conds.append(or_(Task.title.contains(s, autoescape=True), Task.description.contains(s, autoescape=True)))
    if theme:
        conds.append(Task.id.in_(select(TaskTheme.task_id).where(TaskTheme.theme == theme)))
    if sent_back:
        conds.append(sent_back_cond())
    return conds


def sent_back_cond():
    """A task sent back (退回) and not submitted again: 整改中 with a 退回 in its journal (the only way back
    into 整改中 after a first assignment is a 退回; a resubmission makes it 待审核)."""
    return and_(
        Task.status == Status.in_progress.value,
        Task.id.in_(select(AuditEvent.entity_id).where(AuditEvent.entity == "task", AuditEvent.action == "reject")),
    )


def _with_joins(stmt):
    return (
        stmt.join(Township, Task.township_id == Township.id)
        .join(County, Township.county_id == County.id)
        .join(Report, Task.report_id == Report.id)
        .join(Item, Task.item_id == Item.id)
    )


def ledger_select(
    *, as_of: date, conds: list, order: str = "light", page: int | None = None, per_page: int | None = None
):
    """The ledger's rows for `conds`, in `order`: light = red, yellow, green, then the rest; then deadline.
    action = what a township can act on first: 整改中 (red, yellow, green), 待审核, 待分派, then the rest.

    With `page`, the page's task ids are picked first (on the task table alone unless the order needs
    the joins), so the joins and the per-row subqueries run for that one page only.
    """
    light = light_sql(as_of)
    latest_note = (
        select(Progress.note)
        .where(Progress.task_id == Task.id)
        .order_by(Progress.at.desc(), Progress.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    evidence_count = select(func.count()).where(Evidence.task_id == Task.id).scalar_subquery()
    orders = {
        "light": (case((light == RED, 0), (light == YELLOW, 1), (light == GREEN, 2), else_=3), Task.deadline, Task.id),
        "deadline": (Task.deadline, Task.id),
        "action": (
            case(
                (Task.status == Status.in_progress.value, 0),
                (Task.status == Status.pending_review.value, 1),
                (Task.status == Status.unassigned.value, 2),
                (Task.status == Status.closed.value, 3),
                else_=4,
            ),
            case((light == RED, 0), (light == YELLOW, 1), (light == GREEN, 2), else_=3),
            Task.deadline,
            Task.id,
        ),
        "township": (Township.name, Report.report_year, Task.kind.desc(), Item.start, Task.id),
    }
    if order not in orders:
        raise ValidationFailed(f"排序方式“{order}”无效，应为 {'、'.join(ORDERS)}")
    keys = orders[order]
    if page is not None:
        ids = select(Task.id).where(*conds).order_by(*keys).offset((page - 1) * per_page).limit(per_page)
        conds = [Task.id.in_(_with_joins(ids) if order == "township" else ids)]
    return (
        _with_joins(
            select(
                *ROW_COLUMNS,
                light.label("light"),
                latest_note.label("latest_note"),
                evidence_count.label("evidence_count"),
            )
        )
        .where(*conds)
        .order_by(*keys)
    )


def query_tasks(
    session: Session,
    *,
    actor: User | None,
    township: str | None = None,
    year: int | None = None,
    kind: str | None = None,
    status: str | None = None,
    light: str | None = None,
    owner: str | None = None,
    q: str | None = None,
    theme: str | None = None,
    county: str | None = None,
    as_of: date | None = None,
    page: int = 1,
    per_page: int = 50,
    order: str = "light",
    county_id: int | None = None,
    sent_back: bool = False,
) -> TaskPage:
    """One page of the tasks `actor` may see (None: the operator's view, for the CLI; every county unless
    `county`/`county_id` names one)."""
    as_of = as_of or today()
    page, per_page = max(1, page), min(max(1, per_page), MAX_PER_PAGE)
    conds = task_filters(
        actor=actor,
        as_of=as_of,
        township=township,
        county=county,
        year=year,
        kind=kind,
        status=status,
        light=light,
        owner=owner,
        q=q,
        theme=theme,
        county_id=county_id,
        sent_back=sent_back,
    )
    total = session.execute(select(func.count()).select_from(Task).where(*conds)).scalar_one()
    stmt = ledger_select(as_of=as_of, conds=conds, order=order, page=page, per_page=per_page)
    return TaskPage(items=[row_of(r) for r in session.execute(stmt)], total=total, page=page, per_page=per_page)
