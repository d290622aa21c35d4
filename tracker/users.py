"""Users, passwords (argon2), API tokens (stored as sha256) and who may see what.

Managing users is for county admins: the functions that change or list users take the acting user
(`actor`) and refuse anyone else; `actor=None` is the local operator of the `rectify users` commands.

Passwords follow the policy of tracker/passwords.py wherever they are set, and the last few are not
chosen again (their argon2 hashes are kept in `PasswordHistory`). An account a county admin creates,
or whose password an admin resets, must change its password at the next login (`must_change_password`);
the local operator sets one without that unless asked (`must_change=True`). Every change to a user
is recorded in the audit journal, and the last active county admin can be neither disabled nor demoted.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from functools import cache

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from tracker import audit, counties, lockout, passwords, sessions  # noqa: F401  (sessions: its listener ends sessions)
from tracker.config import TZ, get_settings
from tracker.db import utcnow
from tracker.errors import Forbidden, NotFound, ValidationFailed
from tracker.models import County, PasswordHistory, Role, Township, User, UserPublic, UserRow
from tracker.vocabulary import COUNTY_ROLES

_hasher = PasswordHash((Argon2Hasher(),))


@cache
def _dummy_hash() -> str:
    """Verified against when the user does not exist, so a wrong name costs as much as a wrong password.

    Made on first use: hashing at import would slow every CLI start by ~0.1 s."""
    return _hasher.hash("rectify-timing-equaliser")


def _check_password(password: str) -> None:
    missing = passwords.problems(password)
    if missing:
        raise ValidationFailed("密码不符合要求：" + "；".join(missing))


def _recent_hashes(session: Session, user: User) -> list[str]:
    """The hashes of the user's current and previous passwords, as many as the policy remembers."""
    keep = get_settings().password_history
    if keep <= 0:
        return []
    earlier = (
        session.execute(
            select(PasswordHistory.password_hash)
            .where(PasswordHistory.user_id == user.id)
            .order_by(PasswordHistory.id.desc())
            .limit(keep - 1)
        )
        .scalars()
        .all()
    )
    return [user.password_hash, *earlier]


def _check_not_reused(session: Session, user: User, password: str) -> None:
    keep = get_settings().password_history
    if any(_hasher.verify(password, h) for h in _recent_hashes(session, user)):
        raise ValidationFailed(f"密码不符合要求：不能与最近 {keep} 次使用过的密码相同")


def _store_password(session: Session, user: User, password: str, *, must_change: bool) -> None:
    """Set a checked password: the old hash goes into the history (pruned to what the policy remembers)."""
    keep = get_settings().password_history
    if keep > 1:
        session.add(PasswordHistory(user_id=user.id, password_hash=user.password_hash))
        session.flush()
        old = (
            session.execute(
                select(PasswordHistory.id)
                .where(PasswordHistory.user_id == user.id)
                .order_by(PasswordHistory.id.desc())
                .offset(keep - 1)
            )
            .scalars()
            .all()
        )
        if old:
            session.execute(delete(PasswordHistory).where(PasswordHistory.id.in_(old)))
    user.password_hash = _hasher.hash(password)
    user.password_changed_at = utcnow()
    user.must_change_password = must_change
    lockout.clear_name(session, name=user.name)  # a new password lifts every lock on the name


def generate_password() -> str:
    """A random password that satisfies the policy (demo accounts)."""
    return passwords.generate()


def password_change_due(user: User, now: datetime | None = None) -> str | None:
    """Why the user must change their password before doing anything else, or None."""
    if user.must_change_password:
        return "账号由管理员创建或密码已被管理员重置，请先修改密码后再继续使用"
    changed = user.password_changed_at or user.created_at
    if passwords.expired(changed, now or utcnow()):
        return f"密码已使用超过 {get_settings().password_max_age_days} 天，请先修改密码后再继续使用"
    return None


