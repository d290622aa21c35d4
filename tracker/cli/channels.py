"""`rectify channels add|list|remove|test`: who gets the reminders."""

from __future__ import annotations

from enum import Enum

import typer
from rich.table import Table

from tracker.cli.common import console, default_actor, fail, print_json
from tracker.cli.users import unit_of_work
from tracker.textfmt import cn_date

channels_app = typer.Typer(no_args_is_help=True, help="提醒接收渠道（邮箱、企业微信/钉钉群机器人、Webhook）")


class KindOpt(str, Enum):
    email = "email"
    wecom = "wecom"
    dingtalk = "dingtalk"
    webhook = "webhook"


class RoleOpt(str, Enum):
    staff = "staff"
    leader = "leader"


class Fmt(str, Enum):
    table = "table"
    json = "json"


@channels_app.command("add")
def add(
    township: str = typer.Option(None, "--township", help="乡镇名称，如 西里镇"),
    county: bool = typer.Option(False, "--county", help="县级渠道（接收全县汇总和督办），与 --township 二选一"),
    kind: KindOpt = typer.Option(
        ..., "--kind", help="渠道类型：email（邮箱）、wecom（企业微信群机器人）、dingtalk（钉钉群机器人）或 webhook"
    ),
    target: str = typer.Option(..., "--target", help="邮箱地址或机器人/Webhook 地址"),
    secret: str = typer.Option(None, "--secret", help="钉钉加签密钥或 Webhook 签名密钥"),
    role: RoleOpt = typer.Option(RoleOpt.staff, "--role", help="staff（工作人员）或 leader（县领导，只收督办）"),
    county_name: str = typer.Option(None, "--county-name", help="渠道所属的县（区），不指定为默认县（多县安装时使用）"),
) -> None:
    """添加接收渠道。"""
    from notifications.models import ChannelKind
    from notifications.recipients import add_channel

    if county == bool(township):
        fail("请指定 --township 乡镇名称 或 --county（二选一）")
    with unit_of_work() as session:
        channel = add_channel(
            session,
            township=township,
            kind=kind.value,
            target=target,
            secret=secret,
            role=role.value,
            actor=default_actor(),
            county=county_name,
        )
    console.print(f"已添加接收渠道 {channel.id}：{township or '全县'} {ChannelKind(kind.value).label} {target}")


@channels_app.command("list")
def list_cmd(
    township: str = typer.Option(None, "--township", help="只看某个乡镇"),
    fmt: Fmt = typer.Option(Fmt.table, "--format", help="输出格式：table（表格）或 json"),
) -> None:
    """列出接收渠道。"""
    from notifications.models import ChannelKind, ChannelRole
    from notifications.recipients import list_channels

    with unit_of_work() as session:
        rows = list_channels(session, township=township)
    if fmt is Fmt.json:
        print_json([r.model_dump() for r in rows])
        return
    table = Table(title=f"接收渠道（{len(rows)} 个）")
    for col in ("编号", "范围", "类型", "地址", "接收人", "签名", "添加日期"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            str(r.id),
            r.scope,
            ChannelKind(r.kind).label,
            r.target,
            ChannelRole(r.role).label,
            "已设置" if r.has_secret else "—",
            cn_date(r.created_at),
        )
    console.print(table)


@channels_app.command("remove")
def remove(channel_id: int = typer.Argument(..., help="渠道编号（见 rectify channels list）")) -> None:
    """删除接收渠道（其未发送的消息标记为发送失败）。"""
    from notifications.recipients import remove_channel

    with unit_of_work() as session:
        channel = remove_channel(session, channel_id=channel_id, actor=default_actor())
    console.print(f"已删除接收渠道 {channel_id}：{channel.target}")


@channels_app.command("test")
def test(channel_id: int = typer.Argument(..., help="渠道编号（见 rectify channels list）")) -> None:
    """立即向渠道发送一条测试消息，显示结果（失败时退出码为 1）。"""
    from notifications.outbox import send_test

    with unit_of_work() as session:
        result = send_test(session, channel_id=channel_id, actor=default_actor())
    if not result.ok:
        fail(result.message)
    console.print(result.message, markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(channels_app, name="channels")
