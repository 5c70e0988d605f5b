"""How fast the count may move: rate limits per period and the scale-up cooldown."""

from __future__ import annotations

import pytest
from scaling_builders import Scaler, settings

from ebbtide.api import scalingpolicy_vocabulary as reasons
from ebbtide.scaling.settings import RateLimit

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("limit", "expected"),
    [
        pytest.param(RateLimit(max_pods=4, max_percent=10, period=60), 14, id="pods beat percent"),
        pytest.param(RateLimit(max_pods=4, max_percent=100, period=60), 20, id="percent beats pods"),
        pytest.param(RateLimit(max_pods=None, max_percent=50, period=60), 15, id="percent only"),
    ],
)
def test_scale_up_limited_to_the_larger_of_pods_and_percent(limit: RateLimit, expected: int) -> None:
    scaler = Scaler(settings(scale_up_limit=limit), replicas=10)
    decision = scaler.tick(5000)
    assert (decision.desired_replicas, decision.reason) == (expected, reasons.RATE_LIMITED)


def test_scale_up_limit_counts_from_the_start_of_the_period() -> None:
    scaler = Scaler(settings(scale_up_limit=RateLimit(4, 10, period=60)), replicas=10)
    assert scaler.tick(5000, after=0).desired_replicas == 14
    # Still within the period that began at 10 replicas: no more room.
    held = scaler.tick(5000, after=30)
    assert (held.desired_replicas, held.reason) == (14, reasons.RATE_LIMITED)
    # The period has passed: 14 is the new start, 4 more allowed.
    assert scaler.tick(5000, after=30).desired_replicas == 18


@pytest.mark.parametrize(
    ("limit", "expected"),
    [
        pytest.param(RateLimit(max_pods=None, max_percent=50, period=60), 5, id="percent only"),
        pytest.param(RateLimit(max_pods=3, max_percent=10, period=60), 7, id="pods beat percent"),
        pytest.param(RateLimit(max_pods=1, max_percent=30, period=60), 7, id="percent beats pods"),
    ],
)
def test_scale_down_limited_to_the_larger_of_pods_and_percent(limit: RateLimit, expected: int) -> None:
    scaler = Scaler(settings(scale_down_limit=limit), replicas=10)
    decision = scaler.tick(100)
    assert (decision.desired_replicas, decision.reason) == (expected, reasons.RATE_LIMITED)


def test_scale_down_limit_counts_from_the_start_of_the_period() -> None:
    scaler = Scaler(settings(scale_down_limit=RateLimit(None, 50, period=60)), replicas=20)
    assert scaler.tick(100, after=0).desired_replicas == 10
    assert scaler.tick(100, after=30).desired_replicas == 10
    assert scaler.tick(100, after=30).desired_replicas == 5


def test_a_limit_never_forces_a_change() -> None:
    # 12 replicas after a change of +8 within the period: the limit (from 4, +4) is below the
    # current count, but holding is still allowed.
    scaler = Scaler(settings(scale_up_limit=RateLimit(4, 100, period=60)), replicas=4)
    scaler.tick(1200, after=0)
    assert scaler.replicas == 8
    decision = scaler.tick(800, after=15)
    assert decision.desired_replicas == 8


def test_scale_up_waits_out_the_cooldown() -> None:
    scaler = Scaler(settings(scale_up_cooldown=60.0), replicas=2)
    assert scaler.tick(400, after=0).desired_replicas == 4
    held = scaler.tick(800, after=30)
    assert (held.desired_replicas, held.reason) == (4, reasons.COOLDOWN)
    assert scaler.tick(800, after=30).desired_replicas == 8


def test_cooldown_does_not_delay_a_scale_down() -> None:
    scaler = Scaler(settings(scale_up_cooldown=600.0), replicas=2)
    scaler.tick(400, after=0)
    decision = scaler.tick(100, after=15)
    assert (decision.desired_replicas, decision.reason) == (1, reasons.SCALE_DOWN_ON_LOAD)
