"""The token bucket that keeps Events from crowding out admissions: a full bucket lets a burst
through, then things pass at the rate; time refills it up to the burst, never beyond. The
recorder's queue is bounded."""

from __future__ import annotations

import pytest
from kubernetes import client

from ebbtide.kube.events import ObjectRef
from ebbtide.kube.queue_events import EventRecorder
from ebbtide.kube.token_bucket import TokenBucket


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_full_bucket_lets_a_burst_through_then_refuses() -> None:
    bucket = TokenBucket(rate=1.0, burst=3, clock=FakeClock())
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]


def test_tokens_come_back_at_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=2.0, burst=1, clock=clock)
    assert bucket.take()
    clock.now += 0.25  # half a token
    assert not bucket.take()
    clock.now += 0.25
    assert bucket.take()
    assert not bucket.take()


def test_a_long_pause_refills_only_up_to_the_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=10.0, burst=2, clock=clock)
    bucket.take()
    bucket.take()
    clock.now += 3600
    assert [bucket.take() for _ in range(3)] == [True, True, False]


def test_a_clock_going_backwards_adds_no_tokens() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=1.0, burst=1, clock=clock)
    bucket.take()
    clock.now -= 50
    assert not bucket.take()


@pytest.mark.parametrize(("rate", "burst"), [(0.0, 1), (-1.0, 1), (1.0, 0)])
def test_a_bucket_that_could_never_give_a_token_is_refused(rate: float, burst: int) -> None:
    with pytest.raises(ValueError, match="token bucket"):
        TokenBucket(rate=rate, burst=burst)


def test_events_beyond_the_queue_are_dropped_and_counted() -> None:
    dropped: list[None] = []
    recorder = EventRecorder(client.ApiClient(), capacity=5, on_drop=lambda: dropped.append(None))
    pod = ObjectRef(api_version="v1", kind="Pod", namespace="ns", name="p", uid="u")
    for _ in range(8):
        recorder.record_about(pod, type_="Normal", reason="Admitted", message="admitted")
    assert len(dropped) == 3
