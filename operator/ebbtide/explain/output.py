"""Printing answers as ``-o table`` (for people), ``json`` or ``yaml`` (for scripts).

A listing is a list of rows (dicts of plain values): ``table`` prints the chosen columns under
upper-case headers, aligned as kubectl aligns them; ``json`` and ``yaml`` print every field of
every row. An explanation is a dict: ``table`` prints its ``text``, the others the whole dict.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import yaml

FORMATS: Final = ("table", "json", "yaml")
#: What an absent value looks like in a table (kubectl prints <none> or <unknown>; a dash is
#: shorter and reads the same).
MISSING: Final = "-"


def render_rows(rows: Sequence[Mapping[str, Any]], *, columns: Mapping[str, str], output: str) -> str:
    """``rows`` as ``output``; ``columns`` maps each table header to its row key."""
    if output != "table":
        return render_document(list(rows), output=output)
    table = [list(columns)] + [[cell(row.get(key)) for key in columns.values()] for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(columns))]
    return "\n".join(
        "   ".join(value.ljust(width) for value, width in zip(line, widths, strict=True)).rstrip()
        for line in table
    )


def render_explanation(explanation: Mapping[str, Any], *, output: str) -> str:
    """An explanation (a dict whose ``text`` is its plain-words account) as ``output``."""
    if output == "table":
        return str(explanation["text"])
    return render_document(dict(explanation), output=output)


def render_document(document: Any, *, output: str) -> str:
    if output == "json":
        return json.dumps(document, indent=2, default=str)
    return yaml.safe_dump(document, sort_keys=False, default_flow_style=False).rstrip("\n")


def cell(value: Any) -> str:
    """A table cell: floats to 3 significant figures, None as a dash."""
    if value is None or value == "":
        return MISSING
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def age(since: datetime | None, *, now: datetime | None = None) -> str | None:
    """kubectl's short age: ``45s``, ``12m``, ``3h``, ``2d``; None when ``since`` is unknown."""
    if since is None:
        return None
    seconds = max(0, int(((now or datetime.now(UTC)) - since) / timedelta(seconds=1)))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= 2 * size or (unit == "m" and seconds >= size):
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
