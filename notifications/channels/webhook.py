"""Generic JSON webhook, signed with HMAC-SHA256 of the exact body when a secret is set."""

from __future__ import annotations

import hashlib
import hmac
import json

import httpx

from notifications.channels import Message, Target, post_json
from tracker.config import NotifySettings

SIGNATURE_HEADER = "X-Rectify-Signature"
DELIVERY_HEADER = "X-Rectify-Delivery"  # the dedupe key: a receiver drops repeats by it


def signature(secret: str, content: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), content, hashlib.sha256).hexdigest()


def body(message: Message) -> dict:
    return {"key": message.key, "subject": message.subject, "text": message.body, **message.data}


def send(target: Target, message: Message, *, client: httpx.Client, settings: NotifySettings) -> None:
    content = json.dumps(body(message), ensure_ascii=False, separators=(",", ":")).encode()
    headers = {DELIVERY_HEADER: message.key}
    if target.secret:
        headers[SIGNATURE_HEADER] = signature(target.secret, content)
    post_json(client, target.target, content, headers=headers)
