"""The trajectory's commands through the backbone's ``execute``, all in memory (no database):
reach (W25, issue 9), idempotency keys, refusals that leave nothing behind, Team NO (TNO)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi import Request

from passend_backbone.auth import CaseFacts, Principal, Role
from passend_backbone.commands import (
    CommandPorts,
    MemoryIdempotency,
    MemoryTransactions,
    Refusal,
    RefusalKind,
    decide_and_append,
)
from passend_backbone.consumer import reaction_id
from passend_backbone.eventstore import Metadata
from passend_backbone.eventstore.memory import InMemoryEventStore
from passend_contracts.events.trajectory import SignalRecipient, SignalTopic, StagnationReason
from passend_trajectory.api_runner import Runner, own_region
from passend_trajectory.domain.commands import Issued
from passend_trajectory.domain.decide import DECIDER
from passend_trajectory.domain.exploration import RecordStartConversation
from passend_trajectory.domain.facts import OpenTrajectory
from passend_trajectory.domain.gates import StartSupport
from passend_trajectory.domain.support import RaiseSignal
from passend_trajectory.domain.team_no import Escalate, RecordTeamNODecision
from tests.unit.trajectory.builders import plan_command, running

SWV = "swv-waterweg"
WORKER = "ow-anouk"
SCHOOL = "brin-11aa"
T0 = datetime(2026, 9, 14, 9, 0, tzinfo=UTC)

worker = Principal(WORKER, Role.SUPPORT_WORKER, SWV, work_unit_id="wu-1")
stranger = Principal("ow-other", Role.SUPPORT_WORKER, SWV, work_unit_id="wu-2")
foreign = Principal(WORKER, Role.SUPPORT_WORKER, "swv-elders", work_unit_id="wu-1")


class Memory:
    """The trajectory's command side on the in-memory twins, with a clock moved by hand."""

    def __init__(self) -> None:
        self.store = InMemoryEventStore("/passend/trajectory")
        self.transactions = MemoryTransactions()
        self.ports = CommandPorts(self.store, self.transactions, MemoryIdempotency())
        self.now = T0
        self.run = Runner(self.ports, lambda: self.now, self.facts)

    async def facts(self, swv: str, case_id: UUID) -> CaseFacts:
        return CaseFacts(swv=swv)  # the read model knows nothing yet: the stream decides

    async def opened(self) -> UUID:
        """A case claimed by the worker, as the claim reactor opens it."""
        case_id = uuid4()
        cause = uuid4()
        command = OpenTrajectory(case_id=case_id, worker_id=WORKER, school_id=SCHOOL, ib_id="ib")
        async with self.transactions.service() as tx:
            await decide_and_append(
                self.store,
                tx,
                DECIDER,
                str(case_id),
                Issued("service:trajectory", command),
                meta=Metadata(SWV, "service:trajectory", "corr", str(cause)),
                now=self.now,
                event_ids=lambda n: reaction_id("claims", cause, n),
            )
        return case_id

    async def post(
        self,
        who: Principal,
        case_id: UUID,
        operation: str,
        command: Any,
        key: str | None = None,
        check: Any = None,
    ) -> dict[str, Any]:
        request = Request({"type": "http", "headers": []})
        return await self.run(request, who, case_id, operation, command, key, check)

    async def types(self, case_id: UUID) -> list[str]:
        return [r.event_type.split(".")[-2] for r in await self.store.read_stream(str(case_id))]


def conversation() -> RecordStartConversation:
    return RecordStartConversation(
        participants=[WORKER, "ib"],
        sharpened_question="Hoe komt Tim zelfstandig tot werken?",
        levels=["pupil"],
        held_on=T0.date(),
    )


def signal() -> RaiseSignal:
    return RaiseSignal(
        signal_id=uuid4(),
        addressed_to=[SignalRecipient.IB],
        about=SignalTopic.SCHOOL_OFFER,
        description="the offer doesn't fit",
    )


async def test_w25_a_command_on_the_claimed_case_appends_and_answers_the_events() -> None:
    m = Memory()
    case_id = await m.opened()
    answer = await m.post(worker, case_id, "start-conversation", conversation())
    assert answer["case_id"] == str(case_id)
    assert [e["type"].split(".")[-2] for e in answer["events"]] == ["StartConversationRecorded"]
    assert answer["version"] == 3  # opened, the derived case director (R), the conversation
    assert await m.types(case_id) == [
        "TrajectoryOpened",
        "CaseDirectorChanged",
        "StartConversationRecorded",
    ]


async def test_w25_issue_9_an_unknown_foreign_or_out_of_reach_case_is_not_found() -> None:
    m = Memory()
    case_id = await m.opened()
    for who, case in ((worker, uuid4()), (foreign, case_id), (stranger, case_id)):
        with pytest.raises(Refusal) as refused:
            await m.post(who, case, "start-conversation", conversation())
        assert (refused.value.kind, refused.value.rule) == (RefusalKind.NOT_FOUND, "case_reach")
    assert await m.types(case_id) == ["TrajectoryOpened", "CaseDirectorChanged"]


