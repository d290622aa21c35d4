"""A check that looks only at what changed since the last one misses nothing a full check would queue."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from notifications.reminders import enqueue_reminders
from tests.test_notify_support import add_channel, add_task, notify_settings, outbox_rows
from tracker import lifecycle, users
from tracker.db import session_scope
from tracker.models import Status, Task

D = date(2024, 6, 30)
TOWNSHIPS = ("西里镇", "松岭镇", "柳溪乡")


def _ledger(engine, rng: random.Random) -> None:
    with session_scope(engine) as s:
        for i in range(36):
            status = rng.choice([Status.in_progress.value] * 3 + [Status.unassigned.value])
            add_task(
                s,
                township_name=TOWNSHIPS[i % 3],
                title=f"问题{i}",
                status=status,
                deadline=D + timedelta(days=rng.randint(-60, 60)),
                assigned_at=datetime(2024, 3, 1, tzinfo=UTC) + timedelta(days=rng.randint(0, 90)),
            )
        add_channel(s, township_name=TOWNSHIPS[0])
        add_channel(s, township_name=TOWNSHIPS[1], kind="email", target="a@b.cn")
        add_channel(s, township_name=None, role="leader")
        users.create_user(s, name="县管理员", role="county_admin", password="password-1")
        for name in TOWNSHIPS:
            users.create_user(s, name=name, role="township", password="password-1", township=name)


def _change_something(engine, rng: random.Random, day: date) -> str:
    """One journaled change, as the web or CLI would make it."""
    with session_scope(engine) as s:
        admin = users.get_user(s, name="县管理员")
        tasks = list(s.execute(select(Task).order_by(Task.id)).scalars())
        task = rng.choice(tasks)
        township = users.get_user(s, name=TOWNSHIPS[(task.id - 1) % 3])
        action = rng.choice(["assign", "progress", "submit_reject", "channel"])
        if action == "assign" and task.status in (Status.unassigned, Status.in_progress):
            lifecycle.assign(
                s,
                actor=admin,
                task_ids=[task.id],
                owner_unit="司法所",
                owner_person="李四",
                deadline=day + timedelta(days=rng.randint(-40, 40)),
                category="限期整改",
            )
        elif action == "progress" and task.status == Status.in_progress:
            lifecycle.post_progress(s, actor=township, task_id=task.id, version=None, note="推进中")
        elif action == "submit_reject" and task.status == Status.in_progress:
            lifecycle.post_progress(s, actor=township, task_id=task.id, version=None, note="完成", submit=True)
            lifecycle.verify(s, actor=admin, task_id=task.id, version=None, reject_reason="材料不全")
        elif action == "channel" and not any(c.scope == TOWNSHIPS[2] for c in _channels(s)):
            add_channel(s, township_name=TOWNSHIPS[2], target="http://127.0.0.1:9/late", new=True)
        else:
            return "none"
        return action


def _channels(session):
    from notifications.recipients import list_channels

    return list_channels(session)


@pytest.mark.parametrize("seed", [1, 2])
def test_windowed_checks_queue_what_a_full_check_would(engine, seed):
    rng = random.Random(seed)
    _ledger(engine, rng)
    day, actions = D - timedelta(days=50), []
    for _ in range(30):
        day += timedelta(days=rng.randint(1, 9))
        for _ in range(rng.randint(0, 2)):
            actions.append(_change_something(engine, rng, day))
        enqueue_reminders(engine=engine, as_of=day, settings=notify_settings())
        # now everything: anything the window skipped would show up here
        missed = enqueue_reminders(engine=engine, as_of=day, settings=notify_settings(), full=True)
        assert missed == dict.fromkeys(missed, 0), (day, actions)
    assert {"assign", "progress", "submit_reject", "channel"} <= set(actions)
    kinds = {o.kind for o in outbox_rows(engine)}
    assert {"due_soon", "overdue", "escalation", "stale"} <= kinds


def test_a_channel_added_later_gets_what_is_owed_at_once(engine):
    with session_scope(engine) as s:
        add_task(s, deadline=D, last_progress_at=datetime.combine(D, time(), UTC))
        add_channel(s)
    for offset in (-10, -9):
        enqueue_reminders(engine=engine, as_of=D + timedelta(days=offset), settings=notify_settings())
    with session_scope(engine) as s:
        late = add_channel(s, target="http://127.0.0.1:9/late", new=True)
    queued = enqueue_reminders(engine=engine, as_of=D - timedelta(days=8), settings=notify_settings())
    assert queued["due_soon"] == 1
    assert [(o.channel_id, o.threshold) for o in outbox_rows(engine)] == [(1, 30), (late.id, 30)]
