"""A pupil's access export (GDPR art. 15): everything held on the pupil, in two forms.

The parts come from the services' own APIs (intake's identity and cases, every service's
events and logged reads of each case); this module puts them together as JSON for a
machine and as one self-contained HTML document a parent can read (Dutch, no external
references, the hash of its content at the end like the audit report).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from html import escape
from typing import Any

import httpx

from passend_backbone.audit.merge import merge
from passend_backbone.audit.report import row

_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;color:#111;max-width:70em}
table{border-collapse:collapse;width:100%;font-size:13px;margin-bottom:1.5em}
th,td{border:1px solid #bbb;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#eee} tr.read td{background:#f7f7e8;font-style:italic}
footer{margin-top:2em;font-size:12px;color:#444}
""".strip()


ACCESS_PURPOSE = "inzageverzoek (AVG art. 15)"
# A document's kind, stage and step in the readable export (the contract's codes).
_DOCUMENT_KINDS = {
    "groeidocument": "groeidocument",
    "opp": "ontwikkelingsperspectief (OPP)",
    "test_result": "toetsuitslag of testresultaat",
    "report": "verslag of rapport van een deskundige",
    "consent_form": "getekende toestemming",
    "minutes": "gespreksverslag",
    "other": "ander document",
}
_DOCUMENT_STAGES = {"request": "bij de aanvraag", "trajectory": "tijdens het traject"}
_DOCUMENT_STEPS = {
    "start_conversation": "startgesprek",
    "session": "sessie",
    "evaluation": "evaluatie",
    "escalation": "aanmelding bij Team NO",
}


async def collect_case_entries(
    http: httpx.AsyncClient,
    urls: Mapping[str, str],
    token: str,
    case_ids: Sequence[str],
    *,
    purpose: str = ACCESS_PURPOSE,
) -> tuple[dict[str, list[dict[str, Any]]], list[str]]:
    """Every service's events and logged reads of each case (``/audit/cases/{id}/events``,
    itself a logged read with ``purpose``), and what could not be had, in Dutch."""
    headers = {"Authorization": f"Bearer {token}"}
    entries: dict[str, list[dict[str, Any]]] = {}
    problems: list[str] = []
    for case_id in case_ids:
        found: list[dict[str, Any]] = []
        for service, base in urls.items():
            try:
                got = await http.get(
                    f"{base.rstrip('/')}/audit/cases/{case_id}/events",
                    params={"purpose": purpose},
                    headers=headers,
                )
            except httpx.HTTPError as exc:
                problems.append(f"{service} antwoordde niet voor casus {case_id[:8]}: {exc!r}")
                continue
            if got.status_code == 404:
                continue  # the service holds nothing of this case
            if got.status_code != 200:
                problems.append(f"{service} gaf casus {case_id[:8]} niet ({got.status_code})")
                continue
            body = got.json()
            found += body.get("events", [])
            found += [{"kind": "read", **r} for r in body.get("reads", [])]
        entries[case_id] = found
    return entries, problems


def access_export(
    pupil: Mapping[str, Any],
    case_entries: Mapping[str, Sequence[Mapping[str, Any]]],
    *,
    generated_at: datetime,
    generated_by: str,
    problems: Sequence[str] = (),
) -> dict[str, Any]:
    """The machine-readable export: the pupil as intake holds it, and per case every
    service's events and logged reads in causal order, and the case's documents (what,
    when, by whom, size and hash; never what they say)."""
    cases = []
    documents = pupil.get("documents", [])
    for case in pupil.get("cases", []):
        case_id = str(case["case_id"])
        entries = [dict(e) for e in merge(case_entries.get(case_id, []))]
        held = [dict(d) for d in documents if str(d.get("case_id")) == case_id]
        cases.append({**case, "entries": entries, "documents": held})
    return {
        "pupil_ref": pupil["pupil_ref"],
        # The school's own reference while intake still knows it (issue 20).
        "school_pupil_ref": pupil.get("school_pupil_ref"),
        "generated_at": generated_at.astimezone(UTC).isoformat(),
        "generated_by": generated_by,
        "erased": pupil.get("erased", False),
        "identity": pupil.get("identity"),
        "pupil_events": pupil.get("pupil_events", []),
        "cases": cases,
        "incomplete": list(problems),
    }


