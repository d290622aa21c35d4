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
    """The channel did not accept the message; the text says why, in Chinese."""


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


def post_json(client: httpx.Client, url: str, content: bytes, *, headers: dict | None = None) -> httpx.Response:
    """POST a JSON body; any transport failure or non-2xx answer becomes a DeliveryError."""
    try:
        response = client.post(url, content=content,
                               headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})})
    except httpx.TimeoutException as exc:
        raise DeliveryError(f"请求超时（{client.timeout.read or client.timeout.connect} 秒）：{url}") from exc
    except httpx.HTTPError as exc:
        raise DeliveryError(f"请求失败（{type(exc).__name__}：{exc}）：{url}") from exc
    if not response.is_success:
        raise DeliveryError(f"HTTP {response.status_code}：{response.text[:200]}")
    return response


def robot_result(response: httpx.Response, vendor: str) -> None:
    """Group robots answer HTTP 200 with {"errcode": 0, ...}; anything else is a refusal."""
    try:
        body = response.json()
    except ValueError as exc:
        raise DeliveryError(f"{vendor}返回的不是 JSON：{response.text[:200]}") from exc
    if not isinstance(body, dict) or body.get("errcode") != 0:
        code = body.get("errcode") if isinstance(body, dict) else None
        msg = body.get("errmsg") if isinstance(body, dict) else body
        raise DeliveryError(f"{vendor}返回错误 {code}：{msg}")
