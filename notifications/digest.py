"""Light counts per township (the check's summary) and the weekly digests built from them.

A digest is queued per township channel and per county staff channel, keyed by ISO week, so a
week's digest goes out once however often the job runs. Township digests count the township's
assigned open tasks (整改中, 待审核) and list its overdue and soon-due ones; the county digest adds
the 待分派 tasks (which get no reminders: nobody owns them yet) and the escalated ones.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.engine import Connection, Engine

from notifications.models import Channel, ChannelRole, MessageKind, OutboxStatus
from notifications.outbox import enqueue_rows
from tracker.config import NotifySettings, get_settings
from tracker.db import utcnow
from tracker.lights import GREEN, OPEN_STATUSES, RED, YELLOW, light_sql
from tracker.models import Status, Task, Township

LIGHTS = (RED, YELLOW, GREEN)
LIST_LIMIT = 10  # tasks listed per township digest; the rest are counted
TOWNSHIP_LIMIT = 10  # townships listed in the county digest


def _names(conn: Connection) -> dict[int, str]:
    return dict(conn.execute(select(Township.id, Township.name)).all())


def light_summary(*, engine: Engine, as_of: date) -> dict:
    """Open tasks per township and light, worst first: the check's result and its Prefect artifact."""
    light = light_sql(as_of)
    count = lambda lt: func.sum(case((light == lt, 1), else_=0))  # noqa: E731
    with engine.connect() as conn:
        grouped = conn.execute(
            select(Task.township_id, count(RED), count(YELLOW), func.count())
            .where(Task.status.in_(OPEN_STATUSES))
            .group_by(Task.township_id)
        ).all()
        names = _names(conn)
    rows = sorted(
        (
            {"township": names[tid], RED: red, YELLOW: yellow, GREEN: n - red - yellow}
            for tid, red, yellow, n in grouped
        ),
        key=lambda r: (-r[RED], -r[YELLOW], r["township"]),
    )
    totals = {lt: sum(r[lt] for r in rows) for lt in LIGHTS}
    return {"as_of": as_of.isoformat(), "totals": totals, "townships": rows}


def iso_week(as_of: date) -> str:
    year, week, _ = as_of.isocalendar()
    return f"{year}-W{week:02d}"


