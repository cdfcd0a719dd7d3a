"""The "Dossier (PDF)" and "OPP (PDF)" buttons, their downloads, and the answer once the
pupil is erased (issue 21); the OPP's parts in the portal's form (S)."""

from __future__ import annotations

import io
import re

import httpx
import pytest
from pypdf import PdfReader

from tests.portal.fakes import (
    CASE,
    IB,
    REQUEST_DETAIL,
    TEAM_NO,
    WORKER,
    FakeServices,
    cookie,
)
from tests.portal.test_dossier_pdf import DOCUMENTS, OPP, whole_trajectory
from tests.portal.test_pages_steps import AUDITOR, case_answers, post_step, sent

pytestmark = pytest.mark.filterwarnings("ignore:Setting per-request cookies")
TEACHER = {"role": "teacher", "subject": "lk-sanne", "school_id": "brin-11aa"}
ERASED_REQUEST = {
    **REQUEST_DETAIL,
    "educational_need": "[gewist]",
    "pupil": {"erased": True, "name": "[gewist]", "date_of_birth": None, "parents": []},
}


# The services whose integrity heads the dossier reads, as each answers a reader of the case.
STREAM_SERVICES = ("intake", "assignment", "trajectory", "notifications")


def head_of(n: int) -> str:
    """The (made-up) hash of the last event of the ``n``-th service's stream."""
    return f"{n}2" * 32


def whole_case(fake: FakeServices, *, verified: bool = True) -> None:
    case_answers(fake, whole_trajectory())
    fake.on("GET", "intake", f"/requests/{CASE}/documents", (200, DOCUMENTS))
    for n, service in enumerate(STREAM_SERVICES):
        stream = {"stream_id": CASE, "events": 2, "head": head_of(n), "verified": verified}
        answer = {"service": service, "case_id": CASE, "streams": [stream]}
        fake.on("GET", service, f"/cases/{CASE}/integrity", (200, answer))


def text_of(content: bytes) -> str:
    pages = PdfReader(io.BytesIO(content)).pages
    return re.sub(r"\s+", " ", "\n".join(p.extract_text() for p in pages))


def reads(fake: FakeServices) -> list[tuple[str, str, httpx.Headers]]:
    """The portal's reads of the case (not the directory's names)."""
    return [(c[1], c[2], c[4]) for c in fake.calls if c[0] == "GET" and "directory" not in c[2]]


@pytest.mark.parametrize("who", [WORKER, IB], ids=["onderwijsondersteuner", "ib"])
async def test_the_case_page_has_the_dossier_and_opp_buttons(
    portal: httpx.AsyncClient, fake: FakeServices, who: dict[str, str]
) -> None:
    whole_case(fake)
    page = (await portal.get(f"/zaken/{CASE}", cookies=cookie(**who))).text
    assert f'href="/zaken/{CASE}/dossier.pdf"' in page and ">Dossier (PDF)</a>" in page
    assert f'href="/zaken/{CASE}/opp.pdf"' in page and ">OPP (PDF)</a>" in page


