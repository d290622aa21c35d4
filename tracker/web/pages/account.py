"""A user's own account: changing the password (also the forced change after an admin set it)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from tracker import passwords, users
from tracker.errors import DomainError, ValidationFailed
from tracker.web.deps import CurrentUser, SessionDep
from tracker.web.templating import flash, render

router = APIRouter(prefix="/account", include_in_schema=False)


def _page(request: Request, user, *, status_code: int = 200, error: str | None = None):
    return render(
        request,
        "account_password.html",
        user=user,
        status_code=status_code,
        error=error,
        reason=users.password_change_due(user),
        policy=passwords.describe(),
    )


@router.get("/password")
def password_form(request: Request, user: CurrentUser):
    return _page(request, user)


@router.post("/password")
def change_password(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    current_password: Annotated[str, Form()] = "",
    new_password: Annotated[str, Form()] = "",
    confirm_password: Annotated[str, Form()] = "",
):
    try:
        if new_password != confirm_password:
            raise ValidationFailed("两次输入的新密码不一致")
        users.change_password(session, user=user, current_password=current_password, new_password=new_password)
    except DomainError as exc:
        session.rollback()
        return _page(request, user, status_code=exc.status_code, error=exc.message)
    flash(request, "密码已修改")
    return RedirectResponse("/", status_code=303)
