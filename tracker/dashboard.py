"""The dashboard: per township counts by status and light, completion rate, and the overdue list.

Counted in SQL (one grouped query for the counts, one for the overdue list), so one county answers in
milliseconds however large the ledger; Python only reshapes one row per township.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, and_, case, cast, func, literal_column, select
from sqlmodel import Session

from tracker.counties import acting_county_id, require_reader, sees_all, township_conds
from tracker.errors import Forbidden
from tracker.lights import GREEN, OPEN_STATUSES, RED, YELLOW, light_sql
from tracker.models import County, Recurrence, Report, Role, Status, Task, Township, User
from tracker.vocabulary import TRACKED_KINDS

LIGHTS = (RED, YELLOW, GREEN)
STATUSES = tuple(s.value for s in Status)
OVERDUE_LIMIT = 100  # rows listed; the full number is in `overdue_total`


def _scope(session: Session, actor: User, county: str | None) -> tuple[list, int | None]:
    """Conditions on Township for what the dashboard covers, and the county it is for (None: every county)."""
    county_id = acting_county_id(session, actor, county) if actor.role != Role.township else None
    return township_conds(actor, Township.id, county_id=county_id), county_id


def _rates(row: dict) -> dict:
    counted = row["total"]
    row["completion_rate"] = row["by_status"][Status.closed] / counted if counted else None
    return row


def _of_year(year: int | None) -> list:
    """Tasks of the reports of `year` (None: every year)."""
    return [] if year is None else [Task.report_id.in_(select(Report.id).where(Report.report_year == year))]


def dashboard(
    session: Session, *, actor: User, as_of: date, county: str | None = None, year: int | None = None
) -> dict:
    """Township users see their own township; county users their county's townships; the city every
    county's, or those of `county` (the drill-down from `city_dashboard`). `year`: only the tasks of
    that year's reports."""
    scope, county_id = _scope(session, actor, county)
    light = light_sql(as_of)
    in_scope = select(Township.id).where(*scope) if scope else None
    counts = (
        select(
            Task.township_id.label("tid"),
            *[func.count(case((Task.status == s, 1))).label(f"s{i}") for i, s in enumerate(STATUSES)],
            *[func.count(case((light == lt, 1))).label(lt) for lt in LIGHTS],
        )
        .where(*_of_year(year))
        .group_by(Task.township_id)
    )
    if in_scope is not None:
        counts = counts.where(Task.township_id.in_(in_scope))
    counts = counts.subquery()
    rows = session.execute(
        select(
            Township.id,
            Township.name,
            Township.county,
            *[counts.c[f"s{i}"] for i in range(len(STATUSES))],
            *[counts.c[lt] for lt in LIGHTS],
        )
        .outerjoin(counts, counts.c.tid == Township.id)
        .where(*scope)
        .order_by(Township.name)
    ).all()

    townships = []
    totals = {"total": 0, "by_status": dict.fromkeys(STATUSES, 0), "by_light": dict.fromkeys(LIGHTS, 0)}
    for tid, name, tcounty, *nums in rows:
        by_status = {s: n or 0 for s, n in zip(STATUSES, nums)}
        by_light = {lt: n or 0 for lt, n in zip(LIGHTS, nums[len(STATUSES) :])}
        total = sum(by_status.values()) - by_status[Status.withdrawn]  # withdrawn: visible, not counted
        townships.append(
            _rates(
                {
                    "township_id": tid,
                    "township": name,
                    "county": tcounty,
                    "total": total,
                    "by_status": by_status,
                    "by_light": by_light,
                }
            )
        )
        totals["total"] += total
        for s, n in by_status.items():
            totals["by_status"][s] += n
        for lt, n in by_light.items():
            totals["by_light"][lt] += n

    overdue = (
        select(Task.id, Township.name, Task.title, Task.deadline, Task.status, Task.owner_unit, Task.owner_person)
        .join(Township, Task.township_id == Township.id)
        .where(Task.status.in_(OPEN_STATUSES), Task.deadline < as_of, *scope, *_of_year(year))
        .order_by(Task.deadline, Task.id)
        .limit(OVERDUE_LIMIT)
    )
    return {
        "as_of": as_of,
        "year": year,
        "county": (session.get(County, county_id).name if county_id is not None else None)
        if actor.role != Role.township
        else None,
        "townships": townships,
        "totals": _rates(totals),
        "overdue": [
            {
                "id": i,
                "township": n,
                "title": t,
                "deadline": d,
                "days_overdue": (as_of - d).days,
                "status": s,
                "owner_unit": u,
                "owner_person": p,
            }
            for i, n, t, d, s, u, p in session.execute(overdue)
        ],
        "overdue_total": totals["by_light"][RED],
    }


