"""Every intake command with an Idempotency-Key acts once and answers every retry alike.

For each command: the same key and body twice give one event and the same answer; a retry
after the answer was lost (the case moved on meanwhile, or the retries race) gives the
first answer and no new event; the same key with another body, or for another endpoint,
is a 422 that writes nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest

from passend_contracts.events.assignment import CaseClaimed
from passend_devstack.waiting import eventually
from tests.integration.intake.kit import NOW, PARENT, SCHOOL, SWV, Intake, body, ib, publish, worker

pytestmark = pytest.mark.integration

LINK = {"method": "personal_link", "parent_refs": [PARENT], "expires_in_hours": 72}
IN_PERSON = {"parent_ref": PARENT, "method": "start_conversation"}
ASK_IN_PERSON = {"method": "start_conversation", "parent_refs": [PARENT]}
REFORMULATION: dict[str, Any] = {
    "levels": ["pupil", "teacher"],
    "educational_need": "Needs predictable transitions between lessons.",
    "tried_in_basic_support": "Visual timetable for 8 weeks.",
    "why_stuck": "The teacher lacks a way to prepare transitions.",
    "agreed_by": [
        {"role": "ib", "party_id": "ib-7731"},
        {"role": "support_worker", "party_id": "worker-0192"},
    ],
    "reason": "The start conversation showed the question behind the question.",
}
# What a command writes besides its event; a refused retry must leave all of them alone.
TABLES = ("events", "idempotency_keys", "consent_links", "pupil_keys")


async def send(
    service: Intake,
    path: str,
    data: dict[str, Any] | None,
    headers: dict[str, str],
    key: str | None = None,
) -> httpx.Response:
    sent = {**headers, **({"Idempotency-Key": key} if key else {})}
    return await service.http.post(path, json=data, headers=sent)


async def counts(service: Intake) -> list[int]:
    return [await service.count(table) for table in TABLES]


MoveOn = Callable[[Intake, httpx.Response], Awaitable[None]]


@dataclass(frozen=True)
class Call:
    """One command ready to be sent, and how to move its case on after it."""

    path: str
    data: dict[str, Any] | None
    headers: dict[str, str]
    # Another request for the same key: another body, or another endpoint.
    other_path: str
    other_data: dict[str, Any] | None
    # Moves the case on once the command was done, given the first answer (requests
    # without a key); afterwards deciding the command anew would answer differently.
    # Without it the case moves on by the same command sent again without a key, which
    # is then answered ``repeated``.
    move_on: MoveOn | None = None
    repeated: int | None = None

    async def moved_on(self, service: Intake, first: httpx.Response) -> None:
        if self.move_on is not None:
            await self.move_on(service, first)
        else:
            assert self.repeated is not None
            await expect(send(service, self.path, self.data, self.headers), self.repeated)


Arrange = Callable[[Intake], Awaitable[Call]]


async def expect(answer: Awaitable[httpx.Response], status: int) -> httpx.Response:
    done = await answer
    assert done.status_code == status, done.text
    return done


async def ask(service: Intake, case_id: str, data: dict[str, Any]) -> httpx.Response:
    path = f"/requests/{case_id}/consent/requests"
    return await expect(send(service, path, data, ib()), 201)


async def confirm(service: Intake, case_id: str) -> None:
    path = f"/requests/{case_id}/consent/confirmations"
    await expect(send(service, path, IN_PERSON, worker()), 201)


async def link_token(service: Intake, case_id: str) -> str:
    (link,) = (await ask(service, case_id, LINK)).json()["links"]
    token: str = link["token"]
    return token


async def arrange_submission(service: Intake) -> Call:
    data = body()

    async def withdraw(service: Intake, first: httpx.Response) -> None:
        path = f"/requests/{first.json()['case_id']}/withdrawal"
        await expect(send(service, path, {"reason": "Solved in class."}, ib()), 200)

    return Call(
        "/requests",
        data,
        ib(),
        "/requests",
        {**data, "why_stuck": "Something else entirely."},
        withdraw,
    )


async def arrange_reformulation(service: Intake) -> Call:
    case_id = await service.submit()
    claim = CaseClaimed(
        case_id=UUID(case_id),
        school_id=SCHOOL,
        ib_id="ib-7731",
        worker_id="worker-0192",
        claimed_at=NOW,
    )
    await publish(service.broker, SWV, claim)

    async def claimed() -> bool:
        detail = await service.http.get(f"/requests/{case_id}", headers=ib())
        return detail.status_code == 200 and detail.json()["status"] == "claimed"

    await eventually(claimed, timeout=30, what=f"{case_id} claimed")
    path = f"/requests/{case_id}/reformulations"

    async def reformulate_again(service: Intake, first: httpx.Response) -> None:
        later = {**REFORMULATION, "why_stuck": "Transitions and the new timetable."}
        await expect(send(service, path, later, worker()), 201)

    other = {**REFORMULATION, "reason": "Another reason."}
    return Call(path, REFORMULATION, worker(), path, other, reformulate_again)


async def arrange_withdrawal(service: Intake) -> Call:
    path = f"/requests/{await service.submit()}/withdrawal"
    data = {"reason": "Solved in class."}
    return Call(path, data, ib(), path, {"reason": "Another reason."}, repeated=409)


async def arrange_consent_request(service: Intake) -> Call:
    case_id = await service.submit()
    path = f"/requests/{case_id}/consent/requests"

    async def confirmed(service: Intake, first: httpx.Response) -> None:
        await confirm(service, case_id)

    other = {**ASK_IN_PERSON, "method": "support_team_meeting"}
    return Call(path, ASK_IN_PERSON, ib(), path, other, confirmed)


async def arrange_link_request(service: Intake) -> Call:
    case_id = await service.submit()
    path = f"/requests/{case_id}/consent/requests"

    async def answered(service: Intake, first: httpx.Response) -> None:
        (link,) = first.json()["links"]
        await expect(send(service, f"/consent/{link['token']}/confirm", None, {}), 201)

    return Call(path, LINK, ib(), path, {**LINK, "expires_in_hours": 48}, answered)


async def arrange_confirmation(service: Intake) -> Call:
    case_id = await service.submit()
    await ask(service, case_id, ASK_IN_PERSON)
    path = f"/requests/{case_id}/consent/confirmations"

    async def withdrawn(service: Intake, first: httpx.Response) -> None:
        where = f"/requests/{case_id}/consent/withdrawals"
        await expect(send(service, where, {"parent_ref": PARENT}, ib()), 201)
        await expect(send(service, path, IN_PERSON, worker()), 409)

    other = {**IN_PERSON, "method": "support_team_meeting"}
    return Call(path, IN_PERSON, worker(), path, other, withdrawn)


async def arrange_refusal(service: Intake) -> Call:
    case_id = await service.submit()
    await ask(service, case_id, ASK_IN_PERSON)
    path = f"/requests/{case_id}/consent/refusals"

    async def asked_again(service: Intake, first: httpx.Response) -> None:
        await ask(service, case_id, ASK_IN_PERSON)

    other = {**IN_PERSON, "method": "support_team_meeting"}
    return Call(path, IN_PERSON, worker(), path, other, asked_again)


async def arrange_consent_withdrawal(service: Intake) -> Call:
    case_id = await service.submit()
    await ask(service, case_id, ASK_IN_PERSON)
    await confirm(service, case_id)
    path = f"/requests/{case_id}/consent/withdrawals"
    other = {"parent_ref": "guardian-2a9c"}
    return Call(path, {"parent_ref": PARENT}, ib(), path, other, repeated=409)


async def arrange_hearing(service: Intake) -> Call:
    path = f"/requests/{await service.submit()}/pupil-hearings"
    # Heard again without a key: a second event.
    return Call(path, {"view": "agrees"}, ib(), path, {"view": "disagrees"}, repeated=201)


async def arrange_link_confirmation(service: Intake) -> Call:
    token = await link_token(service, await service.submit())
    # Used up: without a key, answering again is refused (410).
    return Call(
        f"/consent/{token}/confirm", None, {}, f"/consent/{token}/refuse", None, repeated=410
    )


async def arrange_link_refusal(service: Intake) -> Call:
    token = await link_token(service, await service.submit())
    # Used up: without a key, answering again is refused (410).
    return Call(
        f"/consent/{token}/refuse", None, {}, f"/consent/{token}/confirm", None, repeated=410
    )


async def arrange_link_withdrawal(service: Intake) -> Call:
    """W10: the parent who consented through a link withdraws through the link that came
    with the confirmation (the same one the IB may hand over)."""
    case_id = await service.submit()
    consent = await link_token(service, case_id)
    await expect(send(service, f"/consent/{consent}/confirm", None, {}), 201)
    found = await service.http.get(f"/requests/{case_id}/consent/links", headers=ib())
    assert found.status_code == 200, found.text
    (link,) = [link for link in found.json()["links"] if link["purpose"] == "withdrawal"]
    token = link["token"]
    # Used up: without a key, withdrawing again is refused (410). A withdrawal link has
    # no other endpoint to send the same key to (see the 422 test).
    path = f"/consent/{token}/withdraw"
    return Call(path, None, {}, path, None, repeated=410)


COMMANDS: dict[str, Arrange] = {
    "submit request": arrange_submission,
    "reformulate request": arrange_reformulation,
    "withdraw request": arrange_withdrawal,
    "request consent in person": arrange_consent_request,
    "request consent by link": arrange_link_request,
    "confirm consent in person": arrange_confirmation,
    "refuse consent in person": arrange_refusal,
    "withdraw consent": arrange_consent_withdrawal,
    "hear the pupil": arrange_hearing,
    "confirm by link": arrange_link_confirmation,
    "refuse by link": arrange_link_refusal,
    "withdraw by link": arrange_link_withdrawal,
}
NAMES = list(COMMANDS)
# Commands with another request to send the same key to (another body or endpoint).
WITH_OTHER_REQUEST = [name for name in NAMES if name != "withdraw by link"]


@pytest.mark.parametrize("name", NAMES)
async def test_the_same_key_and_body_twice_act_once_and_answer_alike(
    service: Intake, name: str
) -> None:
    call = await COMMANDS[name](service)
    key = str(uuid4())
    before = await counts(service)
    first = await send(service, call.path, call.data, call.headers, key)
    assert first.status_code in (200, 201), first.text
    after_first = await counts(service)
    assert after_first[0] == before[0] + 1  # one event

    again = await send(service, call.path, call.data, call.headers, key)
    assert (again.status_code, again.json()) == (first.status_code, first.json())
    assert await counts(service) == after_first


@pytest.mark.parametrize("name", NAMES)
async def test_a_retry_after_a_lost_answer_gets_the_first_answer_though_the_case_moved_on(
    service: Intake, name: str
) -> None:
    call = await COMMANDS[name](service)
    key = str(uuid4())
    first = await send(service, call.path, call.data, call.headers, key)
    assert first.status_code in (200, 201), first.text
    # The caller never saw ``first``; meanwhile the case moved on, so deciding the command
    # anew would answer differently (a 409, a 410, another event).
    await call.moved_on(service, first)
    before = await counts(service)

    retried = await send(service, call.path, call.data, call.headers, key)
    assert (retried.status_code, retried.json()) == (first.status_code, first.json())
    assert await counts(service) == before


@pytest.mark.parametrize("name", NAMES)
async def test_concurrent_retries_with_one_key_act_once(service: Intake, name: str) -> None:
    call = await COMMANDS[name](service)
    key = str(uuid4())
    before = await counts(service)
    answers = await asyncio.gather(
        *(send(service, call.path, call.data, call.headers, key) for _ in range(4))
    )
    first = answers[0]
    assert first.status_code in (200, 201), first.text
    for answer in answers:
        assert (answer.status_code, answer.json()) == (first.status_code, first.json())
    assert (await counts(service))[0] == before[0] + 1


@pytest.mark.parametrize("name", WITH_OTHER_REQUEST)
async def test_the_same_key_for_another_request_is_422_and_writes_nothing(
    service: Intake, name: str
) -> None:
    call = await COMMANDS[name](service)
    key = str(uuid4())
    first = await send(service, call.path, call.data, call.headers, key)
    assert first.status_code in (200, 201), first.text
    before = await counts(service)

    other = await send(service, call.other_path, call.other_data, call.headers, key)
    assert other.status_code == 422, other.text
    problem = other.json()
    assert (problem["rule"], problem["field"]) == ("idempotency", "Idempotency-Key")
    assert await counts(service) == before


async def test_a_key_used_at_one_endpoint_is_refused_at_another(service: Intake) -> None:
    case_id = await service.submit()
    key = str(uuid4())
    heard = await send(
        service, f"/requests/{case_id}/pupil-hearings", {"view": "agrees"}, ib(), key
    )
    assert heard.status_code == 201, heard.text
    before = await counts(service)
    withdrawn = await send(
        service, f"/requests/{case_id}/withdrawal", {"reason": "Solved."}, ib(), key
    )
    assert withdrawn.status_code == 422
    assert withdrawn.json()["field"] == "Idempotency-Key"
    assert await counts(service) == before


async def test_keys_are_the_callers_own(service: Intake) -> None:
    """Another caller's same key is another key: it decides anew, and never sees the
    first caller's answer."""
    case_id = await service.submit()
    key = str(uuid4())
    path = f"/requests/{case_id}/pupil-hearings"
    first = await send(service, path, {"view": "agrees"}, ib(), key)
    second = await send(service, path, {"view": "agrees"}, worker(), key)
    assert first.status_code == second.status_code == 201
    assert second.json()["version"] == first.json()["version"] + 1


