"""Reading a trace from Prometheus: long ranges in chunks under Prometheus' point limit, one
series only, failures reported as such."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

import pytest

from ebbtide.errors import RangeReadError
from ebbtide.metrics import range_reader
from ebbtide.metrics.range_reader import MAX_POINTS_PER_QUERY, read_range

pytestmark = pytest.mark.unit


class FakePrometheus:
    """Answers range queries with ``value = time``, one series, and records the ranges asked."""

    asked: ClassVar[list[tuple[float, float, str]]] = []
    series: ClassVar[int] = 1
    error: ClassVar[Exception | None] = None

    def __init__(self, url: str, retries: int = 0, **options: object) -> None:
        self.url = url

    def custom_query_range(
        self, query: str, *, start_time: datetime, end_time: datetime, step: str
    ) -> list[dict[str, Any]]:
        if self.error is not None:
            raise self.error
        start, end = start_time.timestamp(), end_time.timestamp()
        self.asked.append((start, end, step))
        seconds = float(step.removesuffix("s"))
        values = []
        time = start
        while time <= end:
            values.append([time, str(time)])
            time += seconds
        return [{"metric": {}, "values": values} for _ in range(self.series)]


@pytest.fixture
def prometheus(monkeypatch: pytest.MonkeyPatch) -> type[FakePrometheus]:
    FakePrometheus.asked, FakePrometheus.series, FakePrometheus.error = [], 1, None
    monkeypatch.setattr(range_reader, "connect", FakePrometheus)
    return FakePrometheus


def test_a_long_range_is_read_in_chunks_below_the_point_limit(prometheus: type[FakePrometheus]) -> None:
    points = 2 * MAX_POINTS_PER_QUERY + 500
    samples = read_range(url="http://p:9090", query="up", start=0.0, end=15.0 * (points - 1), step=15.0)
    assert [t for t, _ in samples] == [15.0 * i for i in range(points)]
    assert all(v == t for t, v in samples)
    assert len(prometheus.asked) == 3
    assert all((end - start) / 15 + 1 <= MAX_POINTS_PER_QUERY for start, end, _ in prometheus.asked)
    assert {step for _, _, step in prometheus.asked} == {"15s"}


def test_more_than_one_series_is_refused(prometheus: type[FakePrometheus]) -> None:
    prometheus.series = 2
    with pytest.raises(RangeReadError, match=r"returned 2 series.*sum\(\.\.\.\)"):
        read_range(url="http://p:9090", query="up", start=0.0, end=60.0, step=15.0)


def test_no_series_is_no_samples(prometheus: type[FakePrometheus]) -> None:
    prometheus.series = 0
    assert read_range(url="http://p:9090", query="up", start=0.0, end=60.0, step=15.0) == []


def test_a_failing_query_is_reported(prometheus: type[FakePrometheus]) -> None:
    prometheus.error = ConnectionError("refused")
    with pytest.raises(RangeReadError, match="range query to http://p:9090 failed: refused"):
        read_range(url="http://p:9090", query="up", start=0.0, end=60.0, step=15.0)
