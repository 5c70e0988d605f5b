"""Parsing of the ``ebbtide.io/expected-duration`` annotation used by ShortestJobFirst.

The grammar is Go's ``time.ParseDuration`` without a sign, the same the CRDs' duration
fields accept: one or more ``<number><unit>`` terms with units ``ns``, ``us`` (or ``µs``),
``ms``, ``s``, ``m``, ``h``, e.g. ``90s``, ``5m``, ``1h30m``, ``1.5h``; or a bare ``0``.
Anything else, including whitespace, a sign or an empty string, is rejected with
:class:`InvalidDurationError`. Values are rounded to microseconds, ``timedelta``'s resolution.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal
from typing import Final

from ebbtide.queueing.errors import InvalidDurationError

EXPECTED_DURATION_ANNOTATION: Final = "ebbtide.io/expected-duration"

_NANOSECONDS: Final = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,  # micro sign
    "μs": 1_000,  # greek mu
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_TERM: Final = r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)"
_TERMS: Final = re.compile(_TERM)
_DURATION: Final = re.compile(rf"0|(?:{_TERM})+")


def parse_duration(text: str) -> timedelta:
    """Parse ``text`` (e.g. ``"1h30m"``) into a non-negative :class:`timedelta`."""
    if not _DURATION.fullmatch(text):
        raise InvalidDurationError(f"invalid duration {text!r}: expected a duration such as 90s, 5m or 1h30m")
    nanoseconds = sum(
        (Decimal(number) * _NANOSECONDS[unit] for number, unit in _TERMS.findall(text)),
        start=Decimal(0),
    )
    return timedelta(microseconds=round(nanoseconds / 1000))


def expected_duration_from_annotations(annotations: Mapping[str, str]) -> timedelta | None:
    """The expected duration a workload declares, or ``None`` when it declares none.

    Raises :class:`InvalidDurationError` when the annotation is present but malformed, so the
    caller can tell the user instead of silently sorting the workload last.
    """
    text = annotations.get(EXPECTED_DURATION_ANNOTATION)
    return None if text is None else parse_duration(text)
