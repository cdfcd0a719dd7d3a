"""TNO, issue 25: the portal's Team NO pages show the regions the SWV configured in its
directory (trajectory's ``GET /regions``), not a list of its own."""

from __future__ import annotations

from typing import Any

import httpx

from tests.portal.fakes import TEAM_NO, FakeServices, cookie

SPECIALIST = {"role": "education_specialist", "subject": "os-marleen"}
REGIONS = {
    "regions": [
        {
            "region": "rijnmond",
            "name": "Rijnmond",
            "municipalities": [{"code": "GM0599", "name": "Rotterdam"}],
            "members": [],
        },
        {
            "region": "waterweg",
            "name": "Nieuwe Waterweg",
            "municipalities": [{"code": "GM0622", "name": "Vlaardingen"}],
            "members": ["tno-1"],
        },
    ]
}
EMPTY_REPORT = {
    "escalations": 0,
    "by_reason": {},
    "by_municipality": {},
    "by_reason_and_municipality": [],
}


def asked(fake: FakeServices) -> list[str]:
    return [path for method, service, path, *_ in fake.calls if service == "trajectory"]


async def test_tno_oversight_sees_the_first_configured_region_or_the_one_it_picks(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on("GET", "trajectory", "/regions", (200, REGIONS))
    for region in ("rijnmond", "waterweg"):
        agenda: tuple[int, dict[str, Any]] = (200, {"region": region, "cases": []})
        fake.on("GET", "trajectory", f"/regions/{region}/team-no-agenda", agenda)
        fake.on("GET", "trajectory", f"/regions/{region}/stagnations", (200, EMPTY_REPORT))
    page = await portal.get("/team-no", cookies=cookie(**SPECIALIST))
    assert page.status_code == 200
    assert asked(fake)[-1] == "/regions/rijnmond/team-no-agenda"
    page = await portal.get("/team-no?regio=waterweg", cookies=cookie(**SPECIALIST))
    assert page.status_code == 200
    assert asked(fake)[-1] == "/regions/waterweg/team-no-agenda"
    # A region the SWV does not have is not asked for: the first configured one is shown.
    await portal.get("/team-no/stagnatie?regio=elders", cookies=cookie(**SPECIALIST))
    assert asked(fake)[-1] == "/regions/rijnmond/stagnations"


async def test_tno_a_member_sees_their_own_region_without_choosing(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    agenda: tuple[int, dict[str, Any]] = (200, {"region": "waterweg", "cases": []})
    fake.on("GET", "trajectory", "/regions/waterweg/team-no-agenda", agenda)
    page = await portal.get("/team-no?regio=rijnmond", cookies=cookie(**TEAM_NO))
    assert page.status_code == 200
    assert asked(fake) == ["/regions/waterweg/team-no-agenda"]


async def test_tno_an_swv_without_regions_shows_an_empty_agenda(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    fake.on("GET", "trajectory", "/regions", (200, {"regions": []}))
    page = await portal.get("/team-no", cookies=cookie(**SPECIALIST))
    assert page.status_code == 200
    page = await portal.get("/team-no/stagnatie", cookies=cookie(**SPECIALIST))
    assert page.status_code == 200
    assert asked(fake) == ["/regions", "/regions"]
