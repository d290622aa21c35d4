"""Login sessions kept on the server, so that they can end (issue 13).

The session cookie (signed by Starlette's SessionMiddleware) carries a random session id; the
database keeps only its sha256 in `UserSession`, with the user, when it began and when it was last
used. A session is valid while its row exists, the user is active, it was used within the idle
timeout (`RECTIFY_SESSION_IDLE_MINUTES`) and it began within the lifetime (`RECTIFY_SESSION_HOURS`).

Why rows rather than a per-user epoch in the cookie: logging out must end *that* session (an epoch
bump would end every device's), the idle timeout needs a last-used time the server trusts, and the
one-time messages shown after a redirect (a new API token among them) must stay on the server, not
in a cookie anyone holding it can decode.

Ending sessions:
- logout deletes the session's row (`end`);
- a change of a user's password, role, township, county or active flag ends all of the user's
  sessions and clears the user's API token, whatever code makes it: a `before_flush` listener on every
  ORM session watches those columns (`CREDENTIAL_FIELDS`). The one exception is the session in which
  a user changes their own password or role (`acting_in`): they stay logged in there. Bulk
  `update(User)` statements bypass the ORM and must call `end_all` themselves.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, event, inspect, select, update
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session

from tracker.config import Settings, get_settings
from tracker.db import utcnow
from tracker.models import User, UserSession

# Columns of User whose change ends the user's sessions and API token: who they are and what they may do.
CREDENTIAL_FIELDS = ("password_hash", "role", "township_id", "county_id", "active")
# `seen_at` is written at most this often per session: a page view is not a database write every time.
TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class Current:
    """A valid session: its id's hash (for flashes and logout) and its user."""

    key: str
    user: User


def _key(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


def begin(session: Session, *, user: User, address: str | None = None, now: datetime | None = None) -> str:
    """A new session for `user`; returns the id for the cookie (only its hash is stored)."""
    now = now or utcnow()
    sid = secrets.token_urlsafe(32)
    session.execute(
        UserSession.__table__.insert().values(
            key=_key(sid), user_id=user.id, created_at=now, seen_at=now, address=(address or "")[:64] or None
        )
    )
    return sid


def current(
    session: Session, sid: str | None, *, now: datetime | None = None, settings: Settings | None = None
) -> Current | None:
    """The session's user if `sid` names a live session; an expired one is deleted on the way."""
    if not sid or not isinstance(sid, str):
        return None
    settings = settings or get_settings()
    now = now or utcnow()
    key = _key(sid)
    row = session.execute(
        select(UserSession.user_id, UserSession.created_at, UserSession.seen_at).where(UserSession.key == key)
    ).first()
    if row is None:
        return None
    if (
        row.seen_at + timedelta(minutes=settings.session_idle_minutes) <= now
        or row.created_at + timedelta(hours=settings.session_hours) <= now
    ):
        session.execute(delete(UserSession).where(UserSession.key == key))
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    if now - row.seen_at >= TOUCH_EVERY:
        session.execute(update(UserSession).where(UserSession.key == key).values(seen_at=now))
    return Current(key=key, user=user)


def end(session: Session, sid: str | None) -> None:
    """Logout: this session only."""
    if sid and isinstance(sid, str):
        session.execute(delete(UserSession).where(UserSession.key == _key(sid)))


def end_all(session: Session, user_id: int) -> None:
    """Every session of the user (their API token is cleared by the caller or the listener below)."""
    session.execute(delete(UserSession).where(UserSession.user_id == user_id))


def purge(session: Session, *, now: datetime | None = None, settings: Settings | None = None) -> int:
    """Delete sessions past their idle timeout or lifetime (done at each login; they are refused anyway)."""
    settings = settings or get_settings()
    now = now or utcnow()
    result = session.execute(
        delete(UserSession).where(
            (UserSession.seen_at <= now - timedelta(minutes=settings.session_idle_minutes))
            | (UserSession.created_at <= now - timedelta(hours=settings.session_hours))
        )
    )
    return result.rowcount or 0


# One-time messages ("flashes") of a logged-in session, stored on its row.


def add_flash(session: Session, key: str, level: str, message: str) -> None:
    flashes = session.execute(select(UserSession.flash).where(UserSession.key == key)).scalar() or []
    session.execute(update(UserSession).where(UserSession.key == key).values(flash=[*flashes, [level, message]]))


def pop_flashes(session: Session, key: str) -> list[list[str]]:
    flashes = session.execute(select(UserSession.flash).where(UserSession.key == key)).scalar()
    if flashes:
        session.execute(update(UserSession).where(UserSession.key == key).values(flash=None))
    return flashes or []


_ACTING = "rectify_acting_session"  # Session.info key: (user id, session key) of the request being served


def acting_in(session: OrmSession, current: Current) -> None:
    """Mark the database session as serving `current`: a user changing their own password, in this
    session, stays logged in here while every other session of theirs ends."""
    session.info[_ACTING] = (current.user.id, current.key)


@event.listens_for(OrmSession, "before_flush")
def _credentials_changed(session: OrmSession, _context, _instances) -> None:
    """A user whose password, role, township, county or active flag changes loses every session and token."""
    for obj in list(session.dirty):
        if not isinstance(obj, User) or obj.id is None:
            continue
        state = inspect(obj)
        if any(f in state.attrs.keys() and state.attrs[f].history.has_changes() for f in CREDENTIAL_FIELDS):
            obj.token_hash = None
            gone = delete(UserSession).where(UserSession.user_id == obj.id)
            acting_user, acting_key = session.info.get(_ACTING, (None, None))
            if acting_user == obj.id and obj.active:
                gone = gone.where(UserSession.key != acting_key)
            session.execute(gone)
