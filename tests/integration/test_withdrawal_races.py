"""W1: a withdrawal racing a claim, a plan or a session ends in one state in every service.

Intake, assignment and trajectory run in this process on their own databases and the
session broker (as ``tests/integration/audit/kit.py`` runs them). Each test runs 100
trials of one race: the school's withdrawal at intake against a claim at assignment,
against a plan at trajectory, or against a session at trajectory. Every trial is sent in
one of these orders, an equal share of the trials each, shuffled:

- ``before``: the racing command is answered before the withdrawal is sent;
- ``race``: both are sent together, the racing command from 50 ms before to 400 ms after
  the withdrawal, so it is decided before the withdrawal reached its service, while it
  travels, or after;
- ``after``: the racing command is sent once its service has taken the withdrawal;
- ``opened`` (claims only): the withdrawal is sent once intake saw the claimed case's
  trajectory open, and intake refuses it (W15).

Whatever the order, once everything arrived: if intake accepted the withdrawal, intake,
assignment and trajectory all say withdrawn, with intake's ``withdrawn_at``, and
trajectory refuses the next step with W1; if intake refused it (its read model had seen
the trajectory open), nobody says withdrawn. The racing command is either accepted and on
record everywhere, or refused with the withdrawal's rule (W25 for a claim, W1 for a plan
or a session) and on record nowhere: always the latter in ``after``, always the former in
``before`` and ``opened``.

Intake refuses a withdrawal once its read model has seen ``TrajectoryOpened``, so a
withdrawal reaches a plan or a session only while that read model lags. The plan and
session trials make it lag for as long as the race lasts: intake's read model is blind to
``TrajectoryOpened`` of those cases (``Lagging``); the claim trials run on intake as it is.

The trials of a test are prepared together, step by step (all submitted, then all routed,
then all claimed, ...), and raced together, the trials of one order as a group: a step's
events reach the consumers in batches, and a wait looks at the cases in the order they
were sent, a few times a second, not at every case each time (``until_all``). Requests
that lose their connection on a busy machine are sent again, commands with the same
Idempotency-Key.

This module found that a read of a trajectory held one pool connection while it waited
for a second, which stopped trajectory once enough reads were in flight
(``tests/integration/trajectory/test_reading_pool.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import random
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from uuid import uuid4

import asyncpg
import httpx
import pytest

from passend_assignment.directory_file import DEV_FILE, ENV_VAR
from passend_assignment.service import SPEC as ASSIGNMENT
from passend_backbone.auth import Role
from passend_backbone.lifecycle import serve
from passend_backbone.service import ServiceSpec
from passend_backbone.settings import ServiceSettings
from passend_contracts.envelope import CloudEvent
from passend_contracts.events.base import EventPayload
from passend_contracts.events.trajectory import TrajectoryOpened
from passend_devstack.infra import Broker, Database, free_port
from passend_devstack.test_tokens import auth_env, auth_header
from passend_devstack.waiting import eventually
from passend_intake.projections import RequestsProjection
from passend_intake.service import SPEC as INTAKE
from passend_trajectory.service import SPEC as TRAJECTORY
from tests.conftest import create_database

pytestmark = pytest.mark.integration

TRIALS = 100
AT_ONCE = 16  # requests in flight together, per step
POLL = 0.3  # seconds between two looks at the services
WAIT = 240  # seconds a step may take on a busy machine
ORDERS = {
    "claim": ("before", "race", "after", "opened"),
    "plan": ("before", "race", "after"),
    "session": ("before", "race", "after"),
}
SWV = "swv-waterweg"  # the development directory's SWV, school and worker
SCHOOL = "brin-11aa"
WORKER = "ow-anouk"
IB = "ib-marieke"
IB_H = auth_header(Role.IB, SWV, subject=IB, school_id=SCHOOL)
WORKER_H = auth_header(Role.SUPPORT_WORKER, SWV, subject=WORKER, work_unit_id="wu-vlaardingen")
SPECIALIST_H = auth_header(Role.EDUCATION_SPECIALIST, SWV, subject="os-marleen")
# The rule a racing command is refused with once its service took the withdrawal.
RULE = {"claim": "W25", "plan": "W1", "session": "W1"}


class Lagging:
    """Intake's read model, blind to ``TrajectoryOpened`` of the cases in ``blind``: as if
    it lagged behind trajectory for as long as the race lasts."""

    def __init__(self, inner: RequestsProjection, blind: set[str]) -> None:
        self.inner = inner
        self.blind = blind
        self.name = inner.name
        self.topics = inner.topics

    async def setup(self, conn: asyncpg.Connection) -> None:
        await self.inner.setup(conn)

    async def handle(
        self, conn: asyncpg.Connection, event: CloudEvent, payload: EventPayload
    ) -> None:
        if isinstance(payload, TrajectoryOpened) and str(payload.case_id) in self.blind:
            return
        await self.inner.handle(conn, event, payload)


@dataclass
class Stack:
    http: dict[str, httpx.AsyncClient]
    blind: set[str] = field(default_factory=set)

    async def post(
        self, service: str, path: str, body: Any, auth: dict[str, str]
    ) -> httpx.Response:
        """A command, sent again with the same Idempotency-Key if the connection failed:
        the service answers a repeated key with its first answer, so nothing happens twice."""
        headers = {**auth, "Idempotency-Key": str(uuid4())}
        return await _retrying(lambda: self.http[service].post(path, json=body, headers=headers))

    async def get(self, service: str, path: str, auth: dict[str, str]) -> httpx.Response:
        return await _retrying(lambda: self.http[service].get(path, headers=auth))


async def _retrying(send: Callable[[], Awaitable[httpx.Response]]) -> httpx.Response:
    """The answer to a request; a connection the client or server closed under it (a busy
    machine) is no answer, so the request is sent again."""
    for attempt in range(4):
        try:
            return await send()
        except httpx.TransportError:
            if attempt == 3:
                raise
            await asyncio.sleep(0.2)
    raise AssertionError("unreachable")


def _settings(db_url: str, broker: Broker) -> ServiceSettings:
    auth = auth_env()
    return ServiceSettings.model_validate(
        {
            "database_url": db_url,
            "kafka_bootstrap_servers": broker.bootstrap_servers,
            "kafka_broker_kind": broker.kind,
            "http_port": free_port(),
            "log_format": "console",
            "log_level": "warning",
            "auth_issuer": auth["AUTH_ISSUER"],
            "auth_audience": auth["AUTH_AUDIENCE"],
            "auth_jwks": auth["AUTH_JWKS"],
        }
    )


@asynccontextmanager
async def running(database: Database, broker: Broker) -> AsyncIterator[Stack]:
    blind: set[str] = set()
    intake = dataclasses.replace(
        INTAKE, projections=(Lagging(RequestsProjection(), blind),), background=()
    )
    specs: dict[str, ServiceSpec] = {
        "intake": intake,
        "assignment": ASSIGNMENT,
        "trajectory": TRAJECTORY,
    }
    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []
    async with AsyncExitStack() as exits:
        clients: dict[str, httpx.AsyncClient] = {}
        try:
            for name, spec in specs.items():
                settings = _settings(await create_database(database, prefix=f"race_{name}"), broker)
                ready = asyncio.Event()
                task = asyncio.create_task(serve(spec, settings, stop, ready=ready))
                tasks.append(task)

                async def started(
                    task: asyncio.Task[None] = task, ready: asyncio.Event = ready
                ) -> bool:
                    return ready.is_set() or task.done()

                await eventually(started, timeout=90, what=f"{name} ready")
                if task.done():
                    await task
                url = f"http://127.0.0.1:{settings.http_port}"
                # Idle connections are dropped well before the server's keep-alive of 5 s
                # ends, so a request never goes out on a connection the server is closing.
                limits = httpx.Limits(max_connections=AT_ONCE * 2, keepalive_expiry=1)
                clients[name] = await exits.enter_async_context(
                    httpx.AsyncClient(base_url=url, timeout=60, limits=limits)
                )
            yield Stack(clients, blind)
        finally:
            stop.set()
            for task in tasks:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(task, 30)


@pytest.fixture(scope="module")
async def stack(database: Database, broker: Broker) -> AsyncIterator[Stack]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(ENV_VAR, str(DEV_FILE))  # assignment's directory: SWV, school, worker
        async with running(database, broker) as s:
            yield s


# -- many at once ------------------------------------------------------------------------------


async def each(items: Iterable[Any], step: Callable[[Any], Awaitable[Any]]) -> list[Any]:
    """``step`` of every item, at most ``AT_ONCE`` at a time, in the items' order."""
    gate = asyncio.Semaphore(AT_ONCE)

    async def one(item: Any) -> Any:
        async with gate:
            return await step(item)

    return list(await asyncio.gather(*(one(item) for item in items)))


