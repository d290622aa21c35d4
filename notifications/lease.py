"""A named lease row: at most one live holder; another takes it once the holder stops renewing.

Times come from the processes' clocks (kept in sync by NTP); the lease length dwarfs any skew.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import case, literal, or_, select, update
from sqlalchemy.engine import Engine

from notifications.models import SchedulerLease
from notifications.outbox import dialect_insert
from tracker.db import UTCDateTime, utcnow

LEASE = SchedulerLease.__table__


def acquire(engine: Engine, *, name: str, holder: str, ttl: timedelta, now: datetime | None = None) -> bool:
    """Take or renew the lease; True while `holder` has it."""
    now = now or utcnow()
    with engine.begin() as conn:
        # One UPDATE decides: under PostgreSQL's row lock a concurrent contender re-checks and loses.
        took = conn.execute(
            update(LEASE)
            .where(LEASE.c.name == name, or_(LEASE.c.holder == holder, LEASE.c.expires_at < now))
            .values(
                holder=holder,
                expires_at=now + ttl,
                acquired_at=case((LEASE.c.holder == holder, LEASE.c.acquired_at), else_=literal(now, UTCDateTime)),
            )
        ).rowcount
        if took:
            return True
        return (
            conn.execute(
                dialect_insert(conn, LEASE)
                .values(name=name, holder=holder, expires_at=now + ttl, acquired_at=now)
                .on_conflict_do_nothing(index_elements=["name"])
                .execution_options(preserve_rowcount=True)
            ).rowcount
            == 1
        )


def release(engine: Engine, *, name: str, holder: str) -> None:
    """Let another process take over at once (a clean shutdown)."""
    with engine.begin() as conn:
        conn.execute(update(LEASE).where(LEASE.c.name == name, LEASE.c.holder == holder).values(expires_at=utcnow()))


def current(engine: Engine, *, name: str) -> SchedulerLease | None:
    with engine.connect() as conn:
        row = conn.execute(select(LEASE).where(LEASE.c.name == name)).first()
    return SchedulerLease(**row._mapping) if row else None
