"""Where recorded load comes from: the :class:`LoadSource` seam, and ``prom://`` trace names.

The backtest replays a series; where that series comes from is behind :class:`LoadSource`, so
this package stays free of I/O. The Prometheus implementation lives in
:mod:`ebbtide.metrics.range_reader`; a test can pass any object with a ``read_range`` method.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from urllib.parse import parse_qs, unquote

from ebbtide.scaling.series import LoadSeries
from ebbtide.scaling.trace_csv import parse_timestamp

PROM_SCHEME = "prom://"


class LoadSource(Protocol):
    """Reads the load a query describes, sampled every ``step`` seconds from ``start`` to
    ``end`` (Unix seconds). Raises on failure; an empty result is an empty series."""

    def read_range(self, query: str, *, start: float, end: float, step: float) -> LoadSeries: ...


@dataclass(frozen=True)
class RangeQuery:
    """A query over a time range; ``step`` None: the caller's default."""

    query: str
    start: float
    end: float
    step: float | None = None


def is_prom_uri(text: str) -> bool:
    return text.startswith(PROM_SCHEME)


def parse_prom_uri(text: str) -> RangeQuery:
    """Parse ``prom://<query>?start=<time>&end=<time>[&step=<seconds>]``.

    The query may be percent-encoded (it must be if it contains ``?``); times are ISO 8601 or
    Unix seconds. Raises ValueError with a message fit for a user.
    """
    if not is_prom_uri(text):
        raise ValueError(f"{text!r} does not start with {PROM_SCHEME}")
    query, mark, arguments = text[len(PROM_SCHEME) :].rpartition("?")
    if not mark or not query:
        raise ValueError(f"{text!r}: expected {PROM_SCHEME}<query>?start=<time>&end=<time>")
    fields = {name: values[-1] for name, values in parse_qs(arguments).items()}
    missing = [name for name in ("start", "end") if name not in fields]
    if missing:
        raise ValueError(f"{text!r}: missing {' and '.join(missing)}")
    start, end = parse_timestamp(fields["start"]), parse_timestamp(fields["end"])
    if not end > start:
        raise ValueError(f"{text!r}: end must be after start")
    step = None
    if "step" in fields:
        step = float(fields["step"])
        if not step > 0:
            raise ValueError(f"{text!r}: step must be positive")
    return RangeQuery(query=unquote(query), start=start, end=end, step=step)
