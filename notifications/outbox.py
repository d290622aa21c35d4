"""The notification outbox: created once by dedupe key, delivered at least until accepted, never twice.

Enqueue is INSERT … ON CONFLICT (dedupe_key) DO NOTHING, on SQLite and PostgreSQL alike.
Delivery claims a batch (a token and `claim_seconds`, so two deliverers never take the same row;
after a crash the rows return to the queue when the claim lapses), sends per channel in parallel
(bounded), one channel's messages in order, and marks a row sent only after its channel accepted it.
What goes wrong is the row's, never the run's:
- the channel is down (connection refused, timeout, HTTP 5xx): the row tried gets an attempt and
  backs off (doubling) until `max_attempts`, then shows as failed; the channel's untried rows go back
  to the queue for the same time with their attempts unchanged; other channels go on;
- the channel refused this message (HTTP 4xx, a robot's errcode): that row backs off, the next is tried;
- a template that does not render: that row backs off (an override may be fixed meanwhile);
- a target that is invalid or not allowed, or a message that cannot be sent at all: failed at once,
  with the reason, logged as an error.
Group robots take at most `robot_per_minute` messages a minute each (WeCom and DingTalk: 20); a
channel's messages to one robot are paced to that, waiting in the channel's thread, and what would
wait past the batch's stop goes back to the queue for the next run (a robot that still answers "too
fast", say because two installations share it, is handled as a channel down). A robot gets a
township's task reminders of one kind as one list (`_units`); its rows are marked sent together, and
a refusal spends an attempt on each.
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

from notifications.channels import MARKDOWN_KINDS, DeliveryError, Message, Target, send, short
from notifications.messages import LISTED_KINDS, Row, build, build_list
from notifications.models import Channel, ChannelKind, Outbox, OutboxPublic, OutboxStatus
from notifications.recipients import REMOVED_ERROR
from notifications.targets import check_target
from tracker import counties
from tracker.config import NotifySettings, get_settings
from tracker.db import utcnow
from tracker.errors import InvalidTransition, NotFound, ValidationFailed
from tracker.models import AuditEvent, Task, Township, User
from tracker.ratelimit import SlidingWindow
from tracker.users import require_admin

OUTBOX = Outbox.__table__
log = logging.getLogger("rectify.delivery")
BATCH = 500
SEND_SPAN = 3  # timeouts one send may take (connect, write, read): a run stops this long before its claims lapse
ROBOT_WINDOW_SECONDS = 60.0  # robots' limits are per minute
LIST_MAX = 10  # task reminders in one robot message (WeCom takes 4096 bytes of markdown; ten lines fit)
_robot_windows: dict[tuple[int, float], SlidingWindow] = {}  # per (limit, window); keyed by robot URL inside
REMINDER_COLUMNS = (
    "dedupe_key",
    "channel_id",
    "kind",
    "township_id",
    "task_id",
    "event_id",
    "threshold",
    "as_of",
    "status",
    "attempts",
    "next_attempt_at",
    "created_at",
)


def dialect_insert(conn: Connection, table=OUTBOX):
    """INSERT with .on_conflict_do_nothing(): SQLite and PostgreSQL share the spelling."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def enqueue_select(conn: Connection, query) -> int:
    """Insert the rows `query` selects (columns in REMINDER_COLUMNS order); existing keys are skipped."""
    stmt = (
        dialect_insert(conn)
        .from_select(list(REMINDER_COLUMNS), query)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
    )
    return conn.execute(stmt.execution_options(preserve_rowcount=True)).rowcount


def enqueue_rows(conn: Connection, rows: list[dict]) -> int:
    if not rows:
        return 0
    stmt = dialect_insert(conn).on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(OUTBOX.c.id)
    return len(conn.execute(stmt, rows).all())


