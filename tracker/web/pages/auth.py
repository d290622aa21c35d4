"""Login, logout and the home redirect."""
from __future__ import annotations

import logging
import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from tracker import users
from tracker.errors import Forbidden
from tracker.web.deps import CurrentUser, SessionDep, require_csrf
from tracker.web.templating import is_county, render

router = APIRouter(include_in_schema=False)
log = logging.getLogger("rectify.auth")


def _safe_next(target: str | None) -> str:
    """Only paths on this site: never an open redirect to another host."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"


@router.get("/")
def home(user: CurrentUser):
    return RedirectResponse("/dashboard" if is_county(user) else "/tasks", status_code=303)


@router.get("/login")
def login_form(request: Request, next: str = "/"):
    return render(request, "login.html", next=_safe_next(next), name="", error=None)


@router.post("/login", dependencies=[Depends(require_csrf)])
def login(request: Request, session: SessionDep, name: Annotated[str, Form()] = "",
          password: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/"):
    try:
        user = users.authenticate(session, name=name.strip(), password=password)
    except Forbidden as exc:
        log.warning("login refused for %r from %s: %s", name.strip(), request.client.host if request.client else "?",
                    exc.message)
        return render(request, "login.html", status_code=exc.status_code, error=exc.message, name=name,
                      next=_safe_next(next))
    request.session.clear()  # a fresh session (and CSRF token) at every login
    request.session.update(uid=user.id, csrf=secrets.token_urlsafe(24))
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request):
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
