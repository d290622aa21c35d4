"""Channel targets and header text that cannot break delivery.

A target is checked when a channel is added (CLI, web, API all go through recipients.add_channel)
and again before each delivery batch, for channels added before these checks existed:
- robots and webhooks: an http(s) URL that parses (urllib and httpx), with a host, no whitespace or
  control characters; unless `channel_allow_private`, not a loopback, private, link-local or
  otherwise non-public address, neither written as one (127.1, 0x7f000001, [::ffff:10.0.0.1],
  localhost) nor, at delivery, resolving to one;
- email: one address of ASCII dot-atoms, a domain of letters, digits and hyphens with a dot.

`one_line` turns any text into a header-safe line: CR, LF, U+2028/2029, NEL and every other
control character become a space.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import unicodedata
from urllib.parse import urlsplit

import httpx

from tracker.errors import ValidationFailed

ATEXT = "A-Za-z0-9!#$%&'*+/=?^_`{|}~-"
EMAIL = re.compile(
    rf"^[{ATEXT}]+(\.[{ATEXT}]+)*@(?=.{{1,253}}$)([A-Za-z0-9]([A-Za-z0-9-]{{0,61}}[A-Za-z0-9])?\.)+"
    r"([A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})$"
)
ALLOW_PRIVATE_HINT = "如确需发往内网地址，请设置 RECTIFY_CHANNEL_ALLOW_PRIVATE=1"
LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")


class PrivateTarget(ValidationFailed):
    """The target is (or resolves to) a loopback, private or link-local address and that is not allowed."""


def has_control(text: str) -> bool:
    """Any control, format or line/paragraph separator character (Cc, Cf, Zl, Zp)."""
    return any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in text)


def one_line(text: str) -> str:
    """`text` as a single header-safe line: control characters and line breaks of any kind become a space."""
    cleaned = "".join(" " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch for ch in text or "")
    return " ".join(cleaned.split())


def check_email(address: str) -> None:
    if has_control(address) or len(address) > 254 or not EMAIL.match(address) or len(address.split("@")[0]) > 64:
        raise ValidationFailed(
            f"邮箱地址“{one_line(address)}”格式不正确（每个渠道填写一个邮箱，如 name@example.gov.cn）"
        )


def check_url(url: str, label: str) -> str:
    """The URL's host, or ValidationFailed saying what is wrong (in Chinese, naming `label`)."""
    shown = one_line(url)
    if has_control(url) or any(ch.isspace() for ch in url):
        raise ValidationFailed(f"{label}地址不能包含空格、换行或控制字符：{shown}")
    if not url.lower().startswith(("https://", "http://")):
        raise ValidationFailed(f"{label}地址必须以 https:// 或 http:// 开头：{shown}")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError on a bad port)
        httpx.URL(url)
    except (ValueError, httpx.InvalidURL):
        raise ValidationFailed(f"{label}地址格式不正确：{shown}") from None
    if not parts.hostname:
        raise ValidationFailed(f"{label}地址缺少主机名：{shown}")
    return parts.hostname


def literal_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address `host` spells, also in the legacy IPv4 forms resolvers accept (127.1, 0x7f000001, 2130706433)."""
    try:
        return ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        pass
    if host and all(ch in "0123456789abcdefxABCDEFX." for ch in host) and host[0].isdigit():
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    mapped = getattr(address, "ipv4_mapped", None) or getattr(address, "sixtofour", None)
    if mapped is not None:
        address = mapped
    return address.is_global and not address.is_multicast


def check_public_host(host: str, label: str) -> None:
    """Refuse a host written as a non-public address or a local name (no DNS lookup here)."""
    address = literal_address(host)
    name = host.lower().rstrip(".")
    if (address is not None and not is_public(address)) or name in LOCAL_NAMES or name.endswith(".localhost"):
        raise PrivateTarget(f"{label}地址指向本机或内网地址（{host}），已拒绝；{ALLOW_PRIVATE_HINT}")


def check_resolved_host(host: str, port: int | None, label: str) -> None:
    """At delivery: refuse a host that resolves to a non-public address. A failed lookup is left to the send."""
    try:
        infos = socket.getaddrinfo(host, port or 443, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return
    for info in infos:
        address = literal_address(info[4][0])
        if address is not None and not is_public(address):
            raise PrivateTarget(f"{label}地址 {host} 解析到内网地址 {address}，已拒绝发送；{ALLOW_PRIVATE_HINT}")


def check_target(kind: str, target: str, *, allow_private: bool, label: str, resolve: bool = False) -> None:
    """ValidationFailed (PrivateTarget for an address that is not allowed) unless `target` suits `kind`."""
    if kind == "email":
        check_email(target)
        return
    host = check_url(target, label)
    if allow_private:
        return
    check_public_host(host, label)
    if resolve:
        check_resolved_host(host, urlsplit(target).port, label)
