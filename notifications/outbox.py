"""The notification outbox: created once by dedupe key, delivered at least until accepted, never twice.

Enqueue is INSERT … ON CONFLICT (dedupe_key) DO NOTHING, on SQLite and PostgreSQL alike.
Delivery claims a batch (a token and a lease time, so two deliverers never take the same row),
sends per channel in parallel (bounded), one channel's messages in order, and marks a row sent only
after its channel accepted it. A channel that fails stops for this run; its remaining messages
share the failure and back off (doubling) until `max_attempts`, then show as failed with the error.
The only window for a repeat is a crash between the channel's acceptance and the mark: receivers
get the dedupe key (Message-ID, X-Rectify-Delivery) to drop such a repeat.
"""
from __future__ import annotations

import logging
import time
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from notifications.channels import MARKDOWN_KINDS, DeliveryError, Target, send
from notifications.messages import Row, build
from notifications.models import Channel, Outbox, OutboxPublic, OutboxStatus
from tracker.config import NotifySettings, get_settings
from tracker.db import utcnow
from tracker.errors import InvalidTransition, NotFound
from tracker.models import AuditEvent, Task, Township, User
from tracker.users import require_admin, require_county

OUTBOX = Outbox.__table__
log = logging.getLogger("rectify.delivery")
CLAIM = timedelta(minutes=10)  # far above one batch's sends (timeouts included)
BATCH = 500
REMINDER_COLUMNS = ("dedupe_key", "channel_id", "kind", "township_id", "task_id", "event_id", "threshold", "as_of",
                    "status", "attempts", "next_attempt_at", "created_at")