@dataclass
class DeliveryResult:
    sent: int = 0
    retrying: int = 0  # not accepted (or not tried: its channel was down), will be tried again later
    failed: int = 0  # gave up: after max_attempts, or at once when it cannot be sent at all
    released: int = 0  # left unclaimed, untried: the run ran out of its claim time (not in as_dict)

    def add(self, other: DeliveryResult) -> None:
        self.sent += other.sent
        self.retrying += other.retrying
        self.failed += other.failed
        self.released += other.released

    def as_dict(self) -> dict:
        return {"sent": self.sent, "retrying": self.retrying, "failed": self.failed}


def deliver(
    *,
    engine: Engine,
    now: datetime | None = None,
    settings: NotifySettings | None = None,
    templates_dir: Path | None = None,
) -> DeliveryResult:
    """Send every pending message that is due; returns what happened to them.

    Never raises for a message or a channel: what cannot be sent is recorded on its row. An unexpected
    error in one channel's worker (the database gone, say) is logged; that channel's rows return to
    the queue when their claim lapses."""
    base = get_settings()
    ns = settings or base.notify
    tdir = templates_dir or base.templates_dir
    now = now or utcnow()
    token = uuid.uuid4().hex
    result = DeliveryResult()
    claim = timedelta(seconds=ns.claim_seconds)
    # A send begun before a batch's stop ends before its claims lapse: past that, another deliverer may take them.
    budget = max(ns.claim_seconds - SEND_SPAN * ns.timeout, ns.claim_seconds / 4)
    started, batches = time.monotonic(), 0
    with (
        httpx.Client(timeout=ns.timeout, limits=httpx.Limits(max_connections=ns.concurrency * 2)) as client,
        ThreadPoolExecutor(max_workers=ns.concurrency, thread_name_prefix="deliver") as pool,
    ):
        while True:
            # the clock moves with the run: a later batch's claims last from when it is taken
            at = now + timedelta(seconds=time.monotonic() - started) if batches else now
            ids = _claim(engine, token, at, claim)
            if not ids:
                break
            batches += 1
            stop_at = time.monotonic() + budget
            channels, groups = _load(engine, ids)
            futures = {
                cid: pool.submit(
                    _deliver_channel,
                    engine,
                    channels.get(cid),
                    rows,
                    token=token,
                    now=at,
                    client=client,
                    settings=ns,
                    templates_dir=tdir,
                    stop_at=stop_at,
                )
                for cid, rows in groups.items()
            }
            batch = DeliveryResult()
            for cid, future in futures.items():
                try:
                    batch.add(future.result())
                except Exception:
                    log.exception(
                        "delivery to channel %s stopped by an unexpected error; its %d message(s) return "
                        "to the queue after the claim (%d s)",
                        cid,
                        len(groups[cid]),
                        ns.claim_seconds,
                    )
            result.add(batch)
            if batch.released:  # channels too slow for one claim: the rest waits for the next run
                break
    return result


def _due(now: datetime):
    return and_(
        OUTBOX.c.status == OutboxStatus.pending.value,
        OUTBOX.c.next_attempt_at <= now,
        or_(OUTBOX.c.claimed_until.is_(None), OUTBOX.c.claimed_until < now),
    )


def _claim(engine: Engine, token: str, now: datetime, claim: timedelta | None = None) -> list[int]:
    claim = claim if claim is not None else timedelta(seconds=get_settings().notify.claim_seconds)
    with engine.begin() as conn:
        pick = select(OUTBOX.c.id).where(_due(now)).order_by(OUTBOX.c.id).limit(BATCH)
        if conn.dialect.name == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        # _due again on the UPDATE: under READ COMMITTED a row another deliverer claimed meanwhile drops out
        stmt = (
            update(OUTBOX)
            .where(OUTBOX.c.id.in_(pick.scalar_subquery()), _due(now))
            .values(claim=token, claimed_until=now + claim)
            .returning(OUTBOX.c.id)
        )
        return sorted(conn.execute(stmt).scalars())


