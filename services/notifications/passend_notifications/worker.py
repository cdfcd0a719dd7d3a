"""The delivery worker: claims due messages, sends them, and records the outcome as events.

Once, exactly — what holds and what can't:

- **Scheduling is exact.** A message's id is derived from the event and the recipient;
  the queue row and the ``NotificationScheduled`` event are written in one transaction
  keyed by that id, so redelivered events, restarts, projection rebuilds and replays for
  auditors schedule nothing twice. Projections never send; only this worker does.
- **One delivery loop owns a message at a time.** A loop claims one message (``FOR
  UPDATE SKIP LOCKED``), writes itself as its ``owner`` and commits that before sending.
  Each loop holds a PostgreSQL advisory lock on its own id for as long as it runs, on a
  connection of its own; only when that lock is free (the loop's process died, or its
  connection broke) may another loop take the message over, at once rather than after
  the lease. The lease is the last resort for an owner that hangs while connected. A
  loop that lost its message can't hand a copy over any more: entering the data phase
  needs its ownership (below).
- **Webhooks are at-least-once with a stable delivery id.** ``webhook-id`` is the
  message id on every attempt, so a receiver that remembers ids sees each event once.
  Each attempt is signed anew (``webhook-timestamp``, ``webhook-signature``) with the
  subscription's secrets valid at that moment: two during a rotation's overlap.
- **E-mail: at most two copies per message, ever; every message at least once.** No
  mail server takes part in our transaction, so a process that dies after the server
  accepted and before ``NotificationSent`` is recorded leaves the outcome unknown. The
  SMTP conversation calls back after the server's "354 go ahead" and before the message
  is written, and the worker commits there that this attempt may deliver a copy
  (``maybe_copies + 1``, only for the owner of this attempt, only while below 2); a
  server refusal of the message takes that mark back. Hence:

  1. every copy a server accepted belongs to an attempt that committed a mark (a server
     keeps a message only after its last line, which is written after the mark);
  2. at most two marks stand per message (the mark is conditional on ``< 2``), and a
     mark is only taken back for an attempt the server refused, which delivered nothing;
  3. so at most two copies of a message exist. The second is sent only after an attempt
     whose outcome is unknown, carries the same ``Message-ID`` and the header
     ``Passend-Possible-Duplicate: yes``, and its ``NotificationSent`` says
     ``possible_duplicate``;
  4. a message taken over with two marks standing is not sent a third time: it is
     recorded as sent with ``confirmed: false`` (both attempts reached the data phase;
     one lost copy needs the process to die twice for this message between committing
     the mark and writing the message's bytes, a few microseconds each).

  A message leaves the queue only as sent, parked (visible, replayable) or cancelled
  (nothing to tell any more), so none is skipped silently.

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
from passend_notifications import directory, journal, recipients
from passend_notifications.channels.email import SendEmail, build_email, content_sha256, send_smtp
from passend_notifications.channels.outcome import TEMPLATE, DeliveryFailed
from passend_notifications.channels.webhook import post_webhook
from passend_notifications.config import NotificationSettings, load_notification_settings
from passend_notifications.domain.messages import email_message_id
from passend_notifications.domain.planning import EMAIL
from passend_notifications.domain.templates import TemplateError, render
from passend_notifications.parents import IntakeParents, ParentDirectory, TokenDirectory
from passend_notifications.queue import Claimed, claim, hold_ownership, mark_data_phase
from passend_notifications.secret_box import SecretNotOpened, context_of

_log = get_logger("passend.notifications.worker")


class _NoTokens:
    def token(self, swv: str) -> str | None:
        return None


class _NotOurs(Exception):
    """The message was taken over before this attempt's data phase: send nothing."""


