"""Showing a merged case history: a terminal table, and a self-contained HTML report to archive.

The HTML report has no external references (no scripts, fonts, styles or images from
elsewhere) and ends with the SHA-256 of its ``<main>`` element, so a copy can be checked
for changes: :func:`content_hash` recomputes it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from html import escape
from typing import Any

from passend_backbone.audit.merge import moment

Entry = Mapping[str, Any]

_MAIN = re.compile(r"<main>.*</main>", re.DOTALL)
_FOOTER_HASH = re.compile(r'<code id="content-sha256">([0-9a-f]{64})</code>')

_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;color:#111}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{border:1px solid #bbb;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#eee} tr.read td{background:#f7f7e8;font-style:italic}
code{font-size:12px} footer{margin-top:2em;font-size:12px;color:#444}
""".strip()


def _utc(entry: Entry) -> str:
    return moment(entry).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def row(entry: Entry) -> dict[str, str]:
    """The columns shown for one entry (an event or a logged read)."""
    if entry.get("kind") == "event":
        return {
            "tijd (UTC)": _utc(entry),
            "dienst": str(entry["service"]),
            "soort": "gebeurtenis",
            "actor": str(entry["actor"]),
            "namens": str(entry.get("on_behalf_of") or ""),
            "beschrijving": str(entry["description"]),
            "versie/positie": f"v{entry['stream_version']} #{entry['position']}",
            "correlatie": str(entry["correlation_id"]),
        }
    return {
        "tijd (UTC)": _utc(entry),
        "dienst": str(entry["service"]),
        "soort": "inzage",
        "actor": f"{entry['reader']} ({entry['reader_role']})",
        "namens": str(entry.get("on_behalf_of") or ""),
        "beschrijving": f"Casus ingezien via {entry['view']}; doel: {entry['purpose']}",
        "versie/positie": "",
        "correlatie": str(entry.get("correlation_id") or ""),
    }


def terminal_table(entries: Sequence[Entry], *, width: int = 60) -> str:
    """A plain-text table; long descriptions are cut at ``width`` characters."""
    rows = [row(e) for e in entries]
    if not rows:
        return "(geen gebeurtenissen)"
    columns = [c for c in rows[0] if c != "correlatie"]
    cells = [
        [
            r[c] if c != "beschrijving" or len(r[c]) <= width else r[c][: width - 1] + "…"
            for c in columns
        ]
        for r in rows
    ]
    sizes = [max(len(c), *(len(line[k]) for line in cells)) for k, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(s) for c, s in zip(columns, sizes, strict=True))]
    lines.append("  ".join("-" * s for s in sizes))
    lines += ["  ".join(v.ljust(s) for v, s in zip(line, sizes, strict=True)) for line in cells]
    return "\n".join(lines)


def content_hash(html_text: str) -> str | None:
    """The SHA-256 (hex) of the report's ``<main>`` element, or None when it has none."""
    found = _MAIN.search(html_text)
    if found is None:
        return None
    return hashlib.sha256(found.group(0).encode("utf-8")).hexdigest()


def stated_hash(html_text: str) -> str | None:
    """The hash the report's footer states."""
    found = _FOOTER_HASH.search(html_text)
    return found.group(1) if found else None


def html_report(
    case_id: str,
    entries: Sequence[Entry],
    *,
    generated_at: datetime,
    generated_by: str,
    sources: Mapping[str, str],
    problems: Sequence[str] = (),
) -> str:
    """The archive form of a case's history (one self-contained HTML document)."""
    rows = [row(e) for e in entries]
    columns = list(rows[0]) if rows else []
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "\n".join(
        f'<tr class="{"read" if e.get("kind") != "event" else "event"}">'
        + "".join(f"<td>{escape(r[c])}</td>" for c in columns)
        + f"<td><code>{escape(str(e.get('event_id') or ''))}</code></td></tr>"
        for e, r in zip(entries, rows, strict=True)
    )
    source_list = "".join(
        f"<li>{escape(name)}: {escape(url)}</li>" for name, url in sorted(sources.items())
    )
    problem_list = "".join(f"<li>{escape(p)}</li>" for p in problems)
    main = (
        "<main>"
        f"<h1>Dossierhistorie casus {escape(case_id)}</h1>"
        f"<p>Opgesteld op {escape(generated_at.astimezone(UTC).isoformat())} door "
        f"{escape(generated_by)}. Gebeurtenissen en inzages van alle diensten, in causale "
        "volgorde.</p>"
        f"<ul>{source_list}</ul>"
        + (f"<p><strong>Niet volledig:</strong></p><ul>{problem_list}</ul>" if problems else "")
        + f"<table><thead><tr>{head}<th>event-id</th></tr></thead><tbody>\n{body}\n</tbody>"
        "</table></main>"
    )
    digest = hashlib.sha256(main.encode("utf-8")).hexdigest()
    return (
        '<!DOCTYPE html>\n<html lang="nl"><head><meta charset="utf-8">'
        f"<title>Dossierhistorie {escape(case_id)}</title><style>{_CSS}</style></head><body>\n"
        f"{main}\n<footer>SHA-256 van het &lt;main&gt;-element: "
        f'<code id="content-sha256">{digest}</code>. Controleer met '
        "<code>passend-audit check-report BESTAND</code>.</footer>\n</body></html>\n"
    )