def _load(engine: Engine, ids: list[int]) -> tuple[dict[int, Channel], dict[int, list[Row]]]:
    with Session(engine, expire_on_commit=False) as session:
        q = (
            select(Outbox, Township, Task, AuditEvent)
            .outerjoin(Township, Township.id == Outbox.township_id)
            .outerjoin(Task, Task.id == Outbox.task_id)
            .outerjoin(AuditEvent, AuditEvent.id == Outbox.event_id)
            .where(Outbox.id.in_(ids))
            .order_by(Outbox.id)
        )
        groups: dict[int, list[Row]] = defaultdict(list)
        for ob, township, task, event in session.execute(q):
            groups[ob.channel_id].append(Row(ob, township, task, event))
        channels = {c.id: c for c in session.execute(select(Channel).where(Channel.id.in_(list(groups)))).scalars()}
        session.expunge_all()
    return channels, groups


def _deliver_channel(
    engine: Engine,
    channel: Channel | None,
    rows: list[Row],
    *,
    token: str,
    now: datetime,
    client: httpx.Client,
    settings: NotifySettings,
    templates_dir: Path,
    stop_at: float,
) -> DeliveryResult:
    result = DeliveryResult()
    with engine.connect() as conn:  # one connection for the channel's batch: a mark is one UPDATE and a commit
        if channel is None or not channel.active:
            return _give_up(conn, rows, token, REMOVED_ERROR, now)
        label = ChannelKind.label_of(channel.kind)
        try:  # channels added before targets were checked, or a name that now resolves to an intranet address
            check_target(
                channel.kind, channel.target, allow_private=settings.channel_allow_private, label=label, resolve=True
            )
        except ValidationFailed as exc:
            return _give_up(conn, rows, token, f"{exc.message}（请删除该渠道，改正后重新添加，再重发）", now)
        target = Target(channel.kind, channel.target, channel.secret)
        units = _units(rows, channel.kind)
        for n, unit in enumerate(units):
            if time.monotonic() > stop_at:  # a slow channel: the rest waits for the next run, unclaimed
                result.released += _release(conn, _rows_of(units[n:]), token)
                break
            try:
                message = (
                    build_list(unit, settings=settings, templates_dir=templates_dir)
                    if len(unit) > 1
                    else build(
                        unit[0], markdown=channel.kind in MARKDOWN_KINDS, settings=settings, templates_dir=templates_dir
                    )
                )
            except Exception as exc:  # a broken (overridden) template fails this message, not the channel
                result.add(
                    _fail(conn, unit, token, f"消息模板出错：{type(exc).__name__}: {short(exc, 300)}", now, settings)
                )
                continue
            if channel.kind in MARKDOWN_KINDS and not _robot_slot(channel.target, settings, stop_at):
                result.released += _release(conn, _rows_of(units[n:]), token)
                break
            try:
                send(target, message, client=client, settings=settings)
            except DeliveryError as exc:
                result.add(_fail(conn, unit, token, str(exc), now, settings))
                if exc.channel_down:  # the rest waits with this one, their attempts unspent
                    later = now + retry_delay(settings, unit[0].outbox.attempts + 1)
                    result.add(_defer(conn, _rows_of(units[n + 1 :]), token, str(exc), later))
                    break
                continue
            except Exception as exc:  # cannot be sent at all (whatever it is, it would fail the same way again)
                log.exception("outbox %s could not be sent", ",".join(str(r.outbox.id) for r in unit))
                result.add(_give_up(conn, unit, token, f"消息无法发送（{type(exc).__name__}：{short(exc)}）", now))
                continue
            _mark_sent(conn, [r.outbox.id for r in unit], token)
            result.sent += len(unit)
    return result


def _robot_slot(url: str, settings: NotifySettings, stop_at: float) -> bool:
    """Wait for a free place in the robot's minute; False if that wait would pass the batch's stop."""
    if settings.robot_per_minute <= 0:
        return True
    key = (settings.robot_per_minute, ROBOT_WINDOW_SECONDS)
    window = _robot_windows.get(key) or _robot_windows.setdefault(key, SlidingWindow(*key))
    while wait := window.hit(url):
        if time.monotonic() + wait > stop_at:
            return False
        time.sleep(wait)
    return True


