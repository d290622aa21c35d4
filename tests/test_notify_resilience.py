"""Delivery survives a bad message or a bad channel (issue 13) and a failing channel spends only its own
attempts (issue 12): the crash cases, channel targets checked when added, claims that lapse after a kill.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from notifications import outbox
from notifications.models import Channel, JobRun
from notifications.outbox import deliver
from notifications.recipients import add_channel as add_recipient
from notifications.reminders import enqueue_reminders
from tests.test_notify_channels import smtp_server, tls_cert  # noqa: F401
from tests.test_notify_support import (  # noqa: F401
    add_channel,
    add_task,
    notify_settings,
    outbox_rows,
    recorder,
    recorder_server,
    township,
)
from tracker import config
from tracker.cli import app
from tracker.db import session_scope
from tracker.errors import ValidationFailed
from tracker.models import Township
from workflows import flows  # noqa: F401  (Prefect sets up its logging at import: before caplog, not during a test)

ROOT = Path(__file__).resolve().parents[1]
AS_OF = date(2024, 6, 23)
RECENT = datetime(2024, 6, 20, tzinfo=UTC)
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)
runner = CliRunner()


def _raw_channel(session, *, township_name: str, kind: str, target: str) -> Channel:
    """A channel stored without the checks (as one added before they existed)."""
    channel = Channel(
        township_id=township(session, township_name).id,
        kind=kind,
        target=target,
        activated_at=LONG_AGO,
        created_by="old",
    )
    session.add(channel)
    session.flush()
    return channel


def _tasks(session, township_name: str, n: int, prefix: str = "问题") -> list:
    return [
        add_task(
            session,
            township_name=township_name,
            title=f"{prefix}{i}",
            deadline=date(2024, 6, 25) + timedelta(days=i % 3),
            last_progress_at=RECENT,
        )
        for i in range(n)
    ]


def _by_township(engine) -> dict[str, list]:
    with session_scope(engine) as s:
        names = dict(s.execute(select(Township.id, Township.name)).all())
    out: dict[str, list] = {}
    for row in outbox_rows(engine):
        out.setdefault(names[row.township_id], []).append(row)
    return out


# ---- a bad message --------------------------------------------------------------------------------------


def test_title_with_line_separators_is_sent_with_a_one_line_subject(engine, smtp_server):
    inbox, settings = smtp_server
    with session_scope(engine) as s:
        add_task(s, title="行政执法\u2028公示\r\n不规范\x0b", deadline=date(2024, 6, 30), last_progress_at=RECENT)
        add_task(s, title="普法宣传不足", deadline=date(2024, 6, 29), last_progress_at=RECENT)
        add_channel(s, kind="email", target="sfs@xili.gov.cn")
    enqueue_reminders(engine=engine, as_of=AS_OF)
    assert deliver(engine=engine, settings=settings).as_dict() == {"sent": 2, "retrying": 0, "failed": 0}
    subjects = sorted(message_from_bytes(raw, policy=policy.default)["Subject"] for _, raw in inbox.messages)
    assert subjects == [
        "【整改到期提醒】西里镇：普法宣传不足（2024年6月29日到期）",
        "【整改到期提醒】西里镇：行政执法 公示 不规范（2024年6月30日到期）",
    ]


def test_a_message_that_cannot_be_sent_fails_alone_and_is_logged(engine, recorder, monkeypatch, caplog):
    with session_scope(engine) as s:
        bad, *good = _tasks(s, "西里镇", 3)
        add_channel(s, target=recorder.url("/x"))
    enqueue_reminders(engine=engine, as_of=AS_OF)
    real_send = outbox.send

    def send(target, message, **kw):  # whatever a library refuses to build, for this one message
        if bad.title in message.subject:
            raise ValueError("Header values may not contain linefeed or carriage return characters")
        real_send(target, message, **kw)

    monkeypatch.setattr(outbox, "send", send)
    caplog.set_level(logging.INFO, logger="rectify.delivery")
    assert deliver(engine=engine, settings=notify_settings()).as_dict() == {"sent": 2, "retrying": 0, "failed": 1}
    rows = {r.task_id: r for r in outbox_rows(engine)}
    failed = rows[bad.id]
    assert (failed.status, failed.attempts, failed.claim) == ("failed", 1, None)
    assert failed.last_error.startswith("消息无法发送（ValueError：Header values may not contain")
    assert all(rows[t.id].status == "sent" for t in good)
    assert any(r.levelno == logging.ERROR and "gave up" in r.getMessage() for r in caplog.records)


# ---- a bad channel --------------------------------------------------------------------------------------


def test_invalid_target_fails_its_rows_notify_exits_0_and_the_job_logs_it(engine, recorder, cli_env, caplog):
    with session_scope(engine) as s:
        _tasks(s, "西里镇", 2)
        _tasks(s, "松岭镇", 2)
        _raw_channel(s, township_name="西里镇", kind="webhook", target="http://[::1/")
        add_channel(s, township_name="松岭镇", target=recorder.url("/fine"))
    enqueue_reminders(engine=engine, as_of=AS_OF)
    result = runner.invoke(app, ["notify"])
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert "已发送 2 条" in result.stdout and "放弃（发送失败）2 条" in result.stdout
    rows = _by_township(engine)
    assert [r.status for r in rows["松岭镇"]] == ["sent", "sent"]
    for r in rows["西里镇"]:
        assert (r.status, r.claim, r.claimed_until) == ("failed", None, None)
        assert r.last_error == "Webhook地址格式不正确：http://[::1/（请删除该渠道，改正后重新添加，再重发）"

    # the scheduled job: the run is ok, the delivery logger says which messages failed and why
    from notifications import scheduler

    with session_scope(engine) as s:
        for r in rows["西里镇"]:
            outbox.retry(s, outbox_id=r.id)
    scheduler._leader.update(engine=engine, holder="test")
    caplog.set_level(logging.INFO, logger="rectify.delivery")
    scheduler.run_job("send_notifications")
    with session_scope(engine) as s:
        run = s.execute(select(JobRun).order_by(JobRun.id.desc())).scalars().first()
        assert run.status == "ok" and run.summary["failed"] == 2
    errors = [r.getMessage() for r in caplog.records if r.name == "rectify.delivery" and r.levelno == logging.ERROR]
    assert errors and "Webhook地址格式不正确" in errors[0]


def test_a_name_resolving_to_an_intranet_address_is_refused_at_delivery(engine, recorder, monkeypatch):
    import socket

    from notifications import targets

    with session_scope(engine) as s:
        _tasks(s, "西里镇", 1)
        add_channel(s, target="http://hooks.example.gov.cn/x", settings=notify_settings(channel_allow_private=False))
    enqueue_reminders(engine=engine, as_of=AS_OF)
    monkeypatch.setattr(
        targets.socket,
        "getaddrinfo",
        lambda host, *a, **k: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.5", 80))],
    )
    assert deliver(engine=engine, settings=notify_settings(channel_allow_private=False)).failed == 1
    [row] = outbox_rows(engine)
    assert row.status == "failed" and "hooks.example.gov.cn 解析到内网地址 10.0.0.5，已拒绝发送" in row.last_error
    assert "RECTIFY_CHANNEL_ALLOW_PRIVATE=1" in row.last_error


BAD_TARGETS = [
    ("webhook", "http://[::1/", "地址格式不正确"),
    ("webhook", "http://exa mple.cn/hook", "不能包含空格、换行或控制字符"),
    ("webhook", "http://example.cn/\u2028hook", "不能包含空格、换行或控制字符"),
    ("wecom", "https://qyapi.weixin.qq.com/send?key=k\r\nX-Evil: 1", "不能包含空格、换行或控制字符"),
    ("webhook", "ftp://example.cn/hook", "必须以 https:// 或 http:// 开头"),
    ("webhook", "http:///hook", "缺少主机名"),
    ("dingtalk", "https://oapi.dingtalk.com:99999/robot/send", "地址格式不正确"),
    ("email", "a@b", "格式不正确"),
    ("email", "a b@xili.gov.cn", "格式不正确"),
    ("email", "a@xili.gov.cn\r\nBcc: x@y.cn", "格式不正确"),
    ("email", "<a@xili.gov.cn>", "格式不正确"),
    ("email", "a@xili..gov.cn", "格式不正确"),
    ("email", "a@-xili.gov.cn", "格式不正确"),
]
PRIVATE_TARGETS = [
    "http://127.0.0.1:8080/hook",
    "http://localhost/hook",
    "http://app.localhost/hook",
    "http://10.1.2.3/hook",
    "http://172.16.0.1/hook",
    "http://192.168.1.10/hook",
    "http://169.254.169.254/latest/meta-data",
    "http://[::1]:8000/hook",
    "http://[fe80::1]/hook",
    "http://[fd00::1]/hook",
    "http://[::ffff:10.0.0.1]/hook",
    "http://0.0.0.0/hook",
    "http://127.1/hook",
    "http://2130706433/hook",
    "http://0x7f000001/hook",
    "http://100.64.0.1/",
]
GOOD_TARGETS = [
    ("dingtalk", "https://oapi.dingtalk.com/robot/send?access_token=abc"),
    ("wecom", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k-1"),
    ("webhook", "http://8.8.8.8:8080/hook"),
    ("email", "liu.fang@xili.gov.cn"),
    ("email", "sfs+notice@xn--fiqs8s.cn"),
]


@pytest.mark.parametrize("kind, target, error", BAD_TARGETS)
def test_bad_targets_are_refused_when_added(engine, kind, target, error):
    with session_scope(engine) as s, pytest.raises(ValidationFailed, match=error):
        township(s, "西里镇")
        add_recipient(s, township="西里镇", kind=kind, target=target, actor="test")


@pytest.mark.parametrize("target", PRIVATE_TARGETS)
def test_private_targets_need_the_setting(engine, target):
    with session_scope(engine) as s:
        township(s, "西里镇")
        with pytest.raises(ValidationFailed, match="指向本机或内网地址.*RECTIFY_CHANNEL_ALLOW_PRIVATE=1"):
            add_recipient(
                s,
                township="西里镇",
                kind="webhook",
                target=target,
                actor="test",
                settings=notify_settings(channel_allow_private=False),
            )
        assert add_recipient(
            s,
            township="西里镇",
            kind="webhook",
            target=target,
            actor="test",
            settings=notify_settings(channel_allow_private=True),
        ).id


@pytest.mark.parametrize("kind, target", GOOD_TARGETS)
def test_good_targets_are_accepted(engine, kind, target):
    with session_scope(engine) as s:
        township(s, "西里镇")
        assert add_recipient(
            s,
            township="西里镇",
            kind=kind,
            target=target,
            actor="test",
            settings=notify_settings(channel_allow_private=False),
        ).id


def test_cli_refuses_a_bad_target(engine, cli_env, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")
    with session_scope(engine) as s:
        township(s, "西里镇")
    r = runner.invoke(app, ["channels", "add", "--township", "西里镇", "--kind", "webhook", "--target", "http://[::1/"])
    assert r.exit_code == 1 and "Webhook地址格式不正确：http://[::1/" in r.stderr
    monkeypatch.setenv("RECTIFY_CHANNEL_ALLOW_PRIVATE", "0")
    config.get_settings.cache_clear()
    r = runner.invoke(
        app, ["channels", "add", "--township", "西里镇", "--kind", "webhook", "--target", "http://192.168.1.10/hook"]
    )
    assert r.exit_code == 1 and "指向本机或内网地址（192.168.1.10）" in r.stderr


# ---- a channel failing mid-batch ------------------------------------------------------------------------


def test_a_channel_down_mid_batch_keeps_its_untried_rows_attempts(engine, recorder):
    with session_scope(engine) as s:
        _tasks(s, "西里镇", 4)
        _tasks(s, "松岭镇", 2, prefix="松岭问题")
        add_channel(s, target=recorder.url("/xili"))
        add_channel(s, township_name="松岭镇", target=recorder.url("/songling"))
    enqueue_reminders(engine=engine, as_of=AS_OF)
    recorder.fail_after = 1  # the first message is accepted, then /xili answers 500
    recorder.modes["/songling"] = "ok"
    t0 = datetime.now(UTC)
    settings = notify_settings(concurrency=1, backoff_seconds=60)
    result = deliver(engine=engine, settings=settings, now=t0)
    # 西里镇 is tried first: one sent, the second refused with 500, the two after it not tried; 松岭镇 goes on
    assert [r.path for r in recorder.requests] == ["/xili", "/xili", "/songling", "/songling"]
    assert result.as_dict() == {"sent": 3, "retrying": 3, "failed": 0}
    assert [r.status for r in _by_township(engine)["松岭镇"]] == ["sent", "sent"]
    xili = _by_township(engine)["西里镇"]
    assert [(r.status, r.attempts) for r in xili] == [("sent", 1), ("pending", 1), ("pending", 0), ("pending", 0)]
    again = t0 + timedelta(seconds=60)
    assert all(r.next_attempt_at == again and r.claim is None for r in xili[1:])
    assert xili[1].last_error == "对方返回 HTTP 500（对方服务器内部错误）"  # the status and a reason, not "boom"
    assert xili[2].last_error == "本次未发送：该渠道暂时不可用（对方返回 HTTP 500（对方服务器内部错误））"

    recorder.reset()
    assert deliver(engine=engine, settings=settings, now=again - timedelta(seconds=1)).sent == 0  # backing off
    assert deliver(engine=engine, settings=settings, now=again).sent == 3
    assert {r.status for r in outbox_rows(engine)} == {"sent"}
    assert sorted(recorder.accepted_keys()) == sorted(r.dedupe_key for r in xili[1:])


@pytest.mark.parametrize(
    "mode, kind, tasks, error",
    [
        ("400", "webhook", 3, "对方返回 HTTP 400（请求格式不被接受）"),
        # a robot gets a township's reminders as lists of 10: three messages for 25 tasks
        ("errcode", "dingtalk", 25, "钉钉机器人返回错误 310000：sign not match"),
    ],
)
def test_a_refused_message_does_not_stop_its_channel(engine, recorder, mode, kind, tasks, error):
    with session_scope(engine) as s:
        _tasks(s, "西里镇", tasks)
        add_channel(s, kind=kind, target=recorder.url("/robot"))
    enqueue_reminders(engine=engine, as_of=AS_OF)
    recorder.mode = mode
    result = deliver(engine=engine, settings=notify_settings())
    assert result.as_dict() == {"sent": 0, "retrying": tasks, "failed": 0}
    assert len(recorder.requests) == 3  # each message was tried: each attempt was spent on a real refusal
    assert [(r.attempts, r.last_error) for r in outbox_rows(engine)] == [(1, error)] * tasks


# ---- crashes and claims ---------------------------------------------------------------------------------

KILLED_DELIVERER = """
import sys, time
from notifications import outbox
from tracker.db import make_engine

