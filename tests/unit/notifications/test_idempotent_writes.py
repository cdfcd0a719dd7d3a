"""Settings writes under an Idempotency-Key act once per key and body, in one transaction."""

from __future__ import annotations

import pytest

from passend_backbone.auth import Principal, Role
from passend_backbone.commands import (
    CommandPorts,
    MemoryIdempotency,
    MemoryTransactions,
    MemoryTx,
    Refusal,
    RefusalKind,
    StoredAnswer,
)
from passend_backbone.eventstore.memory import InMemoryEventStore
from passend_notifications.idempotent import NO_CONTENT, Work, write_once

from .factories import SWV

OPERATOR = Principal(subject="op-1", role=Role.OPERATOR, swv=SWV)


class Rows:
    """A table of writes, undone when the transaction it was written in rolls back."""

    def __init__(self) -> None:
        self.written: list[object] = []

    def work(self, asked: object, *, refuse: bool = False) -> Work:
        async def write(tx: MemoryTx) -> StoredAnswer:
            self.written.append(asked)
            tx.on_rollback(lambda: self.written.remove(asked))
            if refuse:
                raise Refusal.conflict("erasure", "not kept")
            return StoredAnswer(201, {"asked": asked})

        return write


@pytest.fixture
def ports() -> CommandPorts:
    return CommandPorts(InMemoryEventStore(), MemoryTransactions(), MemoryIdempotency())


async def test_the_same_key_and_body_get_the_first_answer_and_write_once(
    ports: CommandPorts,
) -> None:
    rows = Rows()
    first = await write_once(ports, OPERATOR, "k-1", "PUT /x", {"a": 1}, rows.work("one"))
    again = await write_once(ports, OPERATOR, "k-1", "PUT /x", {"a": 1}, rows.work("two"))
    assert (
        (first.status_code, first.body)
        == (again.status_code, again.body)
        == (
            201,
            b'{"asked":"one"}',
        )
    )
    assert rows.written == ["one"]


async def test_the_same_key_with_another_body_or_operation_is_refused(
    ports: CommandPorts,
) -> None:
    rows = Rows()
    await write_once(ports, OPERATOR, "k-1", "PUT /x", {"a": 1}, rows.work("one"))
    for operation, body in (("PUT /x", {"a": 2}), ("DELETE /x", {"a": 1})):
        with pytest.raises(Refusal) as refused:
            await write_once(ports, OPERATOR, "k-1", operation, body, rows.work("two"))
        assert (refused.value.kind, refused.value.rule) == (RefusalKind.INVALID, "idempotency")
    assert rows.written == ["one"]


async def test_without_a_key_every_request_writes(ports: CommandPorts) -> None:
    rows = Rows()
    for _ in range(2):
        answer = await write_once(ports, OPERATOR, None, "PUT /x", {"a": 1}, rows.work("w"))
        assert answer.status_code == 201
    assert rows.written == ["w", "w"]


async def test_a_refusal_keeps_nothing_not_even_the_key(ports: CommandPorts) -> None:
    rows = Rows()
    with pytest.raises(Refusal):
        await write_once(ports, OPERATOR, "k-1", "PUT /x", {}, rows.work("x", refuse=True))
    assert rows.written == []
    done = await write_once(ports, OPERATOR, "k-1", "PUT /x", {}, rows.work("y"))
    assert done.status_code == 201 and rows.written == ["y"]


async def test_no_content_is_answered_without_a_body(ports: CommandPorts) -> None:
    async def work(tx: MemoryTx) -> StoredAnswer:
        return NO_CONTENT

    answer = await write_once(ports, OPERATOR, "k-1", "DELETE /x", {}, work)
    assert (answer.status_code, answer.body) == (204, b"")
