"""Retries live in one place: network errors, 5xx and 429 are retried with backoff; other 4xx,
including 409, are raised at once."""

from __future__ import annotations

import pytest
import urllib3
from kubernetes.client.exceptions import ApiException

from ebbtide.kube.retrying import Backoff, with_retries


class Flaky:
    def __init__(self, failures: list[Exception]) -> None:
        self.failures = failures
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return "ok"


@pytest.mark.parametrize(
    "error",
    [
        ApiException(status=500, reason="Internal"),
        ApiException(status=503, reason="Unavailable"),
        ApiException(status=429, reason="Too Many Requests"),
        urllib3.exceptions.ProtocolError("connection reset"),
        ConnectionRefusedError(),
    ],
    ids=["500", "503", "429", "protocol error", "refused"],
)
def test_transient_failures_are_retried_with_growing_delays(error: Exception) -> None:
    call = Flaky([error, error])
    delays: list[float] = []
    assert with_retries(call, sleep=delays.append, backoff=Backoff(jitter=0)) == "ok"
    assert call.calls == 3
    assert delays == [0.1, 0.2]


@pytest.mark.parametrize("status", [400, 403, 404, 409, 422])
def test_client_errors_are_raised_at_once(status: int) -> None:
    call = Flaky([ApiException(status=status, reason="no")])
    with pytest.raises(ApiException):
        with_retries(call, sleep=lambda _: None)
    assert call.calls == 1


def test_the_last_error_is_raised_when_attempts_run_out() -> None:
    call = Flaky([ApiException(status=500, reason=str(n)) for n in range(10)])
    with pytest.raises(ApiException) as raised:
        with_retries(call, attempts=3, sleep=lambda _: None)
    assert call.calls == 3
    assert raised.value.reason == "2"


def test_delays_are_capped() -> None:
    backoff = Backoff(initial=1, factor=10, maximum=5, jitter=0)
    assert [backoff.delay(n) for n in range(3)] == [1, 5, 5]
