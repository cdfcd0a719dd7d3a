"""Opening sealed texts for a reader the API already let in: in answers, at the edge.

Only the service whose keys sealed a text opens it. Every JSON or HTML answer of the
service's HTTP API passes :class:`OpenSealedTexts`: the tokens in it are replaced by their
texts (escaped for the answer's format), or by ``[gewist]`` once the case's key is erased.
An answer without tokens passes untouched (one byte search).
"""

from __future__ import annotations

import html
import json
from collections import defaultdict
from collections.abc import Iterable
from typing import Any
from uuid import UUID

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from passend_backbone.texts import tokens
from passend_backbone.texts.keys import TextKey, TextKeys

log = structlog.get_logger(__name__)
_MARK = tokens.PREFIX.encode()


async def open_all(keys: TextKeys, conn: Any, found: Iterable[str]) -> dict[str, str]:
    """Each token in ``found`` with its text, or ``[gewist]`` when its key is gone."""
    parsed: dict[str, tokens.Token] = {}
    for text in set(found):
        try:
            parsed[text] = tokens.parse(text)
        except tokens.TokenUnreadable:
            continue
    by_tenant: dict[str, set[UUID]] = defaultdict(set)
    for token in parsed.values():
        by_tenant[token.swv].add(token.key_id)
    known: dict[tuple[str, UUID], TextKey] = {}
    for swv, ids in by_tenant.items():
        for key_id, key in (await keys.keys_by_id(conn, swv, ids)).items():
            known[(swv, key_id)] = key
    opened: dict[str, str] = {}
    for text, token in parsed.items():
        found_key = known.get((token.swv, token.key_id))
        if found_key is None:
            opened[text] = tokens.ERASED
            continue
        try:
            opened[text] = tokens.open_token(token, scope=found_key.scope, key=found_key.key)
        except tokens.TokenUnreadable:
            log.warning("sealed_text_unreadable", key_id=str(token.key_id))
            opened[text] = tokens.ERASED
    return opened


def _escape_for(content_type: str) -> Any:
    if "json" in content_type:
        return lambda text: json.dumps(text, ensure_ascii=False)[1:-1]
    if "html" in content_type or "xml" in content_type:
        return html.escape
    return None


class OpenSealedTexts:
    """ASGI middleware: JSON and HTML answers leave with their sealed texts opened."""

    def __init__(self, app: ASGIApp, *, keys: TextKeys, connect: Any) -> None:
        self.app = app
        self.keys = keys
        self.connect = connect  # () -> async context manager giving a connection

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []
        escape: Any = None

        async def sending(message: Message) -> None:
            nonlocal start, escape
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers") or [])
                escape = _escape_for(headers.get(b"content-type", b"").decode("latin-1"))
                if escape is None:
                    await send(message)
                else:
                    start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            if _MARK in body:
                body = await self._opened(body, escape)
            kept = [(k, v) for k, v in start.get("headers", []) if k != b"content-length"]
            kept.append((b"content-length", str(len(body)).encode()))
            await send({**start, "headers": kept})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, sending)

    async def _opened(self, body: bytes, escape: Any) -> bytes:
        text = body.decode()
        found = set(tokens.TOKEN_PATTERN.findall(text))
        async with self.connect() as conn:
            opened = await open_all(self.keys, conn, found)
        return tokens.TOKEN_PATTERN.sub(
            lambda m: escape(opened.get(m.group(0), m.group(0))), text
        ).encode()
