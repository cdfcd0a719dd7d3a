"""Bar charts as inline SVG, drawn on the server: no script, readable by screen readers."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

from passend_portal.labels import counted, number

BAR = 28
GAP = 10
LABEL_WIDTH = 300
WIDTH = 680
VALUE_ROOM = 130


def bar_chart(
    title: str, bars: Sequence[tuple[str, float]], *, unit: str = "", unit_one: str = ""
) -> Markup:
    """Horizontal bars with their values written out (Dutch numbers; ``unit_one`` for
    exactly one, ``unit`` else); the ``<title>`` names the chart.

    The same numbers are always also shown in a table next to the chart (WCAG 1.1.1).
    """
    height = max(1, len(bars)) * (BAR + GAP) + GAP
    top = max((value for _, value in bars), default=0.0) or 1.0
    room = WIDTH - LABEL_WIDTH - VALUE_ROOM
    chart_id = "grafiek-" + "".join(c if c.isalnum() else "-" for c in title.lower())[:40]
    parts = [
        f'<svg class="grafiek" role="img" aria-labelledby="{chart_id}" '
        f'viewBox="0 0 {WIDTH} {height}" width="100%" preserveAspectRatio="xMinYMin meet">',
        f'<title id="{chart_id}">{escape(title)}</title>',
    ]
    for i, (name, value) in enumerate(bars):
        y = GAP + i * (BAR + GAP)
        length = max(2.0, room * value / top) if value else 0.0
        shown = counted(value, unit_one or unit, unit) if unit else number(value)
        parts.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{y + BAR * 0.68:.1f}" text-anchor="end" '
            f'class="grafiek-label">{escape(name)}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{length:.1f}" height="{BAR}" '
            f'class="grafiek-balk"/>'
            f'<text x="{LABEL_WIDTH + length + 6:.1f}" y="{y + BAR * 0.68:.1f}" '
            f'class="grafiek-waarde">{escape(shown)}</text>'
        )
    if not bars:
        parts.append(f'<text x="10" y="{BAR}" class="grafiek-label">Nog geen gegevens</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above is escaped
