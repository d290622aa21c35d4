"""Users, for county admins (tracker.users checks who acts)."""

from __future__ import annotations

from fastapi import APIRouter

from tracker import users
from tracker.models import PasswordChange, UserCreate, UserPublic, UserUpdate
from tracker.web.api.schemas import Message
from tracker.web.deps import CurrentUser, SessionDep
from tracker.web.forms import Id

router = APIRouter(tags=["users"])


@router.get("/users", response_model=list[UserPublic], summary="用户列表（县级管理员）")
def list_users(session: SessionDep, user: CurrentUser):
    return users.list_users(session, actor=user)


@router.post("/users", response_model=UserPublic, status_code=201, summary="添加用户（县级管理员）")
def create_user(session: SessionDep, user: CurrentUser, body: UserCreate):
    created = users.create_user(
        session,
        actor=user,
        name=body.name,
        role=body.role,
        password=body.password,
        township=body.township,
        county=body.county,
    )
    return users.public_user(session, actor=user, user_id=created.id)


@router.patch(
    "/users/{user_id}",
    response_model=UserPublic,
    summary="启用/停用用户、重置密码或更改角色（县级管理员）",
    description="管理员重置的密码，用户下次登录须先修改；最后一名启用中的县级管理员不能停用或改为其他角色。",
)
def update_user(session: SessionDep, user: CurrentUser, user_id: Id, body: UserUpdate):
    return users.update_user(
        session,
        actor=user,
        user_id=user_id,
        active=body.active,
        password=body.password,
        role=body.role,
        township=body.township,
    )


@router.post(
    "/account/password",
    response_model=Message,
    summary="修改自己的密码",
    description="须先修改密码的用户（管理员创建或重置了密码，或密码已过期）在修改前只能调用此接口，其他接口答复 403。",
)
def change_password(session: SessionDep, user: CurrentUser, body: PasswordChange):
    users.change_password(session, user=user, current_password=body.current_password, new_password=body.new_password)
    return Message(detail="密码已修改")
