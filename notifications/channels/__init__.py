"""Delivery channels: email (SMTP), WeCom and DingTalk group robots, a generic JSON webhook.

Each `send` either returns (the channel accepted the message) or raises DeliveryError with a
reason for people; the outbox retries on any DeliveryError.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from tracker.config import NotifySettings

MARKDOWN_KINDS = ("wecom", "dingtalk")


class DeliveryError(Exception):
    """The channel did not accept the message; the text says why, in Chinese.

    `channel_down`: the channel itself failed (connection refused or dropped, timeout, HTTP 5xx, the
    mail server unreachable), so its other messages are not tried now; otherwise only this message was
    refused (HTTP 4xx, a robot's errcode, a refused recipient) and the channel goes on with the next.
    """

    def __init__(self, message: str, *, channel_down: bool = False):
        super().__init__(message)
        self.channel_down = channel_down


@dataclass(frozen=True)
class Message:
    key: str  # the outbox dedupe key: receivers can drop a repeat (Message-ID, X-Rectify-Delivery)
    subject: str
    body: str  # markdown for the group robots (MARKDOWN_KINDS), plain text otherwise
    data: dict = field(default_factory=dict)  # structured fields for the JSON webhook


@dataclass(frozen=True)
class Target:
    kind: str
    target: str
    secret: str | None = None


def send(target: Target, message: Message, *, client: httpx.Client, settings: NotifySettings) -> None:
    from notifications.channels import dingtalk, smtp, webhook, wecom

    senders = {"email": smtp.send, "wecom": wecom.send, "dingtalk": dingtalk.send, "webhook": webhook.send}
    sender = senders.get(target.kind)
    if sender is None:
        raise DeliveryError(f"未知的渠道类型“{target.kind}”")
    sender(target, message, client=client, settings=settings)


# HTTP statuses a receiver commonly answers, in words for the outbox page (others: 对方返回 HTTP nnn).
HTTP_REASONS = {
    400: "请求格式不被接受",
    401: "未授权",
    403: "拒绝访问",
    404: "地址不存在",
    405: "不接受该请求方法",
    408: "请求超时",
    413: "消息过大",
    429: "请求过于频繁",
    500: "对方服务器内部错误",
    502: "网关错误",
    503: "服务暂不可用",
    504: "网关超时",
}
ROBOT_BUSY = {45009, 130101, 410100}  # WeCom / DingTalk "sending too fast": the robot, not the message
SHORT = 100  # characters of a receiver's own reason (a robot's errmsg) kept in an error


def short(text, limit: int = SHORT) -> str:
    """A receiver's text for an error line: one line, at most `limit` characters."""
    from notifications.targets import one_line

    text = one_line(str(text))
    return text if len(text) <= limit else text[:limit] + "…"


def where(url: str) -> str:
    """host:port of a URL, for errors (the path may hold a robot's key)."""
    u = httpx.URL(url)
    return f"{u.host}:{u.port or (443 if u.scheme == 'https' else 80)}"


def http_error(status: int) -> DeliveryError:
    """A non-2xx answer: its status and a short reason, never its body. 5xx means the channel is down."""
    reason = HTTP_REASONS.get(status) or ("对方服务器出错" if status >= 500 else "请求未被接受")
    return DeliveryError(f"对方返回 HTTP {status}（{reason}）", channel_down=status >= 500 or status == 429)


def post_json(client: httpx.Client, url: str, content: bytes, *, headers: dict | None = None) -> httpx.Response:
    """POST a JSON body; any transport failure or non-2xx answer becomes a DeliveryError."""
    try:
        response = client.post(
            url, content=content, headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})}
        )
    except httpx.TimeoutException as exc:
        seconds = client.timeout.read or client.timeout.connect
        raise DeliveryError(f"连接超时：{where(url)} 在 {seconds:g} 秒内没有应答", channel_down=True) from exc
    except httpx.ConnectError as exc:
        refused = "refused" in str(exc).lower() or isinstance(exc.__cause__, ConnectionRefusedError)
        why = "连接被拒绝" if refused else ("域名无法解析" if _dns_failure(exc) else "网络不通")
        raise DeliveryError(f"无法连接到 {where(url)}（{why}）", channel_down=True) from exc
    except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError, httpx.NetworkError) as exc:
        raise DeliveryError(f"连接被对方断开：{where(url)} 未返回应答", channel_down=True) from exc
    except httpx.HTTPError as exc:
        raise DeliveryError(f"请求失败：{where(url)}（{type(exc).__name__}）", channel_down=True) from exc
    if not response.is_success:
        raise http_error(response.status_code)
    return response


def _dns_failure(exc: Exception) -> bool:
    text = str(exc).lower()
    return any(
        s in text
        for s in (
            "name or service not known",
            "nodename nor servname",
            "temporary failure in name",
            "no address associated",
            "name resolution",
            "getaddrinfo",
        )
    )


def robot_result(response: httpx.Response, vendor: str) -> None:
    """Group robots answer HTTP 200 with {"errcode": 0, ...}; anything else is a refusal (of this message)."""
    try:
        body = response.json()
    except ValueError as exc:
        raise DeliveryError(f"{vendor}机器人返回错误：应答不是 JSON（HTTP {response.status_code}）") from exc
    if not isinstance(body, dict) or body.get("errcode") != 0:
        code = body.get("errcode") if isinstance(body, dict) else None
        msg = body.get("errmsg") if isinstance(body, dict) else None
        raise DeliveryError(
            f"{vendor}机器人返回错误 {short(code, 20)}" + (f"：{short(msg)}" if msg else ""),
            channel_down=code in ROBOT_BUSY,
        )
