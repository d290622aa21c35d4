"""Read-only lists shared by the pages and the API that no domain service provides."""
from __future__ import annotations

from sqlalchemy import func, select

from tracker.models import Report, Role, Task, Township, User


def visible_reports(session, user: User) -> list[dict]:
    """Imported reports the user may see, newest year first, with their task counts."""
    tasks = select(Task.report_id, func.count().label("n")).group_by(Task.report_id).subquery()
    q = (select(Report.id, Township.name, Report.report_year, Report.plan_year, Report.source_name,
                Report.imported_at, Report.imported_by, func.coalesce(tasks.c.n, 0))
         .join(Township, Report.township_id == Township.id).outerjoin(tasks, tasks.c.report_id == Report.id)
         .order_by(Report.report_year.desc(), Township.name))
    if user.role == Role.township:
        q = q.where(Report.township_id == user.township_id)
    keys = ("id", "township", "report_year", "plan_year", "source_name", "imported_at", "imported_by", "tasks")
    return [dict(zip(keys, row)) for row in session.execute(q)]
