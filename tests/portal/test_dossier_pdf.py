"""The case dossier and the OPP as PDFs (issue 21): the text a person reads, in Dutch, with
names and no internal ids (extracted from the PDF as a reader's tool would)."""

from __future__ import annotations

import io
import re
from datetime import datetime
from typing import Any

import pytest
from pypdf import PdfReader

from passend_portal import pdf
from passend_portal.dossier import Dossier, StreamHead, file_name
from passend_portal.labels import AMSTERDAM
from passend_portal.names import Known, Lookup
from tests.portal.fakes import (
    ASSIGNMENT_CASE,
    CASE,
    REQUEST_DETAIL,
    dev_directory,
    dev_names,
    trajectory,
)

PLAN = {
    "revision": 1,
    "recorded_by": "ow-anouk",
    "recorded_at": "2026-09-28T10:00:00Z",
    "goals": [
        {
            "goal_id": "doel-1",
            "description": "Noor leest zelfstandig een tekst van groep 5",
            "measure": "AVI-toets",
            "target_date": "2027-01-29",
        }
    ],
    "supported": ["pupil", "teacher"],
    "form": "begeleiding in de klas",
    "frequency": "wekelijks",
    "duration_weeks": 12,
    "school_participants": ["ib-marieke"],
    "parents_informed": "in een gesprek met de IB",
    "evaluation_method": "gesprek met IB, leerkracht en ouders",
    "evaluation_dates": ["2026-11-09"],
    "securing": "in het groepsplan",
    "reason": None,
}
OPP: dict[str, Any] = {
    "drawn_up_on": "2026-10-01",
    "recorded_by": "ib-marieke",
    "recorded_at": "2026-10-01T09:00:00Z",
    "starting_point": "Leest op AVI E4 in groep 6; creëert rust met een vaste werkplek.",
    "expected_outflow": "Vmbo basisberoepsgerichte leerweg",
    "goals": ["Leest AVI M5 aan het eind van het schooljaar", "Werkt 20 minuten zelfstandig"],
    "support": "Dagelijks tien minuten leesbegeleiding; geïntegreerd in het groepsplan.",
}


def whole_trajectory() -> dict[str, Any]:
    return trajectory(
        status="in_support",
        version=9,
        start_conversation={
            "held_on": "2026-09-21",
            "recorded_by": "ow-anouk",
            "participants": ["ow-anouk", "ib-marieke"],
            "sharpened_question": "Hoe krijgt Noor plezier in lezen?",
        },
        plans=[PLAN],
        current_plan_revision=1,
        support={"started_at": "2026-09-29T08:00:00Z", "started_by": "ow-anouk"},
        sessions=[
            {
                "session_id": "s-1",
                "held_on": "2026-10-06",
                "hours": 1.5,
                "worker_id": "ow-anouk",
                "findings": "Oefende met lezen.",
            },
            {
                "session_id": "s-2",
                "held_on": "2026-10-13",
                "hours": 1.0,
                "worker_id": "ow-anouk",
                "findings": "Las een boek.",
            },
        ],
        session_hours=2.5,
        evaluations=[
            {
                "evaluated_at": "2026-11-09T14:00:00Z",
                "evaluated_by": "ow-anouk",
                "participants": ["ow-anouk", "ib-marieke"],
                "goal_results": [{"goal_id": "doel-1", "result": "deels gehaald"}],
                "outcome": "escalate",
                "reason": "De wachtlijst voor het onderzoek is lang.",
            }
        ],
        care_level=3,
        care_level_changes=[
            {
                "from_level": 2,
                "to_level": 3,
                "changed_at": "2026-10-01T09:00:00Z",
                "reason": "OPP",
                "referral": False,
            }
        ],
        opp=OPP,
        opp_evaluations=[
            {
                "evaluated_on": "2026-11-20",
                "summary": "Leesdoel deels gehaald, OPP bijgesteld.",
                "recorded_by": "ib-marieke",
            }
        ],
        escalations=[
            {
                "escalated": {
                    "escalated_at": "2026-11-09T14:00:00Z",
                    "escalated_by": "ow-anouk",
                    "region": "waterweg",
                    "reasons": ["waiting_list"],
                    "municipality": "GM0622",
                    "draft_plan": "Overbrugging met extra begeleiding.",
                },
                "decision": {
                    "decided_at": "2026-11-16T10:00:00Z",
                    "decided_by": "tno-1",
                    "decision": "Overbruggingsbegeleiding van acht weken",
                    "assignment": "Leesbegeleiding op school",
                    "provider": "Zorgaanbieder De Brug",
                },
            }
        ],
    )