async def until_all(
    items: Iterable[Any], done: Callable[[Any], Awaitable[bool]], what: str
) -> None:
    """Wait until ``done`` holds for every item.

    The items are looked at in their order, and a look stops at the first one not done
    yet: the services take a step's events about in the order they were sent, so a look
    costs a request or two more than the items it finds done, not one per item.
    """
    pending = list(items)

    async def settled() -> bool:
        while pending and await done(pending[0]):
            pending.pop(0)
        return not pending

    await eventually(settled, timeout=WAIT, interval=POLL, what=f"{what} ({len(pending)} left)")


# -- the steps --------------------------------------------------------------------------------


def submission() -> dict[str, Any]:
    return {
        "school_id": SCHOOL,
        "addressed_worker_id": WORKER,
        "pupil_ref": f"leerling-{uuid4().hex[:8]}",
        "pupil": {
            "name": "Noor Visser",
            "date_of_birth": "2017-05-12",
            "parents": [{"parent_ref": "ouder-1", "name": "M. Visser", "email": "m@example.nl"}],
        },
        "levels": ["pupil"],
        "educational_need": "Leest traag en raakt snel overprikkeld in de klas.",
        "tried_in_basic_support": "Acht weken extra leesbeurten en een rustige werkplek.",
        "why_stuck": "Geen groei; de leerkracht weet niet wat nog helpt.",
        "multiple_problems": False,
        "specialist_advised": False,
    }


