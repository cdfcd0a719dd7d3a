"""Issue 19: a step done in the portal reaches the service. The four services run on real
PostgreSQL and the broker; the portal, in process, sends the IB's route coach call (W29) to
assignment and the IB's OPP (S) to trajectory, and its case page then shows both in Dutch."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from passend_assignment.directory_file import DEV_FILE, ENV_VAR
from passend_backbone.auth import Role
from passend_devstack.infra import Broker, Database, free_port
from passend_devstack.test_tokens import auth_env, auth_header
from passend_devstack.waiting import eventually
from passend_portal.app import create_app
from passend_portal.session import COOKIE, Session, encode
from passend_portal.settings import PortalSettings
from tests.conftest import create_database
from tests.e2e.test_assignment_flow import _ready, processes
from tests.e2e.test_intake_consent_link import SCHOOL, SWV, _submission
from tests.portal.fakes import SECRET, csrf_token

pytestmark = [pytest.mark.e2e, pytest.mark.filterwarnings("ignore:Setting per-request cookies")]
SERVICES = ("intake", "assignment", "trajectory", "notifications")
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _signed_in(token: str, **claims: Any) -> dict[str, str]:
    """The portal's session cookie of a person holding ``token`` (a real bearer token)."""
    session = Session(token=token, swv=SWV, started=time.time(), **claims)
    return {COOKIE: encode(session, SECRET)}


async def test_the_ibs_route_coach_call_and_opp_in_the_portal_reach_the_services_W29_S(
    database: Database, broker: Broker, tmp_path: Path
) -> None:
    env_of = {}
    for name in SERVICES:
        env_of[name] = {
            **auth_env(),
            "DATABASE_URL": await create_database(database, prefix=f"e2e_ps_{name}"),
            "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
            "KAFKA_BROKER_KIND": broker.kind,
            "HTTP_PORT": str(free_port()),
            "LOG_FORMAT": "console",
        }
    env_of["assignment"][ENV_VAR] = str(DEV_FILE)
    ib = auth_header(Role.IB, SWV, subject="ib-marieke", school_id=SCHOOL)
    anouk = auth_header(Role.SUPPORT_WORKER, SWV, subject="ow-anouk", work_unit_id="wu-vlaardingen")
    ib_token = ib["Authorization"].removeprefix("Bearer ")

    with processes(env_of, tmp_path) as urls:
        async with httpx.AsyncClient(timeout=10) as http:
            await _ready(http, urls, tmp_path)
            submitted = await http.post(
                f"{urls['intake']}/requests",
                headers={**ib, "Idempotency-Key": str(uuid.uuid4())},
                json=_submission(),
            )
            assert submitted.status_code == 201, submitted.text
            case_id = submitted.json()["case_id"]

            async def in_inbox() -> bool:
                r = await http.get(f"{urls['assignment']}/workers/ow-anouk/inbox", headers=anouk)
                return r.status_code == 200 and any(c["case_id"] == case_id for c in r.json())

            await eventually(in_inbox, timeout=60, what="request in the worker's inbox")
            claimed = await http.post(f"{urls['assignment']}/cases/{case_id}/claim", headers=anouk)
            assert claimed.status_code == 200, claimed.text

            async def opened() -> bool:
                r = await http.get(f"{urls['trajectory']}/cases/{case_id}/trajectory", headers=ib)
                return r.status_code == 200 and r.json().get("opened") is not None

            await eventually(opened, timeout=60, what="the trajectory opened by the claim")

            settings = PortalSettings(
                service_urls=dict(urls), session_secret=SECRET, public_url="http://portal.test"
            )
            app = create_app(settings)
            cookies = _signed_in(ib_token, subject="ib-marieke", role="ib", school_id=SCHOOL)
            csrf = f"csrf_token={csrf_token(cookies)}"
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://portal.test", timeout=20
            ) as portal:
                called = await portal.post(
                    f"/zaken/{case_id}/routebegeleider",
                    content=f"routebegeleider.reason=Geen+overeenstemming+over+de+aanpak&{csrf}",
                    headers=FORM,
                    cookies=cookies,
                )
                assert called.status_code == 303, called.text
                recorded = await portal.post(
                    f"/zaken/{case_id}/opp",
                    content=f"opp.drawn_up_on=2026-10-20&{csrf}",
                    headers=FORM,
                    cookies=cookies,
                )
                assert recorded.status_code == 303, recorded.text

                async def coach_called() -> bool:
                    r = await http.get(f"{urls['assignment']}/cases/{case_id}", headers=ib)
                    return r.status_code == 200 and r.json()["route_coach_calls"] == 1

                await eventually(coach_called, timeout=60, what="the route coach call")

                async def opp_on_record() -> Any:
                    r = await http.get(
                        f"{urls['trajectory']}/cases/{case_id}/trajectory", headers=ib
                    )
                    return r.json().get("opp") if r.status_code == 200 else None

                opp = await eventually(opp_on_record, timeout=60, what="the OPP on record")
                assert opp["drawn_up_on"] == "2026-10-20"
                assert opp["recorded_by"] == "ib-marieke"

                page = await portal.get(f"/zaken/{case_id}", cookies=cookies)
                assert "De routebegeleider is 1 keer ingeschakeld voor deze casus." in page.text
                assert "OPP opgesteld op 20 oktober 2026" in page.text
