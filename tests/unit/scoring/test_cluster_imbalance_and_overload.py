"""The imbalance figure LB and the filter's overload rule."""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ebbtide.scoring.imbalance import imbalance
from ebbtide.scoring.overload import overloaded

pytestmark = pytest.mark.unit

# Properties, not timings: no deadline and no slowness check, however busy the machine is.
UNTIMED = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize(
    ("loads", "expected"),
    [
        pytest.param([0.5, 0.5, 0.5], 0.0, id="an even cluster"),
        pytest.param([0.8, 0.2], 0.75, id="(max - min) / max"),
        pytest.param([0.9, 0.0], 1.0, id="one idle node beside a busy one"),
        pytest.param([0.0, 0.0], 0.0, id="max 0 is defined as 0"),
        pytest.param([], 0.0, id="no figures"),
        pytest.param([math.nan, 0.4, 0.2], 0.5, id="unknown loads are skipped"),
    ],
)
def test_imbalance(loads: list[float], expected: float) -> None:
    assert imbalance(loads) == pytest.approx(expected)


@settings(UNTIMED)
@given(st.lists(st.floats(min_value=0.0, max_value=10.0), min_size=1))
def test_imbalance_lies_between_0_and_1(loads: list[float]) -> None:
    assert 0.0 <= imbalance(loads) <= 1.0


def test_nodes_above_a_ceiling_fail_with_a_readable_reason() -> None:
    failing = overloaded(utilisation={"cpu": np.array([0.93, 0.5, math.nan, 0.85])}, ceilings={"cpu": 0.85})
    assert failing == {0: "node cpu utilisation 93 percent is above the ebbtide ceiling 85 percent"}


def test_every_configured_resource_is_checked_and_the_first_reason_kept() -> None:
    failing = overloaded(
        utilisation={"cpu": np.array([0.95, 0.1]), "memory": np.array([0.99, 0.97])},
        ceilings={"cpu": 0.9, "memory": 0.96},
    )
    assert failing == {
        0: "node cpu utilisation 95 percent is above the ebbtide ceiling 90 percent",
        1: "node memory utilisation 97 percent is above the ebbtide ceiling 96 percent",
    }


def test_without_figures_for_a_resource_nothing_fails() -> None:
    assert overloaded(utilisation={}, ceilings={"memory": 0.5}) == {}
