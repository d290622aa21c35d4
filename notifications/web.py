"""County admin pages and API for reminders: recipients (channels) and the outbox with failures.

Pages: /notifications/channels (list, add, remove, send a test message; a warning naming the
townships no channel reaches), /notifications/outbox (by status, each message's preview, failed
ones with their error and a retry button, 立即检查 to run the daily check now). API:
/api/v1/channels, /api/v1/outbox. County admins change things; county staff may look at the
outbox: notifications.recipients and notifications.outbox check who acts, the routes here translate.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import RedirectResponse

from notifications import outbox, recipients
from notifications.models import (
    ChannelCreate,
    ChannelKind,
    ChannelPublic,
    ChannelRole,
    MessageKind,
    OutboxPublic,
    OutboxStatus,
)
from tracker.errors import DomainError
from tracker.models import Role, User
from tracker.reports import township_names
from tracker.textfmt import cn_date
from tracker.users import require_admin
from tracker.vocabulary import READER_ROLES
from tracker.web.deps import CurrentUser, SessionDep
from tracker.web.forms import Id
from tracker.web.templating import add_nav_link, add_template_folder, env, flash, render

router = APIRouter()
pages = APIRouter(prefix="/notifications", include_in_schema=False)
api = APIRouter(prefix="/api/v1", tags=["notifications"])
OUTBOX_PAGE_LIMIT = 200
UNREACHED_SHOWN = 50  # townships named in the "no channel" warning


def setup_pages() -> None:
    """Called by the app factory: our page templates (they extend the web's base.html), their
    vocabulary and the navigation links."""
    add_template_folder(Path(__file__).parent / "templates" / "pages")
    env.globals.update(
        ChannelKind=ChannelKind, ChannelRole=ChannelRole, MessageKind=MessageKind, OutboxStatus=OutboxStatus
    )
    add_nav_link("/notifications/outbox", "提醒记录", roles=READER_ROLES)
    add_nav_link("/notifications/channels", "提醒渠道", roles=(Role.county_admin.value,))


# ---- pages -------------------------------------------------------------------------------------


def _channels_page(
    request: Request, session, user: User, *, status_code: int = 200, error: str | None = None, form: dict | None = None
):
    channels = recipients.list_channels(session, actor=user)
    unreached = recipients.townships_without_channel(session, actor=user)
    return render(
        request,
        "notify_channels.html",
        user=user,
        status_code=status_code,
        error=error,
        form=form or {},
        channels=channels,
        townships=township_names(session, actor=user),
        unreached=unreached[:UNREACHED_SHOWN],
        unreached_total=len(unreached),
    )


@pages.get("/channels")
def channels_page(request: Request, session: SessionDep, user: CurrentUser):
    return _channels_page(request, session, user)


@pages.post("/channels")
def add_channel_form(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    township: Annotated[str, Form()] = "",
    kind: Annotated[str, Form()] = "",
    target: Annotated[str, Form()] = "",
    secret: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = ChannelRole.staff.value,
):
    try:
        channel = recipients.add_channel(
            session, township=township or None, kind=kind, target=target, secret=secret, role=role, actor=user
        )
    except DomainError as exc:
        session.rollback()
        return _channels_page(
            request,
            session,
            user,
            status_code=exc.status_code,
            error=exc.message,
            form={"township": township, "kind": kind, "target": target, "role": role},
        )
    flash(request, f"已添加接收渠道（编号 {channel.id}）：{township or '全县'} {ChannelKind(kind).label} {target}")
    return RedirectResponse("/notifications/channels", status_code=303)


@pages.post("/channels/{channel_id}/remove")
def remove_channel_form(request: Request, session: SessionDep, user: CurrentUser, channel_id: Id):
    channel = recipients.remove_channel(session, channel_id=channel_id, actor=user)
    flash(request, f"已删除接收渠道 {channel.target}；其未发送的消息已标记为发送失败")
    return RedirectResponse("/notifications/channels", status_code=303)


@pages.post("/channels/{channel_id}/test")
def test_channel_form(request: Request, session: SessionDep, user: CurrentUser, channel_id: Id):
    result = outbox.send_test(session, channel_id=channel_id, actor=user)
    flash(request, result.message, "ok" if result.ok else "error")
    return RedirectResponse("/notifications/channels", status_code=303)


@pages.get("/outbox")
def outbox_page(request: Request, session: SessionDep, user: CurrentUser, status: Annotated[str, Query()] = ""):
    status = status if status in OutboxStatus.labels() else ""
    entries = outbox.list_outbox(session, status=status or None, limit=OUTBOX_PAGE_LIMIT, actor=user)
    return render(
        request,
        "notify_outbox.html",
        user=user,
        status=status,
        counts=outbox.outbox_counts(session, actor=user),
        entries=entries,
        previews=outbox.previews(session, outbox_ids=[e.id for e in entries]),
        limit=OUTBOX_PAGE_LIMIT,
        can_retry=user.role == Role.county_admin,
    )


@pages.post("/check")
def check_now_form(request: Request, session: SessionDep, user: CurrentUser):
    """立即检查: the daily check (lights, reminders into the queue) run now, its counts in the flash."""
    require_admin(user)
    session.commit()  # the check writes in transactions of its own
    from workflows import configure_prefect

    configure_prefect()
    from workflows.flows import run as run_flow

    summary = run_flow("check_progress", engine=session.get_bind())
    from tracker.audit import record

    record(
        session,
        actor=user.name,
        action="check",
        entity="notify",
        entity_id=0,
        after={"as_of": summary["as_of"], "queued": summary["queued"]},
    )
    flash(request, check_summary(summary))
    return RedirectResponse("/notifications/outbox", status_code=303)


def check_summary(summary: dict) -> str:
    from datetime import date

    from tracker.config import get_settings
    from tracker.vocabulary import Light

    queued = summary["queued"]
    kinds = "、".join(f"{MessageKind.label_of(k)} {v}" for k, v in queued.items() if v)
    lights = "、".join(f"{Light.label_of(k)} {v} 项" for k, v in summary["totals"].items())
    minutes = get_settings().notify.notify_minutes
    return (
        f"检查完成（{cn_date(date.fromisoformat(summary['as_of']))}）：在办整改事项 {lights}；"
        f"新加入发送队列的提醒 {sum(queued.values())} 条"
        + (f"（{kinds}）" if kinds else "")
        + (f"，将在下一次发送时发出（每 {minutes} 分钟一次）" if sum(queued.values()) else "")
    )


@pages.post("/outbox/{outbox_id}/retry")
def retry_form(
    request: Request, session: SessionDep, user: CurrentUser, outbox_id: Id, status: Annotated[str, Form()] = ""
):
    outbox.retry(session, outbox_id=outbox_id, actor=user)
    flash(request, f"消息 {outbox_id} 已重新加入发送队列，将在下一次发送时投递")
    back = f"?status={status}" if status in OutboxStatus.labels() else ""
    return RedirectResponse(f"/notifications/outbox{back}", status_code=303)


# ---- API ---------------------------------------------------------------------------------------


@api.get("/channels", response_model=list[ChannelPublic], summary="提醒接收渠道（县级管理员）")
def list_channels(session: SessionDep, user: CurrentUser, township: str | None = None):
    return recipients.list_channels(session, actor=user, township=township)


@api.post("/channels", response_model=ChannelPublic, status_code=201, summary="添加接收渠道（县级管理员）")
def create_channel(session: SessionDep, user: CurrentUser, body: ChannelCreate):
    channel = recipients.add_channel(
        session,
        township=body.township,
        kind=body.kind,
        target=body.target,
        secret=body.secret,
        role=body.role,
        actor=user,
    )
    return recipients.list_channels(session, actor=user, channel_id=channel.id)[0]


@api.delete("/channels/{channel_id}", status_code=204, summary="删除接收渠道（县级管理员）")
def delete_channel(session: SessionDep, user: CurrentUser, channel_id: Id):
    recipients.remove_channel(session, channel_id=channel_id, actor=user)
    return Response(status_code=204)


@api.get("/outbox", response_model=list[OutboxPublic], summary="提醒发送记录（县级用户）")
def list_outbox(
    session: SessionDep,
    user: CurrentUser,
    status: OutboxStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
):
    return outbox.list_outbox(session, status=status, limit=limit, actor=user)


@api.post("/outbox/{outbox_id}/retry", response_model=OutboxPublic, summary="重发失败的消息（县级管理员）")
def retry_outbox(session: SessionDep, user: CurrentUser, outbox_id: Id):
    outbox.retry(session, outbox_id=outbox_id, actor=user)
    return outbox.list_outbox(session, outbox_id=outbox_id, actor=user)[0]


router.include_router(pages)
router.include_router(api)
