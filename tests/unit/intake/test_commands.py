"""Intake's commands through the backbone's ``execute`` on in-memory ports: no database.

The decider dispatches each command to its rule; a refusal leaves nothing behind, its key
included; a retry with the key gets the first answer even after the case moved on; the
same key with another body is refused naming the header.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from passend_backbone.auth import Principal, Role
from passend_backbone.commands import (
    CommandPorts,
    IdempotencyKey,
    MemoryIdempotency,
    MemoryTransactions,
    Outcome,
    Refusal,
    RefusalKind,
    StoredAnswer,
    execute,
)
from passend_backbone.eventstore import Metadata
from passend_backbone.eventstore.memory import InMemoryEventStore
from passend_contracts.events.intake import ConsentMethod, PupilView
from passend_intake.access import command_check
from passend_intake.case_commands import accepted, run_command
from passend_intake.domain.commands import (
    ConfirmConsent,
    HearPupil,
    IntakeCommand,
    RequestConsent,
    WithdrawConsent,
)
from passend_intake.domain.decider import CASE as DECIDER
from passend_intake.domain.state import CaseState, ConsentStatus
from passend_intake.retry_keys import key_of
from tests.unit.intake.builders import CASE, NOW, PARENT, submission

SWV = "swv-waterweg"
IB = Principal(subject="ib-7731", role=Role.IB, swv=SWV, school_id="school-04ab")
IN_PERSON = ConsentMethod.START_CONVERSATION


@pytest.fixture
def ports() -> CommandPorts:
    return CommandPorts(InMemoryEventStore(), MemoryTransactions(), MemoryIdempotency())


def key(header: str | None, operation: str, body: Any = None) -> IdempotencyKey | None:
    return key_of(SWV, IB.subject, header, operation, body)


async def run(
    ports: CommandPorts, command: IntakeCommand, header: str | None = None, body: Any = None
) -> StoredAnswer:
    """``command`` on the case as the IB, keyed by ``header`` for an operation named
    after the command."""
    operation = f"POST {type(command).__name__}"
    return await run_command(
        ports,
        CASE,
        command,
        tenant=SWV,
        actor=IB.subject,
        correlation_id="c-1",
        now=NOW,
        key=key(header, operation, body),
        check=command_check(IB, None),
        answer=accepted(201),
    )


async def submitted(ports: CommandPorts) -> None:
    await run_command(
        ports,
        CASE,
        submission(),
        tenant=SWV,
        actor=IB.subject,
        correlation_id="c-0",
        now=NOW,
        key=None,
        answer=accepted(201),
    )


async def events(ports: CommandPorts) -> list[str]:
    return [r.event_type.split(".")[-2] for r in await ports.store.read_stream(str(CASE))]


async def state(ports: CommandPorts) -> CaseState:
    return DECIDER.fold_stored(await ports.store.read_stream(str(CASE)))


def ask() -> RequestConsent:
    return RequestConsent(
        case_id=CASE,
        requested_by=IB.subject,
        parent_refs=(PARENT,),
        method=IN_PERSON,
        link_expires_at=None,
    )


def confirm(age: int | None = 8) -> ConfirmConsent:
    return ConfirmConsent(case_id=CASE, parent_ref=PARENT, method=IN_PERSON, pupil_age=age)


async def test_execute_decides_each_command_with_intakes_decider(ports: CommandPorts) -> None:
    meta = Metadata(swv=SWV, actor=IB.subject, correlation_id="c", causation_id="c")
    answer = await execute(ports, DECIDER, str(CASE), submission(), tenant=SWV, meta=meta, now=NOW)
    assert answer.status_code == 200
    assert [e["type"] for e in answer.body["events"]] == ["nl.passend.intake.RequestSubmitted.v1"]
    for command in (
        ask(),
        confirm(),
        HearPupil(case_id=CASE, heard_by="ib", view=PupilView.AGREES),
    ):
        await execute(ports, DECIDER, str(CASE), command, tenant=SWV, meta=meta, now=NOW)
    assert await events(ports) == [
        "RequestSubmitted",
        "ConsentRequested",
        "ConsentConfirmed",
        "PupilHeard",
    ]
    assert (await state(ports)).consent is ConsentStatus.CONFIRMED


async def test_w10_a_refusal_writes_nothing_and_its_key_is_not_remembered(
    ports: CommandPorts,
) -> None:
    await submitted(ports)
    with pytest.raises(Refusal) as refused:
        await run(ports, confirm(), header="k-1")
    assert (refused.value.kind, refused.value.rule) == (RefusalKind.CONFLICT, "W10")
    assert await events(ports) == ["RequestSubmitted"]
    assert isinstance(ports.transactions, MemoryTransactions)
    assert ports.transactions.rolled_back == 1

    await run(ports, ask())
    answer = await run(ports, confirm(), header="k-1")  # the same key, decided this time
    assert answer.body["event_type"] == "nl.passend.intake.ConsentConfirmed.v1"


async def test_r_a_refusal_of_the_hearing_rule_is_a_conflict(ports: CommandPorts) -> None:
    await submitted(ports)
    await run(ports, ask())
    with pytest.raises(Refusal) as refused:
        await run(ports, confirm(age=13))
    assert (refused.value.kind, refused.value.rule) == (RefusalKind.CONFLICT, "R")
    assert await events(ports) == ["RequestSubmitted", "ConsentRequested"]


async def test_a_case_out_of_reach_is_not_found(ports: CommandPorts) -> None:
    with pytest.raises(Refusal) as refused:
        await run(ports, ask())
    assert (refused.value.kind, refused.value.message) == (RefusalKind.NOT_FOUND, "no such case")
    other_school = Principal(subject="ib-9", role=Role.IB, swv=SWV, school_id="school-99zz")
    await submitted(ports)
    with pytest.raises(Refusal) as hidden:
        await run_command(
            ports,
            CASE,
            ask(),
            tenant=SWV,
            actor=other_school.subject,
            correlation_id="c",
            now=NOW,
            key=None,
            check=command_check(other_school, None),
            answer=accepted(201),
        )
    assert hidden.value.kind is RefusalKind.NOT_FOUND
    assert await events(ports) == ["RequestSubmitted"]


async def test_w10_a_retry_gets_the_first_answer_though_the_case_moved_on(
    ports: CommandPorts,
) -> None:
    await submitted(ports)
    await run(ports, ask())
    body = {"parent_ref": PARENT, "method": "start_conversation"}
    first = await run(ports, confirm(), header="k-2", body=body)
    await run(ports, WithdrawConsent(case_id=CASE, parent_ref=PARENT, recorded_by="ib"))
    with pytest.raises(Refusal):
        await run(ports, confirm(), body=body)  # decided anew: consent is withdrawn (409)

    again = await run(ports, confirm(), header="k-2", body=body)
    assert again == first
    assert await events(ports) == [
        "RequestSubmitted",
        "ConsentRequested",
        "ConsentConfirmed",
        "ConsentWithdrawn",
    ]


async def test_concurrent_retries_with_one_key_act_once(ports: CommandPorts) -> None:
    await submitted(ports)
    hear = HearPupil(case_id=CASE, heard_by="ib", view=PupilView.AGREES)
    answers = await asyncio.gather(*(run(ports, hear, header="k-3") for _ in range(3)))
    assert answers[0] == answers[1] == answers[2]
    assert await events(ports) == ["RequestSubmitted", "PupilHeard"]


async def test_the_same_key_with_another_body_is_refused_naming_the_header(
    ports: CommandPorts,
) -> None:
    await submitted(ports)
    hear = HearPupil(case_id=CASE, heard_by="ib", view=PupilView.AGREES)
    await run(ports, hear, header="k-4", body={"view": "agrees"})
    with pytest.raises(Refusal) as refused:
        await run(ports, hear, header="k-4", body={"view": "disagrees"})
    assert refused.value.kind is RefusalKind.INVALID
    assert (refused.value.rule, refused.value.field) == ("idempotency", "Idempotency-Key")
    assert await events(ports) == ["RequestSubmitted", "PupilHeard"]


async def test_an_after_hook_commits_with_the_events_or_not_at_all(ports: CommandPorts) -> None:
    """Side effects go in the ``after`` hook: when it fails, the events go too."""
    await submitted(ports)

    async def fails(tx: Any, outcome: Outcome[CaseState]) -> None:
        raise RuntimeError("the link could not be stored")

    with pytest.raises(RuntimeError):
        await run_command(
            ports,
            CASE,
            ask(),
            tenant=SWV,
            actor=IB.subject,
            correlation_id="c",
            now=NOW,
            key=key("k-5", "POST ask"),
            after=fails,
            answer=accepted(201),
        )
    assert await events(ports) == ["RequestSubmitted"]
    answer = await run(ports, ask(), header="k-5")  # nor was the key kept
    assert answer.body["version"] == 2


def test_the_stored_key_is_a_digest_of_the_header() -> None:
    stored = key("6e0c2a9a-4d4b-4a77-9a51-7c3f4e0a1b22", "POST /requests")
    assert stored is not None
    assert "6e0c2a9a" not in stored.key
    assert key(None, "POST /requests") is None