async def test_a_teacher_sees_no_dossier_button_and_may_not_make_one(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    whole_case(fake)
    page = (await portal.get(f"/zaken/{CASE}/samenwerken", cookies=cookie(**TEACHER))).text
    assert "dossier.pdf" not in page
    refused = await portal.get(f"/zaken/{CASE}/dossier.pdf", cookies=cookie(**TEACHER))
    assert refused.status_code == 403 and "application/pdf" not in refused.headers["content-type"]


async def test_the_worker_downloads_the_dossier_read_and_logged_with_its_purpose(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    whole_case(fake)
    answer = await portal.get(f"/zaken/{CASE}/dossier.pdf", cookies=cookie(**WORKER))
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.headers["content-disposition"] == 'attachment; filename="dossier-3f2c8a4e.pdf"'
    assert answer.headers["cache-control"] == "no-store"
    text = text_of(answer.content)
    for step in ("Aanvraag ingediend", "Startgesprek", "Sessie van 1,5 uur", "Besluit van Team NO"):
        assert step in text, step
    assert "Anouk Jansen" in text and "ow-anouk" not in text
    made = reads(fake)
    assert {(s, p) for s, p, _ in made} == {
        ("intake", f"/requests/{CASE}"),
        ("intake", f"/requests/{CASE}/documents"),
        ("assignment", f"/cases/{CASE}"),
        ("trajectory", f"/cases/{CASE}/trajectory"),
        *((s, f"/cases/{CASE}/integrity") for s in STREAM_SERVICES),
    }
    # Each read is one the services log (NEN 7513), with the dossier as its reason.
    for _, _, headers in made:
        assert headers["X-Purpose"] == "dossier (PDF)"
        assert headers["Authorization"] == "Bearer token-of-ow-anouk"


async def test_after_erasure_no_dossier_is_made_and_the_page_says_why(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    whole_case(fake)
    fake.on("GET", "intake", f"/requests/{CASE}", (200, ERASED_REQUEST))
    page = await portal.get(f"/zaken/{CASE}", cookies=cookie(**WORKER))
    assert "dossier.pdf" not in page.text
    assert "de gegevens van de leerling zijn gewist" in page.text
    fake.calls.clear()
    answer = await portal.get(f"/zaken/{CASE}/dossier.pdf", cookies=cookie(**WORKER))
    assert answer.status_code == 410
    assert answer.headers["content-type"].startswith("text/html")
    assert "Van deze casus kan geen dossier meer worden gemaakt" in answer.text
    assert "de gegevens van de leerling zijn gewist" in answer.text
    assert f'href="/zaken/{CASE}"' in answer.text
    # Nothing else of the case is read once intake says the pupil is erased.
    assert [(s, p) for s, p, _ in reads(fake)] == [("intake", f"/requests/{CASE}")]
    opp = await portal.get(f"/zaken/{CASE}/opp.pdf", cookies=cookie(**WORKER))
    assert opp.status_code == 410 and "gewist" in opp.text


async def test_a_case_out_of_reach_answers_as_unknown(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    answer = await portal.get(f"/zaken/{CASE}/dossier.pdf", cookies=cookie(**IB))
    assert answer.status_code == 404
    assert "Deze casus is niet gevonden, of u heeft er geen toegang toe." in answer.text
    short = await portal.get("/zaken/3f2c8a4e/dossier.pdf", cookies=cookie(**IB))
    assert short.status_code == 404


async def test_team_no_makes_the_dossier_of_a_case_escalated_to_it(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    """R: Team NO files the case it decided on, from its own case page."""
    whole_case(fake)
    answer = await portal.get(f"/zaken/{CASE}/dossier.pdf", cookies=cookie(**TEAM_NO))
    assert answer.status_code == 200
    text = text_of(answer.content)
    assert "Overbruggingsbegeleiding van acht weken" in text
    # Minimised as on Team NO's pages: the situation, not the pupil's name or birth date.
    assert "Noor Visser" not in text and "12 mei 2017" not in text
    assert "naam en geboortedatum staan niet in het dossier van Team NO" in text
    opp = await portal.get(f"/zaken/{CASE}/opp.pdf", cookies=cookie(**TEAM_NO))
    assert "Noor Visser" not in text_of(opp.content)
    page = await portal.get(f"/team-no/zaken/{CASE}", cookies=cookie(**TEAM_NO))
    assert f'href="/zaken/{CASE}/dossier.pdf"' in page.text


@pytest.mark.parametrize("who", [WORKER, IB, TEAM_NO], ids=["ow", "ib", "team-no"])
async def test_every_reader_s_dossier_names_each_stream_s_last_hash(
    portal: httpx.AsyncClient, fake: FakeServices, who: dict[str, str]
) -> None:
    """Issue 21: each service answers every reader of the case its streams' heads (the
    number of events, the last event's hash and its check of the stream's chain): the
    dossier names them and says in Dutch what they mean, whoever makes it."""
    whole_case(fake)
    answer = await portal.get(f"/zaken/{CASE}/dossier.pdf", cookies=cookie(**who))
    assert answer.status_code == 200
    text = text_of(answer.content)
    checked = "2 gebeurtenissen (keten van de casus gecontroleerd: in orde)"
    assert f"Toewijzing: {checked}" in text
    assert f"Aanvragen en toestemming: {checked}" in text
    for n in range(len(STREAM_SERVICES)):
        assert head_of(n) in text.replace(" ", "")
    assert "de auditor van het samenwerkingsverband vragen de codes na te gaan" in text
    integrity = [h for _, p, h in reads(fake) if p.endswith("/integrity")]
    assert len(integrity) == len(STREAM_SERVICES)
    assert {h["X-Purpose"] for h in integrity} == {"dossier (PDF)"}


async def test_the_auditor_s_dossier_names_each_stream_s_last_hash(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    """The auditor reads the same heads; every read names the auditor's reason."""
    whole_case(fake)
    answer = await portal.get(
        f"/zaken/{CASE}/dossier.pdf?doel=klacht%20van%20de%20ouders", cookies=cookie(**AUDITOR)
    )
    assert answer.status_code == 200
    text = text_of(answer.content)
    assert "Toewijzing: 2 gebeurtenissen (keten van de casus gecontroleerd: in orde)" in text
    assert head_of(1) in text.replace(" ", "")
    made = reads(fake)
    assert sum(p.endswith("/integrity") for _, p, _ in made) == len(STREAM_SERVICES)
    assert {h["X-Purpose"] for _, _, h in made} == {"dossier (PDF): klacht van de ouders"}


async def test_a_broken_chain_is_named_and_the_reader_sent_to_the_auditor(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    whole_case(fake, verified=False)
    answer = await portal.get(f"/zaken/{CASE}/dossier.pdf", cookies=cookie(**WORKER))
    text = text_of(answer.content)
    assert "Trajecten: 2 gebeurtenissen (keten van de casus gecontroleerd: NIET in orde)" in text
    assert "Een keten is niet in orde: meld dit aan de auditor" in text


async def test_without_integrity_answers_the_dossier_counts_the_events(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    """A service that does not answer the heads (away, or refusing the role) is left out;
    when none answers, the dossier counts the events its reads showed."""
    case_answers(fake, whole_trajectory())
    fake.on("GET", "intake", f"/requests/{CASE}/documents", (200, DOCUMENTS))
    answer = await portal.get(f"/zaken/{CASE}/dossier.pdf", cookies=cookie(**WORKER))
    assert answer.status_code == 200
    text = text_of(answer.content)
    assert "De controlecodes konden nu niet worden gelezen" in text
    assert "Laatste controlecode" not in text


async def test_s_the_opp_form_sends_its_parts_and_the_opp_pdf_downloads(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    case_answers(fake)
    page = (await portal.get(f"/zaken/{CASE}", cookies=cookie(**IB))).text
    for label in ("Beginsituatie", "Uitstroomperspectief", "Ontwikkelingsdoelen", "Doel 1"):
        assert label in page, label
    assert "Ondersteuning en aanpassingen" in page
    fake.on("POST", "trajectory", f"/cases/{CASE}/opp", (200, {"version": 8}))
    fields = {
        "drawn_up_on": "2026-10-01",
        "starting_point": OPP["starting_point"],
        "expected_outflow": OPP["expected_outflow"],
        "goals.0": OPP["goals"][0],
        "goals.1": "",
        "goals.2": OPP["goals"][1],
        "support": OPP["support"],
        "key": "k-opp",
    }
    await post_step(portal, IB, "opp", **fields)
    assert sent(fake, "trajectory", f"/cases/{CASE}/opp")[3] == {
        "drawn_up_on": "2026-10-01",
        "starting_point": OPP["starting_point"],
        "expected_outflow": OPP["expected_outflow"],
        "goals": OPP["goals"],
        "support": OPP["support"],
    }
    case_answers(fake, whole_trajectory())
    page = (await portal.get(f"/zaken/{CASE}", cookies=cookie(**IB))).text
    parts = re.search(
        r'<dl class="gegevens breed" data-testid="opp-onderdelen">(.*?)</dl>', page, re.S
    )
    assert parts is not None, "the OPP's parts are on the page"
    for shown in ("Beginsituatie", "Uitstroomperspectief", OPP["goals"][1], OPP["support"]):
        assert shown in parts.group(1), shown
    assert f'value="{OPP["expected_outflow"]}"' in page, "a new OPP starts from the current one"
    answer = await portal.get(f"/zaken/{CASE}/opp.pdf", cookies=cookie(**IB))
    assert answer.status_code == 200
    assert answer.headers["content-disposition"] == 'attachment; filename="opp-3f2c8a4e.pdf"'
    text = text_of(answer.content)
    assert "Uitstroomperspectief" in text and OPP["expected_outflow"] in text
    assert "Leesdoel deels gehaald, OPP bijgesteld." in text


async def test_s_without_an_opp_there_is_no_opp_pdf(
    portal: httpx.AsyncClient, fake: FakeServices
) -> None:
    case_answers(fake)
    page = (await portal.get(f"/zaken/{CASE}", cookies=cookie(**WORKER))).text
    assert "opp.pdf" not in page
    answer = await portal.get(f"/zaken/{CASE}/opp.pdf", cookies=cookie(**WORKER))
    assert answer.status_code == 404
    assert "Bij deze casus is geen OPP vastgelegd." in answer.text