def _keep_an_admin(session: Session, target: User) -> None:
    """Refuse to disable or demote the last active county admin of a county (nobody could manage its users then).

    The active admins' rows are locked first (PostgreSQL), so two admins disabling each other at
    once cannot both succeed."""
    if target.role != Role.county_admin or not target.active:
        return
    admins = (
        session.execute(
            select(User.id)
            .where(User.role == Role.county_admin, User.active.is_(True), User.county_id == target.county_id)
            .order_by(User.id)
            .with_for_update()
        )
        .scalars()
        .all()
    )
    if not [i for i in admins if i != target.id]:
        raise ValidationFailed(
            f"{target.name} 是最后一名启用中的县级管理员，不能停用或改为其他角色；请先添加或启用另一名县级管理员"
        )


def _placement(
    session: Session, role: str, township: str | None, county: str | None, actor: User | None
) -> tuple[int | None, int | None]:
    """(township id, county id) of a user of `role`: county users belong to a county (a county admin's
    own; else the one named, or the default county), township users to a township of it, the city to none.
    A county admin creates county and township users of their county; the city county admins and city users."""
    if role not in Role.labels():
        raise ValidationFailed(f"角色“{role}”无效，可选：{Role.choices()}")
    if actor is not None and actor.role == Role.city and role not in MANAGED_BY_CITY:
        raise Forbidden("市级用户只能管理县级管理员和市级用户")
    if actor is not None and actor.role == Role.county_admin and role == Role.city:
        raise Forbidden("县级管理员不能创建或设置市级用户")
    if role == Role.city:
        if township or county:
            raise ValidationFailed("市级用户不属于某个县或乡镇，请不要指定县或乡镇")
        return None, None
    if actor is not None and actor.role == Role.county_admin:
        county_id = counties.own_county_id(session, actor)
        if county and counties.county_named(session, county).id != county_id:
            raise NotFound(f"县（区）“{county}”不存在")
    else:
        county_id = counties.resolve_county(session, county).id
    if role == Role.township:
        if not township:
            raise ValidationFailed("乡镇用户必须指定所属乡镇")
        township_id = session.execute(
            select(Township.id).where(Township.name == township, Township.county_id == county_id)
        ).scalar()
        if township_id is None:
            where = session.get(County, county_id).name
            raise ValidationFailed(f"乡镇“{township}”不存在（{where}尚无此乡镇：请先导入该乡镇的报告，或指定所属县）")
        return township_id, county_id
    if township:
        raise ValidationFailed("县级用户不属于某个乡镇，请不要指定乡镇")
    return None, county_id


MANAGED_BY_CITY = (Role.county_admin, Role.city)


def _manages(session: Session, actor: User | None, target: User) -> bool:
    """Whether `actor` may see and change the account `target` (the operator: every one)."""
    if actor is None:
        return True
    if actor.role == Role.city:
        return target.role in MANAGED_BY_CITY
    return (
        actor.role == Role.county_admin
        and target.role != Role.city
        and counties.own_county_id(session, target) == counties.own_county_id(session, actor)
    )


def _managed(session: Session, actor: User | None, name: str) -> User:
    """The user `name` if `actor` manages it; another county's user is absent (404)."""
    user = _by_name(session, name)
    if user is None or not _manages(session, actor, user):
        raise NotFound(f"用户 {name} 不存在")
    return user


def _record(
    session: Session,
    *,
    actor: User | None,
    action: str,
    user: User,
    before: dict | None = None,
    after: dict | None = None,
) -> None:
    audit.record(
        session,
        actor=audit.actor_name(actor),
        action=action,
        entity="user",
        entity_id=user.id,
        before=before,
        after=after,
    )


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


