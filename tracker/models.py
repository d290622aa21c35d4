"""The ledger's tables and their model families, in full-stack-fastapi-template's manner.

For each entity the API and the services share: `XBase` (the fields every shape has), `X` (the table),
`XCreate` / `XUpdate` (what a caller may send), `XPublic` (what is shown: the table's fields plus what
is joined or computed, e.g. a task's township and light). Services return the Public shapes, the API
declares them as response models, the CLI dumps them; a new column is added to the Base (or the
table) and the Public shape follows. Coded values are the enums of tracker/vocabulary.py, stored as
plain strings (`sa_type` keeps the columns VARCHAR, as the migrations create them).
"""

from __future__ import annotations

from datetime import date, datetime
from math import ceil
from typing import Annotated, Any, Optional

from pydantic import computed_field, model_validator
from sqlalchemy import JSON, Index, LargeBinary, Text, UniqueConstraint, func, select
from sqlmodel import AutoString, Field, SQLModel

from tracker.db import UTCDateTime, utcnow
from tracker.vocabulary import TRACKED_KINDS, Category, Kind, Light, Role, Status  # noqa: F401  (re-exported)

MAX_INT = 2_147_483_647  # ids, versions, years: anything larger is a typo (and overflows SQLite)
IdValue = Annotated[int, Field(ge=1, le=MAX_INT)]


def _ts(**kw) -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, **kw)


class County(SQLModel, table=True):
    """A county (县/区): its townships, county users and county channels belong to it. There is always one,
    the default county (the lowest id, named 本县 until renamed), used wherever no county is named."""

    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=64)
    created_at: datetime = _ts()


class CountyPublic(SQLModel):
    id: int
    name: str
    default: bool = Field(description="默认县（未指定县时使用）")
    townships: int = 0
    users: int = 0


