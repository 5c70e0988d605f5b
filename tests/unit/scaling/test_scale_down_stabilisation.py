"""Scale-down stabilisation: never below the highest recommendation within the window."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from scaling_builders import Scaler, settings

from ebbtide.api import scalingpolicy_vocabulary as reasons

pytestmark = pytest.mark.unit


def test_a_dip_shorter_than_the_window_removes_nothing() -> None:
    scaler = Scaler(settings(scale_down_window=300.0), replicas=10)
    scaler.tick(1000)
    for _ in range(19):  # 285 s of low load: the 1000 is still within the window
        decision = scaler.tick(200)
        assert (decision.desired_replicas, decision.reason) == (10, reasons.STABILISING)
    decision = scaler.tick(200)
    assert (decision.desired_replicas, decision.reason) == (2, reasons.SCALE_DOWN_ON_LOAD)


def test_scale_down_goes_to_the_highest_recommendation_within_the_window() -> None:
    scaler = Scaler(settings(scale_down_window=60.0), replicas=10)
    loads_and_expected = [
        (1000, 10),  # t=15
        (600, 10),  # t=30: the 10 of t=15 is within the window
        (600, 10),
        (600, 10),  # t=60
        (200, 6),  # t=75: the 10 has left the window, the 6s have not
        (200, 6),
        (200, 6),  # t=105: the last 6 (t=60) is still within
        (200, 2),  # t=120: it is 60 s old, out of the window
    ]
    for load, expected in loads_and_expected:
        assert scaler.tick(load).desired_replicas == expected


def test_scale_up_is_not_held_by_the_window() -> None:
    scaler = Scaler(settings(scale_down_window=300.0), replicas=2)
    scaler.tick(200)
    assert scaler.tick(900).desired_replicas == 9


# No deadline: tests never depend on how fast the machine is.
@hypothesis_settings(deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=3000), min_size=1, max_size=40))
def test_a_scale_down_lands_on_the_highest_recommendation_of_the_window(loads: list[int]) -> None:
    window = 120.0
    scaler = Scaler(settings(scale_down_window=window, tolerance=0.0, min_replicas=0), replicas=5)
    seen: list[tuple[float, int]] = []
    for load in loads:
        before = scaler.replicas
        decision = scaler.tick(load)
        # With no tolerance and no limits the recommendation is ceil(load / target).
        seen.append((scaler.now, -(-load // 100)))
        highest = max(replicas for at, replicas in seen if at > scaler.now - window)
        if decision.desired_replicas < before:
            assert decision.desired_replicas == highest
        else:
            assert decision.desired_replicas == max(before, seen[-1][1])
