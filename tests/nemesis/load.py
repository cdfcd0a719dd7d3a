"""The steady load: whole cases, each command retried with its Idempotency-Key until answered.

A case is submit -> consent asked -> consent confirmed -> (routed by assignment) -> claim
-> (trajectory opened) -> start conversation -> plan -> support started -> sessions ->
evaluation. ``workers`` cases run at once, each from start to end, then the next one.

Every command goes to one of its service's instances, as a load balancer would send it:
a random one of those that answered ready lately. A command that gets no answer (a
timeout, a refused connection, a 5xx, a paused or cut off instance) is sent again with the
same key, to any instance, until it is answered; one that is refused because its case is
not there yet (404, 409: the events are still on their way between services) is sent
again a little later. A command counts as **acknowledged** once a 2xx answer came back:
from then on the system owes its effect, and the checks ask every read model for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from passend_backbone.auth import Role
from passend_devstack.test_tokens import auth_header
from tests.nemesis.cluster import Cluster, Instance

SWV = "swv-waterweg"
SCHOOL = "brin-11aa"
WORKER = "ow-anouk"
IB = "ib-marieke"
PARENT = "ouder-nemesis"  # the one parent reference of every case (intake has the address)
REQUEST_TIMEOUT = 6.0
# A command not answered within this long is given up (counted, never "acknowledged").
COMMAND_DEADLINE = 240.0

IB_AUTH = auth_header(Role.IB, SWV, subject=IB, school_id=SCHOOL)
WORKER_AUTH = auth_header(Role.SUPPORT_WORKER, SWV, subject=WORKER, work_unit_id="wu-vlaardingen")
OPERATOR_AUTH = auth_header(Role.OPERATOR, SWV, subject="nemesis")


@dataclass
class Command:
    """One command of one case, and what became of it."""

    kind: str
    service: str
    key: str
    ref: str | None = None  # the session or evaluation id it carries
    sent: int = 0  # attempts
    status: int | None = None  # of the answer that acknowledged it
    answer: dict[str, Any] = field(default_factory=dict)
    acknowledged_at: float | None = None
    given_up: bool = False

    @property
    def acknowledged(self) -> bool:
        return self.acknowledged_at is not None


@dataclass
class Case:
    """The commands of one case, in order; ``case_id`` once the submission was answered."""

    number: int
    case_id: str | None = None
    commands: list[Command] = field(default_factory=list)
    finished: bool = False

    def acknowledged(self, kind: str) -> list[Command]:
        return [c for c in self.commands if c.kind == kind and c.acknowledged]


@dataclass
class Ledger:
    """Every case the load started."""

    cases: list[Case] = field(default_factory=list)
    started_at: float = field(default_factory=time.monotonic)

    def commands(self) -> list[Command]:
        return [c for case in self.cases for c in case.commands]

    @property
    def acknowledged(self) -> int:
        return sum(c.acknowledged for c in self.commands())

    @property
    def given_up(self) -> int:
        return sum(c.given_up for c in self.commands())

    @property
    def attempts(self) -> int:
        return sum(c.sent for c in self.commands())


class Balancer:
    """Which instances of a service take requests: those that answered ready lately."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.ready: dict[str, bool] = {}

    async def watch(self, stop: asyncio.Event, period: float = 1.0) -> None:
        """Probe every running instance's readiness every ``period`` seconds."""
        async with httpx.AsyncClient() as http:
            while not stop.is_set():
                instances = self.cluster.supervised()
                answers = await asyncio.gather(*(self.cluster.ready(http, i) for i in instances))
                self.ready = {i.name: ok for i, ok in zip(instances, answers, strict=True)}
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), period)

    def pick(self, service: str, avoid: set[str]) -> Instance:
        running = [i for i in self.cluster.supervised() if i.service == service]
        ready = [i for i in running if self.ready.get(i.name, True) and i.name not in avoid]
        choices = ready or [i for i in running if i.name not in avoid] or running
        if not choices:  # every instance is between a crash and its restart
            choices = self.cluster.regular(service)
        return random.choice(choices)


