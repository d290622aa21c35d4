"""Users, passwords (argon2), API tokens (stored as sha256) and who may see what.

Managing users is for county admins: the functions that change or list users take the acting user
(`actor`) and refuse anyone else; `actor=None` is the local operator of the `rectify users` commands.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from functools import cache

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from tracker import lockout, sessions  # noqa: F401  (sessions: its listener ends sessions)
from tracker.config import TZ
from tracker.db import utcnow
from tracker.errors import Forbidden, NotFound, ValidationFailed
from tracker.models import Role, Township, User, UserPublic, UserRow
from tracker.vocabulary import COUNTY_ROLES

MIN_PASSWORD = 8

_hasher = PasswordHash((Argon2Hasher(),))


@cache
def _dummy_hash() -> str:
    """Verified against when the user does not exist, so a wrong name costs as much as a wrong password.

    Made on first use: hashing at import would slow every CLI start by ~0.1 s."""
    return _hasher.hash("rectify-timing-equaliser")


def _check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD:
        raise ValidationFailed(f"密码至少 {MIN_PASSWORD} 位")


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _by_name(session: Session, name: str) -> User | None:
    return session.execute(select(User).where(User.name == name)).scalars().first()


def get_user(session: Session, *, name: str) -> User:
    """An active user by name (the CLI's `--as NAME`)."""
    user = _by_name(session, name)
    if user is None:
        raise NotFound(f"用户 {name} 不存在")
    if not user.active:
        raise Forbidden(f"用户 {name} 已停用")
    return user


def create_user(session: Session, *, name: str, role: str, password: str, township: str | None = None,
                actor: User | None = None) -> User:
    require_admin(actor)
    name = (name or "").strip()
    if not name:
        raise ValidationFailed("用户名不能为空")
    if len(name) > 64:
        raise ValidationFailed("用户名不能超过 64 个字符")
    if role not in Role.labels():
        raise ValidationFailed(f"角色“{role}”无效，可选：{Role.choices()}")
    township_id = None
    if role == Role.township:
        if not township:
            raise ValidationFailed("乡镇用户必须指定所属乡镇")
        township_id = session.execute(select(Township.id).where(Township.name == township)).scalar()
        if township_id is None:
            raise ValidationFailed(f"乡镇“{township}”不存在（请先导入该乡镇的报告）")
    elif township:
        raise ValidationFailed("县级用户不属于某个乡镇，请不要指定乡镇")
    _check_password(password)
    if _by_name(session, name) is not None:
        raise ValidationFailed(f"用户名 {name} 已存在")
    user = User(name=name, role=role, township_id=township_id, password_hash=_hasher.hash(password))
    session.add(user)
    try:
        session.flush()
    except IntegrityError:  # a concurrent create of the same name won the race
        raise ValidationFailed(f"用户名 {name} 已存在") from None
    return user


def authenticate(session: Session, *, name: str, password: str, address: str | None = None,
                 now: datetime | None = None) -> User:
    """The user if the password is right, under the lockout of tracker/lockout.py.

    The attempt is counted against (name, client address) before the password is checked, and the
    caller's transaction is committed with it (so that parallel attempts see it); an unknown name is
    answered like a known one (a dummy hash is checked, the same message). On success the pair's count
    is cleared in the caller's (next) transaction."""
    now = now or utcnow()
    attempt = lockout.reserve(session, name=name, address=address, now=now)
    if not attempt.allowed:
        raise Forbidden(_locked_message(attempt.locked_until))
    user = _by_name(session, name)
    if user is None:
        _hasher.verify(password, _dummy_hash())
        ok, new_hash = False, None
    else:
        ok, new_hash = _hasher.verify_and_update(password, user.password_hash)
    if not ok:
        raise Forbidden(_locked_message(attempt.locked_until) if attempt.locked_until else "用户名或密码错误")
    if not user.active:
        raise Forbidden("账号已停用，请联系县级管理员")
    lockout.clear(session, name=name, address=address, now=now)
    if new_hash:  # stronger parameters: a rehash is not a password change (no sessions end, no history)
        session.execute(update(User).where(User.id == user.id).values(password_hash=new_hash))
    return user


def _locked_message(until: datetime) -> str:
    return f"登录失败次数过多，账号已锁定至 {until.astimezone(TZ):%H:%M}，请稍后再试"


def issue_token(session: Session, *, name: str, actor: User | None = None) -> str:
    """A new API token for the user, replacing the old one; only its hash is kept."""
    require_admin(actor)
    user = get_user(session, name=name)
    token = secrets.token_urlsafe(32)
    user.token_hash = _token_hash(token)
    session.flush()
    return token


def user_for_token(session: Session, *, token: str) -> User | None:
    if not token:
        return None
    user = session.execute(select(User).where(User.token_hash == _token_hash(token))).scalars().first()
    return user if user is not None and user.active else None


def set_password(session: Session, *, name: str, password: str, actor: User | None = None) -> None:
    require_admin(actor)
    user = _by_name(session, name)
    if user is None:
        raise NotFound(f"用户 {name} 不存在")
    _check_password(password)
    user.password_hash = _hasher.hash(password)
    lockout.clear_name(session, name=user.name)  # a new password lifts every lock on the name
    session.flush()


def set_active(session: Session, *, name: str, active: bool, actor: User | None = None) -> None:
    require_admin(actor)
    user = _by_name(session, name)
    if user is None:
        raise NotFound(f"用户 {name} 不存在")
    user.active = active
    if not active:
        user.token_hash = None  # a disabled account's token must not outlive it
    session.flush()


def list_users(session: Session, *, actor: User | None = None, user_id: int | None = None) -> list[UserRow]:
    """Every user (or the one `user_id`), by role and name, with the name of their township."""
    require_admin(actor)
    q = (select(User, Township.name).outerjoin(Township, Township.id == User.township_id)
         .order_by(User.role, User.name))
    if user_id is not None:
        q = q.where(User.id == user_id)
    rows = session.execute(q).all()
    locks = lockout.locks(session, names=[u.name for u, _ in rows])  # from any address
    return [UserRow.model_validate(u, update={"township": t, "locked_until": locks.get(u.name)}) for u, t in rows]


def user_by_id(session: Session, *, actor: User | None, user_id: int) -> User:
    """The user `user_id`, for a county admin about to change it."""
    require_admin(actor)
    target = session.get(User, user_id)
    if target is None:
        raise NotFound(f"用户 {user_id} 不存在")
    return target


def public_user(session: Session, *, actor: User | None, user_id: int) -> UserPublic:
    rows = list_users(session, actor=actor, user_id=user_id)
    if not rows:
        raise NotFound(f"用户 {user_id} 不存在")
    return rows[0]


def update_user(session: Session, *, actor: User | None, user_id: int, active: bool | None = None,
                password: str | None = None) -> UserPublic:
    """Enable or disable a user, or reset the password (the API's PATCH)."""
    target = user_by_id(session, actor=actor, user_id=user_id)
    if password is not None:
        set_password(session, name=target.name, password=password, actor=actor)
    if active is not None:
        set_active(session, name=target.name, active=active, actor=actor)
    return public_user(session, actor=actor, user_id=user_id)


def can_see_township(user: User, township_id: int) -> bool:
    return user.role in COUNTY_ROLES or (user.role == Role.township and user.township_id == township_id)


def is_county(user: User | None) -> bool:
    return user is not None and user.role in COUNTY_ROLES


def require_role(user: User, *roles: str) -> None:
    if user.role not in roles:
        raise Forbidden("无权执行此操作")


def require_admin(actor: User | None) -> None:
    """Managing users and reminder channels: county admins (or the local operator, `None`)."""
    if actor is not None:
        require_role(actor, Role.county_admin)


def require_county(actor: User | None) -> None:
    """Importing, the county's views: county admins and staff (or the local operator, `None`)."""
    if actor is not None:
        require_role(actor, *COUNTY_ROLES)
