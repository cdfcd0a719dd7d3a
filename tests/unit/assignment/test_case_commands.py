"""The case decider through the backbone's ``execute`` in memory: W25 claims, idempotent retries.

No database: the in-memory event store, transactions and idempotency keys pass the same
contract tests as their PostgreSQL twins, so these run in milliseconds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from uuid import UUID, uuid4

import pytest

from passend_assignment.access import require_sees
from passend_assignment.domain.case import CaseState
from passend_assignment.domain.case_commands import (
    CASE_DECIDER,
    CaseCommand,
    Claim,
    NoteWithdrawal,
    Offer,
    RecordFirstContact,
    RouteRequest,
)
from passend_assignment.handlers import case_answer
from passend_backbone.auth import Principal, Role
from passend_backbone.commands import (
    CommandPorts,
    IdempotencyKey,
    MemoryIdempotency,
    MemoryTransactions,
    Refusal,
    RefusalKind,
    StoredAnswer,
    decide_and_append,
    execute,
)
from passend_backbone.consumer.kinds import reaction_id
from passend_backbone.eventstore import Metadata, RecordedEvent
from passend_backbone.eventstore.memory import InMemoryEventStore
from passend_contracts.events.intake import RequestWithdrawn

from .factories import NOW, SWV, directory, submitted, worker

CLAIMED = "nl.passend.assignment.CaseClaimed.v1"


def _worker(subject: str, unit: str | None = "wu-1", swv: str = SWV) -> Principal:
    return Principal(subject=subject, role=Role.SUPPORT_WORKER, swv=swv, work_unit_id=unit)


class Cases:
    """The in-memory ports with one routed case, and the API's way of running a command."""

    def __init__(self) -> None:
        self.store = InMemoryEventStore("/passend/assignment")
        self.transactions = MemoryTransactions()
        self.ports = CommandPorts(self.store, self.transactions, MemoryIdempotency())

    async def route(self, worker_id: str = "w-anna") -> UUID:
        """What the routing reactor does with a submission, in a consumer's transaction."""
        request = submitted(worker=worker_id)
        cause = uuid4()
        dir_state = directory(worker("w-anna"), worker("w-bram"))
        async with self.transactions.service() as tx:
            await decide_and_append(
                self.store,
                tx,
                CASE_DECIDER,
                str(request.case_id),
                RouteRequest(request, SWV, dir_state),
                meta=Metadata(SWV, "service:assignment", "corr", str(cause)),
                now=NOW,
                event_ids=lambda n: reaction_id("routing", cause, n),
            )
        return request.case_id

    async def run(
        self,
        principal: Principal,
        case_id: UUID,
        command: CaseCommand,
        *,
        header: str | None = None,
        operation: str = "claim",
        body: object = None,
        minutes: int = 5,
    ) -> StoredAnswer:
        """``execute`` as the API calls it: 404 out of reach, the API's answer, the key."""

        def reach(state: CaseState | None, records: Sequence[RecordedEvent]) -> None:
            require_sees(principal, case_id, state, records)

        op = f"POST /cases/{case_id}/{operation}"
        return await execute(
            self.ports,
            CASE_DECIDER,
            str(case_id),
            command,
            tenant=principal.swv,
            meta=Metadata(principal.swv, principal.subject, "corr", f"{operation}:{uuid4()}"),
            now=NOW + timedelta(minutes=minutes),
            key=IdempotencyKey.of(principal.swv, principal.subject, header, op, body),
            check=reach,
            answer=case_answer,
        )

    async def types(self, case_id: UUID) -> list[str]:
        return [r.event_type for r in await self.store.read_stream(str(case_id))]


async def test_w25_the_receiving_worker_claims_the_case() -> None:
    cases = Cases()
    case_id = await cases.route()
    answer = await cases.run(_worker("w-anna"), case_id, Claim("w-anna", "wu-1"))
    assert answer.status_code == 200
    assert answer.body["events"] == [CLAIMED]
    assert answer.body["case"]["claimed_by"] == "w-anna"
    assert answer.body["case"]["responsible_worker_id"] == "w-anna"
    assert (await cases.types(case_id)).count(CLAIMED) == 1


async def test_w25_a_second_claim_is_refused_naming_the_winner() -> None:
    cases = Cases()
    case_id = await cases.route()
    await cases.run(_worker("w-anna"), case_id, Offer("w-anna", None, "wu-1"), operation="offer")
    await cases.run(_worker("w-bram"), case_id, Claim("w-bram", "wu-1"))
    before = await cases.types(case_id)
    for claimer in ("w-anna", "w-bram"):
        with pytest.raises(Refusal) as refused:
            await cases.run(_worker(claimer), case_id, Claim(claimer, "wu-1"))
        assert refused.value.kind is RefusalKind.CONFLICT
        assert refused.value.rule == "W25"
        assert refused.value.message == "the case was already claimed by w-bram"
    assert await cases.types(case_id) == before