def _documents_html(documents: Sequence[Mapping[str, Any]]) -> str:
    """The case's documents as a table: what each is and proves, never what it says."""
    if not documents:
        return "<h3>Documenten</h3><p>Er zijn geen documenten bij deze casus.</p>"
    head = "".join(
        f"<th>{c}</th>"
        for c in ("Soort", "Wanneer in de casus", "Toegevoegd", "Door", "Grootte", "SHA-256")
    )
    rows = []
    for d in documents:
        kind = _DOCUMENT_KINDS.get(str(d.get("kind")), str(d.get("kind")))
        when = _DOCUMENT_STAGES.get(str(d.get("stage")), str(d.get("stage") or ""))
        if d.get("step"):
            when += f" ({_DOCUMENT_STEPS.get(str(d['step']), str(d['step']))})"
        added = str(d.get("attached_at", ""))
        if d.get("removed_at"):
            added += f"; verwijderd op {d['removed_at']} door {d.get('removed_by', '')}"
        cells = (kind, when, added, str(d.get("attached_by", "")), f"{d.get('size')} bytes")
        rows.append(
            "<tr>"
            + "".join(f"<td>{escape(c)}</td>" for c in cells)
            + f"<td><code>{escape(str(d.get('sha256', '')))}</code></td></tr>"
        )
    return (
        "<h3>Documenten</h3><p>De documenten zelf staan versleuteld opgeslagen en zijn hier "
        "niet opgenomen; wie ze bij de casus mag lezen, kan ze openen. De hash bewijst welk "
        "document het is.</p>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _pupil_named(export: Mapping[str, Any]) -> str:
    """The school's reference while known, else intake's pseudonym."""
    return str(export.get("school_pupil_ref") or export["pupil_ref"])


def access_html(export: Mapping[str, Any]) -> str:
    """The readable export: one HTML document in Dutch."""
    identity = export.get("identity")
    named = _pupil_named(export)
    parts = [
        f"<h1>Gegevens over leerling {escape(named)}</h1>",
        f"<p>Passend noemt de leerling {escape(str(export['pupil_ref']))}; het kenmerk van de "
        "school staat alleen bij de sleutel van de leerling en wordt met de leerling gewist."
        "</p>",
        f"<p>Opgesteld op {escape(str(export['generated_at']))} door "
        f"{escape(str(export['generated_by']))}, op verzoek tot inzage (AVG artikel 15). "
        "Dit overzicht bevat alles wat Passend over de leerling bewaart: de gegevens van de "
        "leerling en de ouders, en per casus elke gebeurtenis, elke inzage en de "
        "documenten.</p>",
    ]
    if export.get("incomplete"):
        items = "".join(f"<li>{escape(p)}</li>" for p in export["incomplete"])
        parts.append(f"<p><strong>Niet volledig:</strong></p><ul>{items}</ul>")
    parts.append("<h2>Leerling en ouders</h2>")
    if export.get("erased"):
        parts.append("<p>De gegevens van de leerling zijn gewist; wat volgt is zonder naam.</p>")
    elif identity:
        parents = "".join(
            f"<li>{escape(str(p.get('name', '')))}: {escape(str(p.get('email') or '–'))}, "
            f"{escape(str(p.get('phone') or '–'))}</li>"
            for p in identity.get("parents", [])
        )
        parts.append(
            f"<p>Naam: {escape(str(identity.get('name', '')))}<br>"
            f"Geboortedatum: {escape(str(identity.get('date_of_birth') or '–'))}</p>"
            f"<p>Ouders:</p><ul>{parents or '<li>geen</li>'}</ul>"
        )
    for case in export.get("cases", []):
        rows = [row(e) for e in case["entries"]]
        columns = list(rows[0]) if rows else []
        head = "".join(f"<th>{escape(c)}</th>" for c in columns)
        body = "\n".join(
            f'<tr class="{"read" if e.get("kind") != "event" else "event"}">'
            + "".join(f"<td>{escape(r[c])}</td>" for c in columns)
            + "</tr>"
            for e, r in zip(case["entries"], rows, strict=True)
        )
        parts.append(
            f"<h2>Casus {escape(str(case['case_id'])[:8])}</h2>"
            f"<p>Aangemeld op {escape(str(case.get('submitted_at', '')))}.</p>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        )
        parts.append(_documents_html(case.get("documents", [])))
    main = "<main>" + "".join(parts) + "</main>"
    digest = hashlib.sha256(main.encode("utf-8")).hexdigest()
    return (
        '<!doctype html><html lang="nl"><head><meta charset="utf-8">'
        f"<title>Inzage leerling {escape(_pupil_named(export))}</title>"
        f"<style>{_CSS}</style></head><body>{main}"
        f'<footer>Inhoud-hash (SHA-256): <code id="content-sha256">{digest}</code></footer>'
        "</body></html>"
    )
