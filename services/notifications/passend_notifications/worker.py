"""The delivery worker: claims due messages, sends them, and records the outcome as events.

Once, exactly — what holds and what can't:

- **Scheduling is exact.** A message's id is derived from the event and the recipient;
  the queue row and the ``NotificationScheduled`` event are written in one transaction
  keyed by that id, so redelivered events, restarts, projection rebuilds and replays for
  auditors schedule nothing twice. Projections never send; only this worker does.
- **Webhooks are at-least-once with a stable delivery id.** ``Passend-Delivery-Id`` is
  the message id on every attempt, so a receiver that remembers ids sees each event once.
- **SMTP can't be made exact**: no mail server takes part in our transaction. The worker
  commits an "attempting" mark (status, attempt number, lease) *before* sending, and
  ``NotificationSent`` *after* the server accepted. A process that dies between the
  server's "250 accepted" and that commit leaves the message "attempting"; when the lease
  runs out a worker takes it over, flags it ``maybe_delivered`` and sends it again. We
  chose resending over parking: a possible second copy is better than a parent or IB who
  is never told. The trade-off is bounded: the second copy carries the same Message-ID
  header (receiving systems and mail clients that dedupe on it show one message), it
  happens only for a crash inside that window (milliseconds per message), at most once
  per crash because only the one message in flight per delivery loop carries the mark,
  and ``NotificationSent.possible_duplicate`` tells the auditor exactly which messages
  may have arrived twice. The same flag is set when an attempt broke off mid-conversation
  (a timeout or disconnect after the message may have been handed over) and a later
  attempt succeeded. No message is ever skipped: a message leaves the queue only
  as sent or parked, and a parked one is visible and replayable.

Retries are durable: a failed attempt sets the row's ``due_at`` (exponential backoff with
jitter, :mod:`passend_notifications.domain.retry`), so a restart keeps the schedule. The
clock and the jitter source are injected, so tests move time instead of sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import random as random_module
from collections.abc import Callable
from datetime import datetime
from uuid import UUID

import httpx

from passend_backbone.logs import get_logger
from passend_backbone.service import ServiceContext
from passend_notifications import directory, journal
from passend_notifications.channels.email import SendEmail, build_email, content_sha256, send_smtp
from passend_notifications.channels.outcome import DeliveryFailed
from passend_notifications.channels.webhook import post_webhook
from passend_notifications.config import NotificationSettings, load_notification_settings
from passend_notifications.domain.messages import email_message_id, salutation
from passend_notifications.domain.planning import EMAIL
from passend_notifications.domain.templates import TemplateError, render
from passend_notifications.queue import Claimed, claim

_log = get_logger("passend.notifications.worker")

NO_LINK = "Deze persoonlijke link ontvangt u van de school van uw kind."


class DeliveryWorker:
    """Background task of the service: ``concurrency`` loops, each sending one message at a time."""

    def __init__(
        self,
        settings: NotificationSettings | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
        random: Callable[[], float] = random_module.random,
        send_email: SendEmail = send_smtp,
        concurrency: int = 2,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._random = random
        self._send_email = send_email
        self._concurrency = concurrency
        self.__name__ = "delivery-worker"  # the runtime names the task after it

    async def __call__(self, ctx: ServiceContext, stop: asyncio.Event) -> None:
        settings = self._settings or load_notification_settings()
        clock = self._clock or ctx.clock
        timeout = httpx.Timeout(settings.webhook_timeout_seconds)
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
            run = _Run(ctx, settings, clock, self._random, self._send_email, client)
            await asyncio.gather(*(run.loop(stop) for _ in range(self._concurrency)))


class _Run:
    def __init__(
        self,
        ctx: ServiceContext,
        settings: NotificationSettings,
        clock: Callable[[], datetime],
        random: Callable[[], float],
        send_email: SendEmail,
        client: httpx.AsyncClient,
    ) -> None:
        self.ctx = ctx
        self.settings = settings
        self.clock = clock
        self.random = random
        self.send_email = send_email
        self.client = client

    async def loop(self, stop: asyncio.Event) -> None:
        """Claim one message at a time, so only the message really in flight is 'attempting'."""
        while not stop.is_set():
            try:
                claimed = await claim(self.ctx.pool, self.clock(), self.settings.lease, 1)
                for message in claimed:
                    await self.deliver(message)
            except Exception:
                # The database is unreachable or a bug surfaced: a claimed message stays
                # 'attempting' and is taken over after its lease, so nothing is lost.
                _log.exception("delivery_loop_error")
                claimed = []
            if not claimed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.settings.poll_seconds)

    async def deliver(self, message: Claimed) -> None:
        log = _log.bind(message_id=str(message.message_id), attempt=message.attempt)
        try:
            if message.channel == EMAIL:
                digest = await self._email(message)
            else:
                digest = await self._webhook(message)
        except DeliveryFailed as failure:
            now = self.clock()
            policy = self.settings.retry_policy
            next_at = policy.next_attempt(
                message.round_attempt, now, self.random, permanent=failure.permanent
            )
            recorded = await journal.record_failure(
                self.ctx.pool,
                self.ctx.store,
                message,
                failure.reason,
                next_at,
                now,
                uncertain=failure.uncertain,
            )
            log.warning("delivery_failed", reason=failure.reason, parked=next_at is None)
        else:
            recorded = await journal.record_sent(
                self.ctx.pool, self.ctx.store, message, digest, self.clock()
            )
            log.info(
                "delivered", channel=message.channel, possible_duplicate=message.maybe_delivered
            )
        if not recorded:
            # The lease ran out mid-send and another worker holds the message now; it
            # records the outcome of its own attempt.
            log.warning("outcome_not_recorded_lease_lost")

    async def _email(self, message: Claimed) -> str:
        pool = self.ctx.pool
        entry = await directory.contact(pool, message.swv, message.recipient_id)
        if entry is None:
            raise DeliveryFailed(
                f"no e-mail address for {message.recipient_role} {message.recipient_id}: "
                f"register it with PUT /contacts/{message.recipient_id}",
                # Not permanent: the address is often registered shortly after the event;
                # the backoff gives that time before the message parks.
                permanent=False,
            )
        wording = await directory.template(pool, message.swv, message.template)
        values = {
            **message.facts,
            "aanhef": salutation(entry.display_name),
            "link": f"{self.settings.case_link_base.rstrip('/')}/{message.case_id}",
        }
        if "persoonlijke_link" in wording.allowed:
            link = await directory.personal_link(
                pool, message.swv, message.case_id, message.recipient_id
            )
            # Intake hands the link to the school when it did not register it here.
            values["persoonlijke_link"] = link or NO_LINK
        try:
            rendered = render(wording, values)
        except TemplateError as exc:
            raise DeliveryFailed(str(exc), permanent=True) from exc
        header = email_message_id(message.message_id, self.settings.message_id_domain)
        email = build_email(self.settings, entry.email, rendered, header, self.clock())
        await self.send_email(self.settings, email)
        return content_sha256(email)

    async def _webhook(self, message: Claimed) -> str:
        target = await directory.endpoint(self.ctx.pool, message.swv, UUID(message.recipient_id))
        if target is None or not target.active:
            raise DeliveryFailed("webhook subscription removed", permanent=True)
        if message.body is None:
            raise DeliveryFailed("webhook message has no body", permanent=True)
        return await post_webhook(
            self.client,
            target.url,
            target.secret,
            message.message_id,
            message.template,
            message.body,
            self.clock(),
        )
