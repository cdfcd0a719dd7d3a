"""The long route through running services: request to closed trajectory, with a consent pause."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest

from passend_assignment.directory_file import DEV_FILE, ENV_VAR
from passend_backbone.auth import Role
from passend_devstack.infra import Broker, Database, free_port
from passend_devstack.test_tokens import auth_env, auth_header
from passend_devstack.waiting import eventually
from tests.conftest import create_database

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("intake", "assignment", "trajectory")
SWV = "swv-waterweg"
SCHOOL = "brin-11aa"
WORKER = "ow-anouk"
IB = "ib-marieke"
PARENT = "ouder-1"


@contextmanager
def processes(env_of: dict[str, dict[str, str]], logs: Path) -> Iterator[dict[str, str]]:
    """Each service as ``python -m passend_<name>``; SIGTERM at the end, kill if it lingers."""
    running: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name, env in env_of.items():
            out = (logs / f"{name}.log").open("wb")
            running[name] = subprocess.Popen(
                [sys.executable, "-m", f"passend_{name}"],
                cwd=ROOT,
                env={**os.environ, **env},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        yield {name: f"http://127.0.0.1:{env['HTTP_PORT']}" for name, env in env_of.items()}
    finally:
        for process in running.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in running.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


class Route:
    """The HTTP calls of the route, each asserting its status."""

    def __init__(self, http: httpx.AsyncClient, urls: dict[str, str]) -> None:
        self.http = http
        self.urls = urls
        self.ib = auth_header(Role.IB, SWV, subject=IB, school_id=SCHOOL)
        self.worker = auth_header(
            Role.SUPPORT_WORKER, SWV, subject=WORKER, work_unit_id="wu-vlaardingen"
        )
        self.specialist = auth_header(Role.EDUCATION_SPECIALIST, SWV, subject="os-jeroen")
        self.team_no = auth_header(Role.TEAM_NO_MEMBER, SWV, subject="tno-1", region="waterweg")
        self.case_id = ""

    async def post(
        self,
        service: str,
        path: str,
        body: Any = None,
        *,
        auth: dict[str, str] | None = None,
        expect: int = 200,
    ) -> dict[str, Any]:
        url = f"{self.urls[service]}{path.format(case=self.case_id)}"
        response = await self.http.post(url, json=body, headers=auth or self.worker)
        assert response.status_code == expect, f"{path}: {response.text}"
        answer: dict[str, Any] = response.json()
        return answer

    async def trajectory(self, until: Any, what: str) -> dict[str, Any]:
        async def probe() -> dict[str, Any] | None:
            r = await self.http.get(
                f"{self.urls['trajectory']}/cases/{self.case_id}/trajectory", headers=self.worker
            )
            view: dict[str, Any] | None = r.json() if r.status_code == 200 else None
            return view if view is not None and until(view) else None

        return await eventually(probe, timeout=60, what=what)


def submission() -> dict[str, Any]:
    return {
        "school_id": SCHOOL,
        "addressed_worker_id": WORKER,
        "pupil_ref": "leerling-042",
        "pupil": {
            "name": "Noor Visser",
            "date_of_birth": "2017-05-12",
            "parents": [{"parent_ref": PARENT, "name": "M. Visser", "email": "m@example.nl"}],
        },
        "levels": ["pupil"],
        "educational_need": "Leest traag en raakt snel overprikkeld in de klas.",
        "tried_in_basic_support": "Acht weken extra leesbeurten en een rustige werkplek.",
        "why_stuck": "Geen groei; thuis speelt ook veel, de leerkracht weet het niet meer.",
        "multiple_problems": True,
        "specialist_advised": False,
    }


def plan(today: str, target: str, *, reason: str | None = None) -> dict[str, Any]:
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
        "reason": reason,
    }


def evaluation(outcome: str, **extra: Any) -> dict[str, Any]:
    return {
        "evaluation_id": str(uuid4()),
        "participants": [WORKER, IB, PARENT],
        "goal_results": [{"goal_id": "lezen", "result": "deels behaald"}],
        "outcome": outcome,
        **extra,
    }


def session(day: str) -> dict[str, Any]:
    return {"session_id": str(uuid4()), "held_on": day, "hours": 1.5, "findings": "loopt"}


async def test_the_long_route_from_request_to_closed_trajectory(
    database: Database, broker: Broker, tmp_path: Path
) -> None:
    env_of = {}
    for name in SERVICES:
        env_of[name] = {
            **auth_env(),
            "DATABASE_URL": await create_database(database, prefix=f"e2e_lr_{name}"),
            "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
            "KAFKA_BROKER_KIND": broker.kind,
            "HTTP_PORT": str(free_port()),
            "LOG_FORMAT": "console",
        }
    env_of["assignment"][ENV_VAR] = str(DEV_FILE)
    today = datetime.now(UTC).date()
    target = (today + timedelta(weeks=8)).isoformat()

    with processes(env_of, tmp_path) as urls:
        async with httpx.AsyncClient(timeout=10) as http:
            route = Route(http, urls)

            async def ready() -> bool:
                for url in urls.values():
                    try:
                        if (await http.get(f"{url}/health/ready")).status_code != 200:
                            return False
                    except httpx.TransportError:
                        return False
                return True

            await eventually(ready, timeout=90, interval=0.2, what="services ready")

            # Request and consent at intake, claim at assignment (W1-W5, W10, W25).
            r = await http.post(
                f"{urls['intake']}/requests",
                headers={**route.ib, "Idempotency-Key": f"long-route-{uuid4()}"},
                json=submission(),
            )
            assert r.status_code == 201, r.text
            route.case_id = r.json()["case_id"]
            consent_request = {"method": "start_conversation", "parent_refs": [PARENT]}
            answer = {"parent_ref": PARENT, "method": "start_conversation"}
            await route.post(
                "intake",
                "/requests/{case}/consent/requests",
                consent_request,
                auth=route.ib,
                expect=201,
            )
            await route.post(
                "intake",
                "/requests/{case}/consent/confirmations",
                answer,
                auth=route.ib,
                expect=201,
            )

            async def claimed() -> bool:
                r = await http.post(
                    f"{urls['assignment']}/cases/{route.case_id}/claim", headers=route.worker
                )
                return r.status_code == 200

            await eventually(claimed, timeout=60, interval=0.3, what="claim accepted")
            await route.trajectory(
                lambda v: v["complex"] and v["consent"] and v["consent"]["status"] == "confirmed",
                "trajectory opened, complex, with consent",
            )

            # Exploration, the W14 gate, plan, support (W6, W14, W15, W10).
            await route.post(
                "trajectory",
                "/cases/{case}/start-conversation",
                {
                    "participants": [WORKER, IB, "lk-sanne"],
                    "sharpened_question": "Wat heeft Noor nodig om zelfstandig te lezen?",
                    "levels": ["pupil", "teacher"],
                    "held_on": today.isoformat(),
                },
            )
            await route.post("trajectory", "/cases/{case}/plans", plan(today.isoformat(), target))
            refused = await route.post("trajectory", "/cases/{case}/support/start", expect=409)
            assert refused["rule"] == "W14"
            await route.post(
                "trajectory",
                "/cases/{case}/specialist-analysis",
                {"analysis": "Lezen en prikkelverwerking versterken elkaar."},
                auth=route.specialist,
            )
            await route.post("trajectory", "/cases/{case}/support/start")
            for _ in range(2):
                await route.post("trajectory", "/cases/{case}/sessions", session(today.isoformat()))

            # Consent withdrawn: the trajectory pauses and no session is taken (W10).
            await route.post(
                "intake",
                "/requests/{case}/consent/withdrawals",
                {"parent_ref": PARENT},
                auth=route.ib,
                expect=201,
            )
            await route.trajectory(lambda v: v["status"] == "paused", "trajectory paused")
            refused = await route.post(
                "trajectory", "/cases/{case}/sessions", session(today.isoformat()), expect=409
            )
            assert refused["rule"] == "W10"
            assert "record new consent before the next session" in refused["detail"]
            await route.post(
                "intake",
                "/requests/{case}/consent/requests",
                consent_request,
                auth=route.ib,
                expect=201,
            )
            await route.post(
                "intake",
                "/requests/{case}/consent/confirmations",
                answer,
                auth=route.ib,
                expect=201,
            )
            await route.trajectory(lambda v: v["status"] == "in_support", "trajectory resumed")
            await route.post("trajectory", "/cases/{case}/sessions", session(today.isoformat()))

            # Evaluation: revise, then escalate to Team NO, its decision (W21, R).
            await route.post("trajectory", "/cases/{case}/evaluations", evaluation("revise_plan"))
            await route.post(
                "trajectory",
                "/cases/{case}/plans",
                plan(today.isoformat(), target, reason="meer structuur nodig"),
            )
            escalation = {
                "escalation_id": str(uuid4()),
                "municipality": "GM0622",
                "reasons": ["waiting_list", "no_bridging_care"],
                "draft_plan": "Overbrugging op school tot er plek is.",
            }
            await route.post(
                "trajectory",
                "/cases/{case}/evaluations",
                evaluation("escalate", escalation=escalation),
            )

            async def on_agenda() -> bool:
                r = await http.get(
                    f"{urls['trajectory']}/regions/waterweg/team-no-agenda", headers=route.team_no
                )
                return any(c["case_id"] == route.case_id for c in r.json()["cases"])

            await eventually(on_agenda, timeout=60, what="case on the Team NO agenda")
            await route.post(
                "trajectory",
                "/cases/{case}/team-no-decision",
                {
                    "decision": "Overbruggingszorg op school",
                    "assignment": "Wijkteam regelt zorg binnen twee weken",
                    "provider": "Zorg X",
                },
                auth=route.team_no,
            )

            # Final evaluation and close (W21).
            await route.post("trajectory", "/cases/{case}/evaluations", evaluation("close"))
            await route.post("trajectory", "/cases/{case}/close")
            view = await route.trajectory(lambda v: v["status"] == "closed", "trajectory closed")
            assert [p["revision"] for p in view["plans"]] == [1, 2]
            assert [e["outcome"] for e in view["evaluations"]] == [
                "revise_plan",
                "escalate",
                "close",
            ]
            assert len(view["sessions"]) == 3
            assert view["escalations"][0]["decision"]["provider"] == "Zorg X"
            assert view["case_director"]["role"] == "education_specialist"
