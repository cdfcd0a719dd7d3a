"""The correlation id of an HTTP request: taken from ``X-Correlation-ID`` or made, and logged."""

from __future__ import annotations

import uuid

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from passend_backbone import hoptrace
from passend_backbone.logs import log_context

CORRELATION_HEADER = "X-Correlation-ID"
_CORRELATION_ID_MAX = 128


class CorrelationIdMiddleware:
    """Takes ``X-Correlation-ID`` from the request (or makes one) and binds it to the logs.

    The id is echoed in the response, put in ``request.state.correlation_id`` and, when the
    caller sent none, added to the request headers, so handlers read it one way only.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = CORRELATION_HEADER.lower().encode()
        sent = next((v for k, v in scope["headers"] if k == header), None)
        correlation_id = _usable_correlation_id(sent)
        if correlation_id is None:
            correlation_id = str(uuid.uuid4())
            scope["headers"] = [
                *((k, v) for k, v in scope["headers"] if k != header),
                (header, correlation_id.encode()),
            ]
        scope.setdefault("state", {})["correlation_id"] = correlation_id
        started = hoptrace.now() if hoptrace.on else 0

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[CORRELATION_HEADER] = correlation_id
                if started:
                    # Hop trace (off unless PASSEND_HOP_TRACE is set): request in -> answer out.
                    hoptrace.record(
                        "http",
                        (correlation_id,),
                        t0=started,
                        t1=hoptrace.now(),
                        path=scope.get("path", ""),
                        status=message.get("status"),
                    )
            await send(message)

        with log_context(correlation_id=correlation_id):
            await self.app(scope, receive, send_with_id)


def _usable_correlation_id(raw: bytes | None) -> str | None:
    """The caller's id if it is short printable ASCII (it ends up in logs and events)."""
    if not raw or len(raw) > _CORRELATION_ID_MAX:
        return None
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        return None
    return text if text.isprintable() and " " not in text else None


def correlation_id_of(state: object) -> str:
    """The request's correlation id (``request.state``), or a new one outside a request."""
    found = getattr(state, "correlation_id", None)
    return found if isinstance(found, str) and found else str(uuid.uuid4())