DOCUMENTS = [
    {
        "document_id": "9d4b2c1e-5f7a-4b8e-a1c3-6e2f0d9b7a45",
        "kind": "groeidocument",
        "description": "Groeidocument schooljaar 2026-2027",
        "file_name": "groeidocument-noor.pdf",
        "size": 48213,
        "sha256": "0" * 64,
        "attached_by": "ib-marieke",
        "attached_by_role": "ib",
        "attached_at": "2026-09-14T08:40:00Z",
        "case_id": CASE,
        "media_type": "application/pdf",
        "readable": True,
        "href": f"/requests/{CASE}/documents/9d4b2c1e-5f7a-4b8e-a1c3-6e2f0d9b7a45",
    }
]


def lookup() -> Lookup:
    directory = dev_directory()
    known = Known(
        people={p: (n, 0.0) for p, n in dev_names().items()},
        schools={s["school_id"]: s["name"] for s in directory["schools"]},
        units={u["work_unit_id"]: u["name"] for u in directory["work_units"]},
        directory_at=0.0,
    )
    return Lookup(known, 0.0, complete=True)


def dossier(**changes: Any) -> Dossier:
    made = Dossier(
        case_id=CASE,
        made_by="ow-anouk",
        made_by_role="support_worker",
        made_at=datetime(2026, 12, 5, 10, 12, tzinfo=AMSTERDAM),
        request=REQUEST_DETAIL,
        assignment={**ASSIGNMENT_CASE, "claimed_by": "ow-anouk", "claimed_at": "2026-09-15T09:00Z"},
        trajectory=whole_trajectory(),
        documents=DOCUMENTS,
        heads=[StreamHead("intake", 4), StreamHead("trajectory", 9)],
    )
    for name, value in changes.items():
        setattr(made, name, value)
    return made


