"""DingTalk (钉钉) group robot: markdown, signed with the robot's secret when one is set."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import httpx

from notifications.channels import Message, Target, post_json, robot_result
from tracker.config import NotifySettings


def sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's signature: base64 HMAC-SHA256 of "{timestamp}\\n{secret}" keyed by the secret.

    httpx url-encodes it as a query parameter.
    """
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def body(message: Message) -> dict:
    return {"msgtype": "markdown", "markdown": {"title": message.subject, "text": message.body}}


def send(target: Target, message: Message, *, client: httpx.Client, settings: NotifySettings) -> None:
    url = httpx.URL(target.target)
    if target.secret:
        ts = int(time.time() * 1000)
        # merged: the robot's URL already carries access_token
        url = url.copy_merge_params({"timestamp": str(ts), "sign": sign(target.secret, ts)})
    content = json.dumps(body(message), ensure_ascii=False).encode()
    robot_result(post_json(client, str(url), content), "钉钉")