def dialect_insert(conn: Connection, table=OUTBOX):
    """INSERT with .on_conflict_do_nothing(): SQLite and PostgreSQL share the spelling."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def enqueue_select(conn: Connection, query) -> int:
    """Insert the rows `query` selects (columns in REMINDER_COLUMNS order); existing keys are skipped."""
    stmt = dialect_insert(conn).from_select(list(REMINDER_COLUMNS), query).on_conflict_do_nothing(
        index_elements=["dedupe_key"])
    return conn.execute(stmt.execution_options(preserve_rowcount=True)).rowcount


def enqueue_rows(conn: Connection, rows: list[dict]) -> int:
    if not rows:
        return 0
    stmt = dialect_insert(conn).on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(OUTBOX.c.id)
    return len(conn.execute(stmt, rows).all())


@dataclass
class DeliveryResult:
    sent: int = 0
    retrying: int = 0  # not accepted, will be tried again later
    failed: int = 0  # gave up after max_attempts

    def add(self, other: "DeliveryResult") -> None:
        self.sent += other.sent
        self.retrying += other.retrying
        self.failed += other.failed

    def as_dict(self) -> dict:
        return {"sent": self.sent, "retrying": self.retrying, "failed": self.failed}


def deliver(*, engine: Engine, now: datetime | None = None, settings: NotifySettings | None = None,
            templates_dir: Path | None = None) -> DeliveryResult:
    """Send every pending message that is due; returns what happened to them."""
    base = get_settings()
    ns = settings or base.notify
    tdir = templates_dir or base.templates_dir
    now = now or utcnow()
    token = uuid.uuid4().hex
    result = DeliveryResult()
    # Stop sending well before the claims lapse: past that, another deliverer may take the same rows.
    stop_at = time.monotonic() + CLAIM.total_seconds() * 0.8
    with httpx.Client(timeout=ns.timeout, limits=httpx.Limits(max_connections=ns.concurrency * 2)) as client, \
            ThreadPoolExecutor(max_workers=ns.concurrency, thread_name_prefix="deliver") as pool:
        while time.monotonic() < stop_at and (ids := _claim(engine, token, now)):
            channels, groups = _load(engine, ids)
            futures = [pool.submit(_deliver_channel, engine, channels[cid], rows, token=token, now=now, client=client,
                                   settings=ns, templates_dir=tdir, stop_at=stop_at)
                       for cid, rows in groups.items()]
            for f in futures:
                result.add(f.result())
    return result


def _due(now: datetime):
    return and_(OUTBOX.c.status == OutboxStatus.pending.value, OUTBOX.c.next_attempt_at <= now,
                or_(OUTBOX.c.claimed_until.is_(None), OUTBOX.c.claimed_until < now))


def _claim(engine: Engine, token: str, now: datetime) -> list[int]:
    with engine.begin() as conn:
        pick = select(OUTBOX.c.id).where(_due(now)).order_by(OUTBOX.c.id).limit(BATCH)
        if conn.dialect.name == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        # _due again on the UPDATE: under READ COMMITTED a row another deliverer claimed meanwhile drops out
        stmt = (update(OUTBOX).where(OUTBOX.c.id.in_(pick.scalar_subquery()), _due(now))
                .values(claim=token, claimed_until=now + CLAIM).returning(OUTBOX.c.id))
        return sorted(conn.execute(stmt).scalars())


def _load(engine: Engine, ids: list[int]) -> tuple[dict[int, Channel], dict[int, list[Row]]]:
    with Session(engine, expire_on_commit=False) as session:
        q = (select(Outbox, Township, Task, AuditEvent)
             .outerjoin(Township, Township.id == Outbox.township_id)
             .outerjoin(Task, Task.id == Outbox.task_id)
             .outerjoin(AuditEvent, AuditEvent.id == Outbox.event_id)
             .where(Outbox.id.in_(ids)).order_by(Outbox.id))
        groups: dict[int, list[Row]] = defaultdict(list)
        for ob, township, task, event in session.execute(q):
            groups[ob.channel_id].append(Row(ob, township, task, event))
        channels = {c.id: c for c in session.execute(select(Channel).where(Channel.id.in_(list(groups)))).scalars()}
        session.expunge_all()
    return channels, groups


def _deliver_channel(engine: Engine, channel: Channel, rows: list[Row], *, token: str, now: datetime,
                     client: httpx.Client, settings: NotifySettings, templates_dir: Path,
                     stop_at: float) -> DeliveryResult:
    result = DeliveryResult()
    target = Target(channel.kind, channel.target, channel.secret)
    with engine.connect() as conn:  # one connection for the channel's batch: a mark is one UPDATE and a commit
        for i, row in enumerate(rows):
            if time.monotonic() > stop_at:  # a slow channel: the rest waits for the next run, unclaimed
                _release(conn, rows[i:], token)
                break
            try:
                message = build(row, markdown=channel.kind in MARKDOWN_KINDS, settings=settings,
                                templates_dir=templates_dir)
            except Exception as exc:  # a broken (overridden) template fails this message, not the channel
                result.add(_fail(conn, [row], token, f"消息模板出错：{type(exc).__name__}: {exc}", now, settings))
                continue
            try:
                send(target, message, client=client, settings=settings)
            except DeliveryError as exc:
                # The channel is down: the rest of its messages share the failure instead of each waiting a timeout.
                result.add(_fail(conn, rows[i:], token, str(exc), now, settings))
                break
            _mark_sent(conn, row.outbox.id, token)
            result.sent += 1
    return result


# Built once: a mark is on the path of every message.
MARK_SENT = (update(OUTBOX).where(OUTBOX.c.id == bindparam("oid"), OUTBOX.c.claim == bindparam("token"))
             .values(status=OutboxStatus.sent.value, sent_at=bindparam("at"), attempts=OUTBOX.c.attempts + 1,
                     claim=None, claimed_until=None, last_error=None))


def _mark_sent(conn: Connection, outbox_id: int, token: str) -> None:
    """Right after the channel accepted, in its own transaction."""
    conn.execute(MARK_SENT, {"oid": outbox_id, "token": token, "at": utcnow()})
    conn.commit()


def _release(conn: Connection, rows: list[Row], token: str) -> None:
    conn.execute(update(OUTBOX).where(OUTBOX.c.id.in_([r.outbox.id for r in rows]), OUTBOX.c.claim == token)
                 .values(claim=None, claimed_until=None))
    conn.commit()


def retry_delay(settings: NotifySettings, attempts: int) -> timedelta:
    """Wait after the `attempts`-th failed attempt: backoff, 2×backoff, 4×backoff, …"""
    return timedelta(seconds=settings.backoff_seconds * 2 ** (attempts - 1))


def _fail(conn: Connection, rows: list[Row], token: str, error: str, now: datetime,
          settings: NotifySettings) -> DeliveryResult:
    result = DeliveryResult()
    params = []
    for row in rows:
        attempts = row.outbox.attempts + 1
        gave_up = attempts >= settings.max_attempts
        result.failed += gave_up
        result.retrying += not gave_up
        params.append({"oid": row.outbox.id, "n": attempts,
                       "st": (OutboxStatus.failed if gave_up else OutboxStatus.pending).value,
                       "nxt": now + retry_delay(settings, attempts)})
    stmt = (update(OUTBOX).where(OUTBOX.c.id == bindparam("oid"), OUTBOX.c.claim == token)
            .values(attempts=bindparam("n"), status=bindparam("st"), next_attempt_at=bindparam("nxt"),
                    last_error=error[:2000], claim=None, claimed_until=None))
    conn.execute(stmt, params)
    conn.commit()
    ids = [row.outbox.id for row in rows]
    log.log(logging.ERROR if result.failed else logging.WARNING,
            "delivery failed on channel %s for %d message(s) (outbox %s%s): %d will retry, %d gave up: %s",
            rows[0].outbox.channel_id, len(ids), ",".join(map(str, ids[:10])), ",…" if len(ids) > 10 else "",
            result.retrying, result.failed, error)
    return result


def retry(session: Session, *, outbox_id: int, now: datetime | None = None, actor: User | None = None) -> Outbox:
    """Put a failed (or waiting) message back in the queue for the next delivery run, attempts reset.

    For county admins (`actor`; None: the CLI's operator)."""
    require_admin(actor)
    row = session.get(Outbox, outbox_id)
    if row is None:
        raise NotFound(f"消息 {outbox_id} 不存在")
    if row.status == OutboxStatus.sent:
        raise InvalidTransition(f"消息 {outbox_id} 已发送，不能重发")
    channel = session.get(Channel, row.channel_id)
    if not channel.active:
        raise InvalidTransition(f"消息 {outbox_id} 的接收渠道已删除，不能重发")
    row.status, row.attempts, row.next_attempt_at = OutboxStatus.pending.value, 0, now or utcnow()
    row.claim = row.claimed_until = None
    session.add(row)
    session.flush()
    return row


def list_outbox(session: Session, *, status: str | None = None, limit: int = 200, outbox_id: int | None = None,
                actor: User | None = None) -> list[OutboxPublic]:
    """Newest first; failed messages carry their last error. For county users (`actor`; None: the CLI)."""
    require_county(actor)
    q = (select(Outbox.id, Outbox.kind, Outbox.status, func.coalesce(Township.name, "全县").label("township"),
                Outbox.task_id, Task.title.label("task_title"), Channel.kind.label("channel_kind"), Channel.target,
                Outbox.attempts, Outbox.last_error, Outbox.created_at, Outbox.next_attempt_at, Outbox.sent_at,
                Outbox.dedupe_key)
         .join(Channel, Channel.id == Outbox.channel_id)
         .outerjoin(Township, Township.id == Outbox.township_id)
         .outerjoin(Task, Task.id == Outbox.task_id)
         .order_by(Outbox.id.desc()).limit(limit))
    if status:
        q = q.where(Outbox.status == status)
    if outbox_id is not None:
        q = q.where(Outbox.id == outbox_id)
    return [OutboxPublic.model_validate(r._mapping) for r in session.execute(q)]


def outbox_counts(session: Session, *, actor: User | None = None) -> dict[str, int]:
    require_county(actor)
    counts = dict(session.execute(select(Outbox.status, func.count()).group_by(Outbox.status)).all())
    return {s.value: counts.get(s.value, 0) for s in OutboxStatus}