def text_of(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


def flat(text: str) -> str:
    """The extracted text with its line breaks as spaces (a long line wraps in the PDF)."""
    return re.sub(r"\s+", " ", text)


def test_the_dossier_tells_the_case_in_dutch_with_names() -> None:
    content = pdf.case_dossier(dossier(), lookup())
    assert content.startswith(b"%PDF-")
    text = flat(text_of(content))
    for heading in (
        "Dossier casus 3f2c8a4e",
        "De aanvraag",
        "Toestemming van de ouders",
        "Toewijzing",
        "Startgesprek en plan",
        "Begeleiding en sessies",
        "Evaluaties",
        "Zorgniveau",
        "Ontwikkelingsperspectief (OPP)",
        "Team NO",
        "Documenten",
        "Verloop van de casus",
        "Verklaring over de echtheid",
    ):
        assert heading in text, heading
    # The steps of the process, in Dutch, in the whole story.
    for step in (
        "Aanvraag ingediend",
        "Doorgestuurd naar de onderwijsondersteuner",
        "Startgesprek",
        "Sessie van 1,5 uur",
        "Evaluatie, uitkomst",
        "Besluit van Team NO",
    ):
        assert step in text, step
    assert "Noor Visser, geboren 12 mei 2017" in text
    assert "Leest traag." in text and "Noor leest zelfstandig een tekst van groep 5" in text
    assert "Overbruggingsbegeleiding van acht weken" in text
    assert "Groeidocument schooljaar 2026-2027" in text and "48 kB" in text
    names = dev_names()
    assert names["ow-anouk"] in text and names["ib-marieke"] in text
    assert "14 september 2026" in text and "Samen 2,5 uur begeleiding" in text


def test_the_dossier_shows_no_internal_ids_and_no_codes() -> None:
    text = text_of(pdf.case_dossier(dossier(), lookup()))
    for internal in (
        CASE,
        "ow-anouk",
        "ib-marieke",
        "tno-1",
        "brin-11aa",
        "wu-vlaardingen",
        "doel-1",
        "leerling-042",
        "9d4b2c1e",
        "groeidocument-noor.pdf",  # a file name often names the child
        "waiting_list",
        "in_support",
        "GM0622",
        "OppRecorded",
        "nl.passend",
    ):
        assert internal not in text, internal
    # W22, W23: a session's findings are the worker's own notes; the dossier says when and
    # how long.
    assert "Oefende met lezen." not in text


def test_dutch_letters_print_and_what_the_font_lacks_is_replaced() -> None:
    """ë, é, ï print as themselves (Windows-1252); a character outside it never stops the
    dossier."""
    request = {**REQUEST_DETAIL, "why_stuck": "Geëvalueerd, één keer; naïef — emoji 🙂 ł"}
    text = text_of(pdf.case_dossier(dossier(request=request), lookup()))
    assert "Geëvalueerd, één keer; naïef — emoji ? ?" in flat(text)
    assert "geïntegreerd in het groepsplan" in flat(text)


@pytest.mark.parametrize("role", ["support_worker", "auditor"])
def test_the_integrity_statement_names_each_stream_s_last_hash(role: str) -> None:
    """Issue 21: every reader's dossier names each stream's last hash and says in Dutch
    what it means and who can check it."""
    heads = [
        StreamHead("intake", 4, "a1" * 32, True),
        StreamHead("trajectory", 9, "b2" * 32, True),
    ]
    text = flat(text_of(pdf.case_dossier(dossier(heads=heads, made_by_role=role), lookup())))
    checked = "(keten van de casus gecontroleerd: in orde)"
    assert f"Aanvragen en toestemming: 4 gebeurtenissen {checked}" in text
    assert f"Trajecten: 9 gebeurtenissen {checked}" in text
    assert "a1" * 32 in text.replace(" ", "") and "b2" * 32 in text.replace(" ", "")
    assert "zolang de keten van een dienst bij de laatste controlecode" in text
    assert "de auditor van het samenwerkingsverband vragen de codes na te gaan" in text
    assert "niet in orde" not in text


def test_a_stream_whose_chain_breaks_is_named() -> None:
    heads = [StreamHead("intake", 4, "a1" * 32, False), StreamHead("trajectory", 9, "b2" * 32)]
    text = flat(text_of(pdf.case_dossier(dossier(heads=heads), lookup())))
    assert (
        "Aanvragen en toestemming: 4 gebeurtenissen (keten van de casus gecontroleerd: NIET" in text
    )
    assert "Trajecten: 9 gebeurtenissen (keten van de casus niet gecontroleerd)" in text
    assert "Een keten is niet in orde: meld dit aan de auditor" in text


def test_the_integrity_statement_without_hashes_counts_the_events() -> None:
    text = flat(text_of(pdf.case_dossier(dossier(), lookup())))
    assert "Aanvragen en toestemming: 4 gebeurtenissen" in text
    assert "Trajecten: 9 gebeurtenissen" in text
    assert "De controlecodes konden nu niet worden gelezen" in text


def test_a_case_without_trajectory_or_documents_says_so() -> None:
    made = dossier(trajectory=None, assignment=None, documents=[], missing=["Trajecten"])
    text = flat(text_of(pdf.case_dossier(made, lookup())))
    assert "Er is (nog) geen traject geopend." in text
    assert "Er zijn geen documenten toegevoegd." in text
    assert "Niet in dit dossier: de dienst Trajecten antwoordde niet." in text


def test_s_the_opp_as_its_own_document() -> None:
    content = pdf.opp_document(CASE, REQUEST_DETAIL, whole_trajectory(), lookup())
    text = flat(text_of(content))
    for part in (
        "Ontwikkelingsperspectief (OPP)",
        "Beginsituatie",
        "Leest op AVI E4 in groep 6; creëert rust met een vaste werkplek.",
        "Uitstroomperspectief",
        "Vmbo basisberoepsgerichte leerweg",
        "Ontwikkelingsdoelen",
        "Leest AVI M5 aan het eind van het schooljaar",
        "Ondersteuning en aanpassingen",
        "Evaluaties van het OPP (twee keer per schooljaar)",
        "Leesdoel deels gehaald, OPP bijgesteld.",
        "1 oktober 2026",
        "20 november 2026",
    ):
        assert part in text, part
    assert "ib-marieke" not in text and dev_names()["ib-marieke"] in text


def test_the_file_names_carry_the_short_number_only() -> None:
    assert file_name(CASE) == "dossier-3f2c8a4e.pdf"
    assert file_name(CASE, "opp") == "opp-3f2c8a4e.pdf"