class Driver:
    """Runs cases against the cluster and keeps the ledger."""

    def __init__(self, cluster: Cluster, balancer: Balancer, ledger: Ledger) -> None:
        self.cluster = cluster
        self.balancer = balancer
        self.ledger = ledger
        self.http = httpx.AsyncClient(timeout=REQUEST_TIMEOUT)
        self.answers: dict[str, int] = {}  # "<status>" or the error's type -> count

    async def close(self) -> None:
        await self.http.aclose()

    async def run(self, workers: int, stop: asyncio.Event) -> None:
        """``workers`` cases at a time until ``stop``; the cases in progress then finish."""

        async def worker() -> None:
            while not stop.is_set():
                case = Case(len(self.ledger.cases) + 1)
                self.ledger.cases.append(case)
                await self.case(case)

        await asyncio.gather(*(worker() for _ in range(workers)))

    async def case(self, case: Case) -> None:
        today = datetime.now(UTC).date()
        target = (today + timedelta(weeks=8)).isoformat()
        submitted = await self.command(
            case, "submit", "intake", "/requests", submission(case.number), IB_AUTH
        )
        if submitted is None:
            return
        case.case_id = submitted["case_id"]
        base = f"/requests/{case.case_id}"
        consent = {"method": "start_conversation", "parent_refs": [PARENT]}
        answer = {"parent_ref": PARENT, "method": "start_conversation"}
        steps: list[tuple[str, str, str, Any, dict[str, str], str | None]] = [
            ("consent_request", "intake", f"{base}/consent/requests", consent, IB_AUTH, None),
            ("consent_confirm", "intake", f"{base}/consent/confirmations", answer, IB_AUTH, None),
            ("claim", "assignment", f"/cases/{case.case_id}/claim", None, WORKER_AUTH, None),
        ]
        cases = f"/cases/{case.case_id}"
        conversation = {
            "participants": [WORKER, IB, "lk-sanne"],
            "sharpened_question": "Wat heeft de leerling nodig om zelfstandig te lezen?",
            "levels": ["pupil", "teacher"],
            "held_on": today.isoformat(),
        }
        steps += [
            ("start_conversation", "trajectory", f"{cases}/start-conversation", conversation,
             WORKER_AUTH, None),
            ("plan", "trajectory", f"{cases}/plans", plan(target), WORKER_AUTH, None),
            ("support_start", "trajectory", f"{cases}/support/start", None, WORKER_AUTH, None),
        ]  # fmt: skip
        for _ in range(random.randint(1, 2)):
            session_id = str(uuid.uuid4())
            session = {
                "session_id": session_id,
                "held_on": today.isoformat(),
                "hours": 1.5,
                "findings": "loopt",
            }
            steps.append(
                ("session", "trajectory", f"{cases}/sessions", session, WORKER_AUTH, session_id)
            )
        evaluation_id = str(uuid.uuid4())
        evaluation = {
            "evaluation_id": evaluation_id,
            "participants": [WORKER, IB, PARENT],
            "goal_results": [{"goal_id": "lezen", "result": "deels behaald"}],
            "outcome": "continue",
        }
        steps.append(
            ("evaluation", "trajectory", f"{cases}/evaluations", evaluation, WORKER_AUTH,
             evaluation_id)
        )  # fmt: skip
        for kind, service, path, body, auth, ref in steps:
            if await self.command(case, kind, service, path, body, auth, ref=ref) is None:
                return
        case.finished = True

    async def command(
        self,
        case: Case,
        kind: str,
        service: str,
        path: str,
        body: Any,
        auth: dict[str, str],
        *,
        ref: str | None = None,
    ) -> dict[str, Any] | None:
        """Send until a 2xx answer (then acknowledged) or the deadline (then given up)."""
        command = Command(kind, service, str(uuid.uuid4()), ref)
        case.commands.append(command)
        headers = {**auth, "Idempotency-Key": command.key}
        deadline = time.monotonic() + COMMAND_DEADLINE
        avoid: set[str] = set()
        pause = 0.1
        while time.monotonic() < deadline:
            instance = self.balancer.pick(service, avoid)
            command.sent += 1
            try:
                response = await self.http.post(f"{instance.url}{path}", json=body, headers=headers)
            except httpx.HTTPError as exc:
                self._count(type(exc).__name__)
                avoid = {instance.name}  # try another instance next
                await asyncio.sleep(random.uniform(0.05, 0.3))
                continue
            self._count(str(response.status_code))
            if 200 <= response.status_code < 300:
                command.status = response.status_code
                command.answer = response.json() if response.content else {}
                command.acknowledged_at = time.monotonic()
                return command.answer
            if response.status_code in (404, 409, 503) or response.status_code >= 500:
                # Not there yet (events on their way), or the instance can't serve now.
                avoid = {instance.name} if response.status_code >= 500 else set()
                await asyncio.sleep(pause * random.uniform(0.5, 1.5))
                pause = min(pause * 1.5, 2.0)
                continue
            raise AssertionError(
                f"{kind} {path} answered {response.status_code}: {response.text[:500]}"
            )
        command.given_up = True
        return None

    def _count(self, what: str) -> None:
        self.answers[what] = self.answers.get(what, 0) + 1


