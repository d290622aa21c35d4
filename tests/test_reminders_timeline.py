"""Time travel with an explicit as_of: which reminders are queued on which day, once each."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import update

from notifications.digest import enqueue_digests
from notifications.reminders import enqueue_reminders, enqueue_sent_back
from tests.test_notify_support import add_channel, add_task, notify_settings, outbox_rows
from tracker import lifecycle, users
from tracker.db import session_scope
from tracker.models import Status, Task

D = date(2024, 6, 30)  # the deadline
NO_STALE = 10_000  # stale_days for tests about the deadline rules only


def _check(engine, day: date, **kw) -> dict[str, int]:
    return enqueue_reminders(engine=engine, as_of=day, settings=notify_settings(), **kw)


def _by_day(engine, county_channel: int) -> dict[int, list[tuple]]:
    """Queued reminders by day relative to the deadline: (kind, threshold, to the county or the township)."""
    out = defaultdict(list)
    for o in outbox_rows(engine):
        out[(o.as_of - D).days].append((o.kind, o.threshold, "county" if o.channel_id == county_channel else "tw"))
    return {k: sorted(v) for k, v in out.items()}


def test_deadline_reminders_on_the_right_days(engine):
    with session_scope(engine) as s:
        add_task(s, deadline=D)
        add_channel(s, township_name="西里镇")
        leader = add_channel(s, township_name=None, role="leader")
    for offset in range(-45, 47):
        _check(engine, D + timedelta(days=offset), stale_days=NO_STALE)
    got = _by_day(engine, leader.id)
    assert got == {
        -30: [("due_soon", 30, "tw")],
        -7: [("due_soon", 7, "tw")],
        -1: [("due_soon", 1, "tw")],
        1: [("overdue", 0, "tw")],
        8: [("overdue", 1, "tw")],
        15: [("overdue", 2, "tw")],
        22: [("overdue", 3, "tw")],
        29: [("overdue", 4, "tw")],
        31: [("escalation", None, "county"), ("escalation", None, "tw")],  # 督办: township and county leader
        36: [("overdue", 5, "tw")],
        43: [("overdue", 6, "tw")],
    }


def test_same_day_twice_queues_nothing_new(engine):
    with session_scope(engine) as s:
        add_task(s, deadline=D)
        add_channel(s)
    first = _check(engine, D + timedelta(days=40))
    assert first == {"due_soon": 0, "overdue": 1, "escalation": 1, "stale": 0}  # overdue: not also stale
    assert _check(engine, D + timedelta(days=40)) == dict.fromkeys(first, 0)
    assert len(outbox_rows(engine)) == 2


def test_downtime_yields_the_owed_reminder_once(engine):
    with session_scope(engine) as s:
        add_task(s, deadline=D)
        add_channel(s)
    _check(engine, D - timedelta(days=30), stale_days=NO_STALE)
    _check(engine, D - timedelta(days=8), stale_days=NO_STALE)
    # down from 8 days before to 2 days before: the 7-day reminder, once, and not the 30-day one again
    assert _check(engine, D - timedelta(days=2), stale_days=NO_STALE)["due_soon"] == 1
    assert _check(engine, D - timedelta(days=2), stale_days=NO_STALE)["due_soon"] == 0
    # down over the deadline until 10 days after: one overdue reminder (this week's), no due-soon 1
    assert _check(engine, D + timedelta(days=10), stale_days=NO_STALE) == {
        "due_soon": 0,
        "overdue": 1,
        "escalation": 0,
        "stale": 0,
    }
    assert [(o.kind, o.threshold) for o in outbox_rows(engine)] == [("due_soon", 30), ("due_soon", 7), ("overdue", 1)]


def test_only_assigned_open_tasks_of_the_township_are_reminded(engine):
    with session_scope(engine) as s:
        reminded = add_task(s, deadline=D)
        for status in (Status.unassigned, Status.pending_review, Status.closed, Status.withdrawn):
            add_task(s, deadline=D, status=status.value)
        elsewhere = add_task(s, township_name="松岭镇", deadline=D)  # no channel there: the county's only
        add_channel(s)
        removed = add_channel(s, target="http://127.0.0.1:9/removed")
        add_channel(s, township_name=None, role="staff")
    with session_scope(engine) as s:
        from notifications.recipients import remove_channel

        remove_channel(s, channel_id=removed.id, actor="test")
    _check(engine, D + timedelta(days=31))
    assert sorted((o.kind, o.channel_id, o.task_id) for o in outbox_rows(engine)) == [
        ("escalation", 1, reminded.id),
        ("escalation", 3, reminded.id),
        ("escalation", 3, elsewhere.id),
        ("overdue", 1, reminded.id),
    ]


def test_moved_deadline_starts_its_reminders_afresh(engine):
    with session_scope(engine) as s:
        task = add_task(s, deadline=D)
        add_channel(s)
    assert _check(engine, D - timedelta(days=5), stale_days=NO_STALE)["due_soon"] == 1
    with session_scope(engine) as s:
        s.execute(update(Task).where(Task.id == task.id).values(deadline=D + timedelta(days=60)))
    assert _check(engine, D - timedelta(days=5), stale_days=NO_STALE)["due_soon"] == 0  # 65 days: none owed
    assert _check(engine, D + timedelta(days=30), stale_days=NO_STALE)["due_soon"] == 1  # 30 before the new one


def test_a_deadline_moved_slightly_owes_the_same_threshold_again(engine):
    """The deadline is part of every deadline rule's dedupe key: a deadline moved by a day owes the
    reminder of the same threshold (or period) again, for the new date. A key without the deadline
    would dedupe it away. The moves are journaled assignments, as the web makes them, so the
    windowed check finds them too."""
    with session_scope(engine) as s:
        task = add_task(s, deadline=D)
        add_channel(s)
        admin = users.create_user(s, name="县管理员", role="county_admin", password="password-1")

    def move(deadline: date) -> None:
        with session_scope(engine) as s:
            lifecycle.assign(
                s,
                actor=users.get_user(s, name="县管理员"),
                task_ids=[task.id],
                owner_unit="司法所",
                owner_person="张三",
                deadline=deadline,
                category="限期整改",
            )

    def queued(kind: str) -> list[tuple]:
        return [(o.threshold, o.dedupe_key) for o in outbox_rows(engine) if o.kind == kind]

    day = D - timedelta(days=5)
    assert _check(engine, day, stale_days=NO_STALE)["due_soon"] == 1
    move(D + timedelta(days=1))  # 6 days left instead of 5: still the 7-day threshold
    assert _check(engine, day, stale_days=NO_STALE)["due_soon"] == 1
    assert _check(engine, day, stale_days=NO_STALE)["due_soon"] == 0  # and once
    (t1, k1), (t2, k2) = queued("due_soon")
    assert t1 == t2 == 7 and k1 != k2 and "2024-07-01" in k2

    day = D + timedelta(days=40)  # overdue (period 5 of 7 days) and escalated
    first = _check(engine, day, stale_days=NO_STALE)
    assert (first["overdue"], first["escalation"]) == (1, 1)
    move(D)  # one day earlier: 40 days overdue, still period 5, escalated again for the new deadline
    again = _check(engine, day, stale_days=NO_STALE)
    assert (again["overdue"], again["escalation"]) == (1, 1)
    assert [t for t, _ in queued("overdue")] == [5, 5]
    assert len({k for _, k in queued("escalation")}) == 2
    assert admin.id


def test_stale_every_period_until_progress(engine):
    with session_scope(engine) as s:
        task = add_task(s, deadline=date(2025, 6, 30), assigned_at=datetime(2024, 3, 1, 2, tzinfo=UTC))
        add_channel(s)
    start = date(2024, 3, 1)
    stale_days = {}
    for offset in range(0, 95):
        if _check(engine, start + timedelta(days=offset), stale_days=30)["stale"]:
            stale_days[offset] = True
    assert sorted(stale_days) == [31, 61, 91]  # idle more than 30, 60, 90 days
    with session_scope(engine) as s:  # progress on day 92 restarts the count
        s.execute(update(Task).where(Task.id == task.id).values(last_progress_at=datetime(2024, 6, 1, 3, tzinfo=UTC)))
    assert _check(engine, date(2024, 6, 25), stale_days=30)["stale"] == 0
    assert _check(engine, date(2024, 7, 2), stale_days=30)["stale"] == 1
    assert [o.threshold for o in outbox_rows(engine) if o.kind == "stale"] == [1, 2, 3, 1]


def _rejected_task(engine) -> tuple[Task, int]:
    """A task assigned, submitted by the township, then sent back (退回) by the county: the real lifecycle."""
    with session_scope(engine) as s:
        task = add_task(s, deadline=D, status=Status.unassigned.value, assigned_at=None)
        add_channel(s)
        admin = users.create_user(s, name="县管理员", role="county_admin", password="password-1")
        town = users.create_user(s, name="西里镇用户", role="township", password="password-1", township="西里镇")
        lifecycle.assign(
            s,
            actor=admin,
            task_ids=[task.id],
            owner_unit="司法所",
            owner_person="张三",
            deadline=D,
            category="限期整改",
        )
        lifecycle.post_progress(s, actor=town, task_id=task.id, version=None, note="已整改完毕", submit=True)
        lifecycle.verify(s, actor=admin, task_id=task.id, version=None, reject_reason="佐证材料不全，缺会议纪要")
    return task, admin.id


def test_sent_back_notice_once_from_the_journal(engine):
    task, _ = _rejected_task(engine)
    assert enqueue_sent_back(engine=engine, as_of=D) == 1
    assert enqueue_sent_back(engine=engine, as_of=D) == 0
    # once the journal entry is old enough, the cursor moves past it and it is not read again
    later = datetime.now(UTC) + timedelta(hours=1)
    assert enqueue_sent_back(engine=engine, as_of=D, now=later) == 0
    [row] = outbox_rows(engine)
    assert (row.kind, row.task_id) == ("sent_back", task.id) and row.event_id is not None
    with session_scope(engine) as s:  # a second rejection is a new notice
        admin = users.get_user(s, name="县管理员")
        town = users.get_user(s, name="西里镇用户")
        lifecycle.post_progress(s, actor=town, task_id=task.id, version=None, note="补充了纪要", submit=True)
        lifecycle.verify(s, actor=admin, task_id=task.id, version=None, reject_reason="纪要未盖章")
    assert enqueue_sent_back(engine=engine, as_of=D) == 1


def test_sent_back_notice_text(engine, tmp_path):
    from sqlalchemy import select
    from sqlmodel import Session

    from notifications.messages import Row, build
    from notifications.models import Outbox
    from tracker.models import AuditEvent, Township

    task, _ = _rejected_task(engine)
    enqueue_sent_back(engine=engine, as_of=D)
    with Session(engine) as s:
        ob = s.execute(select(Outbox)).scalar_one()
        msg = build(
            Row(ob, s.get(Township, ob.township_id), s.get(Task, ob.task_id), s.get(AuditEvent, ob.event_id)),
            markdown=False,
            settings=notify_settings(base_url="http://h"),
            templates_dir=tmp_path,
        )
    assert msg.subject == "【整改退回通知】西里镇：行政执法公示不规范"
    assert "已被县管理员退回" in msg.body and "退回原因：佐证材料不全，缺会议纪要" in msg.body
    assert f"http://h/tasks/{task.id}" in msg.body and "2024年6月30日" in msg.body


def test_weekly_digest_once_per_iso_week(engine):
    with session_scope(engine) as s:
        add_task(s, deadline=date(2024, 6, 1))  # overdue
        add_task(s, deadline=date(2024, 6, 20), title="7天内到期的事项")
        add_task(s, deadline=date(2024, 6, 20), status=Status.unassigned.value)
        add_task(s, township_name="松岭镇", deadline=date(2024, 12, 31), status=Status.unassigned.value)
        add_channel(s)
        add_channel(s, township_name="松岭镇")
        add_channel(s, township_name=None, role="staff")
        add_channel(s, township_name=None, role="leader", target="http://127.0.0.1:9/leader")
    monday = date(2024, 6, 17)
    assert enqueue_digests(engine=engine, as_of=monday) == {"digest": 2}  # 西里镇 and the county staff
    assert enqueue_digests(engine=engine, as_of=monday + timedelta(days=3)) == {"digest": 0}  # same week
    assert enqueue_digests(engine=engine, as_of=monday + timedelta(days=7)) == {"digest": 2}
    rows = [o for o in outbox_rows(engine) if o.as_of == monday]
    town = next(o for o in rows if o.township_id)
    county = next(o for o in rows if not o.township_id)
    assert town.dedupe_key == f"digest:{town.township_id}:2024-W25:{town.channel_id}"
    assert town.payload["counts"] == {
        "total": 2,
        "red": 1,
        "yellow": 1,
        "green": 0,
        "pending_review": 0,
        "unassigned": 1,
        "escalated": 0,
    }
    assert [t["deadline"] for t in town.payload["red"]] == ["2024-06-01"]
    assert [t["title"] for t in town.payload["due"]] == ["7天内到期的事项"]
    assert county.payload["counts"]["unassigned"] == 2 and county.payload["counts"]["total"] == 2
    assert [t["name"] for t in county.payload["townships"]] == ["西里镇", "松岭镇"]


@pytest.mark.parametrize("due_days, expected", [((14, 3), {-14: 14, -3: 3}), ((), {})])
def test_due_thresholds_are_configurable(engine, due_days, expected):
    with session_scope(engine) as s:
        add_task(s, deadline=D)
        add_channel(s)
    for offset in range(-40, 0):
        enqueue_reminders(
            engine=engine,
            as_of=D + timedelta(days=offset),
            settings=notify_settings(due_days=due_days),
            stale_days=NO_STALE,
        )
    assert {(o.as_of - D).days: o.threshold for o in outbox_rows(engine)} == expected
