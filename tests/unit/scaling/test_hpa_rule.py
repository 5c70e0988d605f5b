"""The reactive floor: the HPA formula with tolerance, the utilisation band and min/max."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from scaling_builders import T0, constant, settings

from ebbtide.api import scalingpolicy_vocabulary as reasons
from ebbtide.scaling.decision import PlannerState
from ebbtide.scaling.hpa import replicas_for_load
from ebbtide.scaling.planner import plan
from ebbtide.scaling.settings import UtilisationBand

pytestmark = pytest.mark.unit


@dataclass(frozen=True)
class Case:
    name: str
    load: float
    current: int
    desired: int
    reason: str
    overrides: dict[str, Any]


CASES = [
    Case("at target holds", 500, 5, 5, reasons.WITHIN_TOLERANCE, {}),
    Case("10% over target is within tolerance", 550, 5, 5, reasons.WITHIN_TOLERANCE, {}),
    Case("10% under target is within tolerance", 450, 5, 5, reasons.WITHIN_TOLERANCE, {}),
    Case("just over tolerance scales up to ceil", 551, 5, 6, reasons.SCALE_UP_ON_LOAD, {}),
    Case("just under tolerance scales down to ceil", 449, 5, 5, reasons.STEADY, {}),
    Case("well under target scales down", 250, 5, 3, reasons.SCALE_DOWN_ON_LOAD, {}),
    Case("doubling load doubles replicas", 1000, 5, 10, reasons.SCALE_UP_ON_LOAD, {}),
    Case("zero tolerance reacts to any excess", 501, 5, 6, reasons.SCALE_UP_ON_LOAD, {"tolerance": 0.0}),
    Case("no load goes to min", 0, 5, 2, reasons.CLAMPED_TO_MIN, {"min_replicas": 2}),
    Case("load beyond max is clamped", 5000, 5, 20, reasons.CLAMPED_TO_MAX, {"max_replicas": 20}),
    Case("below min is raised to min", 100, 1, 3, reasons.CLAMPED_TO_MIN, {"min_replicas": 3}),
    Case("above max is lowered to max", 1100, 12, 10, reasons.CLAMPED_TO_MAX, {"max_replicas": 10}),
    Case("from zero with load wakes up", 730, 0, 8, reasons.SCALE_FROM_ZERO, {"min_replicas": 0}),
    Case("from zero wakes to at least min", 50, 0, 3, reasons.CLAMPED_TO_MIN, {"min_replicas": 3}),
    Case("from zero without load stays at zero", 0, 0, 0, reasons.STEADY, {"min_replicas": 0}),
    Case(
        "band blocks a scale-up below its upper threshold",
        600,
        5,
        5,
        reasons.OUTSIDE_THRESHOLD_BAND,
        {"band": UtilisationBand(scale_up=1.3, scale_down=0.3)},
    ),
    Case(
        "band allows a scale-up above its upper threshold",
        700,
        5,
        7,
        reasons.SCALE_UP_ON_LOAD,
        {"band": UtilisationBand(scale_up=1.3, scale_down=0.3)},
    ),
    Case(
        "band blocks a scale-down above its lower threshold",
        200,
        5,
        5,
        reasons.OUTSIDE_THRESHOLD_BAND,
        {"band": UtilisationBand(scale_up=0.8, scale_down=0.3)},
    ),
    Case(
        "band allows a scale-down below its lower threshold",
        100,
        5,
        1,
        reasons.SCALE_DOWN_ON_LOAD,
        {"band": UtilisationBand(scale_up=0.8, scale_down=0.3)},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_reactive_rule(case: Case) -> None:
    decision, _ = plan(
        settings=settings(**case.overrides),
        reading=constant(case.load),
        current_replicas=case.current,
        ready_replicas=case.current,
        now=T0,
        state=PlannerState(),
    )
    assert (decision.desired_replicas, decision.reason) == (case.desired, case.reason)
    assert decision.load == case.load


def test_whole_multiples_of_the_target_need_no_extra_replica() -> None:
    # 0.3 / 0.1 is 2.9999999999999996 and 0.7 / 0.1 is 6.999999999999999 in floating point.
    assert replicas_for_load(0.3, target_per_replica=0.1) == 3
    assert replicas_for_load(0.7, target_per_replica=0.1) == 7
    assert replicas_for_load(700.0, target_per_replica=100.0) == 7
    assert replicas_for_load(700.001, target_per_replica=100.0) == 8


# No deadline: tests never depend on how fast the machine is.
@hypothesis_settings(deadline=None)
@given(
    load=st.floats(min_value=0, max_value=1e6, allow_nan=False),
    current=st.integers(min_value=0, max_value=200),
    min_replicas=st.integers(min_value=0, max_value=10),
    extra=st.integers(min_value=0, max_value=100),
)
def test_decision_always_within_min_and_max(load: float, current: int, min_replicas: int, extra: int) -> None:
    policy = settings(min_replicas=min_replicas, max_replicas=min_replicas + extra)
    decision, _ = plan(
        settings=policy,
        reading=constant(load),
        current_replicas=current,
        ready_replicas=current,
        now=T0,
        state=PlannerState(),
    )
    assert policy.min_replicas <= decision.desired_replicas <= policy.max_replicas
