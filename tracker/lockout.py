"""Failed logins counted per (name, client address), one atomic statement per attempt (issue 13).

An attempt is *reserved* before its password is checked: one INSERT … ON CONFLICT DO UPDATE … RETURNING
adds 1 to the pair's count and returns it, so of any number of parallel guesses only the first
`RECTIFY_LOGIN_MAX_FAILURES` get their password checked; the rest are refused as locked without
hashing. The reservation that reaches the limit also sets the lock (`RECTIFY_LOGIN_LOCK_MINUTES`);
a right password clears the pair. Counts older than the lock period without a lock start again at 1,
so a few mistakes over a month never add up to a lock.

Keyed by the name as typed (existing or not, so unknown names behave exactly like known ones) and
the client address, so that someone elsewhere guessing the admin's password locks only themselves.
Guessing from many addresses is slowed by the per-name rate limit (tracker/web/throttle.py).

Each reservation commits at once: the row lock of an open transaction would otherwise make parallel
attempts wait for each other's password check (and on SQLite hold the database's write lock).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, delete, func, literal, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from tracker.config import Settings, get_settings
from tracker.db import UTCDateTime, utcnow
from tracker.models import LoginAttempt

KEEP = timedelta(days=1)  # rows untouched this long are purged


@dataclass(frozen=True)
class Attempt:
    failures: int  # this attempt included
    locked_until: datetime | None
    allowed: bool  # whether the password may be checked at all


def _key(name: str, address: str | None) -> tuple[str, str]:
    return (name or "").replace("\x00", "")[:64], (address or "local")[:64]


def reserve(
    session: Session, *, name: str, address: str | None, now: datetime | None = None, settings: Settings | None = None
) -> Attempt:
    """Count this attempt against (name, address) before checking its password, and commit `session`
    so that parallel attempts see the count (and wait for no row lock) while this one is hashed."""
    settings = settings or get_settings()
    now = now or utcnow()
    limit = settings.login_max_failures
    until = literal(now + timedelta(minutes=settings.login_lock_minutes), UTCDateTime)
    window_start = now - timedelta(minutes=settings.login_lock_minutes)
    key_name, key_address = _key(name, address)
    t = LoginAttempt.__table__.c
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(LoginAttempt.__table__).values(
        name=key_name,
        address=key_address,
        failures=1,
        updated_at=now,
        locked_until=now + timedelta(minutes=settings.login_lock_minutes) if limit <= 1 else None,
    )
    # The SET expressions read the row as it was before this statement (both databases).
    lock_over = and_(t.locked_until.is_not(None), t.locked_until <= now)
    stale = and_(t.locked_until.is_(None), t.updated_at <= window_start)
    restart = or_(lock_over, stale)
    stmt = stmt.on_conflict_do_update(
        index_elements=[t.name, t.address],
        set_={
            "failures": case((restart, 1), else_=t.failures + 1),
            "locked_until": case(
                (restart, until if limit <= 1 else literal(None, UTCDateTime)),
                (t.failures + 1 >= limit, func.coalesce(t.locked_until, until)),
                else_=t.locked_until,
            ),
            "updated_at": now,
        },
    ).returning(t.failures, t.locked_until)
    failures, locked_until = session.execute(stmt).one()
    session.commit()
    return Attempt(failures=failures, locked_until=locked_until, allowed=failures <= limit)


def clear(session, *, name: str, address: str | None, now: datetime | None = None) -> None:
    """A right password: the pair starts again (and rows nobody touched for a day go), in the caller's
    transaction (a Session or Connection), which also records the login."""
    now = now or utcnow()
    key_name, key_address = _key(name, address)
    session.execute(
        delete(LoginAttempt).where(
            or_(
                and_(LoginAttempt.name == key_name, LoginAttempt.address == key_address),
                LoginAttempt.updated_at < now - KEEP,
            )
        )
    )


def clear_name(session, *, name: str) -> None:
    """Lift every lock on `name` (its password was reset or changed)."""
    session.execute(delete(LoginAttempt).where(LoginAttempt.name == _key(name, None)[0]))


def locks(session, *, names: list[str] | None = None, now: datetime | None = None) -> dict[str, datetime]:
    """The latest lock still running per name (the user list shows it)."""
    now = now or utcnow()
    q = (
        select(LoginAttempt.name, func.max(LoginAttempt.locked_until))
        .where(LoginAttempt.locked_until > now)
        .group_by(LoginAttempt.name)
    )
    if names is not None:
        q = q.where(LoginAttempt.name.in_(names))
    return {n: until for n, until in session.execute(q)}
