"""Reading Prometheus answers: one series or a failure that says why, never a zero load."""

from __future__ import annotations

import math

import numpy as np
import pytest
import requests
from prometheus_api_client.exceptions import PrometheusApiClientException

from ebbtide.metrics.prometheus_errors import describe_error
from ebbtide.metrics.prometheus_result import latest_problem, merge, series_from_matrix
from ebbtide.scaling.series import LoadSeries, ReadFailure

pytestmark = pytest.mark.unit

URL = "http://prometheus:9090"


def matrix(*values: list[tuple[float, str]], labels: list[dict[str, str]] | None = None) -> list[object]:
    labels = labels or [{} for _ in values]
    pairs = zip(labels, values, strict=True)
    return [{"metric": label, "values": [[t, v] for t, v in series]} for label, series in pairs]


def test_one_series_becomes_a_load_series_in_time_order() -> None:
    series = series_from_matrix(matrix([(20.0, "2"), (10.0, "1"), (30.0, "NaN")]), query="q")
    assert isinstance(series, LoadSeries)
    assert series.times.tolist() == [10.0, 20.0, 30.0]
    assert series.values[:2].tolist() == [1.0, 2.0]
    assert math.isnan(series.last_value)


def test_an_empty_answer_is_an_empty_series_that_latest_problem_reports() -> None:
    series = series_from_matrix([], query="q")
    assert isinstance(series, LoadSeries)
    assert len(series) == 0
    problem = latest_problem(series, at=100.0)
    assert problem is not None and "no data" in problem


def test_several_series_tell_the_user_to_aggregate() -> None:
    answer = matrix([(1.0, "1")], [(1.0, "2")], labels=[{"pod": "a"}, {"pod": "b"}])
    failure = series_from_matrix(answer, query='rate(requests_total{app="web"}[1m])')
    assert isinstance(failure, ReadFailure)
    assert "2 series" in failure.message
    assert '{pod="a"}' in failure.message
    assert 'sum(rate(requests_total{app="web"}[1m]))' in failure.message


def test_an_answer_that_is_not_a_matrix_is_a_failure() -> None:
    assert isinstance(series_from_matrix({"resultType": "vector"}, query="q"), ReadFailure)
    assert isinstance(series_from_matrix([{"metric": {}, "values": [["x", "y"]]}], query="q"), ReadFailure)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(float("nan"), "NaN"), (float("inf"), "infinite"), (float("-inf"), "infinite")],
)
def test_a_latest_sample_that_is_not_a_number_is_a_problem(value: float, expected: str) -> None:
    series = LoadSeries.from_pairs([(90.0, 1.0), (100.0, value)])
    problem = latest_problem(series, at=100.0)
    assert problem is not None and expected in problem


def test_a_series_that_stopped_before_now_is_stale_not_zero() -> None:
    series = LoadSeries.from_pairs([(80.0, 3.0), (90.0, 3.0)])
    problem = latest_problem(series, at=100.0)
    assert problem is not None and "no longer reported" in problem
    assert latest_problem(series, at=90.0) is None


def test_merge_keeps_time_order_and_the_first_of_repeated_times() -> None:
    first = LoadSeries.from_pairs([(1.0, 1.0), (2.0, 2.0)])
    tail = LoadSeries.from_pairs([(3.0, 3.0)])
    overlapping = LoadSeries.from_pairs([(2.0, 20.0), (4.0, 4.0)])
    assert merge([first, tail]).values.tolist() == [1.0, 2.0, 3.0]
    merged = merge([first, overlapping])
    assert merged.times.tolist() == [1.0, 2.0, 4.0]
    assert merged.values.tolist() == [1.0, 2.0, 4.0]
    assert len(merge([LoadSeries.empty()])) == 0
    assert np.array_equal(merge([LoadSeries.empty(), tail]).times, tail.times)


def _client_error(status: int, body: bytes) -> PrometheusApiClientException:
    return PrometheusApiClientException(f"HTTP Status Code {status} ({body!r})")


def test_an_invalid_query_carries_prometheus_own_parse_error() -> None:
    body = b'{"status":"error","errorType":"bad_data","error":"1:23: parse error: unexpected end of input"}'
    error = describe_error(_client_error(400, body), url=URL, timeout=10)
    assert error.kind == "query"
    assert "parse error: unexpected end of input" in error.message


def test_an_execution_error_carries_prometheus_text() -> None:
    body = b'{"status":"error","errorType":"execution","error":"many-to-many matching not allowed"}'
    error = describe_error(_client_error(422, body), url=URL, timeout=10)
    assert error.kind == "query"
    assert "many-to-many matching not allowed" in error.message


def test_a_prometheus_timeout_and_a_server_error_are_told_apart() -> None:
    timeout = b'{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}'
    assert describe_error(_client_error(503, timeout), url=URL, timeout=10).kind == "timeout"
    error = describe_error(_client_error(502, b"<html>bad gateway</html>"), url=URL, timeout=10)
    assert error.kind == "server"
    assert "HTTP 502" in error.message and "bad gateway" in error.message


@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_are_said_apart_with_the_gateways_reason(status: int) -> None:
    error = describe_error(_client_error(status, b"invalid bearer token"), url=URL, timeout=10)
    assert error.message == f"Prometheus refused the credentials (HTTP {status}: invalid bearer token)"


def test_network_failures_name_the_url_and_the_cause() -> None:
    refused = requests.ConnectionError(
        "HTTPConnectionPool(host='prometheus', port=9090): Max retries exceeded "
        "(Caused by NewConnectionError('<conn>: Failed to establish a new connection: "
        "[Errno 111] Connection refused'))"
    )
    error = describe_error(refused, url=URL, timeout=10)
    assert error.kind == "unreachable"
    assert error.message == f"cannot reach Prometheus at {URL}: connection refused"
    slow = describe_error(requests.ReadTimeout("read timed out"), url=URL, timeout=10)
    assert slow.kind == "timeout"
    assert "within 10s" in slow.message
