"""Writing a backtest's timeline as CSV, one row per step."""

from __future__ import annotations

import csv
import math
from datetime import UTC, datetime
from typing import TextIO

from ebbtide.scaling.backtest import Timeline

COLUMNS = ("timestamp", "load", "predicted_load", "desired_replicas", "ready_replicas")


def write_timeline_csv(timeline: Timeline, stream: TextIO) -> None:
    """Write ``timeline`` to ``stream``: a header, then per step the time (ISO 8601, UTC), the
    load, the forecast (empty without one), the replicas asked for and the replicas ready."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(COLUMNS)
    rows = zip(
        timeline.timestamps.tolist(),
        timeline.load.tolist(),
        timeline.predicted_load.tolist(),
        timeline.desired_replicas.tolist(),
        timeline.ready_replicas.tolist(),
        strict=True,
    )
    for time, load, predicted, desired, ready in rows:
        writer.writerow(
            (
                datetime.fromtimestamp(time, tz=UTC).isoformat().replace("+00:00", "Z"),
                _number(load),
                _number(predicted),
                desired,
                ready,
            )
        )


def _number(value: float) -> str:
    return "" if math.isnan(value) else repr(value)
