"""The Prometheus load source against a tiny in-process server that speaks Prometheus's JSON API.

The server answers ``/api/v1/query_range`` the way Prometheus does (a matrix, or an error body
with ``errorType`` and ``error``); each test decides what it answers.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlparse

import pytest

from ebbtide.metrics.prometheus_access import PrometheusCredentials
from ebbtide.metrics.prometheus_source import PrometheusLoadSource
from ebbtide.scaling.series import LoadSeries, ReadFailure

pytestmark = pytest.mark.unit

NOW = 1_800_000_000.4
Answer = Callable[[dict[str, str]], tuple[int, Any]]
T = TypeVar("T")


def grid(params: dict[str, str], value: str = "7", labels: dict[str, str] | None = None) -> dict[str, Any]:
    start, end, step = float(params["start"]), float(params["end"]), float(params["step"])
    count = round((end - start) / step) + 1
    return {"metric": labels or {}, "values": [[start + i * step, value] for i in range(count)]}


def matrix(*series: dict[str, Any]) -> tuple[int, Any]:
    return 200, {"status": "success", "data": {"resultType": "matrix", "result": list(series)}}


def error(status: int, error_type: str, text: str) -> tuple[int, Any]:
    return status, {"status": "error", "errorType": error_type, "error": text}


@dataclass
class FakePrometheus:
    answer: Answer = field(default=lambda params: matrix(grid(params)))
    requests: list[dict[str, str]] = field(default_factory=list)
    authorizations: list[str | None] = field(default_factory=list)
    in_flight: int = 0
    most_in_flight: int = 0
    delay: float = 0.0
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, params: dict[str, str]) -> tuple[int, Any]:
        with self.lock:
            self.requests.append(params)
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.delay:
                self.release.wait(self.delay)
            return self.answer(params)
        finally:
            with self.lock:
                self.in_flight -= 1


@pytest.fixture
def prometheus() -> Iterator[tuple[FakePrometheus, str]]:
    fake = FakePrometheus()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlparse(self.path)
            params = {k: v[-1] for k, v in parse_qs(url.query).items()}
            fake.authorizations.append(self.headers.get("Authorization"))
            status, body = fake.handle(params) if url.path == "/api/v1/query_range" else (404, {})
            payload = body if isinstance(body, bytes) else json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except OSError:
                pass  # the client gave up (a timeout test)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        fake.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def clock() -> list[float]:
    return [NOW]


class LoopedSource:
    """A load source and the one event loop its reads run in, as in the operator."""

    def __init__(self, source: PrometheusLoadSource) -> None:
        self.source = source
        self.runner = asyncio.Runner()

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return self.runner.run(work)

    def close(self) -> None:
        self.runner.run(self.source.close())
        self.runner.close()


def source_for(url: str, clock: list[float], **options: Any) -> LoopedSource:
    return LoopedSource(
        PrometheusLoadSource(
            url=url, concurrency=options.pop("concurrency", 2), clock=lambda: clock[0], **options
        )
    )


def read(looped: LoopedSource, query: str = "sum(load)", key: str = "p") -> LoadSeries | ReadFailure:
    return looped.run(looped.source.read(key=key, query=query, history=60.0, interval=2.0))


def read_once(url: str, clock: list[float], **options: Any) -> LoadSeries | ReadFailure:
    """One read by a new source, closed after it."""
    looped = source_for(url, clock, **options)
    try:
        return read(looped)
    finally:
        looped.close()


def test_the_history_ends_with_the_load_now(
    prometheus: tuple[FakePrometheus, str], clock: list[float]
) -> None:
    fake, url = prometheus
    series = read_once(url, clock)
    assert isinstance(series, LoadSeries)
    assert series.last_time == 1_800_000_000.0
    assert series.last_value == 7.0
    assert len(series) == 31
    assert fake.requests[0]["query"] == "sum(load)"
    assert (fake.requests[0]["start"], fake.requests[0]["end"], fake.requests[0]["step"]) == (
        "1799999940",
        "1800000000",
        "2",
    )


def test_the_next_round_queries_only_the_tail(
    prometheus: tuple[FakePrometheus, str], clock: list[float]
) -> None:
    fake, url = prometheus
    source = source_for(url, clock)
    try:
        read(source)
        clock[0] += 4.0
        series = read(source)
    finally:
        source.close()
    assert isinstance(series, LoadSeries)
    assert series.last_time == 1_800_000_004.0
    assert (fake.requests[1]["start"], fake.requests[1]["end"]) == ("1800000002", "1800000004")
    assert series.first_time >= 1_800_000_004.0 - 60.0


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            lambda p: error(400, "bad_data", "1:10: parse error: unexpected end of input inside braces"),
            "parse error",
        ),
        (lambda p: matrix(grid(p, labels={"pod": "a"}), grid(p, labels={"pod": "b"})), "sum(sum(load))"),
        (lambda p: matrix(grid(p, value="NaN")), "NaN"),
        (lambda p: matrix(grid(p, value="+Inf")), "infinite"),
        (lambda p: matrix(), "no data"),
        (lambda p: error(503, "unavailable", "TSDB not ready"), "HTTP 503"),
        (lambda p: (200, b"<html>sign in</html>"), "not its query API's JSON"),
    ],
)
def test_every_failure_is_a_read_failure_with_a_reason(
    prometheus: tuple[FakePrometheus, str], clock: list[float], answer: Answer, expected: str
) -> None:
    fake, url = prometheus
    fake.answer = answer
    failure = read_once(url, clock)
    assert isinstance(failure, ReadFailure)
    assert expected in failure.message


def test_a_metric_that_stopped_is_not_read_as_zero(
    prometheus: tuple[FakePrometheus, str], clock: list[float]
) -> None:
    fake, url = prometheus

    def ends_early(params: dict[str, str]) -> tuple[int, Any]:
        series = grid(params)
        series["values"] = series["values"][:-3]
        return matrix(series)

    fake.answer = ends_early
    failure = read_once(url, clock)
    assert isinstance(failure, ReadFailure)
    assert "no longer reported" in failure.message


def test_an_unreachable_prometheus_is_a_failure_naming_it(clock: list[float]) -> None:
    failure = read_once("http://127.0.0.1:1", clock)
    assert isinstance(failure, ReadFailure)
    assert failure.message == "cannot reach Prometheus at http://127.0.0.1:1: connection refused"


def test_a_slow_prometheus_times_out(prometheus: tuple[FakePrometheus, str], clock: list[float]) -> None:
    fake, url = prometheus
    fake.delay = 30.0
    source = source_for(url, clock, timeout=1)
    try:
        failure = read(source)
    finally:
        fake.release.set()
        source.close()
    assert isinstance(failure, ReadFailure)
    assert "did not answer within 1s" in failure.message


def test_queries_in_flight_are_bounded_by_the_pool(
    prometheus: tuple[FakePrometheus, str], clock: list[float]
) -> None:
    fake, url = prometheus
    fake.delay = 0.2
    source = source_for(url, clock, concurrency=2)

    async def many() -> list[LoadSeries | ReadFailure]:
        reads = [
            source.source.read(key=f"p{i}", query="sum(load)", history=60.0, interval=2.0) for i in range(6)
        ]
        return await asyncio.gather(*reads)

    try:
        results = source.run(many())
    finally:
        source.close()
    assert all(isinstance(result, LoadSeries) for result in results)
    assert len(fake.requests) == 6
    assert fake.most_in_flight <= 2


def test_an_unavailable_prometheus_is_asked_once_more(
    prometheus: tuple[FakePrometheus, str], clock: list[float]
) -> None:
    fake, url = prometheus
    answers = iter([error(503, "unavailable", "restarting")])
    fake.answer = lambda params: next(answers, None) or matrix(grid(params))
    series = read_once(url, clock)
    assert isinstance(series, LoadSeries)
    assert len(fake.requests) == 2


def test_a_refused_query_is_not_asked_again(
    prometheus: tuple[FakePrometheus, str], clock: list[float]
) -> None:
    fake, url = prometheus
    fake.answer = lambda params: error(400, "bad_data", "parse error")
    read_once(url, clock)
    assert len(fake.requests) == 1


def test_the_token_is_read_for_every_request(
    prometheus: tuple[FakePrometheus, str], clock: list[float], tmp_path: Path
) -> None:
    fake, url = prometheus
    token = tmp_path / "token"
    token.write_text("first\n")
    source = source_for(url, clock, credentials=PrometheusCredentials(bearer_token_file=token))
    try:
        read(source)
        token.write_text("rotated")
        clock[0] += 4.0
        read(source)
        token.unlink()
        clock[0] += 4.0
        failure = read(source)
    finally:
        source.close()
    assert fake.authorizations == ["Bearer first", "Bearer rotated"]
    assert isinstance(failure, ReadFailure)
    assert failure.message.startswith(f"cannot read the Prometheus credentials file {token}")
