"""The import analysis: what ingest asks once a report's items and tasks are in (themes, plan links,
recurrences and claims), in the import's transaction. The year-end package reads its results."""

from __future__ import annotations

from typing import NamedTuple

from sqlmodel import Session

from tracker.linking import link_report
from tracker.recurrence import refresh_township
from tracker.themes import assign_themes


class AnalysisItem(NamedTuple):
    """A current (not removed) item of the report, with the id of its task if it has one."""

    id: int
    kind: str
    title: str
    text: str
    task_id: int | None


def analyze_report(
    session: Session,
    *,
    report_id: int,
    township_id: int,
    items: list[AnalysisItem],
    first_import: bool,
    other_years: bool,
) -> dict[str, int]:
    """Run in the import's transaction: a report is never in the ledger without its analysis.

    Ingest hands over the items it has just written (in document order) rather than this reading them
    back, and says whether the report is new (`first_import`: no earlier analysis to clear) and whether
    the township may have reports of other years (`other_years`: else nothing recurs).
    """
    if not items:
        return {"themes": 0, "links": 0, "recurrences": 0, "claims": 0}
    themes = assign_themes(
        session,
        report_id=report_id,
        replace=not first_import,
        tasks=[(it.task_id, it.title, it.text) for it in items if it.task_id is not None],
    )
    links = link_report(session, report_id=report_id, items=items, replace=not first_import)
    across = refresh_township(session, township_id=township_id) if other_years else {"recurrences": 0, "claims": 0}
    return {"themes": len(themes), "links": links, **across}
