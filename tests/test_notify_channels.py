"""Each channel against a real local server: SMTP (aiosmtpd, plain/STARTTLS/SSL) and HTTP robots/webhooks.

Bodies are checked exactly, the DingTalk and webhook signatures are recomputed here, and the
failure modes (HTTP 500, robot errcode, a hanging server, a dropped connection) become errors
on the outbox row while the other channels still deliver.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import socket
import ssl
import time
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy
from urllib.parse import quote_plus

import pytest
from aiosmtpd.controller import Controller

from notifications.outbox import deliver
from tests.test_notify_support import add_channel, add_task, notify_settings, outbox_rows, recorder, recorder_server  # noqa: F401
from tracker.db import session_scope

AS_OF = date(2024, 6, 23)  # 7 days before the task's 2024-06-30 deadline
RECENT = datetime(2024, 6, 20, tzinfo=UTC)  # progress posted lately: no stale reminder


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, envelope.content))
        return "250 OK"


@pytest.fixture(scope="module")
def tls_cert(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1, trusted by this test through SSL_CERT_FILE."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    d = tmp_path_factory.mktemp("tls")
    (d / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (d / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return d / "cert.pem", d / "key.pem"


@pytest.fixture
def smtp_server(request, tls_cert, monkeypatch):
    """An aiosmtpd server; param: none | starttls | ssl."""
    security = getattr(request, "param", "none")
    inbox = Inbox()
    cert, key = tls_cert
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    port = free_port()
    kwargs = (
        {"tls_context": context, "require_starttls": True}
        if security == "starttls"
        else {"ssl_context": context}
        if security == "ssl"
        else {}
    )
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **kwargs)
    if security == "ssl":
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the controller's own readiness probe trusts it too
    controller.start()
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    yield (
        inbox,
        notify_settings(
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_security=security,
            smtp_from="rectify@county.gov.cn",
            base_url="http://rectify.local",
        ),
    )
    controller.stop()


def _due_task_with(engine, **channel):
    with session_scope(engine) as s:
        task = add_task(s, title="行政执法公示不规范", deadline=date(2024, 6, 30), last_progress_at=RECENT)
        add_channel(s, **channel)
    from notifications.reminders import enqueue_reminders

    enqueue_reminders(engine=engine, as_of=AS_OF)
    return task


@pytest.mark.parametrize("smtp_server", ["none", "starttls", "ssl"], indirect=True)
def test_email_exact_message(engine, smtp_server):
    inbox, settings = smtp_server
    task = _due_task_with(engine, kind="email", target="sfs@xili.gov.cn")
    result = deliver(engine=engine, settings=settings)
    assert result.as_dict() == {"sent": 1, "retrying": 0, "failed": 0}
    [(rcpt, raw)] = inbox.messages
    assert rcpt == ["sfs@xili.gov.cn"]
    msg = message_from_bytes(raw, policy=policy.default)
    assert msg["Subject"] == "【整改到期提醒】西里镇：行政执法公示不规范（2024年6月30日到期）"
    assert msg["To"] == "sfs@xili.gov.cn"
    assert msg["From"] == "rectify@county.gov.cn"
    assert msg.get_content().strip() == (
        "西里镇：整改事项“行政执法公示不规范”还有 7 天到期。\n\n"
        "整改时限：2024年6月30日（当前黄灯）\n\n"
        "责任单位/责任人：司法所 张三\n\n"
        f"请抓紧推进整改，并在系统中填报进展、上传佐证材料。查看任务：http://rectify.local/tasks/{task.id}"
    )
    [row] = outbox_rows(engine)
    assert row.status == "sent" and row.attempts == 1 and row.sent_at is not None
    # the dedupe key itself as the Message-ID, its colons written as dots (a msg-id has no ':')
    assert row.dedupe_key == f"due:{task.id}:2024-06-30:7:{row.channel_id}"
    assert msg["Message-ID"] == f"<due.{task.id}.2024-06-30.7.{row.channel_id}@rectify>"
    assert not msg["Message-ID"].defects
    assert msg["X-Rectify-Delivery"] == row.dedupe_key


def test_email_refused_when_server_down(engine):
    _due_task_with(engine, kind="email", target="sfs@xili.gov.cn")
    result = deliver(engine=engine, settings=notify_settings(smtp_port=free_port()))
    assert result.as_dict() == {"sent": 0, "retrying": 1, "failed": 0}
    [row] = outbox_rows(engine)
    assert row.status == "pending" and row.attempts == 1
    assert row.last_error.startswith("无法连接到邮件服务器 127.0.0.1:") and row.last_error.endswith("（连接被拒绝）")


def test_webhook_exact_body_and_signature(engine, recorder):
    task = _due_task_with(engine, kind="webhook", target=recorder.url("/hook"), secret="s3cret")
    assert deliver(engine=engine, settings=notify_settings(base_url="http://rectify.local")).sent == 1
    [req] = recorder.requests
    row = outbox_rows(engine)[0]
    expected = {
        "key": row.dedupe_key,
        "subject": "【整改到期提醒】西里镇：行政执法公示不规范（2024年6月30日到期）",
        "text": (
            "西里镇：整改事项“行政执法公示不规范”还有 7 天到期。\n\n整改时限：2024年6月30日（当前黄灯）\n\n"
            "责任单位/责任人：司法所 张三\n\n"
            f"请抓紧推进整改，并在系统中填报进展、上传佐证材料。查看任务：http://rectify.local/tasks/{task.id}"
        ),
        "kind": "due_soon",
        "kind_label": "到期提醒",
        "township": "西里镇",
        "as_of": "2024-06-23",
        "task": {
            "id": task.id,
            "title": "行政执法公示不规范",
            "deadline": "2024-06-30",
            "status": "整改中",
            "light": "yellow",
            "url": f"http://rectify.local/tasks/{task.id}",
        },
    }
    assert req.json() == expected
    assert row.dedupe_key == f"due:{task.id}:2024-06-30:7:{row.channel_id}"
    assert req.headers["x-rectify-delivery"] == row.dedupe_key
    signature = "sha256=" + hmac.new(b"s3cret", req.body, hashlib.sha256).hexdigest()
    assert req.headers["x-rectify-signature"] == signature


def test_wecom_markdown(engine, recorder):
    task = _due_task_with(engine, kind="wecom", target=recorder.url("/cgi-bin/webhook/send"))
    assert deliver(engine=engine, settings=notify_settings(base_url="http://rectify.local")).sent == 1
    [req] = recorder.requests
    assert req.json() == {
        "msgtype": "markdown",
        "markdown": {
            "content": (
                "### 【整改到期提醒】西里镇：行政执法公示不规范（2024年6月30日到期）\n\n"
                "西里镇：整改事项“**行政执法公示不规范**”还有 7 天到期。\n\n"
                "整改时限：2024年6月30日（当前**黄灯**）\n\n责任单位/责任人：司法所 张三\n\n"
                f"请抓紧推进整改，并在系统中填报进展、上传佐证材料。[查看任务](http://rectify.local/tasks/{task.id})"
            )
        },
    }
    assert "x-rectify-signature" not in req.headers


def test_dingtalk_signature(engine, recorder):
    _due_task_with(engine, kind="dingtalk", target=recorder.url("/robot/send?access_token=abc"), secret="SEC123")
    before = int(time.time() * 1000)
    assert deliver(engine=engine, settings=notify_settings()).sent == 1
    [req] = recorder.requests
    assert req.path == "/robot/send" and req.query["access_token"] == ["abc"]
    ts = req.query["timestamp"][0]
    assert before <= int(ts) <= int(time.time() * 1000)
    expected = base64.b64encode(hmac.new(b"SEC123", f"{ts}\nSEC123".encode(), hashlib.sha256).digest()).decode()
    assert f"sign={quote_plus(expected)}" in req.raw_query.split("&")  # url-encoded on the wire
    body = req.json()
    assert body == {
        "msgtype": "markdown",
        "markdown": {
            "title": "【整改到期提醒】西里镇：行政执法公示不规范（2024年6月30日到期）",
            "text": body["markdown"]["text"],
        },
    }
    assert body["markdown"]["text"].startswith(
        "### 【整改到期提醒】西里镇：行政执法公示不规范（2024年6月30日到期）\n\n"
    )


def test_dingtalk_without_secret_is_unsigned(engine, recorder):
    _due_task_with(engine, kind="dingtalk", target=recorder.url("/robot/send?access_token=abc"))
    assert deliver(engine=engine, settings=notify_settings()).sent == 1
    assert set(recorder.requests[0].query) == {"access_token"}


@pytest.mark.parametrize(
    "mode, error",
    [
        ("errcode", "钉钉机器人返回错误 310000：sign not match"),
        ("500", "对方返回 HTTP 500（对方服务器内部错误）"),  # the status and a reason, never the body
        ("hang", "连接超时：127.0.0.1:{port} 在 1 秒内没有应答"),
        ("close", "连接被对方断开：127.0.0.1:{port} 未返回应答"),
    ],
)
def test_failure_is_recorded_and_other_channels_still_deliver(engine, recorder, mode, error):
    with session_scope(engine) as s:
        broken_task = add_task(s, deadline=date(2024, 6, 30), last_progress_at=RECENT)
        fine_task = add_task(s, township_name="松岭镇", deadline=date(2024, 6, 30), last_progress_at=RECENT)
        add_channel(s, kind="dingtalk", target=recorder.url("/broken"))
        add_channel(s, township_name="松岭镇", kind="webhook", target=recorder.url("/fine"))
    from notifications.reminders import enqueue_reminders

    enqueue_reminders(engine=engine, as_of=AS_OF)
    recorder.modes["/broken"] = mode
    recorder.hang_seconds = 3
    # one worker: the broken channel is tried first (lower id) and must not stop the other
    result = deliver(engine=engine, settings=notify_settings(timeout=1.0, concurrency=1))
    assert result.as_dict() == {"sent": 1, "retrying": 1, "failed": 0}
    rows = {o.task_id: o for o in outbox_rows(engine)}
    assert rows[fine_task.id].status == "sent"
    assert [r.path for r in recorder.accepted] == ["/fine"]
    broken = rows[broken_task.id]
    assert broken.status == "pending" and broken.attempts == 1
    assert broken.last_error == error.format(port=recorder.port)
    assert broken.next_attempt_at > datetime.now(UTC) + timedelta(seconds=50)  # backoff 60 s


def _robot_with_tasks_due(engine, n: int, kind: str, url: str) -> None:
    """`n` tasks of 西里镇 due in 7 days, a `kind` robot for it at `url`, their reminders queued."""
    from notifications.reminders import enqueue_reminders

    with session_scope(engine) as s:
        for i in range(n):
            add_task(s, title=f"整改事项{i:02d}", deadline=date(2024, 6, 30), last_progress_at=RECENT)
        add_channel(s, kind=kind, target=url)
    enqueue_reminders(engine=engine, as_of=AS_OF)


def test_a_robot_gets_a_township_s_reminders_of_one_kind_as_one_list(engine, recorder):
    _robot_with_tasks_due(engine, 3, "wecom", recorder.url("/robot"))
    result = deliver(engine=engine, settings=notify_settings(base_url="http://rectify.local"))
    assert result.as_dict() == {"sent": 3, "retrying": 0, "failed": 0}
    [req] = recorder.requests
    ids = sorted(o.task_id for o in outbox_rows(engine))
    lines = [
        f"{n}. **整改事项{n - 1:02d}**：还有 7 天到期（2024年6月30日，黄灯），责任：司法所 张三 "
        f"[查看](http://rectify.local/tasks/{tid})"
        for n, tid in enumerate(ids, 1)
    ]
    assert req.json() == {
        "msgtype": "markdown",
        "markdown": {
            "content": "### 【整改到期提醒】西里镇：3 项整改事项即将到期\n\n"
            + "\n".join(lines)
            + "\n\n请抓紧推进整改，并在系统中填报进展、上传佐证材料。[全部任务](http://rectify.local/tasks)"
        },
    }
    assert {o.status for o in outbox_rows(engine)} == {"sent"}


def test_messages_to_one_robot_are_paced_to_its_minute(engine, recorder, monkeypatch):
    from notifications import outbox

    monkeypatch.setattr(outbox, "ROBOT_WINDOW_SECONDS", 1.5)  # the robot's minute, shortened
    recorder.robot_limit = (3, 1.0)  # the robot refuses a 4th message within 1 s (0.5 s for delays on the way)
    _robot_with_tasks_due(engine, 35, "wecom", recorder.url("/robot"))  # lists of 10, 10, 10 and 5
    result = deliver(engine=engine, settings=notify_settings(robot_per_minute=3))
    assert result.as_dict() == {"sent": 35, "retrying": 0, "failed": 0}
    assert len(recorder.requests) == len(recorder.accepted) == 4  # never "too fast"
    assert recorder.requests[3].at - recorder.requests[0].at >= 1.0
    assert [r.json()["markdown"]["content"].count("[查看]") for r in recorder.requests] == [10, 10, 10, 5]


def test_a_robot_minute_that_outlasts_the_run_leaves_the_rest_queued(engine, recorder):
    _robot_with_tasks_due(engine, 35, "dingtalk", recorder.url("/robot"))
    started = time.monotonic()
    # 3 a minute: the 4th message would wait about 60 s, past this run's stop (a 30 s claim)
    result = deliver(engine=engine, settings=notify_settings(robot_per_minute=3, claim_seconds=30))
    assert time.monotonic() - started < 10
    assert (result.sent, result.retrying, result.failed, result.released) == (30, 0, 0, 5)
    rows = outbox_rows(engine)
    assert [o.status for o in rows] == ["sent"] * 30 + ["pending"] * 5
    assert all(o.attempts == 0 and o.claim is None and o.last_error is None for o in rows[30:])


def test_a_robot_answering_too_fast_holds_its_other_messages_unspent(engine, recorder):
    recorder.robot_limit = (2, 60.0)
    _robot_with_tasks_due(engine, 35, "wecom", recorder.url("/robot"))
    result = deliver(engine=engine, settings=notify_settings(robot_per_minute=0))  # not paced
    assert (result.sent, result.retrying, result.failed) == (20, 15, 0)  # the list tried and the one held
    rows = outbox_rows(engine)
    assert [o.status for o in rows] == ["sent"] * 20 + ["pending"] * 15
    assert {(o.attempts, o.last_error) for o in rows[20:30]} == {
        (1, "企业微信机器人返回错误 45009：api freq out of limit")
    }
    assert {o.attempts for o in rows[30:]} == {0}  # held with it, their attempts unspent
    assert all(o.next_attempt_at > datetime.now(UTC) + timedelta(seconds=50) for o in rows[20:])
