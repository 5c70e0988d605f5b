"""Events as an explanation quotes them: the latest few, newest last, with their age."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from ebbtide.api.workloads import parse_timestamp
from ebbtide.explain.output import age

#: How many of an object's latest Events an explanation quotes.
LATEST_EVENTS: Final = 5


def event_rows(
    events: Sequence[Mapping[str, Any]], *, now: datetime, limit: int = LATEST_EVENTS
) -> list[dict[str, Any]]:
    """The last ``limit`` of ``events`` (oldest first, as :func:`ebbtide.kube.reads.events_about`
    returns them) as plain rows."""
    rows = []
    for event in events[-limit:]:
        stamp = (
            event.get("lastTimestamp")
            or event.get("eventTime")
            or (event.get("metadata") or {}).get("creationTimestamp")
        )
        rows.append(
            {
                "type": event.get("type"),
                "reason": event.get("reason"),
                "message": event.get("message"),
                "count": event.get("count") or 1,
                "age": age(parse_timestamp(stamp), now=now) if stamp else None,
            }
        )
    return rows


def event_lines(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """The text lines of :func:`event_rows` (none at all when there are no events)."""
    if not rows:
        return []
    lines = ["Recent events:"]
    for row in rows:
        repeat = f" (x{row['count']})" if row["count"] > 1 else ""
        lines.append(f"  {row['age'] or '?':>4} {row['type']} {row['reason']}{repeat}: {row['message']}")
    return lines