class _Attempt:
    """What one attempt did: whether it committed its data-phase mark."""

    def __init__(self) -> None:
        self.marked = False


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
        parents: ParentDirectory | None = None,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._random = random
        self._send_email = send_email
        self._concurrency = concurrency
        self._parents = parents
        self.__name__ = "delivery-worker"  # the runtime names the task after it

    async def __call__(self, ctx: ServiceContext, stop: asyncio.Event) -> None:
        settings = self._settings or load_notification_settings()
        clock = self._clock or ctx.clock
        timeout = httpx.Timeout(settings.webhook_timeout_seconds)
        intake_timeout = httpx.Timeout(settings.intake_timeout_seconds)
        async with (
            httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client,
            httpx.AsyncClient(timeout=intake_timeout, follow_redirects=False) as intake,
        ):
            tokens = (
                TokenDirectory(settings.service_tokens) if settings.service_tokens else _NoTokens()
            )
            parents = self._parents or IntakeParents(intake, settings.intake_url, tokens)
            run = _Run(ctx, settings, clock, self._random, self._send_email, client, parents)
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
        parents: ParentDirectory,
    ) -> None:
        self.ctx = ctx
        self.settings = settings
        self.clock = clock
        self.random = random
        self.send_email = send_email
        self.client = client
        self.parents = parents

    async def loop(self, stop: asyncio.Event) -> None:
        """One delivery loop: under an owner id of its own, one message at a time."""
        while not stop.is_set():
            try:
                async with hold_ownership(self.ctx.pool) as owner:
                    await self._serve(stop, owner)
            except Exception:
                # The database is unreachable or a bug surfaced. The loop gives its owner
                # id up (and its lock with it), so a message it held is taken over as one
                # whose outcome is unknown; then it starts again under a new id.
                _log.exception("delivery_loop_error")
                await self._pause(stop)

    async def _serve(self, stop: asyncio.Event, owner: UUID) -> None:
        while not stop.is_set():
            claimed = await claim(self.ctx.pool, self.clock(), self.settings.lease, 1, owner)
            for message in claimed:
                await self.deliver(message)
            if not claimed:
                await self._pause(stop)

    async def _pause(self, stop: asyncio.Event) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), self.settings.poll_seconds)

    async def deliver(self, message: Claimed) -> None:
        log = _log.bind(message_id=str(message.message_id), attempt=message.attempt)
        attempt = _Attempt()
        try:
            if message.channel == EMAIL and message.maybe_copies >= 2:
                # Two attempts may each have delivered it: a third copy is not sent.
                recorded = await journal.record_sent(
                    self.ctx.pool,
                    self.ctx.store,
                    message,
                    message.content_sha256 or "",
                    self.clock(),
                    confirmed=False,
                )
                log.warning("not_sent_a_third_time", recorded=recorded)
                return
            if message.channel == EMAIL:
                digest = await self._email(message, attempt)
            else:
                digest = await self._webhook(message)
        except _NotOurs:
            log.warning("message_taken_over_before_sending")
            return
        except recipients.ForParents as found:
            recorded = await journal.hand_to_parents(
                self.ctx.pool, self.ctx.store, message, found.refs, self.clock()
            )
            log.info("handed_to_parents", parents=len(found.refs))
        except recipients.Cancelled as cancelled:
            recorded = await journal.record_cancelled(
                self.ctx.pool, self.ctx.store, message, cancelled.code, self.clock()
            )
            log.info("delivery_cancelled", reason_code=cancelled.code)
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
                code=failure.code,
                delivered_nothing=attempt.marked and not failure.uncertain,
            )
            log.warning(
                "delivery_failed",
                reason=failure.reason,
                reason_code=failure.code,
                parked=next_at is None,
            )
        else:
            recorded = await journal.record_sent(
                self.ctx.pool, self.ctx.store, message, digest, self.clock()
            )
            log.info(
                "delivered",
                channel=message.channel,
                possible_duplicate=message.possible_duplicate or message.maybe_delivered,
            )
        if not recorded:
            # The lease ran out mid-send and another worker holds the message now; it
            # records the outcome of its own attempt.
            log.warning("outcome_not_recorded_lease_lost")

    async def _email(self, message: Claimed, attempt: _Attempt) -> str:
        pool = self.ctx.pool
        wording = await directory.template(pool, message.swv, message.template)
        target = await recipients.resolve(
            pool, self.parents, message, wording, self.settings.parent_link_base
        )
        values = {
            **message.facts,
            "link": f"{self.settings.case_link_base.rstrip('/')}/{message.case_id}",
            **target.values,
        }
        try:
            rendered = render(wording, values)
        except TemplateError as exc:
            raise DeliveryFailed(str(exc), permanent=True, code=TEMPLATE) from exc
        header = email_message_id(message.message_id, self.settings.message_id_domain)
        email = build_email(
            self.settings,
            target.email,
            rendered,
            header,
            self.clock(),
            possible_duplicate=message.possible_duplicate,
        )
        digest = content_sha256(email)

        async def enter_data_phase() -> None:
            if not await mark_data_phase(pool, message, digest, self.clock()):
                raise _NotOurs()
            attempt.marked = True

        await self.send_email(self.settings, email, enter_data_phase)
        return digest

    async def _webhook(self, message: Claimed) -> str:
        target = await directory.endpoint(self.ctx.pool, message.swv, UUID(message.recipient_id))
        if target is None or not target.active:
            raise DeliveryFailed("webhook subscription removed", permanent=True)
        if message.body is None:
            raise DeliveryFailed("webhook message has no body", permanent=True)
        box = self.settings.secret_box
        if box is None:
            raise DeliveryFailed(
                "NOTIFICATIONS_WEBHOOK_SECRET_KEY is not set: the webhook's secret can't be opened",
                permanent=True,
            )
        now = self.clock()
        context = context_of(message.swv, message.recipient_id)
        current, *previous = target.sealed_secrets(now)
        try:
            secrets = [box.open(current, context)]
        except SecretNotOpened as exc:
            raise DeliveryFailed(str(exc), permanent=True) from exc
        for sealed in previous:
            # The overlap is a courtesy to the receiver: a previous secret that no longer
            # opens (sealed under another key) stops signing; the current one suffices.
            with contextlib.suppress(SecretNotOpened):
                secrets.append(box.open(sealed, context))
        return await post_webhook(
            self.client,
            target.url,
            secrets,
            message.message_id,
            message.template,
            message.body,
            now,
        )