def completion_by_year(session: Session, *, actor: User, county: str | None = None) -> list[dict]:
    """Per report year (newest first) and kind (问题, 计划): tasks counted (withdrawn left out), closed, and
    the completion rate, over what `actor` may see (narrowed to `county` for the city). One grouped query."""
    scope, _ = _scope(session, actor, county)
    counted = Task.status != Status.withdrawn.value
    q = (
        select(
            Report.report_year,
            Task.kind,
            func.count(case((counted, 1))),
            func.count(case((Task.status == Status.closed.value, 1))),
        )
        .select_from(Task)
        .join(Report, Report.id == Task.report_id)
        .group_by(Report.report_year, Task.kind)
    )
    if scope:
        q = q.where(Task.township_id.in_(select(Township.id).where(*scope)))
    numbers = {(y, k): (total, closed) for y, k, total, closed in session.execute(q)}
    rows = []
    for y in sorted({y for y, _ in numbers}, reverse=True):
        for kind in TRACKED_KINDS:
            total, closed = numbers.get((y, kind.value), (0, 0))
            if total:
                rows.append(
                    {
                        "year": y,
                        "kind": kind.value,
                        "kind_label": kind.label,
                        "total": total,
                        "closed": closed,
                        "completion_rate": closed / total,
                    }
                )
    return rows


def counties(session: Session, *, actor: User | None = None) -> list[str]:
    """The counties `actor` may choose between on the dashboard: every one for the city, none for others."""
    if not sees_all(actor):
        return []
    return list(session.execute(select(County.name).order_by(County.id)).scalars())


def _closed_late(dialect: str):
    """A closed task whose closing day in China (UTC+8) is after its deadline.

    UTC+8 as a fixed offset, as on SQLite: Asia/Shanghai has kept it since 1991, and a closing time is
    a real moment of closing. On PostgreSQL the fixed offset is plain arithmetic, where a named zone
    costs a zone lookup per row (a third of the city dashboard's time over 2,000,000 tasks)."""
    if dialect == "postgresql":
        day = cast(func.timezone(literal_column("INTERVAL '8 hours'"), Task.closed_at), Date)
    else:
        day = func.date(Task.closed_at, "+8 hours")
    return and_(Task.status == Status.closed.value, day > Task.deadline)


def city_dashboard(session: Session, *, actor: User | None, as_of: date, year: int | None = None) -> dict:
    """The city's comparison of its counties: per county the townships, tasks, completion rate, lights,
    overdue, recurring problems and items closed late. Two grouped queries, whatever the size. `year`:
    only the tasks of that year's reports (None: every year, the measured default).

    The tasks are counted in one pass grouped by township (on PostgreSQL an index-only scan of
    ix_task_township_status, which carries the light's columns, already in township order: no hash
    and no join per task), then the 38,000 township rows are joined and summed per county. The light
    is `light_sql`'s CASE; green is what is open and neither red nor yellow."""
    require_reader(actor)
    if not sees_all(actor):
        raise Forbidden("仅市级用户可以查看各县对比")
    light = light_sql(as_of)
    per_township = (
        select(
            Task.township_id.label("tid"),
            func.count().filter(Task.status != Status.withdrawn.value).label("total"),
            func.count().filter(Task.status == Status.closed.value).label("closed"),
            func.count().filter(Task.status.in_(OPEN_STATUSES)).label("open"),
            func.count().filter(light == RED.value).label("red"),
            func.count().filter(light == YELLOW.value).label("yellow"),
            func.count().filter(_closed_late(session.get_bind().dialect.name)).label("late"),
        )
        .where(*_of_year(year))
        .group_by(Task.township_id)
        .subquery()
    )
    n = per_township.c
    per_county = session.execute(
        select(
            Township.county_id,
            func.count(Township.id),
            *[func.coalesce(func.sum(c), 0) for c in (n.total, n.closed, n.open, n.red, n.yellow, n.late)],
        )
        .outerjoin(per_township, per_township.c.tid == Township.id)
        .group_by(Township.county_id)
    ).all()
    recurring = dict(
        session.execute(
            select(Township.county_id, func.count())
            .select_from(Recurrence)
            .join(Task, Task.id == Recurrence.task_id)
            .join(Township, Township.id == Task.township_id)
            .where(*_of_year(year))
            .group_by(Township.county_id)
        ).all()
    )
    townships, numbers = {}, {}
    for cid, towns, total, closed, open_, red, yellow, late in per_county:
        townships[cid] = towns
        numbers[cid] = [int(total), int(closed), int(red), int(yellow), int(open_ - red - yellow), int(late)]
    rows, totals = [], dict.fromkeys(("townships", "total", "closed", "overdue", "recurring", "late"), 0)
    totals["by_light"] = dict.fromkeys(LIGHTS, 0)
    for cid, name in session.execute(select(County.id, County.name).order_by(County.id)):
        total, closed, *lights, late = numbers.get(cid, [0] * (3 + len(LIGHTS)))
        by_light = dict(zip(LIGHTS, lights))
        row = {
            "county_id": cid,
            "county": name,
            "townships": townships.get(cid, 0),
            "total": total,
            "closed": closed,
            "completion_rate": closed / total if total else None,
            "by_light": by_light,
            "overdue": by_light[RED],
            "recurring": recurring.get(cid, 0),
            "late": late,
        }
        rows.append(row)
        for k in ("townships", "total", "closed", "overdue", "recurring", "late"):
            totals[k] += row[k]
        for lt in LIGHTS:
            totals["by_light"][lt] += by_light[lt]
    totals["completion_rate"] = totals["closed"] / totals["total"] if totals["total"] else None
    return {"as_of": as_of, "year": year, "counties": rows, "totals": totals}