async def test_w25_simultaneous_claims_one_wins_the_others_name_it() -> None:
    cases = Cases()
    case_id = await cases.route()
    await cases.run(_worker("w-anna"), case_id, Offer("w-anna", None, "wu-1"), operation="offer")
    claimers = ["w-anna", "w-bram", "w-cor", "w-dirk"]
    results = await asyncio.gather(
        *(cases.run(_worker(w), case_id, Claim(w, "wu-1")) for w in claimers),
        return_exceptions=True,
    )
    wins = [r for r in results if isinstance(r, StoredAnswer)]
    assert len(wins) == 1, results
    winner = wins[0].body["case"]["claimed_by"]
    refusals = [r for r in results if isinstance(r, Refusal)]
    assert len(refusals) == len(claimers) - 1
    assert all(r.rule == "W25" and winner in r.message for r in refusals)
    assert (await cases.types(case_id)).count(CLAIMED) == 1


async def test_a_retried_claim_with_one_key_answers_as_first_even_after_the_case_moved_on() -> None:
    cases = Cases()
    case_id = await cases.route()
    anna = _worker("w-anna")
    first = await cases.run(anna, case_id, Claim("w-anna", "wu-1"), header="k-1")
    contacted = NOW + timedelta(minutes=10)
    await cases.run(
        anna,
        case_id,
        RecordFirstContact("w-anna", contacted),
        operation="first-contact",
        body={"contacted_at": contacted.isoformat()},
        minutes=20,
    )
    again = await cases.run(anna, case_id, Claim("w-anna", "wu-1"), header="k-1", minutes=30)
    assert again == first
    assert again.body["case"]["first_contact_at"] is None  # the answer of the claim itself
    assert (await cases.types(case_id)).count(CLAIMED) == 1


async def test_concurrent_retries_with_one_key_act_once() -> None:
    cases = Cases()
    case_id = await cases.route()
    anna = _worker("w-anna")
    answers = await asyncio.gather(
        *(cases.run(anna, case_id, Claim("w-anna", "wu-1"), header="k-2") for _ in range(5))
    )
    assert all(a == answers[0] for a in answers)
    assert answers[0].body["events"] == [CLAIMED]
    assert (await cases.types(case_id)).count(CLAIMED) == 1


async def test_the_same_key_for_another_body_or_case_is_refused_and_writes_nothing() -> None:
    cases = Cases()
    case_id, other_id = await cases.route(), await cases.route()
    anna = _worker("w-anna")
    offer = Offer("w-anna", None, "wu-1", ("reading",))
    await cases.run(anna, case_id, offer, header="k-3", operation="offer", body=["reading"])
    before = await cases.types(case_id)
    other = Offer("w-anna", None, "wu-1", ("behaviour",))
    with pytest.raises(Refusal) as refused:
        await cases.run(anna, case_id, other, header="k-3", operation="offer", body=["behaviour"])
    assert (refused.value.kind, refused.value.rule) == (RefusalKind.INVALID, "idempotency")
    assert refused.value.status_code == 422
    with pytest.raises(Refusal) as refused:
        await cases.run(anna, other_id, Claim("w-anna", "wu-1"), header="k-3")
    assert refused.value.status_code == 422
    assert await cases.types(case_id) == before
    assert CLAIMED not in await cases.types(other_id)


async def test_a_case_out_of_reach_or_of_another_swv_answers_as_unknown() -> None:
    cases = Cases()
    case_id = await cases.route()
    for principal in (_worker("w-zoe", "wu-9"), _worker("w-anna", "wu-1", swv="swv-other")):
        with pytest.raises(Refusal) as refused:
            await cases.run(principal, case_id, Claim(principal.subject, "wu-9"))
        assert refused.value.kind is RefusalKind.NOT_FOUND
        assert refused.value.message == f"case {case_id} not found"
    with pytest.raises(Refusal) as refused:
        await cases.run(_worker("w-anna"), uuid4(), Claim("w-anna", "wu-1"))
    assert refused.value.kind is RefusalKind.NOT_FOUND


async def test_w24_a_case_is_routed_once_and_a_withdrawal_of_an_unrouted_case_is_refused() -> None:
    cases = Cases()
    case_id = await cases.route()
    request = submitted(case_id=case_id, worker="w-bram")
    async with cases.transactions.service() as tx:
        outcome = await decide_and_append(
            cases.store,
            tx,
            CASE_DECIDER,
            str(case_id),
            RouteRequest(request, SWV, directory()),
            meta=Metadata(SWV, "service:assignment", "corr", "again"),
            now=NOW,
            event_ids=lambda n: reaction_id("routing", uuid4(), n),
        )
    assert outcome.recorded == []
    assert outcome.state is not None and outcome.state.receiving_worker_id == "w-anna"
    withdrawn = RequestWithdrawn(
        case_id=uuid4(), withdrawn_by="ib-1", reason="vergissing", withdrawn_at=NOW
    )
    async with cases.transactions.service() as tx:
        with pytest.raises(Refusal) as refused:
            await decide_and_append(
                cases.store,
                tx,
                CASE_DECIDER,
                str(withdrawn.case_id),
                NoteWithdrawal(withdrawn, SWV),
                meta=Metadata(SWV, "service:assignment", "corr", "withdraw"),
                now=NOW,
                event_ids=lambda n: reaction_id("routing", uuid4(), n),
            )
    assert refused.value.kind is RefusalKind.NOT_FOUND