# Built once: a mark is on the path of every message.
MARK_SENT = (
    update(OUTBOX)
    .where(OUTBOX.c.id == bindparam("oid"), OUTBOX.c.claim == bindparam("token"))
    .values(
        status=OutboxStatus.sent.value,
        sent_at=bindparam("at"),
        attempts=OUTBOX.c.attempts + 1,
        claim=None,
        claimed_until=None,
        last_error=None,
    )
)


def _mark_sent(conn: Connection, outbox_ids: list[int], token: str) -> None:
    """Right after the channel accepted (one message: one row, or a robot's list), in its own transaction."""
    at = utcnow()
    conn.execute(MARK_SENT, [{"oid": oid, "token": token, "at": at} for oid in outbox_ids])
    conn.commit()


def _units(rows: list[Row], channel_kind: str) -> list[list[Row]]:
    """The channel's rows as messages: one each, except on a group robot, where the task reminders of one
    kind for one township go as one list of up to LIST_MAX (a morning's reminders are a post or two in
    the group, not one per task), placed where the first of them was."""
    units: list[list[Row]] = []
    open_lists: dict[tuple, list[Row]] = {}
    for row in rows:
        if channel_kind not in MARKDOWN_KINDS or row.task is None or row.outbox.kind not in LISTED_KINDS:
            units.append([row])
            continue
        key = (row.outbox.kind, row.outbox.township_id)
        unit = open_lists.get(key)
        if unit is None or len(unit) >= LIST_MAX:
            unit = open_lists[key] = []
            units.append(unit)
        unit.append(row)
    return units


def _rows_of(units: list[list[Row]]) -> list[Row]:
    return [row for unit in units for row in unit]


def _release(conn: Connection, rows: list[Row], token: str) -> int:
    conn.execute(
        update(OUTBOX)
        .where(OUTBOX.c.id.in_([r.outbox.id for r in rows]), OUTBOX.c.claim == token)
        .values(claim=None, claimed_until=None)
    )
    conn.commit()
    return len(rows)


def _defer(conn: Connection, rows: list[Row], token: str, error: str, later: datetime) -> DeliveryResult:
    """Untried rows of a channel that is down: back to the queue for `later`, their attempts unchanged."""
    if not rows:
        return DeliveryResult()
    conn.execute(
        update(OUTBOX)
        .where(OUTBOX.c.id.in_([r.outbox.id for r in rows]), OUTBOX.c.claim == token)
        .values(
            next_attempt_at=later,
            claim=None,
            claimed_until=None,
            last_error=f"本次未发送：该渠道暂时不可用（{error}）"[:2000],
        )
    )
    conn.commit()
    log.info(
        "channel %s is down: %d untried message(s) wait until %s",
        rows[0].outbox.channel_id,
        len(rows),
        later.isoformat(timespec="seconds"),
    )
    return DeliveryResult(retrying=len(rows))


def _give_up(conn: Connection, rows: list[Row], token: str, error: str, now: datetime) -> DeliveryResult:
    """Rows that cannot be sent: failed at once, with the reason (a county admin may 重发 once it is fixed)."""
    if not rows:
        return DeliveryResult()
    conn.execute(
        update(OUTBOX)
        .where(OUTBOX.c.id.in_([r.outbox.id for r in rows]), OUTBOX.c.claim == token)
        .values(
            status=OutboxStatus.failed.value,
            attempts=OUTBOX.c.attempts + 1,
            next_attempt_at=now,
            last_error=error[:2000],
            claim=None,
            claimed_until=None,
        )
    )
    conn.commit()
    ids = [row.outbox.id for row in rows]
    log.error(
        "delivery gave up on channel %s for %d message(s) (outbox %s%s): %s",
        rows[0].outbox.channel_id,
        len(ids),
        ",".join(map(str, ids[:10])),
        ",…" if len(ids) > 10 else "",
        error,
    )
    return DeliveryResult(failed=len(rows))


def retry_delay(settings: NotifySettings, attempts: int) -> timedelta:
    """Wait after the `attempts`-th failed attempt: backoff, 2×backoff, 4×backoff, …"""
    return timedelta(seconds=settings.backoff_seconds * 2 ** (attempts - 1))


