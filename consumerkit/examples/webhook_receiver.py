"""A municipality's webhook endpoint: checks Passend's signature and timestamp, keeps events once.

Run it (any ASGI server; uvicorn shown), and subscribe its URL with the same secret::

    PASSEND_WEBHOOK_SECRETS='<secret>' uvicorn --factory \\
        webhook_receiver:app_from_environment --app-dir consumerkit/examples --port 8080

Before anything else it checks the delivery (:func:`passend_consumerkit.webhooks.verify`):
a signature of one of its secrets over the exact bytes received, and a timestamp within
five minutes of its own clock, so a captured request replayed later is refused (401).
While Passend rotates the secret it signs with both, old and new; put both in
``PASSEND_WEBHOOK_SECRETS`` (separated by a space), and drop the old one when the
overlap period ends. A body that is not an event of the published contract is refused
(400). A delivery is at least once: the same ``webhook-id`` comes again after a lost
answer, and is answered 200 without keeping it twice.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from pathlib import Path
from typing import Any

from passend_consumerkit.webhooks import WebhookRejected, verify
from passend_contracts.envelope import CloudEvent
from passend_contracts.registry import parse

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

SCHEMA = """
CREATE TABLE IF NOT EXISTS received_events (
    webhook_id  TEXT PRIMARY KEY,   -- the same on every attempt of one delivery
    event_id    TEXT NOT NULL,
    event_type  TEXT NOT NULL,
    case_id     TEXT,
    data        TEXT NOT NULL,      -- JSON: the minimised fields, as received
    received_at TEXT NOT NULL
);
"""


def open_db(path: str | Path) -> sqlite3.Connection:
    db = sqlite3.connect(path)
    db.executescript(SCHEMA)
    return db


def accept(db: sqlite3.Connection, webhook_id: str, body: bytes) -> bool:
    """Keep the event of a verified delivery; False when this delivery was kept before.

    Raises ``ValueError`` for a body that is not a valid event of the contract.
    """
    try:
        event = CloudEvent.model_validate_json(body)
        payload = parse(event)  # against the contract, upcast to its newest version
    except ValueError as exc:  # pydantic's ValidationError is one
        raise ValueError(f"not a Passend event: {exc}") from exc
    with db:
        cursor = db.execute(
            "INSERT INTO received_events VALUES (?, ?, ?, ?, ?, datetime('now')) "
            "ON CONFLICT (webhook_id) DO NOTHING",
            (
                webhook_id,
                str(event.id),
                event.type,
                str(getattr(payload, "case_id", "")) or None,
                json.dumps(event.data, sort_keys=True),
            ),
        )
    return cursor.rowcount == 1


def make_app(
    db_path: str | Path,
    secrets: Iterable[str],
    clock: Callable[[], float] = time.time,
) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """The ASGI app: POST with a valid signature -> 200; else 401, 400 or 405."""
    held = tuple(secrets)
    db = open_db(db_path)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope["method"] != "POST":
            await _answer(send, 405, "POST only")
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            webhook_id = verify(headers, body, held, now=int(clock()))
        except WebhookRejected as exc:
            await _answer(send, 401, str(exc))
            return
        try:
            accept(db, webhook_id, body)
        except ValueError as exc:
            await _answer(send, 400, str(exc))
            return
        await _answer(send, 200, "ok")

    return app


def app_from_environment() -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """The app with ``PASSEND_WEBHOOK_SECRETS`` (space-separated) and ``PASSEND_WEBHOOK_DB``."""
    secrets = os.environ["PASSEND_WEBHOOK_SECRETS"].split()
    return make_app(os.environ.get("PASSEND_WEBHOOK_DB", "webhooks.sqlite"), secrets)


async def _answer(send: Send, status: int, text: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"text/plain; charset=utf-8")],
        }
    )
    await send({"type": "http.response.body", "body": text.encode()})
