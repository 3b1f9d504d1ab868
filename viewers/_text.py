"""User text (names, labels) shown in figures: escaped, and shortened where space is short.

Plotly renders a small subset of HTML in titles, legends and hover labels; names come from
users, so they are escaped to show literally (plotly turns the entities back into text).
"""

from __future__ import annotations

import html


def escape(text: object) -> str:
    return html.escape(str(text), quote=False)


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"