def enqueue_digests(
    *, engine: Engine, as_of: date, settings: NotifySettings | None = None, now: datetime | None = None
) -> dict[str, int]:
    ns = settings or get_settings().notify
    now = now or utcnow()
    week = iso_week(as_of)
    with engine.begin() as conn:
        channels = conn.execute(
            select(Channel.id, Channel.township_id, Channel.role, Channel.county_id).where(Channel.active.is_(True))
        ).all()
        township_channels = defaultdict(list)
        for cid, tid, _, _ in channels:
            if tid is not None:
                township_channels[tid].append(cid)
        # each county's staff channels get that county's digest
        county_channels = [
            (cid, county) for cid, tid, role, county in channels if tid is None and role == ChannelRole.staff
        ]
        counts = _counts(conn, as_of, ns)
        lists = _lists(conn, as_of) if township_channels else {}
        names = _names(conn)
        base = {
            "dedupe_key": None,
            "kind": MessageKind.digest.value,
            "task_id": None,
            "event_id": None,
            "threshold": None,
            "as_of": as_of,
            "status": OutboxStatus.pending.value,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        rows = []
        for tid, cids in township_channels.items():
            c = counts.get(tid)
            if not c or not c["total"]:  # nothing assigned and open: no digest
                continue
            payload = {
                "scope": "township",
                "week": week,
                "counts": c,
                "red": lists[tid]["red"],
                "due": lists[tid]["due"],
            }
            rows += [
                base
                | {
                    "dedupe_key": f"digest:{tid}:{week}:{cid}",
                    "channel_id": cid,
                    "township_id": tid,
                    "payload": payload,
                }
                for cid in cids
            ]
        if county_channels:
            county_of = dict(conn.execute(select(Township.id, Township.county_id)).all())
            by_county: dict[int, dict[int, dict[str, int]]] = defaultdict(dict)
            for tid, c in counts.items():
                by_county[county_of.get(tid)][tid] = c
            payloads = {
                county: _county_payload(by_county.get(county, {}), names, week)
                for county in {county for _, county in county_channels}
            }
            rows += [
                base
                | {
                    "dedupe_key": f"digest:county:{week}:{cid}",
                    "channel_id": cid,
                    "township_id": None,
                    "payload": payloads[county],
                }
                for cid, county in county_channels
            ]
        queued = enqueue_rows(conn, rows)
    return {"digest": queued}


def _counts(conn: Connection, as_of: date, ns: NotifySettings) -> dict[int, dict[str, int]]:
    light = light_sql(as_of).label("light")
    escalated = (Task.status == Status.in_progress.value) & (Task.deadline < as_of - timedelta(days=ns.escalate_days))
    q = (
        select(Task.township_id, Task.status, light, func.count(), func.sum(case((escalated, 1), else_=0)))
        .where(Task.status.in_(OPEN_STATUSES))
        .group_by(Task.township_id, Task.status, light)
    )
    out: dict[int, dict[str, int]] = defaultdict(
        lambda: {"total": 0, **dict.fromkeys(LIGHTS, 0), "pending_review": 0, "unassigned": 0, "escalated": 0}
    )
    for tid, status, lt, n, esc in conn.execute(q):
        c = out[tid]
        if status == Status.unassigned:
            c["unassigned"] += n
            continue
        c["total"] += n
        c[lt] += n
        c["escalated"] += esc or 0
        if status == Status.pending_review:
            c["pending_review"] += n
    return out


def _lists(conn: Connection, as_of: date) -> dict[int, dict[str, list]]:
    """Per township with a channel: its first overdue and soon-due 整改中 tasks, by deadline."""
    out: dict[int, dict[str, list]] = defaultdict(lambda: {"red": [], "due": []})
    with_channel = select(Channel.township_id).where(Channel.active.is_(True), Channel.township_id.is_not(None))
    conditions = {
        "red": Task.deadline < as_of,
        "due": (Task.deadline >= as_of) & (Task.deadline <= as_of + timedelta(days=7)),
    }
    for name, cond in conditions.items():
        rn = func.row_number().over(partition_by=Task.township_id, order_by=(Task.deadline, Task.id)).label("rn")
        inner = (
            select(Task.township_id, Task.id, Task.title, Task.deadline, rn)
            .where(cond, Task.status == Status.in_progress.value, Task.township_id.in_(with_channel))
            .subquery()
        )
        q = select(inner.c.township_id, inner.c.id, inner.c.title, inner.c.deadline).where(inner.c.rn <= LIST_LIMIT)
        for tid, task_id, title, deadline in conn.execute(q.order_by(inner.c.township_id, inner.c.rn)):
            out[tid][name].append({"id": task_id, "title": title, "deadline": deadline.isoformat()})
    return out


def _county_payload(counts: dict[int, dict[str, int]], names: dict[int, str], week: str) -> dict:
    keys = ("total", *LIGHTS, "pending_review", "unassigned", "escalated")
    totals = {k: sum(c[k] for c in counts.values()) for k in keys}
    worst = sorted(
        ((tid, c) for tid, c in counts.items() if c[RED] or c["unassigned"]),
        key=lambda tc: (-tc[1][RED], -tc[1]["unassigned"], names[tc[0]]),
    )[:TOWNSHIP_LIMIT]
    return {
        "scope": "county",
        "week": week,
        "counts": totals,
        "townships": [
            {"name": names[tid], "red": c[RED], "yellow": c[YELLOW], "unassigned": c["unassigned"]} for tid, c in worst
        ],
    }