def plan_body(today: date) -> dict[str, Any]:
    target = (today + timedelta(weeks=8)).isoformat()
    return {
        "goals": [
            {
                "goal_id": "lezen",
                "description": "Leest zelfstandig",
                "measure": "AVI E4",
                "target_date": target,
            }
        ],
        "supported": ["teacher"],  # no consent needed (W10): the race is the withdrawal's
        "form": "begeleiding van de leerkracht",
        "school_participants": [IB, "lk-sanne"],
        "duration_weeks": 8,
        "frequency": "wekelijks",
        "parents_informed": "door de leerkracht",
        "evaluation_method": "evaluatiegesprek",
        "evaluation_dates": [target],
        "securing": "in het groepsplan",
    }


def conversation(today: date) -> dict[str, Any]:
    return {
        "participants": [WORKER, IB],
        "sharpened_question": "Wat heeft Noor nodig om zelfstandig te lezen?",
        "levels": ["pupil", "teacher"],
        "held_on": today.isoformat(),
    }


def ok(answer: httpx.Response, what: str) -> dict[str, Any]:
    assert answer.status_code in (200, 201), f"{what}: {answer.status_code} {answer.text}"
    body: dict[str, Any] = answer.json()
    return body


async def submit(stack: Stack, _: int) -> str:
    answer = await stack.post("intake", "/requests", submission(), IB_H)
    case_id: str = ok(answer, "submit")["case_id"]
    return case_id


