"""The dead-letter API every service with consumers mounts, for operators (the portal's
"beheerder" screens call it).

``GET /operator/dead-letters`` lists them per consumer (no record bodies);
``GET /operator/dead-letters/{id}`` shows one with its record (logged as a read of the
case it belongs to); ``POST .../{id}/acknowledge`` (``{"reason"}``) records who handled
it and why; ``POST .../{id}/replay`` applies it once after a fix;
``POST /operator/dead-letters/replay?consumer=`` replays every open one of a consumer.
A replay that fails again answers 200 with ``"outcome": "failed"`` and the reason: the
request was carried out, the record still can't be applied. Operators only (403 else).
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from aiokafka.errors import KafkaError
from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field

from passend_backbone.audit.readlog import record_read
from passend_backbone.auth import Principal
from passend_backbone.auth.dependency import current_principal
from passend_backbone.auth.policy import OPERATIONS, has_role
from passend_backbone.commands.refusal import Refusal
from passend_backbone.deadletters.desk import DeadLetterDesk, NoSuchDeadLetter
from passend_backbone.deadletters.records import DeadLetterKey
from passend_backbone.deadletters.topics import ReadTimeout
from passend_backbone.http_errors import COMMAND_ERRORS, READ_ERRORS

RULE = "dead-letters"
# Why an operator reads a dead letter's record, as the read log keeps it.
READ_PURPOSE = "afhandeling dead letter"


class Acknowledgement(BaseModel):
    """Why the dead letter needs no replay (recorded with the operator's name)."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000, description="Why it needs no replay")


def operator(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    """The caller, if an operator; 403 otherwise."""
    if not has_role(principal, OPERATIONS):
        raise Refusal.forbidden(RULE, "only an operator works on dead letters")
    return principal


Operator = Annotated[Principal, Depends(operator)]


def _key(dead_letter_id: str) -> DeadLetterKey:
    try:
        return DeadLetterKey.parse(dead_letter_id)
    except ValueError as exc:
        raise Refusal.invalid(RULE, str(exc), field="dead_letter_id") from None


class _Broker:
    """Turns a broker that does not answer into a 503 with a reason."""

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, kind: Any, exc: BaseException | None, tb: Any) -> None:
        if isinstance(exc, ReadTimeout | KafkaError | OSError):
            raise HTTPException(503, f"the dead-letter topics can't be read now: {exc}") from exc
        if isinstance(exc, NoSuchDeadLetter):
            raise Refusal.not_found(RULE, str(exc)) from exc


def dead_letter_router(desk: DeadLetterDesk) -> APIRouter:
    """The operator endpoints over ``desk`` (the service's consumers)."""
    routes = APIRouter(prefix="/operator/dead-letters", tags=["operations"])

    @routes.get("", responses=READ_ERRORS)
    async def listing(
        _: Operator,
        consumer: Annotated[str | None, Query(description="Only this consumer")] = None,
    ) -> dict[str, Any]:
        """The dead letters per consumer, oldest first, with the reason and any decision."""
        async with _Broker():
            letters = await desk.worklist(consumer)
        names = [consumer] if consumer else desk.consumers
        return {
            "service": desk.service,
            "consumers": [
                {
                    "name": name,
                    "group": desk.group(name),
                    "open": sum(1 for d in letters if d.key.consumer == name and not d.resolution),
                    "dead_letters": [d.summary() for d in letters if d.key.consumer == name],
                }
                for name in names
            ],
        }

    @routes.post("/replay", responses=COMMAND_ERRORS)
    async def replay_all(
        who: Operator, consumer: Annotated[str, Query(description="The consumer")]
    ) -> dict[str, Any]:
        """Replay every open dead letter of ``consumer`` (after a fix)."""
        async with _Broker():
            outcomes = await desk.replay_all(consumer, by=who.subject)
        return {"outcomes": [o.as_json() for o in outcomes]}

    @routes.get("/{dead_letter_id}", responses=READ_ERRORS)
    async def show(dead_letter_id: str, who: Operator) -> dict[str, Any]:
        """One dead letter with its record; the read is logged against its case."""
        key = _key(dead_letter_id)
        async with _Broker():
            letter = await desk.get(key)
        if letter.subject and letter.swv:
            # The record holds a case's content: the case's own SWV sees who read it.
            await record_read(
                desk.pool,
                dataclasses.replace(who, swv=letter.swv),
                letter.subject,
                purpose=READ_PURPOSE,
                view=f"dead-letter {key}",
            )
        return letter.detail()

    @routes.post("/{dead_letter_id}/acknowledge", responses=COMMAND_ERRORS)
    async def acknowledge(
        dead_letter_id: str, body: Acknowledgement, who: Operator
    ) -> dict[str, Any]:
        """Record that the caller handled it without a replay, and why (idempotent)."""
        key = _key(dead_letter_id)
        async with _Broker():
            letter, made = await desk.acknowledge(key, by=who.subject, why=body.reason)
        return {"dead_letter": letter.summary(), "recorded": made}

    @routes.post("/{dead_letter_id}/replay", responses=COMMAND_ERRORS)
    async def replay(dead_letter_id: str, who: Operator) -> dict[str, Any]:
        """Apply it once to its consumer (after a fix)."""
        key = _key(dead_letter_id)
        async with _Broker():
            outcome = await desk.replay(key, by=who.subject)
        return outcome.as_json()

    return routes
