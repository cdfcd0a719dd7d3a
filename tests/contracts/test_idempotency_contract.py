"""Idempotency keys in a tenant's transaction, proven of PostgreSQL and of the in-memory twin.

The PostgreSQL runs use ``PostgresTransactions(pool).tenant(swv)``: the keys' table is under
row-level security, so a claim is made as the tenant, as every command makes it.
"""

from __future__ import annotations

import asyncio

import pytest

from passend_backbone.commands import (
    IdempotencyKey,
    Refusal,
    RefusalKind,
    StoredAnswer,
)
from tests.contracts.backends import CommandBackend, rolled_back

SWV = "swv-1"
FIRST = StoredAnswer(201, {"case_id": "case-1", "version": 1, "events": [{"n": [1, 2]}]})
SECOND = StoredAnswer(200, {"case_id": "case-1", "version": 2, "events": []})


def key_for(body: object, key: str = "key-1", operation: str = "add") -> IdempotencyKey:
    made = IdempotencyKey.of(SWV, "user-7", key, operation, body)
    assert made is not None
    return made


async def claim(commands: CommandBackend, key: IdempotencyKey) -> StoredAnswer | None:
    """Claim ``key`` in a transaction of its own, rolled back at once (the claim undone)."""
    found: list[StoredAnswer | None] = []
    async with rolled_back(commands.ports.transactions.tenant(SWV)) as tx:
        found.append(await commands.ports.idempotency.claim(tx, key))
    return found[0]


async def claim_and_remember(
    commands: CommandBackend, key: IdempotencyKey, answer: StoredAnswer
) -> StoredAnswer | None:
    """Claim ``key``; when this got it, remember ``answer`` and commit."""
    async with commands.ports.transactions.tenant(SWV) as tx:
        first = await commands.ports.idempotency.claim(tx, key)
        if first is None:
            await commands.ports.idempotency.remember(tx, key, answer)
        return first


def test_a_request_without_a_key_has_none() -> None:
    assert IdempotencyKey.of(SWV, "user-7", None, "add", {"by": 1}) is None
    assert IdempotencyKey.of(SWV, "user-7", "", "add", {"by": 1}) is None


async def test_claim_remember_and_claim_again_gives_the_stored_answer(
    commands: CommandBackend,
) -> None:
    key = key_for({"by": 1, "note": "first"})
    assert await claim_and_remember(commands, key, FIRST) is None
    assert await claim_and_remember(commands, key, SECOND) == FIRST
    assert await claim(commands, key) == FIRST
    # The body's fields in another order are the same request.
    assert await claim(commands, key_for({"note": "first", "by": 1})) == FIRST


async def test_the_same_key_with_another_body_is_refused_as_invalid(
    commands: CommandBackend,
) -> None:
    await claim_and_remember(commands, key_for({"by": 1}), FIRST)
    for other in (key_for({"by": 2}), key_for({"by": 1}, operation="remove")):
        with pytest.raises(Refusal) as info:
            await claim(commands, other)
        assert info.value.kind is RefusalKind.INVALID
        assert (info.value.rule, info.value.status_code) == ("idempotency", 422)


async def test_keys_belong_to_their_caller(commands: CommandBackend) -> None:
    await claim_and_remember(commands, key_for({"by": 1}), FIRST)
    other_user = IdempotencyKey.of(SWV, "user-8", "key-1", "add", {"by": 1})
    assert other_user is not None
    assert await claim(commands, other_user) is None


async def test_a_claim_in_a_transaction_that_rolls_back_is_gone(
    commands: CommandBackend,
) -> None:
    key = key_for({"by": 1})
    async with rolled_back(commands.ports.transactions.tenant(SWV)) as tx:
        assert await commands.ports.idempotency.claim(tx, key) is None
        await commands.ports.idempotency.remember(tx, key, FIRST)
    # Neither the claim nor its answer stayed: the next claimer gets the key.
    assert await claim_and_remember(commands, key, SECOND) is None
    assert await claim(commands, key) == SECOND


async def test_a_concurrent_claim_waits_for_the_first_and_gets_its_answer(
    commands: CommandBackend,
) -> None:
    key = key_for({"by": 1})
    async with commands.ports.transactions.tenant(SWV) as tx:
        assert await commands.ports.idempotency.claim(tx, key) is None
        second = asyncio.create_task(claim_and_remember(commands, key, SECOND))
        await commands.blocked(second)  # it waits for this transaction to end
        await commands.ports.idempotency.remember(tx, key, FIRST)
    assert await asyncio.wait_for(second, timeout=10) == FIRST
    assert await claim(commands, key) == FIRST


async def test_a_concurrent_claim_takes_the_key_over_when_the_first_rolls_back(
    commands: CommandBackend,
) -> None:
    key = key_for({"by": 1})
    async with rolled_back(commands.ports.transactions.tenant(SWV)) as tx:
        assert await commands.ports.idempotency.claim(tx, key) is None
        second = asyncio.create_task(claim_and_remember(commands, key, SECOND))
        await commands.blocked(second)
    assert await asyncio.wait_for(second, timeout=10) is None  # it got the key
    assert await claim(commands, key) == SECOND


async def test_a_concurrent_claim_with_another_body_is_refused_once_the_first_ends(
    commands: CommandBackend,
) -> None:
    key = key_for({"by": 1})
    async with commands.ports.transactions.tenant(SWV) as tx:
        assert await commands.ports.idempotency.claim(tx, key) is None
        other = asyncio.create_task(claim(commands, key_for({"by": 2})))
        await commands.blocked(other)
        await commands.ports.idempotency.remember(tx, key, FIRST)
    with pytest.raises(Refusal) as info:
        await asyncio.wait_for(other, timeout=10)
    assert info.value.kind is RefusalKind.INVALID