async def routed(stack: Stack, case_id: str) -> bool:
    """Assignment routed the case (W24) to the worker."""
    return (await stack.get("assignment", f"/cases/{case_id}", WORKER_H)).status_code == 200


async def opened(stack: Stack, case_id: str) -> bool:
    """The claim opened the case's trajectory (W25)."""
    path = f"/cases/{case_id}/trajectory"
    return (await stack.get("trajectory", path, WORKER_H)).status_code == 200


async def claim(stack: Stack, case_id: str) -> httpx.Response:
    return await stack.post("assignment", f"/cases/{case_id}/claim", None, WORKER_H)


async def withdraw(stack: Stack, case_id: str) -> httpx.Response:
    body = {"reason": "Opgelost binnen de basisondersteuning."}
    return await stack.post("intake", f"/requests/{case_id}/withdrawal", body, IB_H)


async def took_withdrawal(stack: Stack, kind: str, case_id: str) -> bool:
    """The racing command's service has taken the withdrawal."""
    if kind == "claim":
        case = (await stack.get("assignment", f"/cases/{case_id}", WORKER_H)).json()
        return case.get("withdrawn_at") is not None
    path = (await stack.get("trajectory", f"/cases/{case_id}/trajectory", WORKER_H)).json()
    return path.get("status") == "withdrawn"


async def intake_saw_trajectory(stack: Stack, case_id: str) -> bool:
    """Intake's read model has the case's trajectory open: it refuses a withdrawal now."""
    request = (await stack.get("intake", f"/requests/{case_id}", IB_H)).json()
    return request.get("status") == "in_trajectory"


async def prepared(stack: Stack, kind: str) -> list[str]:
    """``TRIALS`` cases, each at the step before its race: routed (claim), exploring with
    the start conversation held (plan), or in support under a plan (session)."""
    cases: list[str] = await each(range(TRIALS), lambda n: submit(stack, n))
    if kind != "claim":
        stack.blind.update(cases)  # before the claim: intake never sees them opened
    await until_all(cases, lambda c: routed(stack, c), "routed")
    if kind == "claim":
        return cases
    today = date.today()
    await each(cases, lambda c: _ok(claim(stack, c), "claim"))
    await until_all(cases, lambda c: opened(stack, c), "trajectory opened")
    await each(
        cases,
        lambda c: _ok(
            stack.post(
                "trajectory", f"/cases/{c}/start-conversation", conversation(today), WORKER_H
            ),
            "start conversation",
        ),
    )
    if kind == "plan":
        return cases
    await each(
        cases,
        lambda c: _ok(
            stack.post("trajectory", f"/cases/{c}/plans", plan_body(today), WORKER_H), "plan"
        ),
    )
    await each(
        cases,
        lambda c: _ok(
            stack.post("trajectory", f"/cases/{c}/support/start", None, WORKER_H), "start"
        ),
    )
    return cases


async def _ok(answer: Awaitable[httpx.Response], what: str) -> None:
    ok(await answer, what)


Send = Callable[[], Awaitable[httpx.Response]]


def racing_command(stack: Stack, kind: str, case_id: str) -> Send:
    today = date.today()
    if kind == "claim":
        return lambda: claim(stack, case_id)
    if kind == "plan":
        return lambda: stack.post(
            "trajectory", f"/cases/{case_id}/plans", plan_body(today), WORKER_H
        )
    session = {"session_id": str(uuid4()), "held_on": today.isoformat(), "hours": 1.5}
    return lambda: stack.post("trajectory", f"/cases/{case_id}/sessions", session, WORKER_H)


@dataclass
class Trial:
    kind: str
    order: str
    case_id: str
    withdrawal: httpx.Response
    other: httpx.Response

    @property
    def outcome(self) -> str:
        return (
            f"{self.order}: withdrawal {self.withdrawal.status_code}, "
            f"{self.kind} {self.other.status_code}"
        )


