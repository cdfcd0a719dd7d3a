"""The notifications service with a mail channel that dies right after the mail server accepted.

Run as ``python -m tests.integration.notifications.crashing_service TOPIC_PREFIX``, with
the service's usual environment (DATABASE_URL, KAFKA_*, HTTP_PORT, AUTH_*,
NOTIFICATIONS_*). The first e-mail it sends is handed to the SMTP server; when the
server has answered "250 accepted", the process kills itself with SIGKILL, before the
worker can record ``NotificationSent``: the exact window the crash test is about.

With ``--plain`` it is the service as deployed (the real mail channel, two delivery
loops) on the test's topics: the test kills it from outside.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from email.message import EmailMessage

from passend_backbone.lifecycle import serve
from passend_backbone.settings import load_settings
from passend_notifications.channels.email import BeforeData, send_smtp
from passend_notifications.config import NotificationSettings, load_notification_settings
from passend_notifications.service import build_spec
from passend_notifications.worker import DeliveryWorker


async def send_then_die(
    settings: NotificationSettings, message: EmailMessage, before_data: BeforeData
) -> None:
    await send_smtp(settings, message, before_data)
    os.kill(os.getpid(), signal.SIGKILL)


async def main(prefix: str, plain: bool = False) -> None:
    notifications = load_notification_settings()
    # One delivery loop: one message in flight when the process dies.
    worker = (
        DeliveryWorker(notifications)
        if plain
        else DeliveryWorker(notifications, send_email=send_then_die, concurrency=1)
    )
    spec = build_spec(
        notifications,
        worker=worker,
        own_topic=f"{prefix}.notifications",
        consumes=(f"{prefix}.intake", f"{prefix}.assignment", f"{prefix}.trajectory"),
    )
    await serve(spec, load_settings(), asyncio.Event())


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], "--plain" in sys.argv[2:]))
