"""Users, for county admins."""
from __future__ import annotations

from fastapi import APIRouter
from sqlmodel import Session

from tracker import users
from tracker.errors import NotFound
from tracker.models import Role, Township, User
from tracker.web.api.schemas import UserCreate, UserPublic, UserUpdate
from tracker.web.deps import CurrentUser, SessionDep
from tracker.web.forms import Id

router = APIRouter(tags=["users"])


def _public(session: Session, user: User) -> UserPublic:
    township = session.get(Township, user.township_id).name if user.township_id else None
    return UserPublic(id=user.id, name=user.name, role=user.role, township=township, active=user.active,
                      created_at=user.created_at)


@router.get("/users", response_model=list[UserPublic], summary="用户列表（县级管理员）")
def list_users(session: SessionDep, user: CurrentUser):
    users.require_role(user, Role.county_admin)
    return [_public(session, u) for u in users.list_users(session)]


@router.post("/users", response_model=UserPublic, status_code=201, summary="添加用户（县级管理员）")
def create_user(session: SessionDep, user: CurrentUser, body: UserCreate):
    users.require_role(user, Role.county_admin)
    created = users.create_user(session, name=body.name, role=body.role, password=body.password,
                                township=body.township)
    return _public(session, created)


@router.patch("/users/{user_id}", response_model=UserPublic, summary="启用/停用用户或重置密码（县级管理员）")
def update_user(session: SessionDep, user: CurrentUser, user_id: Id, body: UserUpdate):
    users.require_role(user, Role.county_admin)
    target = session.get(User, user_id)
    if target is None:
        raise NotFound(f"用户 {user_id} 不存在")
    if body.password is not None:
        users.set_password(session, name=target.name, password=body.password)
    if body.active is not None:
        users.set_active(session, name=target.name, active=body.active)
    return _public(session, target)