async def raced(stack: Stack, kind: str, orders: list[str], cases: list[str]) -> list[Trial]:
    """Every case's trial in its order; the trials of one order run as a group, and the
    groups side by side."""
    rng = random.Random(f"offsets-{kind}")
    offsets = {case: rng.uniform(-0.05, 0.4) for case in cases}
    trials: dict[str, Trial] = {}

    def others(group: list[str]) -> Awaitable[list[httpx.Response]]:
        return each(group, lambda c: racing_command(stack, kind, c)())

    def withdrawals(group: list[str]) -> Awaitable[list[httpx.Response]]:
        return each(group, lambda c: withdraw(stack, c))

    def record(order: str, group: list[str], ws: list[httpx.Response], os: list[Any]) -> None:
        for case, w, o in zip(group, ws, os, strict=True):
            trials[case] = Trial(kind, order, case, w, o)

    async def before(group: list[str]) -> None:
        answers = await others(group)
        record("before", group, await withdrawals(group), answers)

    async def opened(group: list[str]) -> None:
        answers = await others(group)
        for answer in answers:
            ok(answer, kind)
        await until_all(group, lambda c: intake_saw_trajectory(stack, c), "intake saw it open")
        record("opened", group, await withdrawals(group), answers)

    async def after(group: list[str]) -> None:
        sent = await withdrawals(group)
        taken = [c for c, w in zip(group, sent, strict=True) if w.status_code == 200]
        await until_all(taken, lambda c: took_withdrawal(stack, kind, c), "withdrawal taken")
        record("after", group, sent, await others(group))

    async def race(group: list[str]) -> None:
        async def one(case: str) -> tuple[httpx.Response, httpx.Response]:
            offset = offsets[case]

            async def later(delay: float, step: Send) -> httpx.Response:
                await asyncio.sleep(delay)
                return await step()

            return await asyncio.gather(
                later(max(0, -offset), lambda: withdraw(stack, case)),
                later(max(0, offset), racing_command(stack, kind, case)),
            )

        pairs = await each(group, one)
        record("race", group, [w for w, _ in pairs], [o for _, o in pairs])

    steps = {"before": before, "opened": opened, "after": after, "race": race}
    await asyncio.gather(
        *(
            steps[order]([c for o, c in zip(orders, cases, strict=True) if o == order])
            for order in ORDERS[kind]
        )
    )
    return [trials[case] for case in cases]


# -- the one state ------------------------------------------------------------------------------


def _at(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


async def states(
    stack: Stack, case_id: str
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any] | None]:
    request = (await stack.get("intake", f"/requests/{case_id}", IB_H)).json()
    case = (await stack.get("assignment", f"/cases/{case_id}", WORKER_H)).json()
    answer = await stack.get("trajectory", f"/cases/{case_id}/trajectory", SPECIALIST_H)
    return request, case, answer.json() if answer.status_code == 200 else None


