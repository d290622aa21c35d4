"""What ingest asks once a report's items and tasks are in: themes, links, recurrences and claims."""
from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from tracker.linking import link_report
from tracker.models import Report
from tracker.recurrence import refresh_township
from tracker.themes import assign_themes


def analyze_report(session: Session, *, report_id: int) -> dict[str, int]:
    """Run in the import's transaction: a report is never in the ledger without its analysis."""
    township_id = session.execute(select(Report.township_id).where(Report.id == report_id)).scalar_one()
    themes = assign_themes(session, report_id=report_id)
    links = link_report(session, report_id=report_id)
    return {"themes": len(themes), "links": links, **refresh_township(session, township_id=township_id)}
