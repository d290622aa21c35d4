"""Email through SMTP (plain, STARTTLS or SSL), one connection per message."""
from __future__ import annotations

import hashlib
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

import httpx

from notifications.channels import DeliveryError, Message, Target
from tracker.config import NotifySettings


def build(target: Target, message: Message, settings: NotifySettings) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = message.subject
    msg["From"] = settings.smtp_from
    msg["To"] = target.target
    msg["Date"] = formatdate(localtime=True)
    # Derived from the dedupe key: a repeat after a lost acknowledgement has the same Message-ID.
    msg["Message-ID"] = f"<{hashlib.sha256(message.key.encode()).hexdigest()[:32]}@rectify>"
    msg.set_content(message.body)
    return msg


def send(target: Target, message: Message, *, client: httpx.Client, settings: NotifySettings) -> None:
    msg = build(target, message, settings)
    host, port, timeout = settings.smtp_host, settings.smtp_port, settings.timeout
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
    except smtplib.SMTPResponseException as exc:
        raise DeliveryError(f"邮件服务器拒收（{exc.smtp_code}）：{_text(exc.smtp_error)}") from exc
    except smtplib.SMTPRecipientsRefused as exc:
        raise DeliveryError(f"邮件服务器拒绝收件人 {target.target}") from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"无法通过 {host}:{port} 发送邮件：{exc}") from exc
    if refused:
        raise DeliveryError(f"邮件服务器拒绝收件人 {target.target}")


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
