"""The school sees the escalation and Team NO's decision on its case page, through running
services and the portal (issue 19); Team NO's agenda item shows the case's context."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import httpx
import pytest

from passend_assignment.directory_file import DEV_FILE, ENV_VAR
from passend_backbone.auth import Role
from passend_devstack.infra import Broker, Database, free_port
from passend_devstack.test_tokens import auth_env, token_for
from passend_devstack.waiting import eventually
from passend_portal.app import create_app
from passend_portal.session import COOKIE, Session, encode
from passend_portal.settings import PortalSettings
from tests.conftest import create_database
from tests.e2e.test_trajectory_long_route import (
    IB,
    PARENT,
    SCHOOL,
    SERVICES,
    SWV,
    WORKER,
    Route,
    evaluation,
    plan,
    processes,
    session,
    submission,
)
from tests.portal.fakes import SECRET
from tests.portal.test_names_on_screen import faults, screen_text

pytestmark = [pytest.mark.e2e, pytest.mark.filterwarnings("ignore:Setting per-request cookies")]


def signed_in(
    role: Role, subject: str, *, school_id: str | None = None, region: str | None = None
) -> dict[str, str]:
    """The portal's session cookie of someone signed in, carrying a real service token."""
    token = token_for(role, SWV, subject=subject, school_id=school_id, region=region)
    person = Session(
        token=token,
        subject=subject,
        role=role.value,
        swv=SWV,
        started=time.time(),
        school_id=school_id,
        region=region,
    )
    return {COOKIE: encode(person, SECRET)}


async def test_the_ib_sees_the_escalation_and_team_nos_decision_R(
    database: Database, broker: Broker, tmp_path: Path
) -> None:
    env_of = {}
    for name in SERVICES:
        env_of[name] = {
            **auth_env(),
            "DATABASE_URL": await create_database(database, prefix=f"e2e_story_{name}"),
            "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
            "KAFKA_BROKER_KIND": broker.kind,
            "HTTP_PORT": str(free_port()),
            "LOG_FORMAT": "console",
        }
    env_of["assignment"][ENV_VAR] = str(DEV_FILE)
    today = datetime.now(UTC).date()
    target = (today + timedelta(weeks=8)).isoformat()

    with processes(env_of, tmp_path) as urls:
        # Notifications is not running: the portal shows the page without it.
        settings = PortalSettings(
            service_urls={**urls, "notifications": f"http://127.0.0.1:{free_port()}"},
            session_secret=SECRET,
            public_url="http://portal.test",
        )
        portal_app = create_app(settings)
        async with (
            httpx.AsyncClient(timeout=10) as http,
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=portal_app), base_url="http://portal.test"
            ) as portal,
        ):
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

            r = await http.post(
                f"{urls['intake']}/requests",
                headers={**route.ib, "Idempotency-Key": f"story-{uuid4()}"},
                json={**submission(), "multiple_problems": False},
            )
            assert r.status_code == 201, r.text
            route.case_id = r.json()["case_id"]
            await route.post(
                "intake",
                "/requests/{case}/consent/requests",
                {"method": "start_conversation", "parent_refs": [PARENT]},
                auth=route.ib,
                expect=201,
            )
            await route.post(
                "intake",
                "/requests/{case}/consent/confirmations",
                {"parent_ref": PARENT, "method": "start_conversation"},
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
                lambda v: v["consent"] and v["consent"]["status"] == "confirmed",
                "trajectory opened with consent",
            )
            await route.post(
                "trajectory",
                "/cases/{case}/start-conversation",
                {
                    "participants": [WORKER, IB],
                    "sharpened_question": "Wat heeft Noor nodig om zelfstandig te lezen?",
                    "levels": ["pupil"],
                    "held_on": today.isoformat(),
                },
            )
            await route.post("trajectory", "/cases/{case}/plans", plan(today.isoformat(), target))
            await route.post("trajectory", "/cases/{case}/support/start")
            await route.post("trajectory", "/cases/{case}/sessions", session(today.isoformat()))
            escalation = {
                "escalation_id": str(uuid4()),
                "municipality": "GM0622",
                "reasons": ["waiting_list"],
                "draft_plan": "Overbrugging op school tot er plek is.",
            }
            await route.post(
                "trajectory",
                "/cases/{case}/evaluations",
                evaluation("escalate", escalation=escalation, reason="Geen plek in de zorg"),
            )

            async def on_agenda() -> bool:
                r = await http.get(
                    f"{urls['trajectory']}/regions/waterweg/team-no-agenda", headers=route.team_no
                )
                return any(c["case_id"] == route.case_id for c in r.json()["cases"])

            await eventually(on_agenda, timeout=60, what="case on the Team NO agenda")

            # Team NO's agenda item: the case's context, read by the member's own token.
            team_no = signed_in(Role.TEAM_NO_MEMBER, "tno-1", region="waterweg")

            async def agenda_with_request() -> str | None:
                page = await portal.get("/team-no", cookies=team_no)
                text = screen_text(page.text)
                return text if "Waarom de school vastloopt" in text else None

            agenda = await eventually(agenda_with_request, timeout=30, what="agenda context")
            assert "Basisschool De Havenmeester" in agenda
            assert re.search(r"Leerling \d+ jaar", agenda)
            assert "Acht weken extra leesbeurten en een rustige werkplek." in agenda
            assert "Leest zelfstandig (gemeten met AVI E4" in agenda
            assert "Overbrugging op school tot er plek is." in agenda
            assert "Noor Visser" not in agenda
            assert faults(agenda) == []

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
            await route.trajectory(
                lambda v: v["escalations"] and v["escalations"][0]["decision"], "decision read"
            )

            # The IB's case page tells it, by name and in Dutch.
            page = await portal.get(
                f"/zaken/{route.case_id}", cookies=signed_in(Role.IB, IB, school_id=SCHOOL)
            )
            assert page.status_code == 200
            text = screen_text(page.text)
            assert "Aangemeld bij Team NO Waterweg door Anouk Jansen" in text
            assert "Waarom de route vastloopt: wachtlijst" in text
            assert "Evaluatie, uitkomst: aanmelden bij Team NO (de route loopt vast)" in text
            assert "Besluit van Team NO door" in text
            assert "Besluit: Overbruggingszorg op school" in text
            assert "Uitvoering door: Zorg X" in text
            assert "Sessie van 1,5 uur door Anouk Jansen" in text
            assert "loopt" not in re.findall(r"Sessie van[^–]*", text)[0]
            assert "Opgepakt door Anouk Jansen" in text
            assert faults(text) == []
