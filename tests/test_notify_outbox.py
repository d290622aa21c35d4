"""The outbox delivers every reminder once: through channel failures, crashes, concurrent deliverers."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import update

from notifications.models import Outbox
from notifications.outbox import _claim, deliver, retry
from notifications.recipients import remove_channel
from notifications.reminders import enqueue_reminders
from tests.test_notify_support import add_channel, add_task, notify_settings, outbox_rows, recorder, recorder_server  # noqa: F401
from tracker.db import session_scope
from tracker.errors import InvalidTransition

AS_OF = date(2024, 7, 10)
TOWNSHIPS = ("西里镇", "松岭镇", "柳溪乡")


def _queue(engine, recorder, per_township: int = 4) -> list[str]:
    """Overdue, due-soon and escalated tasks in three townships, a webhook each: returns the queued keys."""
    with session_scope(engine) as s:
        for name in TOWNSHIPS:
            for i in range(per_township):
                add_task(
                    s,
                    township_name=name,
                    title=f"{name}问题{i}",
                    deadline=AS_OF + timedelta(days=10 * i - 15),
                    last_progress_at=datetime(2024, 7, 1, tzinfo=UTC),
                )
            add_channel(s, township_name=name, target=recorder.url(f"/{name}"))
    enqueue_reminders(engine=engine, as_of=AS_OF)
    return sorted(o.dedupe_key for o in outbox_rows(engine))


def _later(hours: float) -> datetime:
    return datetime.now(UTC) + timedelta(hours=hours)


def test_failing_half_way_then_run_again_delivers_each_once(engine, recorder):
    expected = _queue(engine, recorder)
    assert len(expected) >= 12
    recorder.fail_after = 5  # the receiving side breaks after 5 accepted messages
    first = deliver(engine=engine, settings=notify_settings())
    assert first.sent == 5 and first.retrying == len(expected) - 5
    recorder.fail_after = None
    second = deliver(engine=engine, settings=notify_settings(), now=_later(1))
    assert second.sent == len(expected) - 5
    assert deliver(engine=engine, settings=notify_settings(), now=_later(48)).sent == 0
    got = recorder.accepted_keys()
    assert sorted(got) == expected  # every one, none twice
    assert {o.status for o in outbox_rows(engine)} == {"sent"}


def test_crashed_deliverer_claims_expire_then_deliver_once(engine, recorder):
    expected = _queue(engine, recorder, per_township=2)
    now = datetime.now(UTC)
    assert sorted(_claim(engine, "crashed-run", now)) == sorted(o.id for o in outbox_rows(engine))
    # the crashed run holds its claims: another run sends nothing yet
    assert deliver(engine=engine, settings=notify_settings(), now=now + timedelta(minutes=1)).sent == 0
    # the claim timeout (RECTIFY_NOTIFY_CLAIM_SECONDS, default 2 minutes) lapses: the rows are due again
    assert deliver(engine=engine, settings=notify_settings(), now=now + timedelta(minutes=2, seconds=1)).sent == len(
        expected
    )
    assert sorted(recorder.accepted_keys()) == expected


def test_a_run_stops_before_its_claims_lapse_and_leaves_the_rest_unclaimed(engine, recorder, monkeypatch):
    from notifications import outbox

    expected = _queue(engine, recorder, per_township=2)
    slow_send = outbox.send

    def send(*args, **kwargs):  # a slow channel: each message takes longer than the claim budget allows
        time.sleep(0.5)
        slow_send(*args, **kwargs)

    monkeypatch.setattr(outbox, "send", send)
    result = deliver(engine=engine, settings=notify_settings(concurrency=1, claim_seconds=1, timeout=0.1))
    assert 1 <= result.sent < len(expected)
    waiting = [o for o in outbox_rows(engine) if o.status == "pending"]
    assert len(waiting) == len(expected) - result.sent
    assert all(o.claim is None and o.attempts == 0 for o in waiting)
    monkeypatch.undo()
    assert deliver(engine=engine, settings=notify_settings()).sent == len(waiting)
    assert sorted(recorder.accepted_keys()) == expected


def test_two_deliverers_at_once_send_each_once(engine, recorder):
    expected = _queue(engine, recorder, per_township=6)
    results = []
    barrier = threading.Barrier(2)

    def run():
        barrier.wait()
        results.append(deliver(engine=engine, settings=notify_settings()).sent)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(results) == len(expected)
    assert sorted(recorder.accepted_keys()) == expected


def test_backoff_then_failed_with_error_then_retry(engine, recorder):
    with session_scope(engine) as s:
        add_task(s, deadline=AS_OF + timedelta(days=3), last_progress_at=datetime(2024, 7, 1, tzinfo=UTC))
        add_channel(s, target=recorder.url("/down"))
    enqueue_reminders(engine=engine, as_of=AS_OF)
    recorder.mode = "500"
    settings = notify_settings(max_attempts=3, backoff_seconds=60)
    t0 = datetime.now(UTC)
    assert deliver(engine=engine, settings=settings, now=t0).retrying == 1
    [row] = outbox_rows(engine)
    assert (row.status, row.attempts, row.next_attempt_at) == ("pending", 1, t0 + timedelta(seconds=60))
    assert deliver(engine=engine, settings=settings, now=t0 + timedelta(seconds=59)).as_dict() == {
        "sent": 0,
        "retrying": 0,
        "failed": 0,
    }  # not due yet
    assert deliver(engine=engine, settings=settings, now=t0 + timedelta(seconds=61)).retrying == 1
    [row] = outbox_rows(engine)
    assert row.attempts == 2 and row.next_attempt_at == t0 + timedelta(seconds=61 + 120)
    assert deliver(engine=engine, settings=settings, now=t0 + timedelta(seconds=182)).failed == 1
    [row] = outbox_rows(engine)
    assert row.status == "failed" and row.attempts == 3 and row.last_error == "对方返回 HTTP 500（对方服务器内部错误）"
    assert len(recorder.requests) == 3
    assert deliver(engine=engine, settings=settings, now=t0 + timedelta(days=1)).as_dict()["failed"] == 0

    with session_scope(engine) as s:
        retry(s, outbox_id=row.id)
    recorder.mode = "ok"
    assert deliver(engine=engine, settings=settings).sent == 1
    [row] = outbox_rows(engine)
    assert row.status == "sent" and row.last_error is None
    with session_scope(engine) as s, pytest.raises(InvalidTransition, match="已发送"):
        retry(s, outbox_id=row.id)


def test_removed_channel_fails_its_pending_messages(engine, recorder):
    _queue(engine, recorder, per_township=1)
    rows = outbox_rows(engine)
    removed = rows[0].channel_id
    with session_scope(engine) as s:
        remove_channel(s, channel_id=removed, actor="test")
    assert deliver(engine=engine, settings=notify_settings()).sent == len(rows) - 1
    gone = [o for o in outbox_rows(engine) if o.channel_id == removed]
    assert gone and all(o.status == "failed" and o.last_error == "接收渠道已删除，未发送" for o in gone)
    with session_scope(engine) as s, pytest.raises(InvalidTransition, match="渠道已删除"):
        retry(s, outbox_id=gone[0].id)
    # re-adding the same target reactivates the channel: reminders already queued for it are not repeated
    with session_scope(engine) as s:
        again = add_channel(s, township_name=TOWNSHIPS[0], target=recorder.url(f"/{TOWNSHIPS[0]}"))
    assert again.id == removed
    assert enqueue_reminders(engine=engine, as_of=AS_OF) == {"due_soon": 0, "overdue": 0, "escalation": 0, "stale": 0}


def test_templates_in_the_data_dir_override_the_packaged_ones(engine, recorder, tmp_path):
    with session_scope(engine) as s:
        task = add_task(s, deadline=AS_OF + timedelta(days=5), last_progress_at=datetime(2024, 7, 1, tzinfo=UTC))
        add_channel(s, target=recorder.url("/x"))
    enqueue_reminders(engine=engine, as_of=AS_OF)
    (tmp_path / "messages").mkdir()
    (tmp_path / "messages" / "due_soon.j2").write_text(
        "请注意：{{ title }}\n\n{{ township }}，{{ deadline }}前完成（{{ light }}）。{{ url }}", encoding="utf-8"
    )
    assert deliver(engine=engine, settings=notify_settings(base_url="http://h"), templates_dir=tmp_path).sent == 1
    body = recorder.accepted[0].json()
    assert body["subject"] == f"请注意：{task.title}"
    assert body["text"] == f"西里镇，2024年7月15日前完成（黄灯）。http://h/tasks/{task.id}"


def test_broken_override_fails_the_message_not_the_channel(engine, recorder, tmp_path):
    with session_scope(engine) as s:
        add_task(s, deadline=AS_OF + timedelta(days=5), last_progress_at=datetime(2024, 7, 1, tzinfo=UTC))
        add_task(s, deadline=AS_OF - timedelta(days=2), last_progress_at=datetime(2024, 7, 1, tzinfo=UTC))
        add_channel(s, target=recorder.url("/x"))
    enqueue_reminders(engine=engine, as_of=AS_OF)
    (tmp_path / "messages").mkdir()
    (tmp_path / "messages" / "due_soon.j2").write_text("{{ no_such_field }}", encoding="utf-8")
    result = deliver(engine=engine, settings=notify_settings(), templates_dir=tmp_path)
    assert result.as_dict() == {"sent": 1, "retrying": 1, "failed": 0}
    failed = [o for o in outbox_rows(engine) if o.status == "pending"]
    assert failed[0].kind == "due_soon" and "消息模板出错" in failed[0].last_error


def test_retry_resets_attempts(engine, recorder):
    _queue(engine, recorder, per_township=1)
    row = outbox_rows(engine)[0]
    with session_scope(engine) as s:
        s.execute(update(Outbox).where(Outbox.id == row.id).values(status="failed", attempts=8, last_error="x"))
    with session_scope(engine) as s:
        again = retry(s, outbox_id=row.id)
    assert (again.status, again.attempts) == ("pending", 0)