class Township(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("county_id", "name", name="uq_township_county_name"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    # indexed by the unique pair; left out, the default county (the lowest id)
    county_id: Optional[int] = Field(
        default=None,
        foreign_key="county.id",
        nullable=False,
        sa_column_kwargs={"default": select(func.min(County.id)).scalar_subquery()},
    )
    name: str = Field(max_length=64)  # unique within its county: 城关镇 repeats across counties
    county: Optional[str] = Field(default=None, max_length=64)  # the county the reports are addressed to (shown)


class ReportBase(SQLModel):
    report_year: int
    plan_year: int
    source_name: str = Field(max_length=255)
    imported_by: str = Field(max_length=64)


class Report(ReportBase, table=True):
    """An imported report, whole; created by ingest (tracker/ingest.py), never edited."""

    __table_args__ = (UniqueConstraint("township_id", "report_year", name="uq_report_township_year"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    township_id: int = Field(foreign_key="township.id", index=True)
    issued_on: Optional[date] = None
    doc_number: Optional[str] = Field(default=None, max_length=128)
    sha256: str = Field(unique=True, max_length=64)
    text: str = Field(sa_type=Text)
    warnings: list[str] = Field(default_factory=list, sa_type=JSON)
    imported_at: datetime = _ts()


class ReportPublic(ReportBase):
    id: int
    township: str
    imported_at: datetime
    tasks: int = Field(description="生成的整改任务数")


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


class TaskBase(SQLModel):
    kind: Kind = Field(sa_type=AutoString(length=16), description="shortcoming（问题）或 plan（计划）")
    title: str = Field(sa_type=Text)
    owner_unit: Optional[str] = Field(default=None, max_length=128, description="责任单位")
    owner_person: Optional[str] = Field(default=None, max_length=64, description="责任人")
    deadline: date = Field(description="整改时限")
    category: Optional[Category] = Field(default=None, sa_type=AutoString(length=8), description="整改类别")
    status: Status = Field(default=Status.unassigned, sa_type=AutoString(length=8))
    version: int = Field(default=1, description="乐观锁版本号：修改时带上读到的版本，过期的修改得到 409")
    progress_percent: Optional[int] = Field(default=None, description="完成进度（%）")


class Task(TaskBase, table=True):
    """A shortcoming or plan item to rectify. Created by ingest; changed only through tracker/lifecycle.py."""

    __table_args__ = (
        Index("ix_task_township_status", "township_id", "status"),
        Index("ix_task_deadline", "deadline"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    township_id: int = Field(foreign_key="township.id")
    report_id: int = Field(foreign_key="report.id", index=True)
    item_id: int = Field(foreign_key="item.id", unique=True)
    description: str = Field(default="", sa_type=Text)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()
    assigned_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)
    last_progress_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)
    submitted_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)
    closed_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)
    stage_done_year: Optional[int] = None  # 长期坚持: 阶段性完成 for this year, stays open


class TaskAssign(SQLModel):
    """The Update of a task: assignment (many at once: all or nothing)."""

    task_ids: list[IdValue] = Field(min_length=1, max_length=5000)
    owner_unit: str = Field(description="责任单位")
    owner_person: str = Field(description="责任人")
    deadline: date = Field(description="整改时限")
    category: Category = Field(description="整改类别")
    versions: Optional[dict[IdValue, IdValue]] = Field(
        None, description="任务编号 → 读到的版本号；给出时，已被他人修改的任务使整个请求得到 409"
    )


class TaskChanged(SQLModel):
    id: int
    status: Status
    version: int


class TaskPublic(TaskBase):
    """A task as listed: its fields, where it comes from, its light and latest progress."""

    id: int
    township: str
    county: Optional[str] = Field(None, description="所属县（区）")
    report_year: int
    light: Optional[Light] = Field(None, description="预警灯（已销号/已撤销的任务没有）")
    latest_note: Optional[str] = Field(None, description="最新进展")
    evidence_count: int = 0


class TaskRow(TaskPublic):
    """A ledger row (pages, Excel, CLI): the listed task with its text and source span."""

    description: str = ""
    start: int
    end: int

    @property
    def owner(self) -> str:
        return " ".join(x for x in (self.owner_unit, self.owner_person) if x)


class TasksPublic(SQLModel):
    items: list[TaskPublic]
    total: int
    page: int
    per_page: int


class TaskPage(TasksPublic):
    """One page of the ledger, as `tracker.ledger.query_tasks` returns it."""

    items: list[TaskRow]

    @property
    def pages(self) -> int:
        return max(1, ceil(self.total / self.per_page))


class UserBase(SQLModel):
    name: str = Field(unique=True, min_length=1, max_length=64)
    role: Role = Field(sa_type=AutoString(length=16))


class User(UserBase, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    township_id: Optional[int] = Field(default=None, foreign_key="township.id")  # set for role township
    county_id: Optional[int] = Field(default=None, foreign_key="county.id")  # county and township users; city: None
    password_hash: str = Field(max_length=255)
    token_hash: Optional[str] = Field(default=None, unique=True, max_length=64)  # sha256 of the API token
    active: bool = True
    created_at: datetime = _ts()
    # Set when a county admin creates the account or resets its password: the user must choose their own
    # at the next login (the pages lead only to /account/password, the API answers 403 until then).
    must_change_password: bool = False
    password_changed_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)  # for the expiry


class UserCreate(UserBase):
    # the password policy (tracker/passwords.py) is checked by the service, with a message naming what is missing
    password: str = Field(min_length=1, max_length=256)
    township: Optional[str] = Field(None, description="乡镇用户所属乡镇")
    county: Optional[str] = Field(None, description="县级和乡镇用户所属县（区），不填为默认县；市级用户不填")


class UserUpdate(SQLModel):
    active: Optional[bool] = None
    password: Optional[str] = Field(None, min_length=1, max_length=256)
    role: Optional[Role] = Field(None, description="新角色（改为乡镇用户时须同时给出 township）")
    township: Optional[str] = Field(None, description="乡镇用户所属乡镇")


class PasswordChange(SQLModel):
    """A user changing their own password."""

    current_password: str = Field(max_length=256)
    new_password: str = Field(min_length=1, max_length=256)


class UserPublic(UserBase):
    id: int
    township: Optional[str] = Field(None, description="乡镇用户所属乡镇")
    county: Optional[str] = Field(None, description="所属县（区）；市级用户为空")
    active: bool
    created_at: datetime
    must_change_password: bool = Field(False, description="下次登录须先修改密码")


class UserRow(UserPublic):
    """A user as the county admin's list shows it (with the lockout)."""

    township_id: Optional[int] = None
    locked_until: Optional[datetime] = None


class Progress(SQLModel, table=True):
    """One progress post by a township: a note, an optional percent, evidence files."""

    id: Optional[int] = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="task.id", index=True)
    at: datetime = _ts()
    author: str = Field(max_length=64)
    note: str = Field(sa_type=Text)
    percent: Optional[int] = None


class ProgressPublic(SQLModel):
    id: int
    at: datetime
    author: str
    note: str
    percent: Optional[int]


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


class EvidencePublic(SQLModel):
    id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_at: datetime
    uploaded_by: str

    @computed_field
    @property
    def download_url(self) -> str:
        return f"/api/v1/evidence/{self.id}"


class TaskDetailPublic(TaskPublic):
    """One task with everything its page shows (`tracker.lifecycle.task_detail`)."""

    description: str = Field(description="报告原文中的这一项")
    report_id: int
    source_start: int = Field(description="在报告全文中的起始位置")
    source_end: int
    stage_done_year: Optional[int] = None
    actions: list[str] = Field(description="当前用户此刻可执行的操作")
    progress: list[ProgressPublic]
    evidence: list[EvidencePublic]


class JournalChange(SQLModel):
    field: str
    old: str
    new: str

    @model_validator(mode="before")
    @classmethod
    def _from_triple(cls, value: Any) -> Any:
        # tracker.lifecycle.journal gives (label, old, new), as the page and the CLI print them
        return dict(zip(("field", "old", "new"), value)) if isinstance(value, (tuple, list)) else value


class JournalEntry(SQLModel):
    """One entry of a task's journal as people read it (`tracker.lifecycle.journal`)."""

    at: datetime
    actor: str
    action: str
    changes: list[JournalChange]
    reason: Optional[str]


class AuditEvent(SQLModel, table=True):
    """Append-only journal of every write, login, logout, export and import: who, when, what, before and after.

    Only tracker/audit.py writes it (inserts only); no route or service updates or deletes a row."""

    __table_args__ = (
        Index("ix_audit_entity", "entity", "entity_id"),
        Index("ix_audit_at", "at"),
        Index("ix_audit_actor_at", "actor", "at"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    at: datetime = _ts()
    actor: str = Field(max_length=64)
    action: str = Field(max_length=32)
    entity: str = Field(max_length=32)
    entity_id: int
    before: Optional[dict] = Field(default=None, sa_type=JSON)
    after: Optional[dict] = Field(default=None, sa_type=JSON)
    reason: Optional[str] = Field(default=None, sa_type=Text)
    address: Optional[str] = Field(default=None, max_length=64)  # the client's address (web and API requests)


class PasswordHistory(SQLModel, table=True):
    """Argon2 hashes of a user's earlier passwords, so the last few are not chosen again."""

    id: Optional[int] = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    password_hash: str = Field(max_length=255)
    created_at: datetime = _ts()


class AuditEventPublic(SQLModel):
    id: int
    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: int
    address: Optional[str] = None
    before: Optional[dict] = None
    after: Optional[dict] = None
    reason: Optional[str] = None


# ---------------------------------------------------------------------------------------------------
# Import analysis: themes, plan ↔ shortcoming links, recurrences across years, rectification claims.
# Written in the import's transaction; the rules that fill them live in tracker/themes.py,
# tracker/linking.py and tracker/recurrence.py.
# ---------------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------------
# Logins: server-side sessions and the lockout (tracker/sessions.py, tracker/lockout.py).
# ---------------------------------------------------------------------------------------------------


class UserSession(SQLModel, table=True):
    """A logged-in session: the cookie holds a random id, this row its sha256. Deleting it ends the session."""

    key: str = Field(primary_key=True, max_length=64)  # sha256 hex of the id in the cookie
    user_id: int = Field(foreign_key="user.id", index=True)
    created_at: datetime = _ts()  # for the lifetime (RECTIFY_SESSION_HOURS)
    seen_at: datetime = _ts()  # for the idle timeout (RECTIFY_SESSION_IDLE_MINUTES), written at most once a minute
    address: Optional[str] = Field(default=None, max_length=64)  # the client's address at login
    flash: Optional[list] = Field(default=None, sa_type=JSON)  # messages shown once (a new API token among them)


class LoginAttempt(SQLModel, table=True):
    """Failed logins per (name as typed, client address); the pair is locked once they reach the limit."""

    name: str = Field(primary_key=True, max_length=64)
    address: str = Field(primary_key=True, max_length=64)
    failures: int = 0
    locked_until: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = _ts(index=True)  # stale counts restart; untouched rows are purged


# ---------------------------------------------------------------------------------------------------
# State shared by every web process (issue 11): uploads waiting for review, evidence kept in the database.
# ---------------------------------------------------------------------------------------------------


class PendingUpload(SQLModel, table=True):
    """An uploaded report waiting for review (tracker/uploads.py): the extraction with its document text,
    edited in place until the county confirms (the row goes with the import, in one transaction) or discards
    it. The list on /reports reads only the small columns beside `extraction`."""

    token: str = Field(primary_key=True, max_length=64)  # random, in the review page's address
    sha256: str = Field(max_length=64)  # of the uploaded file, as the import records it
    uploaded_by: str = Field(max_length=64)
    uploaded_at: datetime = _ts(index=True)
    county_id: Optional[int] = Field(default=None, foreign_key="county.id", index=True)  # the uploader's county
    source_name: str = Field(max_length=255)
    unit: Optional[str] = Field(default=None, max_length=255)  # as extracted or corrected by the reviewer
    report_year: Optional[int] = None
    item_count: int = 0
    extraction: dict = Field(sa_type=JSON)  # Extraction.to_dict() plus text and source_name


class EvidenceBlob(SQLModel, table=True):
    """Evidence content when RECTIFY_EVIDENCE_STORE=database (tracker/evidence.py): one row per sha256, bytea
    on PostgreSQL and a BLOB on SQLite, written in the transaction of the Evidence row that references it."""

    sha256: str = Field(primary_key=True, max_length=64)
    size: int
    data: bytes = Field(sa_type=LargeBinary)
    created_at: datetime = _ts()
