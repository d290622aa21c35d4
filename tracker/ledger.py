"""Reading the ledger: task rows with their township, report year and source span."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date

from sqlalchemy import select
from sqlmodel import Session

from tracker.models import Item, Report, Task, Township


@dataclass
class TaskRow:
    id: int
    township: str
    report_year: int
    kind: str
    title: str
    status: str
    deadline: date
    category: str | None
    owner_unit: str | None
    owner_person: str | None
    version: int
    start: int
    end: int

    @property
    def owner(self) -> str:
        return " ".join(x for x in (self.owner_unit, self.owner_person) if x)

    def to_json(self) -> dict:
        d = asdict(self)
        d["deadline"] = self.deadline.isoformat()
        d["owner"] = self.owner
        return d


def list_tasks(session: Session, *, township: str | None = None, year: int | None = None,
               kind: str | None = None, status: str | None = None, limit: int | None = None) -> list[TaskRow]:
    q = (select(Task.id, Township.name, Report.report_year, Task.kind, Task.title, Task.status, Task.deadline,
                Task.category, Task.owner_unit, Task.owner_person, Task.version, Item.start, Item.end)
         .join(Township, Task.township_id == Township.id)
         .join(Report, Task.report_id == Report.id)
         .join(Item, Task.item_id == Item.id)
         .order_by(Township.name, Report.report_year, Task.kind.desc(), Item.start))
    if township:
        q = q.where(Township.name == township)
    if year:
        q = q.where(Report.report_year == year)
    if kind:
        q = q.where(Task.kind == kind)
    if status:
        q = q.where(Task.status == status)
    if limit:
        q = q.limit(limit)
    return [TaskRow(*r) for r in session.execute(q)]
