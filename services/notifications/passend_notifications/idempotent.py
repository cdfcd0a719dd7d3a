"""Row writes of the HTTP API under an ``Idempotency-Key``, in the caller's tenant transaction.

The settings endpoints (contacts, personal links, wording, webhooks) write rows, not
events, so they don't go through ``commands.execute``; they use its parts: one tenant
transaction (``ctx.commands.transactions``) in which the key is claimed, the rows are
written and the answer is remembered (``ctx.commands.idempotency``). A retry with the same
key and body gets the first answer and writes nothing; the same key with another body is
refused (422); a request without a key writes as it always did. A refusal raised by the
work rolls the claim back with everything else, so nothing of a refused request is kept.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Response, status
from fastapi.responses import JSONResponse

from passend_backbone.auth import Principal
from passend_backbone.commands import CommandPorts, IdempotencyKey, StoredAnswer

# The work of one request, in the open tenant transaction (an asyncpg connection).
Work = Callable[[Any], Awaitable[StoredAnswer]]

NO_CONTENT = StoredAnswer(status.HTTP_204_NO_CONTENT, {})


async def write_once(
    ports: CommandPorts,
    principal: Principal,
    header: str | None,
    operation: str,
    asked: Any,
    work: Work,
) -> Response:
    """Run ``work`` once per key; ``operation`` and ``asked`` (path values and body) are
    what the key is bound to."""
    key = IdempotencyKey.of(principal.swv, principal.subject, header, operation, asked)
    async with ports.transactions.tenant(principal.swv) as tx:
        if key is not None:
            first = await ports.idempotency.claim(tx, key)
            if first is not None:
                return response_of(first)
        answer = await work(tx)
        if key is not None:
            await ports.idempotency.remember(tx, key, answer)
    return response_of(answer)


def response_of(answer: StoredAnswer) -> Response:
    """The HTTP answer of a stored one (204 has no body)."""
    if answer.status_code == status.HTTP_204_NO_CONTENT:
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    return JSONResponse(answer.body, status_code=answer.status_code)