async def test_w10_a_refused_command_leaves_nothing_behind() -> None:
    m = Memory()
    case_id = await m.opened()
    await m.post(worker, case_id, "start-conversation", conversation())
    await m.post(worker, case_id, "plan", plan_command(T0.date()))
    before = await m.types(case_id)
    rolled_back = m.transactions.rolled_back
    with pytest.raises(Refusal) as refused:
        await m.post(worker, case_id, "start-support", StartSupport(), key="start-1")
    assert (refused.value.kind, refused.value.rule) == (RefusalKind.CONFLICT, "W10")
    assert await m.types(case_id) == before
    assert m.transactions.rolled_back == rolled_back + 1
    # The refused try kept no answer under its key: the same key is decided anew.
    with pytest.raises(Refusal, match="no parental consent"):
        await m.post(worker, case_id, "start-support", StartSupport(), key="start-1")


async def test_the_same_key_and_body_answer_the_first_answer_after_the_case_moved_on() -> None:
    m = Memory()
    case_id = await m.opened()
    await m.post(worker, case_id, "start-conversation", conversation())
    raised = signal()
    first = await m.post(worker, case_id, "signal", raised, key="signal-1")
    m.now += timedelta(hours=1)
    await m.post(worker, case_id, "signal", signal())  # the case moves on
    again = await m.post(worker, case_id, "signal", raised, key="signal-1")
    assert again == first
    assert (await m.types(case_id)).count("SignalRaised") == 2


async def test_the_same_key_with_another_body_or_case_is_refused_as_invalid() -> None:
    m = Memory()
    case_id, other_case = await m.opened(), await m.opened()
    raised = signal()
    await m.post(worker, case_id, "signal", raised, key="signal-1")
    for case, body in ((case_id, signal()), (other_case, raised)):
        with pytest.raises(Refusal) as refused:
            await m.post(worker, case, "signal", body, key="signal-1")
        assert (refused.value.kind, refused.value.rule) == (RefusalKind.INVALID, "idempotency")
    assert (await m.types(case_id)).count("SignalRaised") == 1
    assert "SignalRaised" not in await m.types(other_case)


async def test_without_a_key_a_retry_is_decided_again() -> None:
    m = Memory()
    case_id = await m.opened()
    raised = signal()
    await m.post(worker, case_id, "signal", raised)
    with pytest.raises(Refusal) as refused:
        await m.post(worker, case_id, "signal", raised)
    assert (refused.value.kind, refused.value.rule) == (RefusalKind.CONFLICT, "W18")


async def test_tno_a_member_decides_on_escalations_to_their_own_region_only() -> None:
    m = Memory()
    case_id = await m.opened()
    escalation = Escalate(
        escalation_id=uuid4(),
        municipality="GM0622",  # Vlaardingen: Team NO waterweg
        reasons=[StagnationReason.WAITING_LIST],
        draft_plan="Overbrugging op school.",
        region="waterweg",  # as the service routes it from the SWV's regions
    )
    await m.post(worker, case_id, "escalate", escalation)
    decision = RecordTeamNODecision(decision="d", assignment="a", provider="p")
    member = Principal("tno-1", Role.TEAM_NO_MEMBER, SWV, region="waterweg")
    # A member of another Team NO does not see the case at all (issue 9), before the
    # region check (403, TNO) that guards the decision itself.
    elsewhere = Principal("tno-2", Role.TEAM_NO_MEMBER, SWV, region="GM0363")
    with pytest.raises(Refusal) as refused:
        await m.post(elsewhere, case_id, "team-no", decision, check=own_region(elsewhere))
    assert (refused.value.kind, refused.value.rule) == (RefusalKind.NOT_FOUND, "case_reach")
    answer = await m.post(member, case_id, "team-no", decision, check=own_region(member))
    assert [e["type"].split(".")[-2] for e in answer["events"]] == ["TeamNODecisionRecorded"]


def test_tno_the_decision_check_refuses_a_member_of_another_teams_region() -> None:
    t = running()
    t.run(
        Escalate(
            escalation_id=uuid4(),
            municipality="GM0606",  # Schiedam: Team NO waterweg
            reasons=[StagnationReason.BUDGET_DISPUTE],
            draft_plan="draft",
            region="waterweg",
        )
    )
    own_region(Principal("tno-1", Role.TEAM_NO_MEMBER, SWV, region="waterweg"))(t.state)
    with pytest.raises(Refusal) as refused:
        own_region(Principal("tno-2", Role.TEAM_NO_MEMBER, SWV, region="GM0363"))(t.state)
    assert (refused.value.kind, refused.value.rule) == (RefusalKind.FORBIDDEN, "TNO")
    assert refused.value.status_code == 403
