"""The case dossier and the OPP as PDF pages, in Dutch, with names instead of ids.

fpdf2 writes the PDF in pure Python. Its built-in Helvetica covers the Windows-1252
characters, which hold every Dutch letter (ë, é, ï, ö, ...) and the typographic quotes and
dashes; a character outside it (typed by someone in a free text) is printed as ``?``
rather than refused, so a dossier is always made.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from fpdf import FPDF, XPos, YPos
from fpdf.fonts import FontFace

from passend_portal import labels, story
from passend_portal.clients import SERVICE_NAMES_NL
from passend_portal.dossier import Dossier, made_line
from passend_portal.names import Lookup

ENCODING = "windows-1252"
FONT = "Helvetica"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clean(text: object) -> str:
    """``text`` as the built-in font can print it."""
    words = _CONTROL.sub(" ", "" if text is None else str(text))
    return words.encode(ENCODING, errors="replace").decode(ENCODING)


class Page(FPDF):
    """An A4 document with a title block, numbered headings and a footer on every page."""

    def __init__(self, title: str, footer: str) -> None:
        super().__init__(format="A4")
        self.core_fonts_encoding = ENCODING
        self.footer_text = footer
        self.set_margins(20, 18, 20)
        self.set_auto_page_break(True, margin=18)
        self.set_title(clean(title))
        self.set_lang("nl-NL")
        self.set_creator("Passend")
        self.alias_nb_pages()
        self.add_page()
        self.section_number = 0

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, size=8)
        self.set_text_color(90)
        self.cell(0, 5, clean(f"{self.footer_text}  ·  pagina {self.page_no()} van {{nb}}"))
        self.set_text_color(0)

    def title_block(self, title: str, lines: Iterable[str]) -> None:
        self.set_font(FONT, "B", 18)
        self.multi_cell(0, 9, clean(title), new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")
        self.ln(1)
        self.set_font(FONT, size=10)
        for line in lines:
            self.multi_cell(0, 5.5, clean(line), new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")
        self.ln(2)

    def heading(self, text: str) -> None:
        """A numbered section heading; a new page when too little room is left under it."""
        if self.will_page_break(30):
            self.add_page()
        self.section_number += 1
        self.ln(3)
        self.set_font(FONT, "B", 13)
        self.multi_cell(
            0,
            7,
            clean(f"{self.section_number}. {text}"),
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
            align="L",
        )
        self.set_draw_color(150)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.ln(2)

    def subheading(self, text: str) -> None:
        if self.will_page_break(20):
            self.add_page()
        self.ln(1)
        self.set_font(FONT, "B", 11)
        self.multi_cell(0, 6, clean(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")

    def para(self, text: str, *, size: float = 10, italic: bool = False) -> None:
        self.set_font(FONT, "I" if italic else "", size)
        self.multi_cell(0, 5, clean(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")
        self.ln(1)

    def field(self, name: str, value: object) -> None:
        """``Name:`` in bold, then the value; nothing for a value that is not there."""
        if value is None or value == "" or value == []:
            return
        self.set_font(FONT, "B", 10)
        self.multi_cell(0, 5, clean(name), new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")
        self.set_font(FONT, size=10)
        self.set_x(self.l_margin + 4)
        self.multi_cell(0, 5, clean(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")
        self.ln(1)

    def bullets(self, items: Iterable[str]) -> None:
        self.set_font(FONT, size=10)
        for item in items:
            self.set_x(self.l_margin + 4)
            self.multi_cell(
                0, 5, clean(f"–  {item}"), new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L"
            )
        self.ln(1)

    def grid(
        self, headings: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[int]
    ) -> None:
        self.set_font(FONT, size=9)
        with self.table(
            col_widths=tuple(widths),
            headings_style=FontFace(emphasis="BOLD"),
            line_height=5,
            text_align="LEFT",
            first_row_as_headings=True,
        ) as table:
            for row in (headings, *rows):
                cells = table.row()
                for value in row:
                    cells.cell(clean(value))
        self.ln(2)


def _day(value: object) -> str:
    return labels.nl_date(value)


def _moment(value: object) -> str:
    return labels.nl_datetime(value)


def _by(lookup: Lookup, person: object, at: object, *, day: bool = False) -> str:
    when = _day(at) if day else _moment(at)
    return f"{when}, door {lookup.person(person)}" if person else when


def _size(value: object) -> str:
    try:
        size = int(str(value))
    except ValueError:
        return "–"
    if size >= 1024 * 1024:
        return f"{labels.number(size / (1024 * 1024), 1)} MB"
    return f"{max(1, -(-size // 1024))} kB"


def _request(p: Page, d: Dossier, lookup: Lookup) -> None:
    r = d.request
    p.heading("De aanvraag")
    p.field("Ingediend", _by(lookup, r.get("ib_id"), r.get("submitted_at")))
    p.field("Gericht aan", lookup.person(r.get("addressed_worker_id")))
    p.field(
        "Om wie of wat het gaat",
        ", ".join(labels.label(labels.LEVELS, x) for x in r.get("levels") or []),
    )
    p.field("Wat de leerling nodig heeft", r.get("educational_need"))
    p.field(
        "Wat de school al heeft geprobeerd (basisondersteuning)", r.get("tried_in_basic_support")
    )
    p.field("Waarom het vastloopt", r.get("why_stuck"))
    if r.get("multiple_problems"):
        p.para("Er spelen meerdere problemen tegelijk.")
    if r.get("specialist_advised"):
        p.para("De school adviseert een onderwijsspecialist.")
    p.field("Stand van de aanvraag", labels.label(labels.REQUEST_STATUS, r.get("status")))
    if r.get("withdrawn_at"):
        p.field(
            "Ingetrokken",
            f"{_moment(r['withdrawn_at'])}. Reden: {r.get('withdrawal_reason') or '–'}",
        )


def _consent(p: Page, d: Dossier, lookup: Lookup) -> None:
    c = d.request.get("consent") or {}
    p.heading("Toestemming van de ouders")
    p.field("Stand", labels.label(labels.CONSENT_STATUS, c.get("status")))
    if c.get("method"):
        p.field("Hoe gevraagd", labels.label(labels.CONSENT_METHODS, c["method"]))
    if c.get("requested_at"):
        p.field("Gevraagd", _by(lookup, c.get("requested_by"), c["requested_at"]))
    if c.get("answered_at"):
        p.field("Beantwoord", _by(lookup, c.get("answered_by"), c["answered_at"]))
    if c.get("withdrawn_at"):
        p.field("Ingetrokken", _moment(c["withdrawn_at"]))
    if c.get("pupil_heard_at"):
        view = labels.label(labels.PUPIL_VIEWS, c.get("pupil_view"))
        p.field("De leerling gehoord", f"{_moment(c['pupil_heard_at'])}: {view.lower()}")
    allowed = "wel" if c.get("individual_support_allowed") else "niet"
    p.para(f"De onderwijsondersteuner mag de leerling nu {allowed} individueel begeleiden.")


def _assignment(p: Page, d: Dossier, lookup: Lookup) -> None:
    a = d.assignment
    p.heading("Toewijzing")
    if not a:
        p.para(
            "De toewijzing staat niet in dit dossier: de casus is nog niet toegewezen, of uw "
            "rol leest de toewijzing niet.",
            italic=True,
        )
        return
    p.field(
        "Onderwijsondersteuner",
        lookup.person(a.get("responsible_worker_id") or a.get("receiving_worker_id")),
    )
    p.field("Werkeenheid", lookup.unit(a.get("work_unit_id")))
    if a.get("need_areas"):
        p.field("Gebieden", lookup.areas(a["need_areas"]))
    if a.get("claimed_at"):
        p.field("Opgepakt", _by(lookup, a.get("claimed_by"), a["claimed_at"]))
    if a.get("first_contact_at"):
        p.field("Eerste contact met de school", _moment(a["first_contact_at"]))
    elif a.get("contact_due_on"):
        p.field("Eerste contact uiterlijk", _day(a["contact_due_on"]))


def _plans(p: Page, t: dict[str, Any], lookup: Lookup) -> None:
    p.heading("Startgesprek en plan")
    talk = t.get("start_conversation")
    if talk:
        p.subheading(f"Startgesprek op {_day(talk.get('held_on'))}")
        p.field("Wie erbij waren", lookup.people(talk.get("participants") or []))
        p.field("De vraag achter de vraag", talk.get("sharpened_question"))
    analysis = t.get("specialist_analysis")
    if analysis:
        p.subheading("Analyse van de onderwijsspecialist")
        p.field(
            _by(lookup, analysis.get("specialist_id"), analysis.get("recorded_at")),
            analysis.get("analysis"),
        )
    plans = t.get("plans") or []
    if not plans:
        p.para("Er is (nog) geen plan vastgelegd.", italic=True)
    for plan in plans:
        revision = int(plan.get("revision") or 1)
        p.subheading("Plan" if revision == 1 else f"Plan, bijgesteld (versie {revision})")
        p.field("Vastgelegd", _by(lookup, plan.get("recorded_by"), plan.get("recorded_at")))
        p.bullets(
            f"Doel: {g.get('description')}. Gemeten met: {g.get('measure')}. "
            f"Uiterlijk: {_day(g.get('target_date'))}."
            for g in plan.get("goals", [])
        )
        p.field(
            "Wie wordt ondersteund",
            ", ".join(labels.label(labels.LEVELS, x) for x in plan.get("supported") or []),
        )
        p.field("Vorm", plan.get("form"))
        p.field("Hoe vaak", plan.get("frequency"))
        if plan.get("duration_weeks"):
            p.field("Duur", f"{plan['duration_weeks']} weken")
        p.field("Met de school", lookup.people(plan.get("school_participants") or []))
        p.field("De ouders geïnformeerd", plan.get("parents_informed"))
        p.field("Zo wordt geëvalueerd", plan.get("evaluation_method"))
        if plan.get("evaluation_dates"):
            p.field("Evaluatiedata", ", ".join(_day(x) for x in plan["evaluation_dates"]))
        p.field("Zo blijft het geborgd", plan.get("securing"))
        p.field("Waarom bijgesteld", plan.get("reason"))


def _sessions(p: Page, t: dict[str, Any], lookup: Lookup) -> None:
    p.heading("Begeleiding en sessies")
    support = t.get("support") or {}
    if support.get("started_at"):
        p.field(
            "Begeleiding gestart", _by(lookup, support.get("started_by"), support["started_at"])
        )
    sessions = t.get("sessions") or []
    if not sessions:
        p.para("Er zijn (nog) geen sessies vastgelegd.", italic=True)
        return
    # W22, W23: the worker's findings are her own notes; the dossier holds when and how long.
    rows = [
        (_day(s.get("held_on")), labels.hours(s.get("hours")), lookup.person(s.get("worker_id")))
        for s in sessions
    ]
    p.grid(("Datum", "Uren", "Onderwijsondersteuner"), rows, (50, 25, 95))
    p.para(f"Samen {labels.hours(t.get('session_hours') or 0)} uur begeleiding.")


def _evaluations(p: Page, t: dict[str, Any], lookup: Lookup) -> None:
    p.heading("Evaluaties")
    evaluations = t.get("evaluations") or []
    if not evaluations:
        p.para("Er is (nog) niet geëvalueerd.", italic=True)
    goals = {
        g.get("goal_id"): g.get("description")
        for pl in t.get("plans", [])
        for g in pl.get("goals", [])
    }
    for e in evaluations:
        p.subheading(f"Evaluatie van {_day(e.get('evaluated_at'))}")
        p.field("Door", lookup.person(e.get("evaluated_by")))
        p.field("Wie erbij waren", lookup.people(e.get("participants") or []))
        p.bullets(
            f"{goals.get(r.get('goal_id'), 'Doel')}: {r.get('result')}"
            for r in e.get("goal_results") or []
        )
        p.field("Uitkomst", labels.label(labels.OUTCOMES, e.get("outcome")))
        if e.get("care_level"):
            p.field("Naar", labels.care_level(e["care_level"]))
        p.field("Toelichting", e.get("reason"))
    due = list(t.get("evaluations_due") or [])
    if due:
        p.field(
            "Volgende evaluaties",
            "; ".join(
                f"{labels.label(labels.EVALUATION_KINDS, x.get('kind'))} uiterlijk "
                f"{_day(x.get('due_on'))}"
                for x in due
            ),
        )


def _care_levels(p: Page, t: dict[str, Any]) -> None:
    p.heading("Zorgniveau")
    p.field("Nu", labels.care_level(t.get("care_level")))
    changes = t.get("care_level_changes") or []
    rows = [
        (
            _day(c.get("changed_at")),
            f"van {c['from_level']} naar {c.get('to_level')}"
            if c.get("from_level")
            else f"vastgesteld op {c.get('to_level')}",
            str(c.get("reason") or "") + (" (verwijzing)" if c.get("referral") else ""),
        )
        for c in changes
    ]
    if rows:
        p.grid(("Datum", "Zorgniveau", "Reden"), rows, (35, 45, 90))


def opp_section(p: Page, t: dict[str, Any], lookup: Lookup, *, numbered: bool = True) -> None:
    """S: the OPP's parts (beginsituatie, uitstroomperspectief, goals, support) and its
    evaluations, twice a school year, as the trajectory recorded them."""
    if numbered:
        p.heading("Ontwikkelingsperspectief (OPP)")
    opp = t.get("opp")
    if not opp:
        p.para("Er is geen OPP vastgelegd.", italic=True)
        return
    p.field("Opgesteld op", _day(opp.get("drawn_up_on")))
    p.field("Vastgelegd", _by(lookup, opp.get("recorded_by"), opp.get("recorded_at")))
    p.field("Beginsituatie", opp.get("starting_point"))
    p.field("Uitstroomperspectief", opp.get("expected_outflow"))
    if opp.get("goals"):
        p.subheading("Ontwikkelingsdoelen")
        p.bullets(str(g) for g in opp["goals"])
    p.field("Ondersteuning en aanpassingen", opp.get("support"))
    if not any(opp.get(k) for k in ("starting_point", "expected_outflow", "goals", "support")):
        p.para(
            "Van dit OPP is alleen de datum vastgelegd; het document zelf is van de school.",
            italic=True,
        )
    p.subheading("Evaluaties van het OPP (twee keer per schooljaar)")
    reviews = t.get("opp_evaluations") or []
    if reviews:
        p.grid(
            ("Datum", "Wat kwam eruit", "Vastgelegd door"),
            [
                (
                    _day(e.get("evaluated_on")),
                    str(e.get("summary") or ""),
                    lookup.person(e.get("recorded_by")),
                )
                for e in reviews
            ],
            (30, 95, 45),
        )
    else:
        p.para("Het OPP is nog niet geëvalueerd.", italic=True)
    due = [x for x in t.get("evaluations_due") or [] if x.get("kind") == "opp"]
    if due:
        p.para(f"De volgende evaluatie van het OPP is uiterlijk {_day(due[0].get('due_on'))}.")


def _team_no(p: Page, t: dict[str, Any], lookup: Lookup) -> None:
    p.heading("Team NO")
    escalations = t.get("escalations") or []
    if not escalations:
        p.para("De casus is niet bij Team NO aangemeld.", italic=True)
    for item in escalations:
        x = item.get("escalated") or {}
        region = str(x.get("region") or "").capitalize()
        p.subheading(f"Aangemeld bij Team NO {region}".rstrip())
        p.field("Aangemeld", _by(lookup, x.get("escalated_by"), x.get("escalated_at")))
        p.field(
            "Waarom de route vastloopt",
            ", ".join(
                labels.label(labels.STAGNATION_REASONS, r).lower() for r in x.get("reasons", [])
            ),
        )
        if x.get("municipality"):
            p.field("Gemeente", labels.label(labels.MUNICIPALITY_NAMES, x["municipality"]))
        p.field("Conceptplan van het ondersteuningsteam", x.get("draft_plan"))
        decision = item.get("decision")
        if decision:
            p.subheading("Besluit van Team NO")
            p.field("Besloten", _by(lookup, decision.get("decided_by"), decision.get("decided_at")))
            p.field("Besluit", decision.get("decision"))
            p.field("Opdracht", decision.get("assignment"))
            p.field("Uitvoering door", decision.get("provider"))
        else:
            p.para("Team NO heeft nog niet besloten.", italic=True)


def _documents(p: Page, d: Dossier, lookup: Lookup) -> None:
    p.heading("Documenten")
    if d.documents is None:
        p.para("De lijst van documenten kon niet worden gelezen.", italic=True)
        return
    if not d.documents:
        p.para("Er zijn geen documenten toegevoegd.", italic=True)
        return
    rows = [
        (
            labels.label(labels.DOCUMENT_KINDS, x.get("kind")),
            str(x.get("description") or ""),
            _size(x.get("size")),
            lookup.person(x.get("attached_by")),
            _day(x.get("attached_at")),
        )
        for x in d.documents
    ]
    p.grid(("Soort", "Beschrijving", "Grootte", "Door", "Op"), rows, (36, 50, 16, 36, 32))
    p.para(
        "De documenten zelf staan versleuteld in Passend en zijn daar te openen door wie de "
        "casus mag lezen; dit dossier noemt ze.",
        size=9,
        italic=True,
    )


def _story(p: Page, d: Dossier, lookup: Lookup) -> None:
    p.heading("Verloop van de casus")
    for step in story.of(d.request, d.assignment, d.trajectory):
        when = _day(step.at) if step.day_only else _moment(step.at)
        # A person's step says who took it; the services' own steps need no name.
        person = step.who and not str(step.who).startswith("service:")
        who = f", door {lookup.person(step.who)}" if person else ""
        whom = f" {lookup.person(step.whom)}" if step.whom else ""
        p.set_font(FONT, "B", 9.5)
        p.multi_cell(
            0,
            5,
            clean(f"{when}: {step.what}{whom}{who}"),
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
            align="L",
        )
        p.set_font(FONT, size=9.5)
        extra = list(step.lines)
        if step.people:
            extra.append(f"Met: {lookup.people(step.people)}")
        for line in extra:
            p.set_x(p.l_margin + 4)
            p.multi_cell(0, 5, clean(line), new_x=XPos.LMARGIN, new_y=YPos.NEXT, align="L")
        p.ln(0.5)


def _integrity(p: Page, d: Dossier) -> None:
    p.heading("Verklaring over de echtheid")
    p.para(
        "Elke stap in Passend is een gebeurtenis die niet meer verandert. Per dienst vormen de "
        "gebeurtenissen van de casus een keten: elke gebeurtenis draagt een controlecode "
        "(SHA-256) die ook de code van de vorige bevat. De code van de laatste gebeurtenis "
        "verzegelt zo de hele keten tot dat moment; wie later een stap zou wijzigen, breekt de "
        "keten."
    )
    hashed = [h for h in d.heads if h.head]
    if hashed:
        for h in hashed:
            name = SERVICE_NAMES_NL.get(h.service, h.service)
            state = {
                True: "keten van de casus gecontroleerd: in orde",
                False: "keten van de casus gecontroleerd: NIET in orde",
                None: "keten van de casus niet gecontroleerd",
            }[h.chain_ok]
            p.field(
                f"{name}: {labels.counted(h.events, 'gebeurtenis', 'gebeurtenissen')} ({state})",
                f"Laatste controlecode: {h.head}",
            )
        p.para(
            "Wat dit betekent: zolang de keten van een dienst bij de laatste controlecode "
            "hierboven uitkomt, is er aan de stappen tot de datum van dit dossier niets "
            "veranderd. Bewaar dit dossier met de codes; wie twijfelt, kan de auditor van het "
            "samenwerkingsverband vragen de codes na te gaan tegen de vastgelegde gebeurtenissen.",
            size=9,
            italic=True,
        )
        if any(h.chain_ok is False for h in hashed):
            p.para(
                "Een keten is niet in orde: meld dit aan de auditor van het "
                "samenwerkingsverband, met dit dossier erbij.",
                size=9,
            )
    else:
        rows = [
            f"{SERVICE_NAMES_NL.get(h.service, h.service)}: "
            f"{labels.counted(h.events, 'gebeurtenis', 'gebeurtenissen')}"
            for h in d.heads
        ]
        p.bullets(rows)
        p.para(
            "De controlecodes konden nu niet worden gelezen. De auditor van het "
            "samenwerkingsverband kan de ketens van de casus altijd nagaan.",
            size=9,
            italic=True,
        )
    p.para(f"Stand van de gegevens: {_moment(d.made_at.isoformat())}.", size=9)


# Team NO decides on the situation, not on who the pupil is: its pages leave the pupil's
# name, birth date and parents out (data minimisation), and so do its PDFs.
MINIMISED_ROLES = frozenset({"team_no_member"})
MINIMISED = "Leerling: naam en geboortedatum staan niet in het dossier van Team NO"


def pupil_line(pupil: dict[str, Any], role: str) -> str:
    """``Leerling: Noor Visser, geboren 12 mei 2017``; for Team NO the pupil unnamed."""
    if role in MINIMISED_ROLES:
        return MINIMISED
    born = f", geboren {_day(pupil['date_of_birth'])}" if pupil.get("date_of_birth") else ""
    return f"Leerling: {pupil.get('name') or '–'}{born}"


def case_dossier(d: Dossier, lookup: Lookup) -> bytes:
    """The dossier of the case as a PDF."""
    r = d.request
    pupil = r.get("pupil") or {}
    t = d.trajectory or {}
    title = f"Dossier casus {d.short}"
    p = Page(title, f"Dossier casus {d.short}, vertrouwelijk")
    lines = [
        pupil_line(pupil, d.made_by_role),
        f"School: {lookup.school(r.get('school_id'))}",
        f"Traject: {labels.label(labels.TRAJECTORY_STATUS, t.get('status') or 'not_opened')}",
        made_line(d, lookup),
    ]
    lines += [f"Niet in dit dossier: de dienst {m} antwoordde niet." for m in d.missing]
    p.title_block(title, lines)
    _request(p, d, lookup)
    _consent(p, d, lookup)
    _assignment(p, d, lookup)
    if t:
        _plans(p, t, lookup)
        _sessions(p, t, lookup)
        _evaluations(p, t, lookup)
        _care_levels(p, t)
        opp_section(p, t, lookup)
        _team_no(p, t, lookup)
    else:
        p.heading("Traject")
        p.para("Er is (nog) geen traject geopend.", italic=True)
    _documents(p, d, lookup)
    _story(p, d, lookup)
    _integrity(p, d)
    return bytes(p.output())


def opp_document(
    case_id: str,
    request: dict[str, Any],
    t: dict[str, Any],
    lookup: Lookup,
    role: str = "",
) -> bytes:
    """The OPP of the case as a PDF of its own (S)."""
    pupil = request.get("pupil") or {}
    short = case_id[:8]
    title = f"Ontwikkelingsperspectief (OPP), casus {short}"
    p = Page(title, f"OPP casus {short}, vertrouwelijk")
    p.title_block(
        "Ontwikkelingsperspectief (OPP)",
        [
            pupil_line(pupil, role),
            f"School: {lookup.school(request.get('school_id'))}",
            f"Casus {short}; zorgniveau nu: {labels.care_level(t.get('care_level'))}",
        ],
    )
    opp_section(p, t, lookup, numbered=False)
    return bytes(p.output())
