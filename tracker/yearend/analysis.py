"""What ingest asks once a report's items and tasks are in: themes, links, recurrences and claims."""
from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from tracker.linking import link_report
from tracker.models import Item, Report, Task
from tracker.recurrence import refresh_township
from tracker.themes import assign_themes


def analyze_report(session: Session, *, report_id: int) -> dict[str, int]:
    """Run in the import's transaction: a report is never in the ledger without its analysis.

    Ingest calls this once per report, so it reads the report's items once and writes set-based.
    """
    items = session.execute(
        select(Item.id, Item.kind, Item.title, Item.text, Task.id.label("task_id"), Report.township_id)
        .join(Report, Report.id == Item.report_id).outerjoin(Task, Task.item_id == Item.id)
        .where(Item.report_id == report_id, Item.removed_at.is_(None)).order_by(Item.start)).all()
    if not items:
        return {"themes": 0, "links": 0, "recurrences": 0, "claims": 0}
    themes = assign_themes(session, report_id=report_id,
                           tasks=[(it.task_id, it.title, it.text) for it in items if it.task_id is not None])
    links = link_report(session, report_id=report_id, items=items)
    return {"themes": len(themes), "links": links, **refresh_township(session, township_id=items[0].township_id)}
