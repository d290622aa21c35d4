"""Request dependencies: the database session, the current user, CSRF."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from tracker import sessions, users
from tracker.errors import PasswordChangeRequired
from tracker.models import User

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
SESSION_ID = "sid"  # the cookie's key for the server-side session id (tracker/sessions.py)
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
log = logging.getLogger("rectify.auth")


class LoginRequired(Exception):
    """No valid session or token: the API answers 401, pages redirect to the login form."""


class CsrfFailed(Exception):
    """An unsafe request on a session cookie without the session's CSRF token: answered 403."""


def _session(request: Request) -> Iterator[Session]:
    # scope="function" below: commit before the response goes out, so a redirect never outruns its write
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        request.state.db = session  # for the one-time messages (templating.flash) while the transaction lasts
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            request.state.db = None


SessionDep = Annotated[Session, Depends(_session, scope="function")]


def bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _current_user(request: Request, session: SessionDep) -> User:
    token = bearer_token(request)
    if token is not None:
        user = users.user_for_token(session, token=token)
        if user is None or not user.active:  # a refused API login (the form's are logged in pages/auth.py)
            log.warning(
                "API token refused from %s%s",
                request.client.host if request.client else "?",
                f" (user {user.name} disabled)" if user is not None else "",
            )
    else:
        live = sessions.current(session, request.session.get(SESSION_ID))
        user = live.user if live is not None else None
        if live is not None:
            sessions.acting_in(session, live)
            request.state.session_key = live.key  # the one-time messages of this session (templating.flash)
    if user is None or not user.active:
        raise LoginRequired()
    # Error pages show the navigation after the session rolled back (which expires `user`): keep a copy.
    request.state.user = SimpleNamespace(id=user.id, name=user.name, role=user.role, township_id=user.township_id)
    _password_gate(request, user)
    return user


# What a user who must change their password may still reach (logout needs no login).
PASSWORD_CHANGE_PATHS = ("/account/password", "/api/v1/account/password")


def _password_gate(request: Request, user: User) -> None:
    """A user whose password was set by an admin (or has expired) may only change it (tracker.users)."""
    reason = users.password_change_due(user)
    if reason is not None and request.url.path not in PASSWORD_CHANGE_PATHS:
        raise PasswordChangeRequired(reason)


CurrentUser = Annotated[User, Depends(_current_user, scope="function")]


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use (every rendered form carries it)."""
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(24)
    return token


async def _verify_csrf(request: Request) -> None:
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get(CSRF_FIELD)  # Starlette caches the parsed form for the endpoint
        sent = value if isinstance(value, str) else None
    expected = request.session.get("csrf")
    # Bytes: compare_digest raises on non-ASCII str, and a forged token may be anything.
    if not (sent and expected and secrets.compare_digest(sent.encode(), str(expected).encode())):
        raise CsrfFailed()


async def check_csrf(request: Request) -> None:
    """App-wide: unsafe requests riding on a logged-in session cookie must echo its CSRF token.

    Bearer-token requests carry no ambient credentials and requests without a login have nothing
    to protect (they end in 401), so neither needs one.
    """
    if request.method in UNSAFE_METHODS and bearer_token(request) is None and SESSION_ID in request.session:
        await _verify_csrf(request)


async def require_csrf(request: Request) -> None:
    """For the login form itself, which is posted before there is a login."""
    await _verify_csrf(request)
