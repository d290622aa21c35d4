"""The API's request and response models (Base → Create/Update → Public, as in full-stack-fastapi-template)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from tracker.models import Category, Role, Status
from tracker.web.forms import MAX_INT

IdValue = Annotated[int, Field(ge=1, le=MAX_INT)]
Light = Literal["red", "yellow", "green"]
TaskKind = Literal["shortcoming", "plan"]


class TaskBase(BaseModel):
    title: str
    kind: TaskKind = Field(description="shortcoming（问题）或 plan（计划）")
    owner_unit: str | None = Field(None, description="责任单位")
    owner_person: str | None = Field(None, description="责任人")
    deadline: date = Field(description="整改时限")
    category: Category | None = Field(None, description="整改类别")


class TaskPublic(TaskBase):
    id: int
    township: str
    report_year: int
    status: Status
    version: int = Field(description="乐观锁版本号：修改时带上读到的版本，过期的修改得到 409")
    light: Light | None = Field(None, description="预警灯（已销号/已撤销的任务没有）")
    progress_percent: int | None = None
    latest_note: str | None = Field(None, description="最新进展")
    evidence_count: int = 0


class TasksPublic(BaseModel):
    items: list[TaskPublic]
    total: int
    page: int
    per_page: int


class ProgressPublic(BaseModel):
    id: int
    at: datetime
    author: str
    note: str
    percent: int | None


class EvidencePublic(BaseModel):
    id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_at: datetime
    uploaded_by: str
    download_url: str


class TaskDetailPublic(TaskPublic):
    description: str = Field(description="报告原文中的这一项")
    report_id: int
    source_start: int = Field(description="在报告全文中的起始位置")
    source_end: int
    stage_done_year: int | None = None
    actions: list[str] = Field(description="当前用户此刻可执行的操作")
    progress: list[ProgressPublic]
    evidence: list[EvidencePublic]


class TaskAssign(BaseModel):
    task_ids: list[IdValue] = Field(min_length=1, max_length=5000)
    owner_unit: str
    owner_person: str
    deadline: date
    category: Category
    versions: dict[IdValue, IdValue] | None = Field(
        None, description="任务编号 → 读到的版本号；给出时，已被他人修改的任务使整个请求得到 409")


class TaskChanged(BaseModel):
    id: int
    status: Status
    version: int


class TaskVersion(BaseModel):
    version: IdValue = Field(description="读到的版本号")


class TaskVerify(TaskVersion):
    reject_reason: str | None = Field(None, description="为空：审核通过并销号；填写：退回乡镇")


class JournalChange(BaseModel):
    field: str
    old: str
    new: str


class JournalEntry(BaseModel):
    at: datetime
    actor: str
    action: str
    changes: list[JournalChange]
    reason: str | None


class ReportPublic(BaseModel):
    id: int
    township: str
    report_year: int
    plan_year: int
    source_name: str
    imported_at: datetime
    imported_by: str
    tasks: int


class ReportImportResult(BaseModel):
    file: str
    outcome: Literal["imported", "replaced", "duplicate", "failed"]
    message: str
    report_id: int | None = None
    township: str | None = None
    report_year: int | None = None
    tasks: int | None = None


class UserBase(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    role: Role
    township: str | None = Field(None, description="乡镇用户所属乡镇")


class UserCreate(UserBase):
    password: str = Field(min_length=8, max_length=256)


class UserUpdate(BaseModel):
    active: bool | None = None
    password: str | None = Field(None, min_length=8, max_length=256)


class UserPublic(UserBase):
    id: int
    active: bool
    created_at: datetime


class Message(BaseModel):
    detail: str
