"""Which reminders are owed on a day, found and queued set-based: INSERT … SELECT … ON CONFLICT DO NOTHING.

Every rule is "crossed a threshold and not yet reminded for it", never "deadline == today + N":
the dedupe key names the threshold (or the repeat period's index) and the outbox's unique
constraint skips what was queued before. So a check run twice queues nothing new, and a check
after days of downtime still queues what is owed, once (the tightest threshold only: skipping from
8 days to 2 days before the deadline yields the 7-day reminder, not the 30-day one).

Work per check: the first check (or one for a day before the last checked day) examines every
open task. Later checks examine only what can owe something new since the last completed check
(recorded in the same transaction as its reminders): thresholds crossed after its day, tasks
changed since (every task change is journaled, see tracker.audit), and channels added since.
The rest was queued by that check already; the keys keep both ways exact, the window keeps a
daily check over two million tasks to the few thousand that crossed something.

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

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import (
    BigInteger,
    Date,
    Integer,
    String,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from notifications.models import Channel, MessageKind, NotifyCursor, Outbox, OutboxStatus
from notifications.outbox import REMINDER_COLUMNS, dialect_insert, enqueue_select
from tracker.config import NotifySettings, get_settings
from tracker.db import UTCDateTime, utcnow
from tracker.lights import day_start_utc
from tracker.models import AuditEvent, Status, Task, Township

REMIND_STATUS = Status.in_progress.value
SENT_BACK_ACTION = "reject"  # tracker.lifecycle's journal action for 退回
SENT_BACK_LOOKBACK = timedelta(days=3)  # a first scan of an old journal does not replay history
SETTLE = timedelta(minutes=10)  # journal rows older than this are committed: a cursor may pass them
CURSOR = NotifyCursor.__table__
REMINDER_KINDS = (
    MessageKind.due_soon.value,
    MessageKind.overdue.value,
    MessageKind.escalation.value,
    MessageKind.stale.value,
)


class _Sql:
    """The few expressions SQLite and PostgreSQL spell differently."""

    def __init__(self, dialect: str):
        self.pg = dialect == "postgresql"

    def iso(self, col):
        return func.to_char(col, "YYYY-MM-DD") if self.pg else col

    def days_after(self, day: date, col):
        """Whole days from the date column `col` to `day`."""
        if self.pg:
            return cast(literal(day, Date) - col, Integer)
        return cast(func.julianday(literal(day.isoformat())) - func.julianday(col), Integer)

    def epoch(self, col):
        """Whole seconds since 1970 of a UTC timestamp column."""
        if self.pg:
            return cast(func.floor(func.date_part("epoch", col)), BigInteger)
        return cast(func.unixepoch(col), BigInteger)

    def scanned(self, col):
        """`col` in a condition SQLite must not answer from an index: it would fetch most of the table
        row by row in index order, several times slower than reading it through (PostgreSQL's planner
        weighs this itself)."""
        return col if self.pg else literal_column(f"+{col.table.name}.{col.name}", col.type)


@dataclass(frozen=True)
class Window:
    """What can owe a new reminder since the last completed check."""

    day: date  # that check's day: thresholds crossed after it
    journal: int  # journal read up to: tasks changed after it
    since: datetime  # channels activated after it


def _key(*parts):
    """'due:' || task.id || ':' || … as one SQL string expression."""
    expr = literal(f"{parts[0]}:")
    for i, p in enumerate(parts[1:]):
        expr = expr + cast(p, String)
        if i < len(parts) - 2:
            expr = expr + literal(":")
    return expr


def _rows(key, kind: str, *, task_id, event_id=None, threshold=None, as_of: date, now: datetime):
    """The select list in outbox.REMINDER_COLUMNS order."""
    return (
        key,
        Channel.id,
        literal(kind),
        Task.township_id,
        task_id,
        event_id if event_id is not None else cast(null(), Integer),
        threshold if threshold is not None else cast(null(), Integer),
        literal(as_of, Date),
        literal(OutboxStatus.pending.value),
        literal(0),
        literal(now, UTCDateTime),
        literal(now, UTCDateTime),
    )


def _township_channels():
    return and_(Channel.township_id == Task.township_id, Channel.active.is_(True))


def _county_channels():
    """The county-level channels of the task's county (escalations go to that county's staff and leaders)."""
    county_of_task = select(Township.county_id).where(Township.id == Task.township_id).scalar_subquery()
    return and_(Channel.township_id.is_(None), Channel.active.is_(True), Channel.county_id == county_of_task)


class _Check:
    def __init__(
        self,
        conn: Connection,
        as_of: date,
        ns: NotifySettings,
        stale_days: int,
        now: datetime,
        window: Window | None,
        *,
        plain: bool = False,
    ):
        self.conn, self.as_of, self.ns, self.stale_days, self.now, self.window = (
            conn,
            as_of,
            ns,
            stale_days,
            now,
            window,
        )
        self.plain = plain  # INSERT without ON CONFLICT: the outbox holds no reminder at all (see enqueue_reminders)
        self.sql = _Sql(conn.dialect.name)
        if window is not None:
            self.changed = select(AuditEvent.entity_id).where(
                AuditEvent.id > window.journal, AuditEvent.entity == "task"
            )
            self.fresh = select(Channel.id).where(Channel.activated_at >= window.since)
            self.any_changed = conn.execute(select(exists(self.changed))).scalar()
            self.any_fresh = conn.execute(select(exists(self.fresh))).scalar()

    def queue(self, query, crossed) -> int:
        """All of `query`, or within the window: what crossed, what changed, what is new."""
        if self.window is None:
            if self.plain:
                stmt = Outbox.__table__.insert().from_select(list(REMINDER_COLUMNS), query)
                return self.conn.execute(stmt.execution_options(preserve_rowcount=True)).rowcount
            return enqueue_select(self.conn, query)
        n = enqueue_select(self.conn, query.where(crossed))
        if self.any_changed:
            n += enqueue_select(self.conn, query.where(Task.id.in_(self.changed)))
        if self.any_fresh:
            n += enqueue_select(self.conn, query.where(Channel.id.in_(self.fresh)))
        return n

    def due_soon(self) -> int:
        if not self.ns.due_days:
            return 0
        as_of, sql = self.as_of, self.sql
        *tighter, widest = sorted(self.ns.due_days)
        # the tightest threshold the deadline is within: the one reminder owed now
        n = case(*[(Task.deadline <= as_of + timedelta(days=d), literal(d)) for d in tighter], else_=literal(widest))
        query = (
            select(
                *_rows(
                    _key("due", Task.id, sql.iso(Task.deadline), n, Channel.id),
                    MessageKind.due_soon,
                    task_id=Task.id,
                    threshold=n,
                    as_of=as_of,
                    now=self.now,
                )
            )
            .select_from(Task)
            .join(Channel, _township_channels())
            .where(
                Task.status == REMIND_STATUS, Task.deadline >= as_of, Task.deadline <= as_of + timedelta(days=widest)
            )
        )
        crossed = self.window and or_(
            *[
                (Task.deadline > self.window.day + timedelta(days=d)) & (Task.deadline <= as_of + timedelta(days=d))
                for d in self.ns.due_days
            ]
        )
        return self.queue(query, crossed)

    def overdue(self) -> int:
        as_of, sql, every = self.as_of, self.sql, self.ns.overdue_repeat_days
        period = (sql.days_after(as_of, Task.deadline) - 1) // every  # 0 on days 1..7, 1 on 8..14, …
        query = (
            select(
                *_rows(
                    _key("overdue", Task.id, sql.iso(Task.deadline), period, Channel.id),
                    MessageKind.overdue,
                    task_id=Task.id,
                    threshold=period,
                    as_of=as_of,
                    now=self.now,
                )
            )
            .select_from(Task)
            .join(Channel, _township_channels())
            .where(Task.status == REMIND_STATUS, Task.deadline < as_of)
        )
        return self.queue(query, self.window and self._overdue_crossed())

    def _overdue_crossed(self):
        """A period starts on deadline + 1 + k × every: the deadlines with a start in (last day, as_of],
        listed (an index lookup each) rather than computed per overdue task."""
        gap, every = (self.as_of - self.window.day).days, self.ns.overdue_repeat_days
        if gap >= every:
            return literal(True)
        oldest = self.conn.execute(select(func.min(Task.deadline)).where(Task.status == REMIND_STATUS)).scalar()
        if oldest is None:
            return literal(False)
        weeks = (self.as_of - oldest).days // every + 1
        return Task.deadline.in_(
            [self.as_of - timedelta(days=1 + j + every * k) for k in range(weeks) for j in range(gap)]
        )

    def escalation(self) -> int:
        as_of, sql, after = self.as_of, self.sql, timedelta(days=self.ns.escalate_days)
        crossed = self.window and Task.deadline >= self.window.day - after
        total = 0
        for channels in (_township_channels(), _county_channels()):
            query = (
                select(
                    *_rows(
                        _key("esc", Task.id, sql.iso(Task.deadline), Channel.id),
                        MessageKind.escalation,
                        task_id=Task.id,
                        as_of=as_of,
                        now=self.now,
                    )
                )
                .select_from(Task)
                .join(Channel, channels)
                .where(Task.status == REMIND_STATUS, Task.deadline < as_of - after)
            )
            total += self.queue(query, crossed)
        return total

    def stale(self) -> int:
        as_of, sql, span = self.as_of, self.sql, self.stale_days * 86400
        activity = func.coalesce(Task.last_progress_at, Task.assigned_at, Task.created_at)

        def period(day: date):  # whole stale spans from the activity to the start of `day`
            return (literal(int(day_start_utc(day).timestamp())) - sql.epoch(activity)) // span

        query = (
            select(
                *_rows(
                    _key("stale", Task.id, sql.epoch(activity), period(as_of), Channel.id),
                    MessageKind.stale,
                    task_id=Task.id,
                    threshold=period(as_of),
                    as_of=as_of,
                    now=self.now,
                )
            )
            .select_from(Task)
            .join(Channel, _township_channels())
            .where(
                Task.status == REMIND_STATUS,
                sql.scanned(Task.deadline) >= as_of,
                activity < day_start_utc(as_of) - timedelta(days=self.stale_days),
            )
        )  # the yellow light's rule
        crossed = self.window and period(as_of) != period(self.window.day)
        return self.queue(query, crossed)


def enqueue_reminders(
    *,
    engine: Engine,
    as_of: date,
    settings: NotifySettings | None = None,
    stale_days: int | None = None,
    now: datetime | None = None,
    full: bool = False,
) -> dict[str, int]:
    """Queue every task reminder owed on `as_of`; returns how many new ones per kind.

    `full` examines every open task even when an earlier check allows a window (same result, slower).
    """
    ns = settings or get_settings().notify
    now = now or utcnow()
    with engine.begin() as conn:
        last = conn.execute(select(CURSOR).where(CURSOR.c.name == "check")).first()
        usable = last is not None and last.as_of is not None and last.as_of <= as_of
        window = Window(last.as_of, last.position, last.since) if usable and not full else None

        def run(plain: bool = False) -> dict[str, int]:
            check = _Check(conn, as_of, ns, stale_days or get_settings().stale_days, now, window, plain=plain)
            return {
                MessageKind.due_soon.value: check.due_soon(),
                MessageKind.overdue.value: check.overdue(),
                MessageKind.escalation.value: check.escalation(),
                MessageKind.stale.value: check.stale(),
            }

        # The very first check on a ledger queues a reminder for most open tasks (a million on two million
        # tasks). With no reminder in the outbox, nothing can conflict but a check running at the same time:
        # plain INSERTs skip ON CONFLICT's speculative insertion (a quarter of the time on PostgreSQL), and
        # should a concurrent check have queued some key first, the savepoint goes back and ON CONFLICT
        # sorts it out. Keys never repeat within one check (each names its kind, task, threshold and channel).
        if window is None and not conn.execute(select(exists().where(Outbox.kind.in_(REMINDER_KINDS)))).scalar():
            if conn.dialect.name == "postgresql":
                # Two transactions at once, one per core; the cursor moves (below) only once both committed,
                # and whatever a failed part left out, ON CONFLICT queues now (keys make it idempotent).
                done = _first_in_parallel(
                    engine,
                    lambda c: _Check(c, as_of, ns, stale_days or get_settings().stale_days, now, None, plain=True),
                )
                rest = run() if set(done) != _REMINDER_VALUES else {}
                counts = {k: done.get(k, 0) + rest.get(k, 0) for k in _REMINDER_VALUES}
            else:
                try:
                    with conn.begin_nested():
                        counts = run(plain=True)
                except IntegrityError:
                    counts = run()
        else:
            counts = run()
        if last is None or last.as_of is None or as_of >= last.as_of:
            _advance(conn, "check", last.position if last else 0, now, as_of=as_of, since=now - SETTLE)
    return counts


# The first check's kinds in two groups of about equal work (a million reminders on two million tasks).
_FIRST_GROUPS = ((MessageKind.stale, MessageKind.due_soon), (MessageKind.overdue, MessageKind.escalation))
_REMINDER_VALUES = {k.value for group in _FIRST_GROUPS for k in group}


def _first_in_parallel(engine: Engine, make_check) -> dict[str, int]:
    """The counts of the groups whose transaction committed; a group that met a key queued meanwhile by
    another check rolls back and is left out (the caller queues it with ON CONFLICT)."""

    def part(kinds) -> dict[str, int]:
        try:
            with engine.begin() as c:
                check = make_check(c)
                return {k.value: getattr(check, k.value)() for k in kinds}
        except IntegrityError:
            return {}

    with ThreadPoolExecutor(max_workers=len(_FIRST_GROUPS)) as pool:
        results = list(pool.map(part, _FIRST_GROUPS))
    return {k: v for r in results for k, v in r.items()}


def _advance(conn: Connection, name: str, position: int, now: datetime, **values) -> None:
    """Move cursor `name` past the journal entries old enough to be committed, and set `values`."""
    settled = conn.execute(
        select(func.max(AuditEvent.id)).where(AuditEvent.id > position, AuditEvent.at < now - SETTLE)
    ).scalar()
    row = {"position": settled or position, **values}
    conn.execute(
        dialect_insert(conn, CURSOR).values(name=name, **row).on_conflict_do_update(index_elements=["name"], set_=row)
    )


def enqueue_sent_back(*, engine: Engine, as_of: date, now: datetime | None = None) -> int:
    """Queue a 退回 notice for every new `reject` journal entry (read from a cursor, not the whole journal)."""
    now = now or utcnow()
    with engine.begin() as conn:
        position = conn.execute(select(CURSOR.c.position).where(CURSOR.c.name == "sent_back")).scalar() or 0
        query = (
            select(
                *_rows(
                    _key("back", AuditEvent.id, Channel.id),
                    MessageKind.sent_back,
                    task_id=Task.id,
                    event_id=AuditEvent.id,
                    as_of=as_of,
                    now=now,
                )
            )
            .select_from(AuditEvent)
            .join(Task, Task.id == AuditEvent.entity_id)
            .join(Channel, _township_channels())
            .where(
                AuditEvent.id > position,
                AuditEvent.entity == "task",
                AuditEvent.action == SENT_BACK_ACTION,
                AuditEvent.at >= now - SENT_BACK_LOOKBACK,
            )
        )
        queued = enqueue_select(conn, query)
        _advance(conn, "sent_back", position, now)  # newer entries are read again: their keys dedupe
    return queued
