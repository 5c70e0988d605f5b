"""Kubernetes-style durations (``15s``, ``5m``, ``1h30m``) as :class:`datetime.timedelta`.

The syntax is Go's ``time.ParseDuration`` without a sign: one or more decimal numbers, each with
a unit (``ns``, ``us``/``µs``, ``ms``, ``s``, ``m``, ``h``), or a bare ``0``. That is what the
CEL ``duration()`` function of the API server accepts, so a CRD rule can compare durations the
Python side parsed. Values are rounded to microseconds, :class:`~datetime.timedelta`'s resolution.

:func:`format_duration` writes Go's canonical form (``time.Duration.String``): ``5m0s``,
``1h30m0s``, ``15s``, ``1.5s``, ``250ms``, ``0s``. Field type: :data:`Duration`.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Annotated, Any

from pydantic import PlainSerializer, PlainValidator, WithJsonSchema

from ebbtide.api.rules import Rule
from ebbtide.errors import InvalidDurationError

#: Longest duration string the CRD accepts (bounds CEL's cost estimate).
MAX_LENGTH = 64

_UNITS_NS: dict[str, int] = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,  # U+00B5 micro sign
    "μs": 1_000,  # U+03BC greek small letter mu
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_NUMBER = "(?:[0-9]+(?:[.][0-9]*)?|[.][0-9]+)"
_UNIT = "(?:ns|us|µs|μs|ms|s|m|h)"
#: RE2- and Python-compatible pattern of a non-negative Go duration.
PATTERN = rf"^(?:0|(?:{_NUMBER}{_UNIT})+)$"
_COMPONENT = re.compile(rf"({_NUMBER})({_UNIT})")
_PATTERN = re.compile(PATTERN)
# Go's time.Duration is an int64 of nanoseconds.
_MAX_NS = 2**63 - 1

_DURATION_READ = re.compile(r"duration\((self(?:\.\w+)+)\)")


def when_durations_parse(cel: str) -> str:
    """``cel`` guarded so that it passes while a duration field it reads (``duration(self.x)``)
    is malformed: :data:`FORMAT_RULE` on the field already refuses that with a clear message, and
    the API server would otherwise add a "type conversion error" for every rule reading it."""
    fields = dict.fromkeys(_DURATION_READ.findall(cel))
    guards = [f"(has({field}) && !{field}.matches('{PATTERN}'))" for field in fields]
    return " || ".join([*guards, f"({cel})"]) if guards else cel


FORMAT_RULE = Rule(
    cel=f"self.matches('{PATTERN}')",
    message="must be a duration such as 15s, 5m or 1h30m",
    check=lambda value: isinstance(value, str) and _PATTERN.fullmatch(value) is not None,
)


def parse_duration(text: str) -> timedelta:
    """Parse a duration string.

    Raises :class:`~ebbtide.errors.InvalidDurationError` (a ValueError) with
    :data:`FORMAT_RULE`'s message for anything else: whitespace, a sign, a digit other than
    ASCII 0-9, more than :data:`MAX_LENGTH` characters; and for a duration longer than Go's.
    """
    if not isinstance(text, str) or len(text) > MAX_LENGTH or not FORMAT_RULE.check(text):
        raise InvalidDurationError(f"{text!r} {FORMAT_RULE.message}")
    total_ns = sum(
        (Decimal(number) * _UNITS_NS[unit] for number, unit in _COMPONENT.findall(text)),
        start=Decimal(0),
    )
    if total_ns > _MAX_NS:
        raise InvalidDurationError(f"{text!r} is longer than the longest duration (about 292 years)")
    return timedelta(microseconds=int((total_ns / 1000).to_integral_value()))


def format_duration(value: timedelta) -> str:
    """Go's canonical string of a non-negative duration (``time.Duration.String``)."""
    micros = value // timedelta(microseconds=1)
    if micros < 0:
        raise ValueError(f"negative duration {value!r}")
    if micros == 0:
        return "0s"
    if micros < 1_000:
        return f"{micros}µs"
    if micros < 1_000_000:
        return f"{_trim(Decimal(micros) / 1_000)}ms"
    seconds, fraction = divmod(micros, 1_000_000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    text = f"{_trim(seconds + Decimal(fraction) / 1_000_000)}s"
    if hours or minutes:
        text = f"{minutes}m{text}"
    if hours:
        text = f"{hours}h{text}"
    return text


def _trim(number: Decimal) -> str:
    text = f"{number:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _validate(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        if value < timedelta(0):
            raise ValueError(FORMAT_RULE.message)
        return value
    if isinstance(value, str):
        try:
            return parse_duration(value)
        except ValueError:
            raise FORMAT_RULE.error() from None
    raise ValueError(f"must be a duration string such as 15s or 5m, not {type(value).__name__}")


#: A pydantic field type: parses a duration string, holds a timedelta, dumps the canonical string.
Duration = Annotated[
    timedelta,
    PlainValidator(_validate),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "maxLength": MAX_LENGTH,
            "x-kubernetes-validations": [FORMAT_RULE.to_validation()],
        }
    ),
]