def create_user(
    session: Session,
    *,
    name: str,
    role: str,
    password: str,
    township: str | None = None,
    county: str | None = None,
    actor: User | None = None,
    must_change: bool | None = None,
) -> User:
    """A new user. Created by a county admin or the city (`actor`), it must change its password at the
    first login; created by the local operator, only when `must_change=True`. `county` (county and
    township users; omitted: the default county, or a county admin's own) holds `township`."""
    require_user_manager(actor)
    name = (name or "").strip()
    if not name:
        raise ValidationFailed("用户名不能为空")
    if len(name) > 64:
        raise ValidationFailed("用户名不能超过 64 个字符")
    township_id, county_id = _placement(session, role, township, county, actor)
    _check_password(password)
    if _by_name(session, name) is not None:
        raise ValidationFailed(f"用户名 {name} 已存在")
    must_change = actor is not None if must_change is None else must_change
    user = User(
        name=name,
        role=role,
        township_id=township_id,
        county_id=county_id,
        password_hash=_hasher.hash(password),
        must_change_password=must_change,
        password_changed_at=utcnow(),
    )
    session.add(user)
    try:
        session.flush()
    except IntegrityError:  # a concurrent create of the same name won the race
        raise ValidationFailed(f"用户名 {name} 已存在") from None
    _record(
        session,
        actor=actor,
        action="create",
        user=user,
        after={
            "name": name,
            "role": str(role),
            "township": township if township_id else None,
            "county": counties.county_name(session, county_id),
            "must_change_password": must_change,
        },
    )
    return user


def authenticate(
    session: Session, *, name: str, password: str, address: str | None = None, now: datetime | None = None
) -> User:
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
    require_user_manager(actor)
    _managed(session, actor, name)
    user = get_user(session, name=name)
    token = secrets.token_urlsafe(32)
    user.token_hash = _token_hash(token)
    session.flush()
    _record(session, actor=actor, action="token", user=user)
    return token


def user_for_token(session: Session, *, token: str) -> User | None:
    if not token:
        return None
    user = session.execute(select(User).where(User.token_hash == _token_hash(token))).scalars().first()
    return user if user is not None and user.active else None


def set_password(
    session: Session, *, name: str, password: str, actor: User | None = None, must_change: bool | None = None
) -> None:
    """Reset a user's password (and lift a lockout). Reset by a county admin for someone else, the user
    must change it at the next login; by the local operator, only when `must_change=True`."""
    require_user_manager(actor)
    user = _managed(session, actor, name)
    _check_password(password)
    _check_not_reused(session, user, password)
    if must_change is None:
        must_change = actor is not None and actor.id != user.id
    _store_password(session, user, password, must_change=must_change)
    session.flush()
    _record(session, actor=actor, action="password_reset", user=user, after={"must_change_password": must_change})


def change_password(session: Session, *, user: User, current_password: str, new_password: str) -> None:
    """A user choosing their own password (the forced change at first login, or any time)."""
    if not _hasher.verify(current_password or "", user.password_hash):
        raise ValidationFailed("当前密码不正确")
    _check_password(new_password)
    if new_password == current_password:
        raise ValidationFailed("密码不符合要求：新密码不能与当前密码相同")
    _check_not_reused(session, user, new_password)
    _store_password(session, user, new_password, must_change=False)
    session.flush()
    _record(session, actor=user, action="password_change", user=user)


def set_active(session: Session, *, name: str, active: bool, actor: User | None = None) -> None:
    require_user_manager(actor)
    user = _managed(session, actor, name)
    if not active:
        _keep_an_admin(session, user)
    was = user.active
    user.active = active
    if not active:
        user.token_hash = None  # a disabled account's token must not outlive it
    session.flush()
    _record(
        session,
        actor=actor,
        action="enable" if active else "disable",
        user=user,
        before={"active": was},
        after={"active": active},
    )


