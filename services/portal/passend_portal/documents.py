"""Documents of a case in the portal: attaching one, the list, and every refusal in Dutch."""

from __future__ import annotations

from typing import Any

from passend_portal.clients import ServiceDown, ServiceError, Services
from passend_portal.messages import STATUS_NL, Problem, explain, field_name
from passend_portal.session import Session
from passend_portal.web import Form

FILE = "document.file"
KIND = "document.kind"
DESCRIPTION = "document.description"
STEP = "document.step"
KEY = "document.idempotency_key"
# Who attaches on the case page (Team NO on its own page), and who opens a document: every
# role that reads cases; intake decides per case and per kind (W22).
ATTACHERS = ("ib", "support_worker", "education_specialist")
READERS = (
    "ib",
    "teacher",
    "support_worker",
    "education_specialist",
    "route_coach",
    "coordinator",
    "team_no_member",
    "auditor",
)
# The largest file intake takes (passend_intake.document_checks.MAX_BYTES).
MAX_BYTES = 20 * 1024 * 1024

TOO_LARGE = (
    "Het bestand is groter dan 20 MB. Verklein het (bijvoorbeeld door het als PDF met een "
    "lagere kwaliteit op te slaan) of splits het, en voeg het opnieuw toe."
)
UNSUPPORTED = (
    "Dit soort bestand kan niet worden toegevoegd. Kies een PDF, een Word-bestand (DOCX), "
    "een OpenDocument-tekst (ODT) of een foto of scan (JPEG of PNG). Het gaat om wat er in "
    "het bestand zit, niet om de naam: een hernoemd bestand wordt ook geweigerd."
)
PDF_ENCRYPTED = (
    "Deze PDF is beveiligd met een wachtwoord. Sla hem op zonder beveiliging (of druk hem "
    "af als nieuwe PDF) en voeg hem opnieuw toe."
)
PDF_DAMAGED = (
    "Deze PDF is beschadigd en kan niet worden geopend. Maak of exporteer hem opnieuw en "
    "voeg hem dan toe."
)
EMPTY = "Het bestand is leeg. Kies het bestand opnieuw."
NO_FILE = "Kies een bestand om toe te voegen."
ERASED = (
    "De leerling is gewist: de documenten bij deze aanvraag kunnen niet meer worden geopend "
    "en er kunnen geen documenten meer bij."
)
WITHDRAWN = "De aanvraag is ingetrokken: er kunnen geen documenten meer bij."
NOT_ALLOWED = "U mag bij deze casus geen documenten toevoegen of verwijderen."
NO_TRAJECTORY = (
    "De casus is nog niet opgepakt: een document bij een stap van het traject kan pas "
    "worden toegevoegd als het traject loopt. Kies 'Geen bepaalde stap'."
)
FIELDS_NL = {
    KIND: "Kies wat voor document het is.",
    DESCRIPTION: "Beschrijf het document in een paar woorden (hoogstens 300 tekens).",
    FILE: NO_FILE,
    STEP: "Kies een stap van het traject, of 'Geen bepaalde stap'.",
}
# What the school reads for each of intake's bad-file answers (by the words intake uses).
_PDF_WORDS = (("wachtwoord", PDF_ENCRYPTED), ("beschadigd", PDF_DAMAGED), ("leeg", EMPTY))


# A document refused after its request was submitted: the case page says why (``?bijlage=``).
AFTER_SUBMISSION = {
    "te-groot": TOO_LARGE,
    "soort": UNSUPPORTED,
    "beveiligd": PDF_ENCRYPTED,
    "beschadigd": PDF_DAMAGED,
    "leeg": EMPTY,
}
NOT_ATTACHED = "Het document is niet toegevoegd."


def code_of(problem: Problem) -> str:
    """The ``?bijlage=`` code of a refused document (``mislukt`` for any other reason)."""
    return next((c for c, text in AFTER_SUBMISSION.items() if text == problem.general), "mislukt")


