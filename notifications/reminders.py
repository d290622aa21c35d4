"""Which reminders are owed on a day, found and queued set-based: one INSERT … SELECT per rule.

Every rule is "crossed a threshold and not yet reminded for it", never "deadline == today + N":
the dedupe key names the threshold (or the repeat period's index) and the outbox's unique
constraint skips what was queued before. So a check run twice queues nothing new, and a check
after days of downtime still queues what is owed, once (the tightest threshold only: skipping from
8 days to 2 days before the deadline yields the 7-day reminder, not the 30-day one).

Who is reminded:
- 整改中 tasks only. 待分派 tasks have no owner yet: the county's weekly digest counts them instead.
  待审核 tasks wait on the county, not the township: no due/overdue/stale reminders while in review.
- due soon: deadline within N days (N in settings.due_days, default 30/7/1), to the township's channels.
- overdue: deadline passed; again every `overdue_repeat_days` (period index in the key).
- escalation (督办): overdue more than `escalate_days`, once per deadline, to the township's and
  the county's channels (staff and leaders).
- stale: no progress for `stale_days` (counted like the yellow light), again every `stale_days`;
  not while overdue (the overdue reminder already chases it).
- sent back (退回): every `reject` journal entry, read incrementally, to the township's channels.
Deadline-based keys include the deadline: a moved deadline starts its reminders afresh.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import BigInteger, Date, Integer, String, and_, case, cast, func, literal, null, select
from sqlalchemy.engine import Connection, Engine

from notifications.models import Channel, MessageKind, NotifyCursor, OutboxStatus
from notifications.outbox import dialect_insert, enqueue_select
from tracker.config import NotifySettings, get_settings
from tracker.db import UTCDateTime, utcnow
from tracker.lights import _day_start_utc
from tracker.models import AuditEvent, Status, Task

REMIND_STATUS = Status.in_progress.value
SENT_BACK_ACTION = "reject"  # tracker.lifecycle's journal action for 退回
SENT_BACK_LOOKBACK = timedelta(days=3)  # a first scan of an old journal does not replay history
SETTLE = timedelta(minutes=10)  # journal rows older than this are committed: the cursor may pass them


class _Sql:
    """The few expressions SQLite and PostgreSQL spell differently."""

    def __init__(self, dialect: str):
        self.pg = dialect == "postgresql"

    def iso(self, col):
        return func.to_char(col, "YYYY-MM-DD") if self.pg else cast(col, String)

    def days_after(self, day: date, col):
        """Whole days from the date column `col` to `day`."""
        if self.pg:
            return cast(literal(day, Date) - col, Integer)
        return cast(func.julianday(literal(day.isoformat())) - func.julianday(col), Integer)

    def epoch(self, col):
        """Whole seconds since 1970 of a UTC timestamp column."""
        if self.pg:
            return cast(func.floor(func.date_part("epoch", col)), BigInteger)
        return cast(func.strftime("%s", col), BigInteger)


def _key(*parts):
    """'due:' || task.id || ':' || … as one SQL string expression."""
    expr = literal(f"{parts[0]}:")
    for i, p in enumerate(parts[1:]):
        expr = expr + (p if isinstance(p, str) else cast(p, String))
        if i < len(parts) - 2:
            expr = expr + literal(":")
    return expr


def _rows(key, kind: str, channel_id, *, township_id, task_id, event_id=None, threshold=None, as_of: date,
          now: datetime):
    """The select list in REMINDER_COLUMNS order."""
    return (key, channel_id, literal(kind), township_id, task_id,
            event_id if event_id is not None else cast(null(), Integer),
            threshold if threshold is not None else cast(null(), Integer), literal(as_of, Date),
            literal(OutboxStatus.pending.value), literal(0), literal(now, UTCDateTime), literal(now, UTCDateTime))


def _township_channels():
    return and_(Channel.township_id == Task.township_id, Channel.active.is_(True))


def _county_channels():
    return and_(Channel.township_id.is_(None), Channel.active.is_(True))


def enqueue_reminders(*, engine: Engine, as_of: date, settings: NotifySettings | None = None,
                      stale_days: int | None = None, now: datetime | None = None) -> dict[str, int]:
    """Queue every task reminder owed on `as_of`; returns how many new ones per kind."""
    ns = settings or get_settings().notify
    stale_days = stale_days or get_settings().stale_days
    now = now or utcnow()
    with engine.begin() as conn:
        sql = _Sql(conn.dialect.name)
        return {
            MessageKind.due_soon.value: _due_soon(conn, sql, as_of, ns, now),
            MessageKind.overdue.value: _overdue(conn, sql, as_of, ns, now),
            MessageKind.escalation.value: _escalation(conn, sql, as_of, ns, now),
            MessageKind.stale.value: _stale(conn, sql, as_of, stale_days, now),
        }


def _due_soon(conn: Connection, sql: _Sql, as_of: date, ns: NotifySettings, now: datetime) -> int:
    if not ns.due_days:
        return 0
    *tighter, widest = sorted(ns.due_days)
    # the tightest threshold the deadline is within: the one reminder owed now
    n = case(*[(Task.deadline <= as_of + timedelta(days=d), literal(d)) for d in tighter], else_=literal(widest))
    query = (select(*_rows(_key("due", Task.id, sql.iso(Task.deadline), n, Channel.id), MessageKind.due_soon,
                           Channel.id, township_id=Task.township_id, task_id=Task.id, threshold=n, as_of=as_of, now=now))
             .select_from(Task).join(Channel, _township_channels())
             .where(Task.status == REMIND_STATUS, Task.deadline >= as_of,
                    Task.deadline <= as_of + timedelta(days=widest)))
    return enqueue_select(conn, query)


def _overdue(conn: Connection, sql: _Sql, as_of: date, ns: NotifySettings, now: datetime) -> int:
    period = (sql.days_after(as_of, Task.deadline) - 1) // ns.overdue_repeat_days  # 0 on days 1..7, 1 on 8..14, …
    query = (select(*_rows(_key("overdue", Task.id, sql.iso(Task.deadline), period, Channel.id), MessageKind.overdue,
                           Channel.id, township_id=Task.township_id, task_id=Task.id, threshold=period, as_of=as_of,
                           now=now))
             .select_from(Task).join(Channel, _township_channels())
             .where(Task.status == REMIND_STATUS, Task.deadline < as_of))
    return enqueue_select(conn, query)


def _escalation(conn: Connection, sql: _Sql, as_of: date, ns: NotifySettings, now: datetime) -> int:
    total = 0
    for channels in (_township_channels(), _county_channels()):
        query = (select(*_rows(_key("esc", Task.id, sql.iso(Task.deadline), Channel.id), MessageKind.escalation,
                               Channel.id, township_id=Task.township_id, task_id=Task.id, as_of=as_of, now=now))
                 .select_from(Task).join(Channel, channels)
                 .where(Task.status == REMIND_STATUS, Task.deadline < as_of - timedelta(days=ns.escalate_days)))
        total += enqueue_select(conn, query)
    return total


def _stale(conn: Connection, sql: _Sql, as_of: date, stale_days: int, now: datetime) -> int:
    activity = func.coalesce(Task.last_progress_at, Task.assigned_at, Task.created_at)
    day_start = _day_start_utc(as_of)
    period = (literal(int(day_start.timestamp())) - sql.epoch(activity)) // (stale_days * 86400)
    query = (select(*_rows(_key("stale", Task.id, sql.epoch(activity), period, Channel.id), MessageKind.stale,
                           Channel.id, township_id=Task.township_id, task_id=Task.id, threshold=period, as_of=as_of,
                           now=now))
             .select_from(Task).join(Channel, _township_channels())
             .where(Task.status == REMIND_STATUS, Task.deadline >= as_of,
                    activity < day_start - timedelta(days=stale_days)))  # the yellow light's rule
    return enqueue_select(conn, query)


def enqueue_sent_back(*, engine: Engine, as_of: date, now: datetime | None = None) -> int:
    """Queue a 退回 notice for every new `reject` journal entry (read from a cursor, not the whole journal)."""
    now = now or utcnow()
    with engine.begin() as conn:
        cursor = conn.execute(select(NotifyCursor.position).where(NotifyCursor.name == "sent_back")).scalar()
        position = cursor or 0
        query = (select(*_rows(_key("back", AuditEvent.id, Channel.id), MessageKind.sent_back, Channel.id,
                               township_id=Task.township_id, task_id=Task.id, event_id=AuditEvent.id, as_of=as_of,
                               now=now))
                 .select_from(AuditEvent)
                 .join(Task, Task.id == AuditEvent.entity_id)
                 .join(Channel, _township_channels())
                 .where(AuditEvent.id > position, AuditEvent.entity == "task",
                        AuditEvent.action == SENT_BACK_ACTION, AuditEvent.at >= now - SENT_BACK_LOOKBACK))
        queued = enqueue_select(conn, query)
        # Move past entries old enough to be committed; newer ones are read again (their keys dedupe).
        settled = conn.execute(select(func.max(AuditEvent.id))
                               .where(AuditEvent.id > position, AuditEvent.at < now - SETTLE)).scalar()
        if settled is not None:
            table = NotifyCursor.__table__
            if cursor is None:
                conn.execute(dialect_insert(conn, table).values(name="sent_back", position=settled)
                             .on_conflict_do_nothing(index_elements=["name"]))
            else:
                conn.execute(table.update().where(table.c.name == "sent_back", table.c.position == position)
                             .values(position=settled))
    return queued