def set_role(session: Session, *, name: str, role: str, township: str | None = None, actor: User | None = None) -> None:
    """Change a user's role (and township, for township users), within the user's county."""
    require_user_manager(actor)
    user = _managed(session, actor, name)
    county = counties.county_name(session, user.county_id) if role != Role.city else None
    township_id, county_id = _placement(session, role, township, county, actor)
    if role == user.role and township_id == user.township_id:
        return
    if role != Role.county_admin:
        _keep_an_admin(session, user)
    before = {"role": str(user.role), "township_id": user.township_id}
    user.role, user.township_id, user.county_id = role, township_id, county_id
    session.flush()
    _record(
        session,
        actor=actor,
        action="role",
        user=user,
        before=before,
        after={"role": str(role), "township_id": township_id},
    )


def list_users(session: Session, *, actor: User | None = None, user_id: int | None = None) -> list[UserRow]:
    """The users `actor` manages (or the one `user_id`), by role and name, with their township and county:
    a county admin those of the county, the city the county admins and city users, the operator all."""
    require_user_manager(actor)
    q = (
        select(User, Township.name, County.name)
        .outerjoin(Township, Township.id == User.township_id)
        .outerjoin(County, County.id == User.county_id)
        .order_by(User.role, County.id, User.name)
    )
    if actor is not None and actor.role == Role.city:
        q = q.where(User.role.in_([r.value for r in MANAGED_BY_CITY]))
    elif actor is not None:
        own = counties.own_county_id(session, actor)
        q = q.where(
            User.role != Role.city.value,
            or_(User.county_id == own, User.county_id.is_(None) & (own == counties.default_county(session).id)),
        )
    if user_id is not None:
        q = q.where(User.id == user_id)
    rows = session.execute(q).all()
    locks = lockout.locks(session, names=[u.name for u, _, _ in rows])  # from any address
    return [
        UserRow.model_validate(u, update={"township": t, "county": c, "locked_until": locks.get(u.name)})
        for u, t, c in rows
    ]


def user_by_id(session: Session, *, actor: User | None, user_id: int) -> User:
    """The user `user_id`, for a county admin (of its county) or the city about to change it."""
    require_user_manager(actor)
    target = session.get(User, user_id)
    if target is None or not _manages(session, actor, target):
        raise NotFound(f"用户 {user_id} 不存在")
    return target


def public_user(session: Session, *, actor: User | None, user_id: int) -> UserPublic:
    rows = list_users(session, actor=actor, user_id=user_id)
    if not rows:
        raise NotFound(f"用户 {user_id} 不存在")
    return rows[0]


def update_user(
    session: Session,
    *,
    actor: User | None,
    user_id: int,
    active: bool | None = None,
    password: str | None = None,
    role: str | None = None,
    township: str | None = None,
) -> UserPublic:
    """Enable or disable a user, reset the password, or change the role (the API's PATCH)."""
    target = user_by_id(session, actor=actor, user_id=user_id)
    if role is not None:
        set_role(session, name=target.name, role=role, township=township, actor=actor)
    elif township is not None:
        raise ValidationFailed("更改所属乡镇时请同时给出角色（role）")
    if password is not None:
        set_password(session, name=target.name, password=password, actor=actor)
    if active is not None:
        set_active(session, name=target.name, active=active, actor=actor)
    return public_user(session, actor=actor, user_id=user_id)


def is_county(user: User | None) -> bool:
    return user is not None and user.role in COUNTY_ROLES


def require_role(user: User, *roles: str) -> None:
    if user.role not in roles:
        raise Forbidden("无权执行此操作")


def require_admin(actor: User | None) -> None:
    """Managing reminder channels: county admins (or the local operator, `None`)."""
    if actor is not None:
        require_role(actor, Role.county_admin)


def require_user_manager(actor: User | None) -> None:
    """Managing users: county admins (their county's), the city (county admins), the local operator (`None`)."""
    if actor is not None:
        require_role(actor, Role.county_admin, Role.city)


def require_county(actor: User | None) -> None:
    """Importing, the county's views: county admins and staff (or the local operator, `None`)."""
    if actor is not None:
        require_role(actor, *COUNTY_ROLES)
