"""E-mail over SMTP with aiosmtplib: building the message and handing it to the mail server.

The Message-ID is derived from the message id, so every attempt of one message carries
the same header and a receiving system can recognise a second copy as the same message.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime

import aiosmtplib

from passend_notifications.channels.outcome import DeliveryFailed
from passend_notifications.config import NotificationSettings
from passend_notifications.domain.templates import Rendered

SendEmail = Callable[[NotificationSettings, EmailMessage], Awaitable[None]]


def build_email(
    settings: NotificationSettings,
    to: str,
    rendered: Rendered,
    message_id_header: str,
    now: datetime,
) -> EmailMessage:
    """A plain-text Dutch e-mail."""
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = to
    message["Subject"] = rendered.subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id_header
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
    message.set_content(rendered.body, charset="utf-8")
    message["Content-Language"] = "nl"  # after set_content, which resets Content-* headers
    return message


def content_sha256(message: EmailMessage) -> str:
    """Hash of the bytes handed to the mail server, recorded for auditors."""
    return hashlib.sha256(message.as_bytes()).hexdigest()


async def send_smtp(settings: NotificationSettings, message: EmailMessage) -> None:
    """Hand ``message`` to the mail server; :class:`DeliveryFailed` when it is not accepted.

    5xx answers are permanent (the address or message is refused); connection problems,
    timeouts and 4xx answers are worth another try.
    """
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    try:
        await aiosmtplib.send(
            message,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=password,
            start_tls=settings.smtp_starttls,
            use_tls=settings.smtp_tls,
            cert_bundle=settings.smtp_ca_file,
            timeout=settings.smtp_timeout_seconds,
        )
    except aiosmtplib.SMTPRecipientsRefused as exc:
        codes = ", ".join(f"{r.code} {r.message}" for r in exc.recipients)
        permanent = all(r.code >= 500 for r in exc.recipients)
        raise DeliveryFailed(f"recipient refused: {codes}", permanent=permanent) from exc
    except aiosmtplib.SMTPResponseException as exc:
        raise DeliveryFailed(
            f"mail server answered {exc.code} {exc.message}", permanent=exc.code >= 500
        ) from exc
    except aiosmtplib.SMTPConnectError as exc:
        raise DeliveryFailed(f"mail server not reached: {exc!r}") from exc
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        # Broken off mid-conversation: perhaps after DATA, before the server's answer.
        raise DeliveryFailed(f"mail server conversation broke: {exc!r}", uncertain=True) from exc
