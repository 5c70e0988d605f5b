"""Reading a recorded load trace: CSV ``timestamp,value`` with a header row.

Timestamps are ISO 8601 (``2014-07-01 00:00:00``, ``2014-07-01T00:00:00Z``; without an offset
they are taken as UTC) or Unix seconds. Values are numbers; ``NaN`` and ``Inf`` are accepted and
stand for a broken reading (the planner treats them as a failed read, which the backtest can
then exercise). Blank lines are skipped. If the first row already is a sample, it is kept.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable
from datetime import UTC, datetime

from ebbtide.errors import TraceFormatError
from ebbtide.scaling.series import LoadSeries


def parse_trace_csv(lines: Iterable[str], *, source: str = "<trace>") -> LoadSeries:
    """The samples of a CSV trace, in time order; raises :class:`TraceFormatError` for a row
    that is not ``timestamp,value``, for timestamps that do not increase, and for a trace with
    no samples."""
    reader = csv.reader(lines)
    pairs: list[tuple[float, float]] = []
    for row in reader:
        if not row or all(not cell.strip() for cell in row):
            continue
        where = f"{source}:{reader.line_num}"
        if len(row) != 2:
            raise TraceFormatError(f"{where}: expected 2 columns (timestamp,value), got {len(row)}")
        first_row = reader.line_num == 1
        try:
            sample = parse_timestamp(row[0]), _value(row[1])
        except ValueError as error:
            if first_row:
                continue  # the header
            raise TraceFormatError(f"{where}: {error}") from None
        if pairs and sample[0] <= pairs[-1][0]:
            raise TraceFormatError(
                f"{where}: timestamp {row[0].strip()!r} is not after the previous sample's"
            )
        pairs.append(sample)
    if not pairs:
        raise TraceFormatError(f"{source}: no samples")
    return LoadSeries.from_pairs(pairs)


def parse_timestamp(text: str) -> float:
    """Unix seconds from ISO 8601 (UTC unless it says otherwise) or from Unix seconds; raises
    ValueError with a message fit for a user."""
    text = text.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        if not math.isfinite(seconds):
            raise ValueError(f"timestamp {text!r} is not a time")
        return seconds
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"timestamp {text!r} is neither ISO 8601 (2014-07-01 00:00:00) nor Unix seconds"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _value(text: str) -> float:
    try:
        return float(text.strip())
    except ValueError:
        raise ValueError(f"value {text.strip()!r} is not a number") from None