def disagreement(
    t: Trial, request: dict[str, Any], case: dict[str, Any], path: dict[str, Any] | None
) -> str | None:
    """Why the three services don't (yet) tell one story of the trial, or None."""
    if t.withdrawal.status_code == 200:
        # Intake's withdrawn_at is the fact; the others carry it.
        withdrawn_at = _at(request.get("withdrawn_at"))
        if request.get("status") != "withdrawn" or withdrawn_at is None:
            return f"intake says {request.get('status')} ({request.get('withdrawn_at')})"
        if _at(case.get("withdrawn_at")) != withdrawn_at:
            return f"assignment's withdrawn_at is {case.get('withdrawn_at')}, not {withdrawn_at}"
        if path is None or path["status"] != "withdrawn":
            return f"trajectory says {path and path['status']}"
        if _at(path["withdrawn"]["withdrawn_at"]) != withdrawn_at:
            return f"trajectory's withdrawn_at is {path['withdrawn']['withdrawn_at']}"
    else:
        # Only intake's own rule refuses a withdrawal: it saw the trajectory open (W15).
        if (
            t.kind != "claim"
            or t.withdrawal.status_code != 409
            or t.withdrawal.json().get("rule") != "W15"
        ):
            return f"the withdrawal was refused: {t.withdrawal.text}"
        if request.get("status") == "withdrawn" or case.get("withdrawn_at") is not None:
            return "withdrawn somewhere though intake refused the withdrawal"
        if path is None or path["status"] != "exploring":
            return f"trajectory says {path and path['status']} without a withdrawal"
    # The racing command: accepted and on record, or refused by the withdrawal's rule.
    accepted = t.other.status_code == 200
    if not accepted and (t.other.status_code != 409 or t.other.json().get("rule") != RULE[t.kind]):
        return f"the {t.kind} was answered {t.other.status_code}: {t.other.text}"
    if t.kind == "claim" and (case.get("claimed_by") is not None) != accepted:
        return (
            f"claimed_by {case.get('claimed_by')} though the claim answered {t.other.status_code}"
        )
    if t.kind == "claim" and accepted and (path is None or path["opened"] is None):
        return "an accepted claim opened no trajectory"
    if t.kind == "plan" and path is not None and len(path["plans"]) != int(accepted):
        return f"{len(path['plans'])} plans though the plan answered {t.other.status_code}"
    if t.kind == "session" and path is not None and len(path["sessions"]) != int(accepted):
        return f"{len(path['sessions'])} sessions though the session answered {t.other.status_code}"
    return None


async def one_story_each(stack: Stack, trials: list[Trial]) -> None:
    """Every trial ends in one story told by the three services."""
    last: dict[str, str] = {}

    async def agreed(t: Trial) -> bool:
        problem = disagreement(t, *(await states(stack, t.case_id)))
        last[t.case_id] = problem or ""
        return problem is None

    try:
        await until_all(trials, agreed, "one story per trial")
    except AssertionError as exc:
        stories = [f"{t.case_id} ({t.outcome}): {last[t.case_id]}" for t in trials]
        untold = [s for s, t in zip(stories, trials, strict=True) if last[t.case_id]]
        raise AssertionError("\n".join(untold[:10])) from exc


@pytest.mark.parametrize("kind", ["claim", "plan", "session"])
async def test_w1_the_withdrawal_wins_its_race_in_every_service(stack: Stack, kind: str) -> None:
    cases = await prepared(stack, kind)
    orders = [ORDERS[kind][n % len(ORDERS[kind])] for n in range(TRIALS)]
    random.Random(f"withdrawal-{kind}").shuffle(orders)
    trials = await raced(stack, kind, orders, cases)
    tally = Counter(t.outcome for t in trials)
    print(f"{kind} races: {dict(sorted(tally.items()))}")
    await one_story_each(stack, trials)
    # The orders that decide the outcome decided it: a command answered before the
    # withdrawal was sent stands, one sent after its service took the withdrawal is refused.
    for t in trials:
        if t.order in ("before", "opened"):
            assert t.other.status_code == 200, (t.outcome, t.other.text)
        if t.order == "opened":
            assert t.withdrawal.status_code == 409, (t.outcome, t.withdrawal.text)
            assert t.withdrawal.json()["rule"] == "W15", t.withdrawal.text
        if t.order == "after" and t.withdrawal.status_code == 200:
            assert t.other.status_code == 409, (t.outcome, t.other.text)
            assert t.other.json()["rule"] == RULE[kind], t.other.text
    # Withdrawn for good: the next step is refused with W1 and the withdrawal's date.
    withdrawn = [t for t in trials if t.withdrawal.status_code == 200]
    assert withdrawn, tally
    for t in withdrawn[:5]:
        answer = await stack.post(
            "trajectory",
            f"/cases/{t.case_id}/start-conversation",
            {
                "participants": [WORKER],
                "sharpened_question": "?",
                "levels": ["pupil"],
                "held_on": date.today().isoformat(),
            },
            WORKER_H,
        )
        assert answer.status_code == 409 and answer.json()["rule"] == "W1", answer.text
        assert "withdrew the request on" in answer.json()["detail"]
