"""Readable Dutch descriptions of every event type, for auditors (one template per type)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from passend_contracts.registry import EVENT_TYPES

# ``{field}`` is filled from the event's data; a field that is missing or empty shows as "?".
# Keyed by the event type without its version suffix, so a v2 keeps the v1 wording until
# it gets its own.
TEMPLATES: dict[str, str] = {
    # intake
    "nl.passend.intake.RequestSubmitted": (
        "Hulpvraag ingediend door IB {ib_id} van school {school_id} voor leerling "
        "{pupil_ref}, gericht aan ondersteuner {addressed_worker_id}"
    ),
    "nl.passend.intake.RequestReformulated": "Hulpvraag geherformuleerd: {reason}",
    "nl.passend.intake.RequestWithdrawn": "Hulpvraag ingetrokken door {withdrawn_by}: {reason}",
    "nl.passend.intake.ConsentRequested": (
        "Toestemming gevraagd aan ouders ({method}) door {requested_by}"
    ),
    "nl.passend.intake.ConsentConfirmed": "Toestemming gegeven door {confirmed_by} ({method})",
    "nl.passend.intake.ConsentRefused": "Toestemming geweigerd door {refused_by} ({method})",
    "nl.passend.intake.ConsentWithdrawn": (
        "Toestemming ingetrokken door {withdrawn_by}, vastgelegd door {recorded_by}"
    ),
    "nl.passend.intake.PupilHeard": "Leerling gehoord door {heard_by} (mening: {view})",
    "nl.passend.intake.ParentContactCorrected": (
        "Contactgegevens van ouder {parent_ref} gecorrigeerd door {corrected_by}"
    ),
    "nl.passend.intake.PupilErased": (
        "Gegevens van leerling {pupil_ref} gewist door {erased_by} (reden: {reason}); "
        "de sleutel is vernietigd"
    ),
    "nl.passend.intake.CaseErased": (
        "Leerlinggegevens van deze casus gewist door {erased_by}; gevraagd door: {requested_by}"
    ),
    "nl.passend.intake.ErasureRequested": (
        "Verzoek tot wissing van leerling {pupil_ref} toegekend door {decided_by} "
        "(gevraagd door: {requested_by}; grond: {grounds})"
    ),
    "nl.passend.intake.ErasureConfirmed": (
        "Wissing bevestigd door tweede functionaris {confirmed_by}"
    ),
    "nl.passend.intake.ErasureRejected": "Wissing niet bevestigd door {rejected_by}: {reason}",
    "nl.passend.intake.DocumentAttached": (
        "Document toegevoegd door {attached_by} {stage}, bij {step} (soort: {kind}, {size} bytes)"
    ),
    "nl.passend.intake.DocumentRemoved": "Document verwijderd door {removed_by} ({reason})",
    # assignment
    "nl.passend.assignment.SwvConfigured": "Samenwerkingsverband ingericht: {name}",
    "nl.passend.assignment.WorkUnitDefined": (
        "Werkeenheid {work_unit_id} vastgelegd met coördinator {coordinator_id}"
    ),
    "nl.passend.assignment.SupportWorkerProfiled": (
        "Profiel van ondersteuner {worker_id} vastgelegd (werkeenheid {work_unit_id})"
    ),
    "nl.passend.assignment.PersonRegistered": (
        "{display_name} ({person_id}) in de lijst van medewerkers"
    ),
    "nl.passend.assignment.PersonDeactivated": "{person_id} uit de lijst van medewerkers: {reason}",
    "nl.passend.assignment.SchoolRegistered": "School {school_id} ingeschreven: {name}",
    "nl.passend.assignment.SchoolHolidaysConfigured": "Schoolvakanties regio {region} ingesteld",
    "nl.passend.assignment.TeamNoRegionConfigured": (
        "Team NO-regio {region} ({name}) ingesteld: gemeenten {municipalities}"
    ),
    "nl.passend.assignment.RequestRouted": (
        "Hulpvraag doorgezet naar ondersteuner {receiving_worker_id}; eerste contact uiterlijk "
        "{contact_due_on}"
    ),
    "nl.passend.assignment.SpecialistRequired": (
        "Onderwijsspecialist {specialist_id} vereist: {reason}"
    ),
    "nl.passend.assignment.CaseOfferedToWorkUnit": (
        "Casus aangeboden aan werkeenheid {work_unit_id} door {offered_by}"
    ),
    "nl.passend.assignment.CaseClaimed": "Casus opgepakt door ondersteuner {worker_id}",
    "nl.passend.assignment.FirstContactRecorded": (
        "Eerste contact met IB {ib_id} door {worker_id} op {contacted_at} "
        "(binnen termijn: {within_deadline})"
    ),
    "nl.passend.assignment.ContactDeadlineApproaching": (
        "Termijn eerste contact nadert (uiterlijk {due_at}); herinnering aan "
        "{responsible_worker_id}"
    ),
    "nl.passend.assignment.ContactDeadlineMissed": (
        "Termijn eerste contact verstreken ({due_at}); gemeld aan coördinator {coordinator_id}"
    ),
    "nl.passend.assignment.CaseWithdrawn": (
        "Casus uit inbox en wachtrij gehaald: de school trok de hulpvraag in ({withdrawn_by})"
    ),
    "nl.passend.assignment.RouteCoachCalledIn": (
        "Trajectbegeleider {route_coach_id} ingeschakeld door {called_by}: {reason}"
    ),
    # trajectory
    "nl.passend.trajectory.TrajectoryOpened": "Traject geopend voor ondersteuner {worker_id}",
    "nl.passend.trajectory.EvaluationRecorded": (
        "Evaluatie vastgelegd door {evaluated_by}: uitkomst {outcome}"
    ),
    "nl.passend.trajectory.EscalatedToTeamNO": (
        "Opgeschaald naar Team NO (regio {region}) door {escalated_by}"
    ),
    "nl.passend.trajectory.ConsentNoted": "Stand van de toestemming genoteerd: {status}",
    "nl.passend.trajectory.ComplexityNoted": "Complexe casus genoteerd (bron: {source})",
    "nl.passend.trajectory.StartConversationRecorded": (
        "Startgesprek vastgelegd door {recorded_by} (gehouden op {held_on})"
    ),
    "nl.passend.trajectory.SpecialistAnalysisRecorded": (
        "Analyse van onderwijsspecialist {specialist_id} vastgelegd"
    ),
    "nl.passend.trajectory.PlanRecorded": (
        "Plan van aanpak vastgelegd door {recorded_by} (versie {revision})"
    ),
    "nl.passend.trajectory.SupportStarted": "Ondersteuning gestart door {started_by}",
    "nl.passend.trajectory.TrajectoryPaused": "Traject gepauzeerd ({rule}): {reason}",
    "nl.passend.trajectory.TrajectoryWithdrawn": (
        "Traject beëindigd: de hulpvraag is ingetrokken door {withdrawn_by} ({reason})"
    ),
    "nl.passend.trajectory.PupilGroupNoted": "Groep van de leerling vastgelegd: {group}",
    "nl.passend.trajectory.MeasureTried": (
        "Maatregel in de klas uitgeprobeerd door {recorded_by} ({group}): {description}"
    ),
    "nl.passend.trajectory.ReflectionRecorded": (
        "Reflectie van leerkracht {recorded_by} met ondersteuner {worker_id} vastgelegd"
    ),
    "nl.passend.trajectory.AdviserInvited": (
        "Adviseur {adviser_id} uitgenodigd door {invited_by} voor {meeting_on}: {goal}"
    ),
    "nl.passend.trajectory.TrajectoryResumed": "Traject hervat: {reason}",
    "nl.passend.trajectory.SessionRecorded": (
        "Sessie van {worker_id} op {held_on} vastgelegd ({hours} uur)"
    ),
    "nl.passend.trajectory.SignalRaised": (
        "Signaal over {about} afgegeven door {raised_by} aan {addressed_to}"
    ),
    "nl.passend.trajectory.SignalAcknowledged": "Signaal beantwoord door {acknowledged_by}",
    "nl.passend.trajectory.CareLevelChanged": (
        "Zorgniveau gewijzigd van {from_level} naar {to_level}: {reason}"
    ),
    "nl.passend.trajectory.OppRecorded": "OPP vastgelegd door {recorded_by}",
    "nl.passend.trajectory.OppEvaluated": "OPP geëvalueerd door {recorded_by}",
    "nl.passend.trajectory.YouthCareNoted": (
        "Jeugdhulp genoteerd (wijkteam {wijkteam_worker_id}) door {noted_by}"
    ),
    "nl.passend.trajectory.CaseDirectorChanged": "Casusregie naar {person_id} ({role})",
    "nl.passend.trajectory.TeamNODecisionRecorded": (
        "Besluit Team NO vastgelegd door {decided_by}: {decision}"
    ),
    "nl.passend.trajectory.TrajectoryClosed": "Traject afgesloten door {closed_by}",
    "nl.passend.trajectory.EvaluationReminded": (
        "Herinnering evaluatie ({kind}) aan {worker_id}; uiterlijk {due_on}"
    ),
    # notifications
    "nl.passend.notifications.NotificationScheduled": (
        "Bericht '{template}' ingepland voor {recipient} via {channel}"
    ),
    "nl.passend.notifications.NotificationSent": (
        "Bericht verzonden aan {recipient} via {channel} (poging {attempt})"
    ),
    "nl.passend.notifications.NotificationFailed": (
        "Verzenden via {channel} mislukt (poging {attempt}): {reason}"
    ),
    "nl.passend.notifications.NotificationCancelled": (
        "Bericht niet verstuurd, want niet meer nodig ({reason_code})"
    ),
    "nl.passend.notifications.NotificationParked": (
        "Bericht geparkeerd na {attempts} pogingen: {reason}"
    ),
    "nl.passend.notifications.NotificationReplayed": (
        "Bericht opnieuw aangeboden op verzoek van {requested_by}"
    ),
}


# Where an empty field would make the sentence wrong ("van ? naar 2"): the sentence said
# instead, per event type and field, checked in this order.
WHEN_EMPTY: dict[str, list[tuple[str, str]]] = {
    "nl.passend.trajectory.CareLevelChanged": [
        ("from_level", "Zorgniveau vastgesteld op {to_level}: {reason}"),
    ],
    "nl.passend.trajectory.CaseDirectorChanged": [
        ("person_id", "Casusregie naar {role}"),
    ],
    "nl.passend.trajectory.EvaluationRecorded": [
        ("evaluated_by", "Evaluatie vastgelegd: uitkomst {outcome}"),
    ],
    "nl.passend.intake.DocumentAttached": [
        ("stage", "Document toegevoegd door {attached_by} (soort: {kind}, {size} bytes)"),
        ("step", "Document toegevoegd door {attached_by} {stage} (soort: {kind}, {size} bytes)"),
    ],
}

_CONSENT_METHODS = {
    "personal_link": "via de persoonlijke link",
    "start_conversation": "in het startgesprek",
    "support_team_meeting": "in het ondersteuningsteamoverleg",
}
_RECIPIENT_ROLES = {
    "parents": "ouder",
    "ib": "IB",
    "teacher": "leerkracht",
    "support_worker": "onderwijsondersteuner",
    "coordinator": "coördinator",
    "education_specialist": "onderwijsspecialist",
    "team_no": "Team NO",
    "route_coach": "routebegeleider",
    "webhook": "gekoppeld systeem",
}
# A message for the case's IB, teacher or parents before notifications knew who they are.
CASE_PLACEHOLDERS = {
    "ib": "de IB van de leerling",
    "teacher": "de leerkracht van de leerling",
    "parents": "de ouders van de leerling",
}
_CHANNELS = {"email": "e-mail", "webhook": "koppeling"}
# The contracts' codes are English; the auditor reads Dutch: the words of each code a
# template shows, per event type and field.
WORDS: dict[tuple[str, str], Mapping[str, str]] = {
    ("nl.passend.intake.ConsentRequested", "method"): _CONSENT_METHODS,
    ("nl.passend.intake.ConsentConfirmed", "method"): _CONSENT_METHODS,
    ("nl.passend.intake.ConsentRefused", "method"): _CONSENT_METHODS,
    ("nl.passend.intake.PupilHeard", "view"): {
        "agrees": "eens",
        "disagrees": "oneens",
        "no_view": "geen mening",
    },
    ("nl.passend.intake.PupilErased", "reason"): {
        "request": "op verzoek",
        "retention": "bewaartermijn verstreken",
    },
    ("nl.passend.intake.DocumentAttached", "kind"): {
        "groeidocument": "groeidocument",
        "opp": "OPP",
        "test_result": "toetsuitslag",
        "report": "verslag",
        "consent_form": "getekende toestemming",
        "minutes": "gespreksverslag",
        "other": "ander document",
    },
    ("nl.passend.intake.DocumentAttached", "stage"): {
        "request": "bij de aanvraag",
        "trajectory": "tijdens het traject",
    },
    ("nl.passend.intake.DocumentAttached", "step"): {
        "start_conversation": "het startgesprek",
        "session": "een sessie",
        "evaluation": "een evaluatie",
        "escalation": "de aanmelding bij Team NO",
    },
    ("nl.passend.intake.DocumentRemoved", "reason"): {
        "wrong_case": "bij de verkeerde casus",
        "replaced": "vervangen",
        "not_needed": "niet nodig",
        "other": "andere reden",
    },
    ("nl.passend.trajectory.EvaluationRecorded", "outcome"): {
        "continue": "doorgaan met het plan",
        "revise_plan": "plan bijstellen",
        "change_care_level": "zorgniveau wijzigen",
        "escalate": "aanmelden bij Team NO",
        "close": "afsluiten",
    },
    ("nl.passend.trajectory.ConsentNoted", "status"): {
        "confirmed": "gegeven",
        "refused": "geweigerd",
        "withdrawn": "ingetrokken",
    },
    ("nl.passend.trajectory.SignalRaised", "addressed_to"): {
        "ib": "de IB",
        "teacher": "de leerkracht",
    },
    ("nl.passend.trajectory.SignalRaised", "about"): {
        "teaching_practice": "de aanpak in de klas",
        "school_offer": "het aanbod van de school",
    },
    ("nl.passend.trajectory.CaseDirectorChanged", "role"): {
        "ib": "de IB van de school",
        "education_specialist": "de onderwijsspecialist",
        "wijkteam_worker": "een medewerker van het wijkteam",
    },
    ("nl.passend.trajectory.EvaluationReminded", "kind"): {"plan": "plan", "opp": "OPP"},
    ("nl.passend.notifications.NotificationScheduled", "channel"): _CHANNELS,
    ("nl.passend.notifications.NotificationSent", "channel"): _CHANNELS,
    ("nl.passend.notifications.NotificationFailed", "channel"): _CHANNELS,
}


def recipient(role: object, recipient_id: object) -> str:
    """Who a message is for, in words: ``teacher:<case>`` -> ``de leerkracht van de
    leerling`` (not known by name when it was scheduled); else the role and the id."""
    kind, _, rest = str(recipient_id or "").partition(":")
    if kind in CASE_PLACEHOLDERS and rest:
        return CASE_PLACEHOLDERS[kind]
    said = _RECIPIENT_ROLES.get(str(role or ""), "ontvanger")
    return f"{said} {recipient_id}" if recipient_id else said


class _Fields(dict[str, Any]):
    """Event data for ``format_map``: a missing or empty field shows as ``?``."""

    def __missing__(self, key: str) -> str:
        return "?"


def _shown(value: Any, words: Mapping[str, str] | None = None) -> Any:
    if value is None or value == "" or value == []:
        return "?"
    if isinstance(value, bool):
        return "ja" if value else "nee"
    if isinstance(value, int | float):
        return _dutch_number(value)
    if isinstance(value, list):
        said = [str(_shown(v, words)) for v in value]
        return said[0] if len(said) == 1 else ", ".join(said[:-1]) + " en " + said[-1]
    if words is not None:
        return words.get(str(value), value)
    return value


def _dutch_number(value: float) -> str:
    """48213 -> ``48.213``, 1.5 -> ``1,5``: thousands by a point, decimals by a comma."""
    text = f"{value:,}" if isinstance(value, int) else f"{value:,.2f}".rstrip("0").rstrip(".")
    return text.translate(str.maketrans(",.", ".,"))


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def base_type(event_type: str) -> str:
    """``nl.passend.intake.RequestSubmitted.v1`` -> ``nl.passend.intake.RequestSubmitted``."""
    head, _, version = event_type.rpartition(".")
    return head if version.startswith("v") and version[1:].isdigit() else event_type


def describe(event_type: str, data: Mapping[str, Any]) -> str:
    """A Dutch sentence on what the event records; the contract's ``meaning`` as fallback."""
    kind = base_type(event_type)
    template = TEMPLATES.get(kind)
    if template is not None:
        for field, instead in WHEN_EMPTY.get(kind, []):
            if _empty(data.get(field)):
                template = instead
                break
        fields = _Fields({k: _shown(v, WORDS.get((kind, k))) for k, v in data.items()})
        if "recipient_role" in data or "recipient_id" in data:
            fields["recipient"] = recipient(data.get("recipient_role"), data.get("recipient_id"))
        return template.format_map(fields)
    cls = EVENT_TYPES.get(event_type)
    meaning = getattr(cls, "meaning", None) if cls is not None else None
    return meaning if meaning else f"Gebeurtenis {event_type}"