def after_submission(code: str | None) -> str | None:
    """What the case page says about a document that came with the request but was refused."""
    if not code:
        return None
    reason = AFTER_SUBMISSION.get(code, "")
    return (
        f"De aanvraag is ingediend, maar het document is niet toegevoegd. {reason} "
        "Voeg het hieronder opnieuw toe."
    ).replace("  ", " ")


def problem_of(exc: ServiceError | ServiceDown) -> Problem:
    """A refused document as a Dutch :class:`Problem`, next to the file field where it
    concerns the file."""
    if isinstance(exc, ServiceDown):
        return Problem(general=exc.message)
    said = exc.detail.get("message", "") if isinstance(exc.detail, dict) else ""
    technical = explain(exc).technical
    if exc.status == 413:
        return _at_file(TOO_LARGE, technical)
    if exc.status == 415:
        return _at_file(UNSUPPORTED, technical)
    if exc.status == 410:
        return Problem(general=ERASED, technical=technical)
    if (
        exc.status == 422
        and isinstance(exc.detail, dict)
        and exc.detail.get("field")
        in (
            "kind",
            "description",
            "step",
        )
    ):
        name = f"document.{exc.detail['field']}"
        return Problem(general=FIELDS_NL[name], fields={name: FIELDS_NL[name]}, technical=technical)
    if exc.status == 422 and isinstance(exc.detail, dict):
        text = next((nl for words, nl in _PDF_WORDS if words in said), None)
        return _at_file(text or STATUS_NL[422], technical)
    if exc.status == 422 and isinstance(exc.detail, list):
        problem = Problem(technical=technical)
        for error in exc.detail:
            name = "document." + field_name(list(error.get("loc", [])))
            problem.fields.setdefault(name, FIELDS_NL.get(name, "Controleer dit veld."))
        problem.general = "Niet alle gegevens van het document zijn goed ingevuld."
        return problem
    if exc.status == 409 and isinstance(exc.detail, dict) and "withdrawn" in said:
        return Problem(general=WITHDRAWN, technical=technical)
    if exc.status == 409 and isinstance(exc.detail, dict) and "trajectory" in said:
        return Problem(general=NO_TRAJECTORY, fields={STEP: NO_TRAJECTORY}, technical=technical)
    if exc.status == 403:
        return Problem(general=NOT_ALLOWED, technical=technical)
    return explain(exc)


def _at_file(text: str, technical: str | None) -> Problem:
    return Problem(general=text, fields={FILE: text}, technical=technical)


def has_file(form: Form) -> bool:
    return FILE in form.files


async def attach(services: Services, session: Session, case_id: str, form: Form) -> Any:
    """Send the form's document to intake; :class:`ServiceError` when it is refused (a
    missing file is refused here, with the same answer)."""
    upload = form.files.get(FILE)
    if upload is None:
        raise ServiceError("intake", 422, [{"loc": ["body", "file"], "type": "missing"}])
    # One byte more than allowed is enough to be refused: the rest is not read.
    content = await upload.read(MAX_BYTES + 1)
    if len(content) > MAX_BYTES:
        raise ServiceError("intake", 413, {"message": "larger than 20 MB"})
    fields = {"kind": form.get(KIND), "description": form.get(DESCRIPTION)}
    if form.get(STEP):
        fields["step"] = form.get(STEP)
    return await services.upload(
        "intake",
        f"/requests/{case_id}/documents",
        token=session.token,
        data=fields,
        files={"file": (upload.filename or "document", content, "application/octet-stream")},
        idempotency_key=form.get(KEY) or None,
    )


async def of_case(
    services: Services, session: Session, case_id: str
) -> list[dict[str, Any]] | None:
    """The case's documents the reader may see; None when intake does not answer."""
    try:
        found = await services.get("intake", f"/requests/{case_id}/documents", token=session.token)
    except (ServiceError, ServiceDown):
        return None
    return list(found or [])
