"""What only the API has: request bodies of single actions, the import result and the error shape.

The entities' shapes (Task*, Report*, User*, Progress*, Evidence*, Journal*) are the model families
of tracker/models.py, shared with the services; the channels' and outbox's are in notifications/models.py.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from tracker.models import IdValue

TaskKind = Literal["shortcoming", "plan"]


class TaskVersion(BaseModel):
    version: IdValue = Field(description="读到的版本号")


class TaskVerify(TaskVersion):
    reject_reason: str | None = Field(None, description="为空：审核通过并销号；填写：退回乡镇")


class ReportImportResult(BaseModel):
    file: str
    outcome: Literal["imported", "replaced", "duplicate", "failed"]
    message: str
    report_id: int | None = None
    township: str | None = None
    report_year: int | None = None
    tasks: int | None = None


class Message(BaseModel):
    detail: str