def submission(number: int) -> dict[str, Any]:
    return {
        "school_id": SCHOOL,
        "addressed_worker_id": WORKER,
        "pupil_ref": f"leerling-{number:05d}",
        "pupil": {
            "name": "Noor Visser",
            "date_of_birth": "2017-05-12",
            "parents": [{"parent_ref": PARENT, "name": "M. Visser", "email": "m@example.nl"}],
        },
        "levels": ["pupil"],
        "educational_need": "Leest traag en raakt snel overprikkeld in de klas.",
        "tried_in_basic_support": "Acht weken extra leesbeurten en een rustige werkplek.",
        "why_stuck": "Geen groei; de leerkracht weet niet wat nog helpt.",
        "multiple_problems": False,
        "specialist_advised": False,
    }


def plan(target: str) -> dict[str, Any]:
    return {
        "goals": [
            {
                "goal_id": "lezen",
                "description": "Leest zelfstandig",
                "measure": "AVI E4",
                "target_date": target,
            }
        ],
        "supported": ["pupil", "teacher"],
        "form": "begeleiding van leerling en leerkracht",
        "school_participants": [IB, "lk-sanne"],
        "duration_weeks": 12,
        "frequency": "wekelijks",
        "parents_informed": "na elke evaluatie door de leerkracht",
        "evaluation_method": "evaluatiegesprek met IB, leerkracht en ouders",
        "evaluation_dates": [target],
        "securing": "aanpak in het groepsplan",
        "reason": None,
    }


async def register_contacts(cluster: Cluster, contacts: list[tuple[str, str]]) -> None:
    """``PUT /contacts/{id}`` for each (recipient id, address), until each is answered."""
    async with httpx.AsyncClient(timeout=10) as http:
        for recipient_id, email in contacts:
            for _ in range(30):
                instance = cluster.regular("notifications")[0]
                response = await http.put(
                    f"{instance.url}/contacts/{recipient_id}",
                    json={"email": email, "display_name": None},
                    headers=OPERATOR_AUTH,
                )
                if response.status_code == 204:
                    break
                await asyncio.sleep(1)
            else:
                raise AssertionError(f"contact {recipient_id} not registered: {response.text}")


def counting(ledger: Ledger) -> Callable[[], str]:
    """A one-line progress report."""

    def line() -> str:
        finished = sum(c.finished for c in ledger.cases)
        return (
            f"cases {len(ledger.cases)} (finished {finished}), acknowledged {ledger.acknowledged}, "
            f"given up {ledger.given_up}, attempts {ledger.attempts}"
        )

    return line
