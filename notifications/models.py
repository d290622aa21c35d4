"""Reminder tables: recipients (channels), the outbox, the scheduler's lease and run log; the
vocabulary of channels and messages; the Channel and Outbox model families (Base / table / Create /
Public, as in tracker/models.py).

The outbox is the single source of truth for "was this reminder created / delivered": every row
has a dedupe key (kind, task or event, threshold or period, channel) under a unique constraint,
so re-running a check, two processes, or a crash can never create a reminder twice.

The outbox's references (channel, township, task, journal entry) carry no foreign-key constraints:
none of those rows is ever deleted (channels are deactivated, tasks withdrawn, the journal is
append-only), and the constraint checks more than doubled the cost of queueing a large backlog.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Optional

from sqlalchemy import JSON, Column, Float, Index, LargeBinary, String, Table, Text, Unicode
from sqlmodel import AutoString, Field, SQLModel

from tracker.db import UTCDateTime, utcnow
from tracker.vocabulary import Labelled


class ChannelKind(Labelled):
    email = "email", "电子邮件"
    wecom = "wecom", "企业微信群机器人"
    dingtalk = "dingtalk", "钉钉群机器人"
    webhook = "webhook", "Webhook"


class ChannelRole(Labelled):
    staff = "staff", "工作人员"  # county: digests and escalations; township: everything about its tasks
    leader = "leader", "领导（督办）"  # county leader (督办): escalations only


class MessageKind(Labelled):
    due_soon = "due_soon", "到期提醒"
    overdue = "overdue", "逾期催办"
    stale = "stale", "无进展提醒"
    sent_back = "sent_back", "退回通知"
    escalation = "escalation", "督办通知"
    digest = "digest", "每周汇总"


class OutboxStatus(Labelled):
    pending = "pending", "待发送"
    sent = "sent", "已发送"
    failed = "failed", "发送失败"


def _ts(**kw) -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, **kw)


class ChannelBase(SQLModel):
    kind: ChannelKind = Field(sa_type=AutoString(length=16), description="email / wecom / dingtalk / webhook")
    target: str = Field(max_length=512, description="邮箱地址或机器人/Webhook 地址")
    role: ChannelRole = Field(
        default=ChannelRole.staff,
        sa_type=AutoString(length=16),
        description="staff（工作人员）或 leader（县领导，督办）",
    )


class Channel(ChannelBase, table=True):
    """One recipient: an email address or a group robot / webhook URL, of a township or of the county."""

    id: Optional[int] = Field(default=None, primary_key=True)
    township_id: Optional[int] = Field(default=None, foreign_key="township.id", index=True)  # None: county
    # the county it belongs to (a township channel: its township's); county-level messages go to its county's
    county_id: Optional[int] = Field(default=None, foreign_key="county.id")
    secret: Optional[str] = Field(default=None, max_length=255)
    active: bool = True
    activated_at: datetime = _ts()  # added or reactivated: the next check gives it everything owed
    created_at: datetime = _ts()
    created_by: str = Field(default="", max_length=64)


class ChannelCreate(ChannelBase):
    township: Optional[str] = Field(None, description="乡镇名称；不填表示县级渠道")
    secret: Optional[str] = Field(None, description="钉钉加签密钥或 Webhook 签名密钥")


class ChannelPublic(ChannelBase):
    id: int
    scope: str = Field(description="乡镇名称，县级渠道为“全县”")
    has_secret: bool
    created_at: datetime
    created_by: str


class OutboxBase(SQLModel):
    kind: MessageKind = Field(sa_type=AutoString(length=16))
    task_id: Optional[int] = None
    status: OutboxStatus = Field(default=OutboxStatus.pending, sa_type=AutoString(length=8))
    attempts: int = 0
    last_error: Optional[str] = Field(default=None, sa_type=Text)
    next_attempt_at: datetime = _ts()
    created_at: datetime = _ts()
    sent_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)


class Outbox(OutboxBase, table=True):
    """One message to one channel. Queued by set-based INSERTs (notifications/reminders.py, digest.py),
    so there is no Create shape; `retry` is its only update."""

    __table_args__ = (Index("ix_outbox_status_next", "status", "next_attempt_at"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    # ASCII; byte order on PostgreSQL ("C"): a locale-aware unique index is several times slower to fill
    dedupe_key: str = Field(
        sa_column=Column(
            String(191).with_variant(String(191, collation="C"), "postgresql"), nullable=False, unique=True
        )
    )
    channel_id: int
    township_id: Optional[int] = None
    event_id: Optional[int] = None  # the 退回 journal entry
    threshold: Optional[int] = None  # days before the deadline, or the repeat period's index
    as_of: date  # the day the check found it due; the message speaks of that day
    payload: Optional[dict] = Field(default=None, sa_type=JSON)  # digests: the counts and lists to show
    claim: Optional[str] = Field(default=None, max_length=32)  # which delivery run holds it now
    claimed_until: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)


class OutboxPublic(OutboxBase):
    """A message as the outbox page and API show it: where it went and what it was about."""

    id: int
    township: str = Field(description="乡镇名称，县级消息为“全县”")
    task_title: Optional[str] = None
    channel_kind: str
    target: str
    dedupe_key: str


class SchedulerLease(SQLModel, table=True):
    """Which process runs the scheduler; it renews `expires_at`, others take over once it lapses."""

    name: str = Field(primary_key=True, max_length=32)
    holder: str = Field(max_length=128)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    acquired_at: datetime = _ts()


class JobRun(SQLModel, table=True):
    """The embedded scheduler's own run log (Prefect keeps its own when flows run there)."""

    id: Optional[int] = Field(default=None, primary_key=True)
    job: str = Field(max_length=32, index=True)
    holder: str = Field(max_length=128)
    started_at: datetime = _ts()
    finished_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)
    status: str = Field(default="running", max_length=8)  # running | ok | error
    summary: Optional[dict] = Field(default=None, sa_type=JSON)
    error: Optional[str] = Field(default=None, sa_type=Text)


class NotifyCursor(SQLModel, table=True):
    """How far a scan has read: the journal (退回 notices), and the last completed reminder check."""

    name: str = Field(primary_key=True, max_length=32)
    position: int = 0  # the journal (auditevent.id) read up to
    as_of: Optional[date] = None  # the check: the day it checked
    since: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)  # the check: changes after this are new


# APScheduler's job store table, declared here so migrations own it like every other table.
# Mirrors apscheduler.jobstores.sqlalchemy.SQLAlchemyJobStore (3.x), which creates it only if absent.
apscheduler_jobs = Table(
    "apscheduler_jobs",
    SQLModel.metadata,
    Column("id", Unicode(191), primary_key=True),
    Column("next_run_time", Float(25), index=True),
    Column("job_state", LargeBinary, nullable=False),
)
