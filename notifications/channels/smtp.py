"""Email through SMTP (plain, STARTTLS or SSL), one connection per message."""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
from email.message import EmailMessage
from email.utils import formatdate

import httpx

from notifications.channels import DeliveryError, Message, Target, short
from notifications.targets import one_line
from tracker.config import NotifySettings

DELIVERY_HEADER = "X-Rectify-Delivery"  # the dedupe key as it is, as the webhook sends it
_NOT_ATEXT = re.compile(r"[^A-Za-z0-9!#$&'*+/=?^_`{|}~-]")


def message_id(key: str) -> str:
    """The dedupe key as an RFC 5322 msg-id: `<due.12.2024-06-30.7.3@rectify>` for `due:12:2024-06-30:7:3`.

    A msg-id's left part is a dot-atom, which has no ':'; so each ':' is written as '.' and any other
    character a dot-atom forbids (a '.' or '%' of its own included) as %XX. The keys rectify makes
    hold only letters, digits, '-' and ':', so the msg-id is the key with its colons as dots."""
    parts = [
        _NOT_ATEXT.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), p) or "%" for p in key.split(":")
    ]
    return f"<{'.'.join(parts)}@rectify>"


def build(target: Target, message: Message, settings: NotifySettings) -> EmailMessage:
    """Every header from sanitised text: a title with CR, LF or U+2028 gives a one-line subject."""
    msg = EmailMessage()
    msg["Subject"] = one_line(message.subject)
    msg["From"] = one_line(settings.smtp_from)
    msg["To"] = one_line(target.target)
    msg["Date"] = formatdate(localtime=True)
    # The dedupe key itself: a repeat after a lost acknowledgement has the same Message-ID.
    msg["Message-ID"] = message_id(message.key)
    msg[DELIVERY_HEADER] = one_line(message.key)
    msg.set_content(message.body)
    return msg


def send(target: Target, message: Message, *, client: httpx.Client, settings: NotifySettings) -> None:
    msg = build(target, message, settings)
    host, port, timeout = settings.smtp_host, settings.smtp_port, settings.timeout
    server = f"邮件服务器 {host}:{port}"
    try:
        if settings.smtp_security == "ssl":
            smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
        with smtp:
            if settings.smtp_security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password)
            refused = smtp.send_message(msg)
    except smtplib.SMTPRecipientsRefused as exc:
        raise DeliveryError(f"邮件服务器拒绝收件人 {target.target}") from exc
    except smtplib.SMTPAuthenticationError as exc:
        raise DeliveryError(
            f"{server} 登录失败（{exc.smtp_code}），请检查 RECTIFY_SMTP_USER/PASSWORD", channel_down=True
        ) from exc
    except smtplib.SMTPResponseException as exc:
        # 5xx on the message (too large, content refused): this message; 4xx or at connect: the server
        permanent = exc.smtp_code >= 500 and not isinstance(
            exc, (smtplib.SMTPConnectError, smtplib.SMTPHeloError, smtplib.SMTPSenderRefused)
        )
        raise DeliveryError(
            f"{server}拒收（{exc.smtp_code}）：{short(_text(exc.smtp_error))}", channel_down=not permanent
        ) from exc
    except TimeoutError as exc:
        raise DeliveryError(f"连接超时：{server} 在 {timeout:g} 秒内没有应答", channel_down=True) from exc
    except ConnectionRefusedError as exc:
        raise DeliveryError(f"无法连接到{server}（连接被拒绝）", channel_down=True) from exc
    except socket.gaierror as exc:
        raise DeliveryError(f"无法连接到{server}（域名无法解析）", channel_down=True) from exc
    except smtplib.SMTPServerDisconnected as exc:
        raise DeliveryError(f"连接被{server}断开", channel_down=True) from exc
    except ssl.SSLError as exc:
        raise DeliveryError(f"与{server}建立加密连接失败（{short(exc.reason or exc, 60)}）", channel_down=True) from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"无法连接到{server}（{short(exc, 60)}）", channel_down=True) from exc
    if refused:
        raise DeliveryError(f"邮件服务器拒绝收件人 {target.target}")


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