def _fail(
    conn: Connection, rows: list[Row], token: str, error: str, now: datetime, settings: NotifySettings
) -> DeliveryResult:
    result = DeliveryResult()
    params = []
    for row in rows:
        attempts = row.outbox.attempts + 1
        gave_up = attempts >= settings.max_attempts
        result.failed += gave_up
        result.retrying += not gave_up
        params.append(
            {
                "oid": row.outbox.id,
                "n": attempts,
                "st": (OutboxStatus.failed if gave_up else OutboxStatus.pending).value,
                "nxt": now + retry_delay(settings, attempts),
            }
        )
    stmt = (
        update(OUTBOX)
        .where(OUTBOX.c.id == bindparam("oid"), OUTBOX.c.claim == token)
        .values(
            attempts=bindparam("n"),
            status=bindparam("st"),
            next_attempt_at=bindparam("nxt"),
            last_error=error[:2000],
            claim=None,
            claimed_until=None,
        )
    )
    conn.execute(stmt, params)
    conn.commit()
    ids = [row.outbox.id for row in rows]
    log.log(
        logging.ERROR if result.failed else logging.WARNING,
        "delivery failed on channel %s for %d message(s) (outbox %s%s): %d will retry, %d gave up: %s",
        rows[0].outbox.channel_id,
        len(ids),
        ",".join(map(str, ids[:10])),
        ",…" if len(ids) > 10 else "",
        result.retrying,
        result.failed,
        error,
    )
    return result


def retry(session: Session, *, outbox_id: int, now: datetime | None = None, actor: User | None = None) -> Outbox:
    """Put a failed (or waiting) message back in the queue for the next delivery run, attempts reset.

    For county admins (`actor`: their county's messages; None: the CLI's operator)."""
    require_admin(actor)
    row = session.get(Outbox, outbox_id)
    if row is None or not counties.can_see_county(session, actor, session.get(Channel, row.channel_id).county_id):
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


def list_outbox(
    session: Session,
    *,
    status: str | None = None,
    limit: int = 200,
    outbox_id: int | None = None,
    actor: User | None = None,
    county_id: int | None = None,
) -> list[OutboxPublic]:
    """Newest first; failed messages carry their last error. For county users (`actor`: their county's), the
    city (every county's, or `county_id`'s) and the CLI (None)."""
    counties.require_reader(actor)
    q = (
        select(
            Outbox.id,
            Outbox.kind,
            Outbox.status,
            func.coalesce(Township.name, "全县").label("township"),
            Outbox.task_id,
            Task.title.label("task_title"),
            Channel.kind.label("channel_kind"),
            Channel.target,
            Outbox.attempts,
            Outbox.last_error,
            Outbox.created_at,
            Outbox.next_attempt_at,
            Outbox.sent_at,
            Outbox.dedupe_key,
        )
        .join(Channel, Channel.id == Outbox.channel_id)
        .outerjoin(Township, Township.id == Outbox.township_id)
        .outerjoin(Task, Task.id == Outbox.task_id)
        .where(*counties.county_conds(actor, Channel.county_id, county_id=county_id))
        .order_by(Outbox.id.desc())
        .limit(limit)
    )
    if status:
        q = q.where(Outbox.status == status)
    if outbox_id is not None:
        q = q.where(Outbox.id == outbox_id)
    return [OutboxPublic.model_validate(r._mapping) for r in session.execute(q)]


def outbox_counts(session: Session, *, actor: User | None = None) -> dict[str, int]:
    counties.require_reader(actor)
    q = select(Outbox.status, func.count()).group_by(Outbox.status)
    scope = counties.county_conds(actor, Channel.county_id)
    if scope:
        q = q.join(Channel, Channel.id == Outbox.channel_id).where(*scope)
    counts = dict(session.execute(q).all())
    return {s.value: counts.get(s.value, 0) for s in OutboxStatus}


@dataclass
class TestResult:
    ok: bool
    message: str  # for people, in Chinese


