"""The very first check on a ledger (no reminder in the outbox yet) inserts without ON CONFLICT; a key
another check queued meanwhile sends it back to the ON CONFLICT path, with the same result."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import insert, select

from notifications.models import Outbox
from notifications.reminders import enqueue_reminders
from tests.test_notify_support import notify_settings, outbox_rows
from tests.test_reminders_window import D, _ledger
from tracker.db import utcnow


def _first_check(engine) -> tuple[dict, set]:
    counts = enqueue_reminders(engine=engine, as_of=D, settings=notify_settings())
    return counts, {(o.dedupe_key, o.kind, o.channel_id, o.task_id, o.threshold) for o in outbox_rows(engine)}


def test_first_check_without_and_with_a_conflicting_key(engine):
    from tests.conftest import _truncate

    _ledger(engine, random.Random(1))
    counts, rows = _first_check(engine)
    assert sum(counts.values()) == len(rows) > 10
    again = enqueue_reminders(engine=engine, as_of=D, settings=notify_settings())
    assert again == dict.fromkeys(again, 0)

    # Same ledger; an outbox row of another kind holding one of the keys the check will make, as a check
    # running at the same time could have: the plain INSERT fails, the savepoint goes back, ON CONFLICT
    # skips that key and queues the rest.
    _truncate(engine)
    _ledger(engine, random.Random(1))
    key, kind, channel_id, task_id, threshold = sorted(rows)[0]
    with engine.begin() as c:
        c.execute(
            insert(Outbox.__table__).values(
                dedupe_key=key,
                channel_id=channel_id,
                kind="digest",
                task_id=task_id,
                as_of=D - timedelta(days=1),
                status="pending",
                attempts=0,
                next_attempt_at=utcnow(),
                created_at=utcnow(),
            )
        )
    counts2, rows2 = _first_check(engine)
    assert counts2[kind] == counts[kind] - 1 and sum(counts2.values()) == sum(counts.values()) - 1
    assert {r for r in rows2 if r[1] != "digest"} == rows - {(key, kind, channel_id, task_id, threshold)}
    with engine.connect() as c:
        assert c.execute(select(Outbox.kind).where(Outbox.dedupe_key == key)).scalar() == "digest"