real, sends = outbox.send, []

def send(*args, **kwargs):
    sends.append(1)
    if len(sends) == 2:  # the first was sent and marked; the second and the rest stay claimed
        print("claimed", flush=True)
        time.sleep(600)
    real(*args, **kwargs)

outbox.send = send
outbox.deliver(engine=make_engine(sys.argv[1]), settings=outbox.get_settings().notify.model_copy(
    update={"concurrency": 1}))
"""


def test_a_deliverer_killed_after_claiming_leaves_rows_that_return_after_the_claim_timeout(engine, recorder):
    with session_scope(engine) as s:
        _tasks(s, "西里镇", 3)
        _tasks(s, "松岭镇", 2, prefix="松岭问题")
        add_channel(s, target=recorder.url("/xili"))
        add_channel(s, township_name="松岭镇", target=recorder.url("/songling"))
    enqueue_reminders(engine=engine, as_of=AS_OF)
    expected = sorted(r.dedupe_key for r in outbox_rows(engine))
    url = engine.url.render_as_string(hide_password=False)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_DELIVERER, url],
        cwd=ROOT,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        line = proc.stdout.readline()
        assert line.strip() == "claimed", proc.stderr.read() if proc.poll() is not None else line
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    killed_at = datetime.now(UTC)
    rows = outbox_rows(engine)
    assert sum(r.status == "sent" for r in rows) == 1
    waiting = [r for r in rows if r.status == "pending"]
    assert len(waiting) == 4 and all(r.claim is not None and r.attempts == 0 for r in waiting)
    assert all(r.claimed_until <= killed_at + timedelta(seconds=120) for r in waiting)  # the 2-minute default
    # still claimed a minute later; due again once the claim lapsed
    assert deliver(engine=engine, settings=notify_settings(), now=killed_at + timedelta(minutes=1)).sent == 0
    assert deliver(engine=engine, settings=notify_settings(), now=killed_at + timedelta(minutes=2, seconds=1)).sent == 4
    assert sorted(recorder.accepted_keys()) == expected  # each once


def test_claim_timeout_setting(monkeypatch):
    for key in list(os.environ):
        if key.upper().startswith("RECTIFY_"):
            monkeypatch.delenv(key)
    defaults = config.load_settings().notify
    assert (defaults.claim_seconds, defaults.channel_allow_private) == (120, False)
    monkeypatch.setenv("RECTIFY_NOTIFY_CLAIM_SECONDS", "300")
    monkeypatch.setenv("RECTIFY_CHANNEL_ALLOW_PRIVATE", "1")
    ns = config.load_settings().notify
    assert (ns.claim_seconds, ns.channel_allow_private) == (300, True)
    monkeypatch.setenv("RECTIFY_NOTIFY_CLAIM_SECONDS", "35")  # shorter than 4 timeouts of 10 s
    with pytest.raises(
        config.ConfigError, match="RECTIFY_NOTIFY_CLAIM_SECONDS=35 无效，.*不小于 RECTIFY_NOTIFY_TIMEOUT 的 4 倍"
    ):
        config.load_settings()
    monkeypatch.setenv("RECTIFY_NOTIFY_TIMEOUT", "5")
    assert config.load_settings().notify.claim_seconds == 35


def test_cli_sends_a_test_message(engine, cli_env, recorder, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")
    with session_scope(engine) as s:
        township(s, "西里镇")
        township(s, "松岭镇")
        good = add_channel(s, target=recorder.url("/hook"), secret="s3cret").id
        dead = add_channel(s, township_name="松岭镇", target="http://127.0.0.1:9/hook").id
    r = runner.invoke(app, ["channels", "test", str(good)])
    assert r.exit_code == 0, (r.stdout, r.stderr)
    assert f"测试消息已发送到西里镇的Webhook（编号 {good}），请在接收端确认是否收到" in r.stdout
    [req] = recorder.requests
    body = req.json()
    assert body["kind"] == "test" and body["subject"] == "【测试消息】西里镇整改提醒渠道" and "命令行" in body["text"]
    assert req.headers["x-rectify-signature"].startswith("sha256=")
    r = runner.invoke(app, ["channels", "test", str(dead)])
    assert r.exit_code == 1
    assert f"测试消息发送到松岭镇的Webhook（编号 {dead}）失败：无法连接到 127.0.0.1:9（连接被拒绝）" in r.stderr
    assert runner.invoke(app, ["channels", "test", "999"]).exit_code == 1
    assert outbox_rows(engine) == []  # sent at once, not through the queue
