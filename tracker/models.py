"""The ledger's core tables: townships, reports, extracted items, tasks and the audit journal."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Optional

from sqlalchemy import JSON, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from tracker.db import UTCDateTime, utcnow
from tracker.vocabulary import TRACKED_KINDS, Category, Kind, Role, Status  # noqa: F401  (re-exported)


def _ts(**kw) -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, **kw)


class Township(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=64)
    county: Optional[str] = Field(default=None, max_length=64)


class Report(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("township_id", "report_year", name="uq_report_township_year"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    township_id: int = Field(foreign_key="township.id", index=True)
    report_year: int
    plan_year: int
    issued_on: Optional[date] = None
    doc_number: Optional[str] = Field(default=None, max_length=128)
    source_name: str = Field(max_length=255)
    sha256: str = Field(unique=True, max_length=64)
    text: str = Field(sa_type=Text)
    warnings: list[str] = Field(default_factory=list, sa_type=JSON)
    imported_at: datetime = _ts()
    imported_by: str = Field(max_length=64)


class Item(SQLModel, table=True):
    """One extracted point of a report, with its exact span in `Report.text`."""

    id: Optional[int] = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="report.id", index=True)
    kind: str = Field(max_length=16)
    seq: int
    title: str = Field(sa_type=Text)
    text: str = Field(sa_type=Text)
    start: int
    end: int
    causes: list[str] = Field(default_factory=list, sa_type=JSON)
    section: str = Field(default="", sa_type=Text)
    # Set when a re-import (--replace) no longer contains this item; its span refers to the old text.
    removed_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)


class Task(SQLModel, table=True):
    __table_args__ = (
        Index("ix_task_township_status", "township_id", "status"),
        Index("ix_task_deadline", "deadline"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    township_id: int = Field(foreign_key="township.id")
    report_id: int = Field(foreign_key="report.id", index=True)
    item_id: int = Field(foreign_key="item.id", unique=True)
    kind: str = Field(max_length=16)
    title: str = Field(sa_type=Text)
    description: str = Field(default="", sa_type=Text)
    owner_unit: Optional[str] = Field(default=None, max_length=128)
    owner_person: Optional[str] = Field(default=None, max_length=64)
    deadline: date
    category: Optional[str] = Field(default=None, max_length=8)
    status: str = Field(default=Status.unassigned, max_length=8)
    version: int = 1  # optimistic locking: every edit names the version it was based on
    created_at: datetime = _ts()
    updated_at: datetime = _ts()
    assigned_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)
    last_progress_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)
    progress_percent: Optional[int] = None
    submitted_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)
    closed_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)
    stage_done_year: Optional[int] = None  # 长期坚持: 阶段性完成 for this year, stays open


class User(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=64)
    role: str = Field(max_length=16)
    township_id: Optional[int] = Field(default=None, foreign_key="township.id")  # set for role township
    password_hash: str = Field(max_length=255)
    token_hash: Optional[str] = Field(default=None, unique=True, max_length=64)  # sha256 of the API token
    active: bool = True
    failed_logins: int = 0
    locked_until: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = _ts()


class Progress(SQLModel, table=True):
    """One progress post by a township: a note, an optional percent, evidence files."""

    id: Optional[int] = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="task.id", index=True)
    at: datetime = _ts()
    author: str = Field(max_length=64)
    note: str = Field(sa_type=Text)
    percent: Optional[int] = None


class Evidence(SQLModel, table=True):
    """An evidence file (佐证材料), stored content-addressed under the data dir by sha256."""

    id: Optional[int] = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="task.id", index=True)
    progress_id: Optional[int] = Field(default=None, foreign_key="progress.id")
    filename: str = Field(max_length=255)
    content_type: str = Field(max_length=128)
    size: int
    sha256: str = Field(max_length=64, index=True)
    uploaded_at: datetime = _ts()
    uploaded_by: str = Field(max_length=64)


class AuditEvent(SQLModel, table=True):
    """Append-only journal of every write: who, when, what, before and after."""

    __table_args__ = (Index("ix_audit_entity", "entity", "entity_id"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    at: datetime = _ts()
    actor: str = Field(max_length=64)
    action: str = Field(max_length=32)
    entity: str = Field(max_length=32)
    entity_id: int
    before: Optional[dict] = Field(default=None, sa_type=JSON)
    after: Optional[dict] = Field(default=None, sa_type=JSON)
    reason: Optional[str] = Field(default=None, sa_type=Text)


# ---------------------------------------------------------------------------------------------------
# Import analysis: themes, plan ↔ shortcoming links, recurrences across years, rectification claims.
# Written in the import's transaction; the rules that fill them live in tracker/themes.py,
# tracker/linking.py and tracker/recurrence.py.
# ---------------------------------------------------------------------------------------------------

# Serves the county's views (dashboard, export, ledger of one county); created by migration 0002.
Index("ix_township_county", Township.county)


class TaskTheme(SQLModel, table=True):
    """The theme of a task (shortcoming or plan), kept beside the task and refreshed on (re)import."""

    task_id: int = Field(foreign_key="task.id", primary_key=True)
    theme: str = Field(max_length=16, index=True)


class ItemLink(SQLModel, table=True):
    """A plan item of a report that answers one of its shortcomings (tracker/linking.py)."""

    __table_args__ = (UniqueConstraint("shortcoming_item_id", "plan_item_id", name="uq_itemlink_pair"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="report.id", index=True)
    shortcoming_item_id: int = Field(foreign_key="item.id")  # indexed by the unique pair
    plan_item_id: int = Field(foreign_key="item.id", index=True)
    score: float


class Recurrence(SQLModel, table=True):
    """`task_id` (a shortcoming of year N) repeats `earlier_task_id` (year N-1); `years` in a row so far."""

    __table_args__ = (UniqueConstraint("task_id", "earlier_task_id", name="uq_recurrence_pair"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="task.id")  # indexed by the unique pair
    earlier_task_id: int = Field(foreign_key="task.id", index=True)
    score: float
    years: int


class RectificationClaim(SQLModel, table=True):
    """What a report's 问题整改情况 item says about one of last year's problems.

    `claim` is done / in_progress / ongoing / unclear. "The report says done, the ledger does not"
    is `claim == 'done'` while the task is not 已销号; it is checked at read time
    (`tracker.recurrence.mismatch_sql`) because the ledger moves on after the report was imported.
    """

    id: Optional[int] = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="item.id", unique=True)
    task_id: Optional[int] = Field(default=None, foreign_key="task.id", index=True)
    score: float = 0.0
    claim: str = Field(max_length=16)
