"""Missing data is never zero: failures hold, then ``fallback.action`` applies."""

from __future__ import annotations

import math

import pytest
from scaling_builders import Scaler, series, settings

from ebbtide.api import scalingpolicy_vocabulary as reasons
from ebbtide.scaling.series import LoadSeries, ReadFailure
from ebbtide.scaling.settings import FallbackAction, FallbackSettings

pytestmark = pytest.mark.unit

UNUSABLE = {
    "NaN": series([400.0, math.nan]),
    "Inf": series([400.0, math.inf]),
    "-Inf": series([400.0, -math.inf]),
    "negative": series([400.0, -5.0]),
    "empty result": LoadSeries.empty(),
    "error": ReadFailure("connection refused"),
}


@pytest.mark.parametrize("reading", UNUSABLE.values(), ids=UNUSABLE.keys())
def test_an_unusable_reading_holds_the_count(reading: LoadSeries | ReadFailure) -> None:
    scaler = Scaler(settings(), replicas=10)
    decision = scaler.tick(reading)
    assert (decision.desired_replicas, decision.reason) == (10, reasons.LOAD_UNAVAILABLE)
    assert decision.load is None
    assert scaler.state.failures == 1


def test_an_error_message_reaches_the_decision() -> None:
    decision = Scaler(settings(), replicas=3).tick(ReadFailure("connection refused"))
    assert "connection refused" in decision.message


def test_hold_action_keeps_holding_after_the_threshold() -> None:
    policy = settings(fallback=FallbackSettings(failure_threshold=3, action=FallbackAction.HOLD))
    scaler = Scaler(policy, replicas=7)
    outcomes = [scaler.tick(math.nan) for _ in range(5)]
    assert [d.reason for d in outcomes] == [reasons.LOAD_UNAVAILABLE] * 2 + [reasons.FALLBACK_HOLD] * 3
    assert {d.desired_replicas for d in outcomes} == {7}


@pytest.mark.parametrize(
    ("fixed", "expected"),
    [
        pytest.param(6, 6, id="as configured"),
        pytest.param(0, 2, id="never below min"),
        pytest.param(50, 20, id="clamped to max"),
    ],
)
def test_replicas_action_applies_after_the_threshold(fixed: int, expected: int) -> None:
    fallback = FallbackSettings(failure_threshold=2, action=FallbackAction.REPLICAS, replicas=fixed)
    scaler = Scaler(settings(min_replicas=2, max_replicas=20, fallback=fallback), replicas=10)
    first = scaler.tick(ReadFailure("timeout"))
    assert (first.desired_replicas, first.reason) == (10, reasons.LOAD_UNAVAILABLE)
    second = scaler.tick(ReadFailure("timeout"))
    assert (second.desired_replicas, second.reason) == (expected, reasons.FALLBACK_REPLICAS)


def test_a_good_reading_resets_the_failure_count() -> None:
    policy = settings(fallback=FallbackSettings(failure_threshold=2, action=FallbackAction.HOLD))
    scaler = Scaler(policy, replicas=4)
    scaler.tick(math.nan)
    scaler.tick(400)
    assert scaler.state.failures == 0
    assert scaler.tick(math.nan).reason == reasons.LOAD_UNAVAILABLE


def test_a_gap_earlier_in_the_history_is_not_a_failure() -> None:
    decision = Scaler(settings(), replicas=4).tick(series([400.0, math.nan, 800.0]))
    assert (decision.desired_replicas, decision.reason) == (8, reasons.SCALE_UP_ON_LOAD)