async def test_a_refused_command_is_not_remembered(service: Intake) -> None:
    """A refusal writes nothing, its key included: once the case allows it, the same
    key and body are decided again."""
    case_id = await service.submit()
    key = str(uuid4())
    path = f"/requests/{case_id}/consent/confirmations"
    early = await send(service, path, IN_PERSON, worker(), key)
    assert early.status_code == 409
    await ask(service, case_id, ASK_IN_PERSON)
    later = await send(service, path, IN_PERSON, worker(), key)
    assert later.status_code == 201, later.text
    assert await service.event_types(case_id) == [
        "RequestSubmitted",
        "ConsentRequested",
        "ConsentConfirmed",
    ]


async def test_w10_a_retried_link_request_shows_the_same_working_links_and_stores_no_token(
    service: Intake,
) -> None:
    case_id = await service.submit()
    key = str(uuid4())
    path = f"/requests/{case_id}/consent/requests"
    first = await send(service, path, LINK, ib(), key)
    assert first.status_code == 201, first.text
    again = await send(service, path, LINK, ib(), key)
    assert again.json() == first.json()
    (link,) = first.json()["links"]
    token = link["token"]

    stored = await service.pool.fetchval(
        "SELECT coalesce(string_agg(t::text, ''), '') FROM idempotency_keys t"
    )
    assert token not in stored
    assert key not in stored  # only its digest: the raw key opens the sealed tokens
    assert token not in await service.all_event_text()

    # The retry issued no new links and voided none: the first link still works.
    confirmed = await send(service, f"/consent/{token}/confirm", None, {})
    assert confirmed.status_code == 201, confirmed.text
