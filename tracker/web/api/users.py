"""Users, for county admins (tracker.users checks who acts)."""
from __future__ import annotations

from fastapi import APIRouter

from tracker import users
from tracker.models import UserCreate, UserPublic, UserUpdate
from tracker.web.deps import CurrentUser, SessionDep
from tracker.web.forms import Id

router = APIRouter(tags=["users"])


@router.get("/users", response_model=list[UserPublic], summary="用户列表（县级管理员）")
def list_users(session: SessionDep, user: CurrentUser):
    return users.list_users(session, actor=user)


@router.post("/users", response_model=UserPublic, status_code=201, summary="添加用户（县级管理员）")
def create_user(session: SessionDep, user: CurrentUser, body: UserCreate):
    created = users.create_user(session, actor=user, name=body.name, role=body.role, password=body.password,
                                township=body.township, county=body.county)
    return users.public_user(session, actor=user, user_id=created.id)


@router.patch("/users/{user_id}", response_model=UserPublic, summary="启用/停用用户或重置密码（县级管理员）")
def update_user(session: SessionDep, user: CurrentUser, user_id: Id, body: UserUpdate):
    return users.update_user(session, actor=user, user_id=user_id, active=body.active, password=body.password)
