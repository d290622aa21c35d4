"""Who gets reminders: a township's contacts and group robots, the county's staff and leaders.

Managing them is for county admins: `actor` is the acting user (checked) or, from the CLI, the
operator's name.
"""

from __future__ import annotations

from sqlalchemy import exists, func, select, update
from sqlmodel import Session

from notifications.models import Channel, ChannelKind, ChannelPublic, ChannelRole, Outbox, OutboxStatus
from notifications.targets import check_target, has_control
from tracker import audit, counties
from tracker.config import NotifySettings, get_settings
from tracker.errors import Conflict, NotFound, ValidationFailed
from tracker.models import Township, User
from tracker.users import require_admin

REMOVED_ERROR = "接收渠道已删除，未发送"


def _acting(actor: User | str | None) -> str:
    """The name to record; a user must be a county admin, a bare name is the CLI's operator."""
    if isinstance(actor, User):
        require_admin(actor)
        return actor.name
    return actor or ""


def _validate(kind: str, target: str, role: str, county: bool, *, allow_private: bool) -> None:
    if kind not in ChannelKind.labels():
        raise ValidationFailed(f"渠道类型“{kind}”无效，可选：{ChannelKind.choices()}")
    if role not in ChannelRole.labels():
        raise ValidationFailed(f"接收人角色“{role}”无效，可选：{ChannelRole.choices()}")
    if role == ChannelRole.leader and not county:
        raise ValidationFailed("领导（督办）渠道只能添加在县级（--county）")
    if not target:
        raise ValidationFailed("接收地址不能为空")
    if len(target) > 512:
        raise ValidationFailed("接收地址不能超过 512 个字符")
    check_target(kind, target, allow_private=allow_private, label=ChannelKind(kind).label)


def add_channel(
    session: Session,
    *,
    township: str | None,
    kind: str,
    target: str,
    actor: User | str,
    secret: str | None = None,
    role: str = ChannelRole.staff,
    settings: NotifySettings | None = None,
    county: str | None = None,
) -> Channel:
    """Add a recipient; `township=None` means the county's own. Re-adding a removed one reactivates it.

    It belongs to a county: a county admin's own; from the CLI the one named (`county`), else the default
    county. The township is looked up in that county.

    The target is checked (notifications.targets): a valid email address, or an http(s) URL without
    control characters that is not on a loopback/private/link-local address unless the settings allow it."""
    county_id = (
        counties.own_county_id(session, actor)
        if isinstance(actor, User)
        else counties.resolve_county(session, county).id
    )
    actor = _acting(actor)
    target, secret = (target or "").strip(), (secret or "").strip() or None
    ns = settings or get_settings().notify
    _validate(kind, target, role, township is None, allow_private=ns.channel_allow_private)
    if secret is not None and (has_control(secret) or len(secret) > 255):
        raise ValidationFailed("签名密钥不能超过 255 个字符，也不能包含换行或控制字符")
    township_id = None
    if township is not None:
        township_id = session.execute(
            select(Township.id).where(Township.name == township.strip(), Township.county_id == county_id)
        ).scalar()
        if township_id is None:
            raise NotFound(f"乡镇“{township}”不存在（请先导入该乡镇的报告）")
    same = (
        session.execute(
            select(Channel).where(
                Channel.township_id.is_(None) if township_id is None else Channel.township_id == township_id,
                Channel.county_id == county_id,
                Channel.kind == kind,
                Channel.target == target,
            )
        )
        .scalars()
        .first()
    )
    if same is not None and same.active:
        raise Conflict(f"{township or '县级'}已有该{ChannelKind(kind).label}渠道（编号 {same.id}）")
    if same is not None:
        # Reactivate: its dedupe keys still hold, so reminders it already got are not sent again.
        same.active, same.secret, same.role = True, secret, role
        channel, action = same, "reactivate"
    else:
        channel = Channel(
            township_id=township_id,
            county_id=county_id,
            kind=kind,
            target=target,
            secret=secret,
            role=role,
            created_by=actor[:64],
        )
        action = "create"
    session.add(channel)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=action,
        entity="channel",
        entity_id=channel.id,
        after={"township": township, "kind": kind, "target": target, "role": role},
    )
    return channel


def remove_channel(session: Session, *, channel_id: int, actor: User | str) -> Channel:
    """Deactivate a recipient; its messages not yet sent are marked failed (nobody to send them to)."""
    user = actor if isinstance(actor, User) else None
    actor = _acting(actor)
    channel = session.get(Channel, channel_id)
    if (
        channel is None
        or not channel.active
        or (user is not None and not counties.can_see_county(session, user, channel.county_id))
    ):
        raise NotFound(f"接收渠道 {channel_id} 不存在")
    channel.active = False
    session.add(channel)
    session.execute(
        update(Outbox)
        .where(Outbox.channel_id == channel_id, Outbox.status == OutboxStatus.pending)
        .values(status=OutboxStatus.failed.value, last_error=REMOVED_ERROR, claim=None, claimed_until=None)
    )
    audit.record(
        session,
        actor=actor,
        action="remove",
        entity="channel",
        entity_id=channel_id,
        before={"kind": channel.kind, "target": channel.target},
    )
    session.flush()
    return channel


def list_channels(
    session: Session, *, actor: User | None = None, township: str | None = None, channel_id: int | None = None
) -> list[ChannelPublic]:
    """Active recipients, the county's first; for a county admin (`actor`: their county's) or the CLI (None)."""
    if actor is not None:
        _acting(actor)
    q = (
        select(
            Channel.id,
            func.coalesce(Township.name, "全县").label("scope"),
            Channel.kind,
            Channel.target,
            Channel.role,
            Channel.secret.is_not(None).label("has_secret"),
            Channel.created_at,
            Channel.created_by,
        )
        .outerjoin(Township, Township.id == Channel.township_id)
        .where(Channel.active.is_(True), *counties.county_conds(actor, Channel.county_id))
        .order_by(Channel.county_id, Channel.township_id.is_not(None), Township.name, Channel.id)
    )
    if township:
        q = q.where(Township.name == township)
    if channel_id is not None:
        q = q.where(Channel.id == channel_id)
    return [ChannelPublic.model_validate(r._mapping) for r in session.execute(q)]


def townships_without_channel(session: Session, *, actor: User | None = None) -> list[str]:
    """Townships that no active channel of their own reaches (their reminders are queued but go nowhere)."""
    if actor is not None:
        _acting(actor)
    reached = exists().where(Channel.township_id == Township.id, Channel.active.is_(True))
    return list(
        session.execute(
            select(Township.name).where(~reached, *counties.township_conds(actor, Township.id)).order_by(Township.name)
        ).scalars()
    )
