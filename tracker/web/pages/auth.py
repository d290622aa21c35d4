"""Login, logout and the home redirect."""

from __future__ import annotations

import logging
import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from sqlmodel import Session

from tracker import sessions, users
from tracker.errors import Forbidden
from tracker.web import audit_trail, throttle
from tracker.web.deps import SESSION_ID, CurrentUser, SessionDep, require_csrf
from tracker.web.templating import is_county, render

router = APIRouter(include_in_schema=False)
log = logging.getLogger("rectify.auth")
RATE_LIMITED = "登录尝试过于频繁，已限流（限流解除前的其后尝试不再逐条记录）"


def _safe_next(target: str | None) -> str:
    """Only paths on this site: never an open redirect to another host."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"


@router.get("/")
def home(user: CurrentUser):
    return RedirectResponse("/dashboard" if is_county(user) or user.role == "city" else "/tasks", status_code=303)


@router.get("/login")
def login_form(request: Request, next: str = "/"):
    return render(request, "login.html", next=_safe_next(next), name="", error=None)


@router.post("/login", dependencies=[Depends(require_csrf)])
async def login(
    request: Request,
    name: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
):
    """Async so that a flood of attempts waits in the event loop: rate limits first (no database, no
    hashing), then the password check in a worker thread when one of the few slots is free (throttle.py)."""
    name = name.strip()
    address = audit_trail.client_host(request)

    def refused(status: int, message: str, headers: dict | None = None):
        response = render(request, "login.html", status_code=status, error=message, name=name, next=_safe_next(next))
        response.headers.update(headers or {})
        return response

    wait, first = throttle.login_limits(request.app).check(name=name, address=address)
    if wait:
        log.warning("login attempt for %r from %s over the rate limit", name, address or "?")
        if first:
            await run_in_threadpool(_audit_rate_limited, request, name)
        return refused(429, f"登录尝试过于频繁，请 {wait} 秒后再试", {"Retry-After": str(wait)})
    try:
        user_id, sid, error = await throttle.check_password_in_thread(
            lambda: _login(request, name=name, password=password, address=address)
        )
    except throttle.Busy:
        return refused(503, "登录人数较多，请稍后再试", {"Retry-After": "5"})
    if error is not None:
        return refused(error.status_code, error.message)
    request.session.clear()  # a fresh session (and CSRF token) at every login: nothing from before carries over
    request.session.update({SESSION_ID: sid, "csrf": secrets.token_urlsafe(24)})
    return RedirectResponse(_safe_next(next), status_code=303)


def _audit_rate_limited(request: Request, name: str) -> None:
    with Session(request.app.state.engine) as session:
        audit_trail.login_failed(session, request, name, RATE_LIMITED)
        session.commit()


def _login(request: Request, *, name: str, password: str, address: str | None):
    """In a worker thread: check the password, and on success begin a server-side session.

    Returns (user id, session id, None) or (None, None, the Forbidden to show)."""
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        try:
            user = users.authenticate(session, name=name, password=password, address=address)
        except Forbidden as exc:
            log.warning("login refused for %r from %s: %s", name, address or "?", exc.message)
            audit_trail.login_failed(session, request, name, exc.message)
            session.commit()
            return None, None, exc
        sessions.purge(session)
        sid = sessions.begin(session, user=user, address=address)
        audit_trail.login_succeeded(session, request, user)
        session.commit()
        return user.id, sid, None


@router.post("/logout")
def logout(request: Request, session: SessionDep):
    """Ends this session on the server: the old cookie, replayed, is a stranger's."""
    sid = request.session.get(SESSION_ID)
    live = sessions.current(session, sid)
    if live is not None:
        audit_trail.logged_out(session, request, live.user.id)
    sessions.end(session, sid)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
