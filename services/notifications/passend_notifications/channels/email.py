"""E-mail over SMTP with aiosmtplib: building the message and handing it to the mail server.

The Message-ID is derived from the message id, so every attempt of one message carries
the same header and a receiving system can recognise a second copy as the same message.
A copy sent after an attempt whose outcome is unknown says so in the header
:data:`POSSIBLE_DUPLICATE_HEADER`.

The SMTP conversation calls ``before_data`` after the server said "354 go ahead" and
before the message itself is written: the worker commits there that this attempt may
deliver a copy (see :mod:`passend_notifications.worker`). A server accepts a message only
once its last line arrived, so an attempt that never reached that call delivered nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime

import aiosmtplib
from aiosmtplib.email import extract_recipients, extract_sender, flatten_message
from aiosmtplib.protocol import PERIOD_REGEX, normalize_message_line_endings

from passend_notifications.channels.outcome import REFUSED, DeliveryFailed
from passend_notifications.config import NotificationSettings
from passend_notifications.domain.templates import Rendered

# "yes" on a copy sent again after an attempt whose outcome is unknown: the recipient may
# have this message already, under the same Message-ID.
POSSIBLE_DUPLICATE_HEADER = "Passend-Possible-Duplicate"

BeforeData = Callable[[], Awaitable[None]]
SendEmail = Callable[[NotificationSettings, EmailMessage, BeforeData], Awaitable[None]]


async def _nothing() -> None:
    return None


def build_email(
    settings: NotificationSettings,
    to: str,
    rendered: Rendered,
    message_id_header: str,
    now: datetime,
    *,
    possible_duplicate: bool = False,
) -> EmailMessage:
    """A plain-text Dutch e-mail."""
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = to
    message["Subject"] = rendered.subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id_header
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
    if possible_duplicate:
        message[POSSIBLE_DUPLICATE_HEADER] = "yes"
    message.set_content(rendered.body, charset="utf-8")
    message["Content-Language"] = "nl"  # after set_content, which resets Content-* headers
    return message


def content_sha256(message: EmailMessage) -> str:
    """Hash of the bytes handed to the mail server, recorded for auditors."""
    return hashlib.sha256(message.as_bytes()).hexdigest()


class _InDataPhase:
    """Whether the conversation got as far as writing the message (a copy may be there)."""

    def __init__(self) -> None:
        self.entered = False


async def _conversation(
    client: aiosmtplib.SMTP,
    message: EmailMessage,
    before_data: BeforeData,
    seconds: float,
    phase: _InDataPhase,
) -> None:
    sender = extract_sender(message)
    recipients = extract_recipients(message)
    if sender is None or len(recipients) != 1:
        raise DeliveryFailed("a message has one sender and one recipient", permanent=True)
    flat = flatten_message(message)
    await client.mail(sender, timeout=seconds)
    refused = await client.rcpt(recipients[0], timeout=seconds)
    if refused.code >= 400:  # rcpt raises for these; kept for servers that answer oddly
        raise aiosmtplib.SMTPRecipientRefused(refused.code, refused.message, recipients[0])
    protocol = client.protocol
    if protocol is None:
        raise aiosmtplib.SMTPServerDisconnected("connection lost before DATA")
    go_ahead = await protocol.execute_command(b"DATA", timeout=seconds)
    if go_ahead.code != 354:
        raise aiosmtplib.SMTPDataError(go_ahead.code, go_ahead.message)
    payload = PERIOD_REGEX.sub(b"..", normalize_message_line_endings(flat)) + b".\r\n"
    # From here the server may get the whole message: the worker commits that first.
    await before_data()
    phase.entered = True
    protocol.write(payload)
    accepted = await protocol.read_response(timeout=seconds)
    if accepted.code != 250:
        raise aiosmtplib.SMTPDataError(accepted.code, accepted.message)


async def send_smtp(
    settings: NotificationSettings, message: EmailMessage, before_data: BeforeData = _nothing
) -> None:
    """Hand ``message`` to the mail server; :class:`DeliveryFailed` when it is not accepted.

    5xx answers are permanent (the address or message is refused); connection problems,
    timeouts and 4xx answers are worth another try. A connection that breaks once the
    message was being written may have delivered it (``uncertain``).
    """
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    client = aiosmtplib.SMTP(
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        username=settings.smtp_username,
        password=password,
        start_tls=settings.smtp_starttls,
        use_tls=settings.smtp_tls,
        cert_bundle=settings.smtp_ca_file,
        timeout=settings.smtp_timeout_seconds,
    )
    phase = _InDataPhase()
    try:
        async with client:
            await _conversation(client, message, before_data, settings.smtp_timeout_seconds, phase)
    except aiosmtplib.SMTPRecipientsRefused as exc:
        codes = ", ".join(f"{r.code} {r.message}" for r in exc.recipients)
        permanent = all(r.code >= 500 for r in exc.recipients)
        raise DeliveryFailed(
            f"recipient refused: {codes}", permanent=permanent, code=REFUSED
        ) from exc
    except aiosmtplib.SMTPRecipientRefused as exc:
        raise DeliveryFailed(
            f"recipient refused: {exc.code} {exc.message}",
            permanent=exc.code >= 500,
            code=REFUSED,
        ) from exc
    except aiosmtplib.SMTPResponseException as exc:
        raise DeliveryFailed(
            f"mail server answered {exc.code} {exc.message}",
            permanent=exc.code >= 500,
            code=REFUSED,
        ) from exc
    except aiosmtplib.SMTPConnectError as exc:
        raise DeliveryFailed(f"mail server not reached: {exc!r}") from exc
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        # Broken off mid-conversation: after the message was written, the server may have
        # it; before, it surely has not.
        raise DeliveryFailed(
            f"mail server conversation broke: {exc!r}", uncertain=phase.entered
        ) from exc
