"""Reading traces: ISO and Unix timestamps, and bad rows named by their line."""

from __future__ import annotations

import math

import pytest

from ebbtide.errors import TraceFormatError
from ebbtide.scaling.trace_csv import parse_trace_csv

pytestmark = pytest.mark.unit


def parse(text: str) -> list[tuple[float, float]]:
    trace = parse_trace_csv(text.splitlines(keepends=True), source="trace.csv")
    return list(zip(trace.times.tolist(), trace.values.tolist(), strict=True))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "timestamp,value\n2014-07-01 00:00:00,10844\n2014-07-01 00:30:00,8127\n",
            [(1404172800.0, 10844.0), (1404174600.0, 8127.0)],
            id="ISO with a space, taken as UTC",
        ),
        pytest.param(
            "ts,value\n1628640000,39.72\n1628640060.5,39.82\n",
            [(1628640000.0, 39.72), (1628640060.5, 39.82)],
            id="Unix seconds, whole and fractional",
        ),
        pytest.param(
            "1628640000,1\n1628640060,2\n",
            [(1628640000.0, 1.0), (1628640060.0, 2.0)],
            id="a first row that is a sample is kept",
        ),
        pytest.param(
            "timestamp,value\n\n1628640000,1\n\n1628640060,2\n",
            [(1628640000.0, 1.0), (1628640060.0, 2.0)],
            id="blank lines are skipped",
        ),
    ],
)
def test_parses(text: str, expected: list[tuple[float, float]]) -> None:
    assert parse(text) == expected


def test_parses_iso_with_a_zone_and_an_offset() -> None:
    text = "timestamp,value\n2014-07-01T00:00:00Z,1\n2014-07-01T03:00:00+02:00,2\n"
    assert parse(text) == [(1404172800.0, 1.0), (1404172800.0 + 3600, 2.0)]


def test_nan_values_pass_through_as_broken_readings() -> None:
    ((_, value),) = parse("timestamp,value\n1628640000,NaN\n")
    assert math.isnan(value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "timestamp,value\n1628640000,1\nyesterday,2\n",
            "trace.csv:3: timestamp 'yesterday' is neither ISO 8601",
            id="bad timestamp",
        ),
        pytest.param(
            "timestamp,value\n1628640000,1\n1628640060,lots\n",
            "trace.csv:3: value 'lots' is not a number",
            id="bad value",
        ),
        pytest.param(
            "timestamp,value\n1628640000,1,extra\n",
            "trace.csv:2: expected 2 columns (timestamp,value), got 3",
            id="too many columns",
        ),
        pytest.param(
            "timestamp,value\n1628640000\n",
            "trace.csv:2: expected 2 columns (timestamp,value), got 1",
            id="too few columns",
        ),
        pytest.param(
            "timestamp,value\n1628640060,1\n1628640000,2\n",
            "trace.csv:3: timestamp '1628640000' is not after the previous sample's",
            id="time going backwards",
        ),
        pytest.param(
            "timestamp,value\n1628640000,1\n1628640000,2\n",
            "trace.csv:3: timestamp '1628640000' is not after the previous sample's",
            id="repeated time",
        ),
        pytest.param("timestamp,value\n", "trace.csv: no samples", id="header only"),
        pytest.param("", "trace.csv: no samples", id="empty file"),
    ],
)
def test_refuses_with_the_line(text: str, message: str) -> None:
    with pytest.raises(TraceFormatError) as raised:
        parse(text)
    assert str(raised.value).startswith(message)
