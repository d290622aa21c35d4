"""Imported reports and townships as people may see them: the list with task counts, one report with
its items, the years and townships to offer in filters. Township users see only their own."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tracker import counties
from tracker.counties import can_see_township, sees_all, township_conds
from tracker.errors import NotFound
from tracker.evidence import clean_filename
from tracker.ingest import IngestResult, ingest_file
from tracker.models import Item, Report, ReportPublic, Task, Township, User
from tracker.users import require_county


def visible_reports(session: Session, *, actor: User, county: str | None = None) -> list[ReportPublic]:
    """Imported reports `actor` may see (the city: of `county`, if named), newest year first, with their task counts."""
    tasks = select(Task.report_id, func.count().label("n")).group_by(Task.report_id).subquery()
    q = (
        select(
            Report.id,
            Township.name.label("township"),
            Report.report_year,
            Report.plan_year,
            Report.source_name,
            Report.imported_at,
            Report.imported_by,
            func.coalesce(tasks.c.n, 0).label("tasks"),
        )
        .join(Township, Report.township_id == Township.id)
        .outerjoin(tasks, tasks.c.report_id == Report.id)
        .order_by(Report.report_year.desc(), Township.name)
    )
    q = q.where(*township_conds(actor, Report.township_id, county_id=_county_filter(session, actor, county)))
    return [ReportPublic.model_validate(row._mapping) for row in session.execute(q)]


@dataclass
class ReportView:
    report: Report
    township: Township
    items: list[Item]  # current ones, in document order
    task_of: dict[int, int]  # item id → task id


def report_view(session: Session, *, actor: User, report_id: int) -> ReportView:
    report = session.get(Report, report_id)
    if report is None or not can_see_township(session, actor, report.township_id):
        raise NotFound(f"报告 {report_id} 不存在")
    items = list(
        session.execute(
            select(Item).where(Item.report_id == report_id, Item.removed_at.is_(None)).order_by(Item.start)
        ).scalars()
    )
    task_of = dict(session.execute(select(Task.item_id, Task.id).where(Task.report_id == report_id)).all())
    return ReportView(report, session.get(Township, report.township_id), items, task_of)


def report_years(session: Session, *, actor: User) -> list[int]:
    """The report years `actor` has reports of, newest first."""
    q = (
        select(Report.report_year)
        .distinct()
        .order_by(Report.report_year.desc())
        .where(*township_conds(actor, Report.township_id))
    )
    return list(session.execute(q).scalars())


def township_names(
    session: Session, *, actor: User | None = None, year: int | None = None, county_id: int | None = None
) -> list[str]:
    """Townships to choose from (with a report of `year`, if given): those `actor` may see (a township user
    only their own, a county user their county's), narrowed to `county_id` when given."""
    q = select(Township.name).order_by(Township.name).distinct()
    if year is not None:
        q = q.join(Report, Report.township_id == Township.id).where(Report.report_year == year)
    q = q.where(*township_conds(actor, Township.id, county_id=county_id))
    return list(session.execute(q).scalars())


def township_id(session: Session, *, name: str, actor: User | None = None, county_id: int | None = None) -> int | None:
    """The township `name` among those `actor` may see (in `county_id`, if given): the first by id when
    the city sees several of that name."""
    return session.execute(
        select(Township.id)
        .where(Township.name == name, *township_conds(actor, Township.id, county_id=county_id))
        .order_by(Township.id)
        .limit(1)
    ).scalar()


def _county_filter(session: Session, actor: User | None, county: str | None) -> int | None:
    """The county the city (or the operator) narrows a list to; county users are scoped already."""
    return counties.county_named(session, county).id if county and sees_all(actor) else None


def import_upload(*, engine: Engine, actor: User, filename: str, data: bytes, replace: bool = False) -> IngestResult:
    """Import one uploaded file directly (the API; the pages stage uploads for review first)."""
    require_county(actor)
    name = clean_filename(filename or "")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        return ingest_file(
            engine=engine,
            path=path,
            actor=actor.name,
            replace=replace,
            county_id=actor.county_id if actor is not None else None,
        )
