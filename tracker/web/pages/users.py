"""User management, for county admins only (tracker.users checks who acts)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from tracker import passwords, users
from tracker.counties import county_choices
from tracker.errors import Conflict, DomainError, ValidationFailed
from tracker.models import Role, User
from tracker.reports import township_names
from tracker.web.deps import CurrentUser, SessionDep
from tracker.web.forms import Id
from tracker.web.templating import flash, render

router = APIRouter(prefix="/users", include_in_schema=False)


def _page(
    request: Request,
    session,
    user: User,
    *,
    status_code: int = 200,
    error: str | None = None,
    form: dict | None = None,
    row_error: tuple[int, str] | None = None,
):
    # the add form starts at the least powerful role
    form = {"role": Role.township.value} | (form or {})
    return render(
        request,
        "users.html",
        user=user,
        status_code=status_code,
        error=error,
        form=form,
        row_error=row_error,
        policy=passwords.describe(),
        users=users.list_users(session, actor=user),
        townships=township_names(session, actor=user),
        counties=county_choices(session, actor=user),
    )


def _refused(request: Request, session, user: User, user_id: int, exc: DomainError):
    """A refused change to one user: the list again, with the message beside that user."""
    session.rollback()
    return _page(request, session, user, status_code=exc.status_code, row_error=(user_id, exc.message))


@router.get("")
def users_page(request: Request, session: SessionDep, user: CurrentUser):
    return _page(request, session, user)


@router.post("")
def add_user(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    name: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    township: Annotated[str, Form()] = "",
    county: Annotated[str, Form()] = "",
):
    try:
        created = users.create_user(
            session,
            actor=user,
            name=name,
            role=role,
            password=password,
            township=township if role == Role.township else None,
            county=county.strip() or None if role != Role.city else None,
        )
    except DomainError as exc:
        session.rollback()
        return _page(
            request,
            session,
            user,
            status_code=exc.status_code,
            error=exc.message,
            form={"name": name, "role": role, "township": township, "county": county},
        )
    flash(request, f"已添加用户 {created.name}，其首次登录须先修改密码")
    return RedirectResponse("/users", status_code=303)


@router.post("/{user_id}/active")
def set_active(request: Request, session: SessionDep, user: CurrentUser, user_id: Id, active: Annotated[bool, Form()]):
    try:
        target = users.update_user(session, actor=user, user_id=user_id, active=active)
    except (ValidationFailed, Conflict) as exc:
        return _refused(request, session, user, user_id, exc)
    flash(request, f"已{'启用' if active else '停用'}用户 {target.name}")
    return RedirectResponse("/users", status_code=303)


@router.post("/{user_id}/role")
def change_role(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    user_id: Id,
    role: Annotated[str, Form()] = "",
    township: Annotated[str, Form()] = "",
):
    try:
        target = users.update_user(
            session, actor=user, user_id=user_id, role=role, township=township if role == Role.township else None
        )
    except (ValidationFailed, Conflict) as exc:
        return _refused(request, session, user, user_id, exc)
    flash(request, f"已将用户 {target.name} 的角色改为{Role.label_of(target.role)}")
    return RedirectResponse("/users", status_code=303)


@router.post("/{user_id}/password")
def reset_password(
    request: Request, session: SessionDep, user: CurrentUser, user_id: Id, password: Annotated[str, Form()] = ""
):
    target = users.user_by_id(session, actor=user, user_id=user_id)
    try:
        users.set_password(session, actor=user, name=target.name, password=password)
    except ValidationFailed as exc:
        return _refused(request, session, user, user_id, exc)
    flash(request, f"已重置用户 {target.name} 的密码" + ("，其下次登录须先修改密码" if target.id != user.id else ""))
    return RedirectResponse("/users", status_code=303)


@router.post("/{user_id}/token")
def new_token(request: Request, session: SessionDep, user: CurrentUser, user_id: Id):
    target = users.user_by_id(session, actor=user, user_id=user_id)
    token = users.issue_token(session, actor=user, name=target.name)
    flash(request, f"用户 {target.name} 的新 API 令牌（只显示这一次，请妥善保存；旧令牌已失效）：{token}", "warn")
    return RedirectResponse("/users", status_code=303)
