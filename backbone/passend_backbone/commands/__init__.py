"""The one command layer: deciders, ``execute``, idempotency keys and refusals."""

from passend_backbone.commands.decider import Decider, payload_of
from passend_backbone.commands.execute import (
    After,
    Answer,
    Check,
    CommandPorts,
    Outcome,
    Prepare,
    decide_and_append,
    default_answer,
    execute,
)
from passend_backbone.commands.idempotency import (
    HEADER,
    IdempotencyHeader,
    IdempotencyKey,
    IdempotencyStore,
    MemoryIdempotency,
    PostgresIdempotency,
    StoredAnswer,
)
from passend_backbone.commands.refusal import Refusal, RefusalKind
from passend_backbone.commands.transactions import (
    MemoryTransactions,
    MemoryTx,
    PostgresTransactions,
    Transactions,
)

__all__ = [
    "HEADER",
    "After",
    "Answer",
    "Check",
    "CommandPorts",
    "Decider",
    "IdempotencyHeader",
    "IdempotencyKey",
    "IdempotencyStore",
    "MemoryIdempotency",
    "MemoryTransactions",
    "MemoryTx",
    "Outcome",
    "PostgresIdempotency",
    "PostgresTransactions",
    "Prepare",
    "Refusal",
    "RefusalKind",
    "StoredAnswer",
    "Transactions",
    "decide_and_append",
    "default_answer",
    "execute",
    "payload_of",
]
