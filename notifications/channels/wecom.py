"""WeCom (企业微信) group robot: a markdown message to the robot's webhook URL."""

from __future__ import annotations

import json

import httpx

from notifications.channels import Message, Target, post_json, robot_result
from tracker.config import NotifySettings


def body(message: Message) -> dict:
    return {"msgtype": "markdown", "markdown": {"content": message.body}}


def send(target: Target, message: Message, *, client: httpx.Client, settings: NotifySettings) -> None:
    content = json.dumps(body(message), ensure_ascii=False).encode()
    robot_result(post_json(client, target.target, content), "企业微信")