def send_test(
    session: Session,
    *,
    channel_id: int,
    actor: User | str,
    settings: NotifySettings | None = None,
    templates_dir: Path | None = None,
) -> TestResult:
    """Send a test message to one channel now (not through the queue) and say how it went.

    For county admins (`actor`; a bare name is the CLI's operator). Recorded in the audit journal."""
    from notifications.messages import render
    from notifications.recipients import _acting
    from tracker import audit
    from tracker.textfmt import cn_datetime

    name = _acting(actor)
    base = get_settings()
    ns = settings or base.notify
    channel = session.get(Channel, channel_id)
    if (
        channel is None
        or not channel.active
        or (isinstance(actor, User) and not counties.can_see_county(session, actor, channel.county_id))
    ):
        raise NotFound(f"接收渠道 {channel_id} 不存在")
    scope = session.get(Township, channel.township_id).name if channel.township_id else "全县"
    label = ChannelKind.label_of(channel.kind)
    where = f"{scope}的{label}（编号 {channel.id}）"
    try:
        check_target(channel.kind, channel.target, allow_private=ns.channel_allow_private, label=label, resolve=True)
        subject, body = render(
            "test",
            {
                "township": scope,
                "actor": name or "管理员",
                "at": cn_datetime(utcnow()),
                "channel_label": label,
                "base_url": ns.base_url,
            },
            markdown=channel.kind in MARKDOWN_KINDS,
            templates_dir=templates_dir or base.templates_dir,
        )
        message = Message(
            key=f"test:{channel.id}:{uuid.uuid4().hex[:12]}",
            subject=subject,
            body=body,
            data={"kind": "test", "kind_label": "测试消息", "township": scope},
        )
        with httpx.Client(timeout=ns.timeout) as client:
            send(Target(channel.kind, channel.target, channel.secret), message, client=client, settings=ns)
        result = TestResult(True, f"测试消息已发送到{where}，请在接收端确认是否收到")
    except ValidationFailed as exc:
        result = TestResult(False, f"测试消息未发送到{where}：{exc.message}")
    except DeliveryError as exc:
        result = TestResult(False, f"测试消息发送到{where}失败：{exc}")
    except Exception as exc:  # a broken template override, a message the library refuses
        log.exception("test message to channel %s could not be sent", channel.id)
        result = TestResult(False, f"测试消息无法发送到{where}（{type(exc).__name__}：{short(exc)}）")
    audit.record(
        session,
        actor=name,
        action="test",
        entity="channel",
        entity_id=channel.id,
        after={"ok": result.ok, "result": result.message[:500]},
    )
    session.flush()
    (log.info if result.ok else log.warning)("test message to channel %s: %s", channel.id, result.message)
    return result


def previews(
    session: Session,
    *,
    outbox_ids: list[int],
    settings: NotifySettings | None = None,
    templates_dir: Path | None = None,
) -> dict[int, str]:
    """Each row's message as its channel gets it (subject, then body), rendered from the row now;
    a row whose template fails says so instead."""
    if not outbox_ids:
        return {}
    base = get_settings()
    ns = settings or base.notify
    tdir = templates_dir or base.templates_dir
    q = (
        select(Outbox, Township, Task, AuditEvent, Channel.kind)
        .join(Channel, Channel.id == Outbox.channel_id)
        .outerjoin(Township, Township.id == Outbox.township_id)
        .outerjoin(Task, Task.id == Outbox.task_id)
        .outerjoin(AuditEvent, AuditEvent.id == Outbox.event_id)
        .where(Outbox.id.in_(outbox_ids))
    )
    out = {}
    for ob, township, task, event, kind in session.execute(q):
        try:
            message = build(
                Row(ob, township, task, event), markdown=kind in MARKDOWN_KINDS, settings=ns, templates_dir=tdir
            )
            out[ob.id] = message.body if kind in MARKDOWN_KINDS else f"{message.subject}\n\n{message.body}"
        except Exception as exc:
            out[ob.id] = f"无法生成预览：消息模板出错（{type(exc).__name__}：{short(exc, 300)}）"
    return out
