"""Resource match (least allocated) and balanced allocation, after placing the pod."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ebbtide.scoring.factors import Allocation, balanced_allocation, least_allocated

pytestmark = pytest.mark.unit

# Properties, not timings: no deadline and no slowness check, however busy the machine is.
UNTIMED = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

GI = 1024**3


def allocation(
    *, alloc_cpu: float, alloc_mem: float, used_cpu: float, used_mem: float, pod_cpu: float, pod_mem: float
) -> Allocation:
    return Allocation(
        allocatable_cpu=np.array([alloc_cpu]),
        allocatable_memory=np.array([alloc_mem]),
        requested_cpu=np.array([used_cpu]),
        requested_memory=np.array([used_mem]),
        pod_cpu=pod_cpu,
        pod_memory=pod_mem,
    )


@pytest.mark.parametrize(
    ("alloc_cpu", "alloc_mem", "used_cpu", "used_mem", "pod_cpu", "pod_mem", "expected"),
    [
        pytest.param(4000, 16 * GI, 0, 0, 0, 0, 1.0, id="an empty node with a weightless pod is all free"),
        pytest.param(4000, 16 * GI, 0, 0, 2000, 8 * GI, 0.5, id="a pod taking half of each leaves half"),
        pytest.param(4000, 16 * GI, 1000, 0, 1000, 4 * GI, (0.5 + 0.75) / 2, id="mean of cpu and memory"),
        pytest.param(4000, 16 * GI, 3000, 0, 2000, 0, 0.5, id="an overcommitted resource counts 0"),
        pytest.param(0, 16 * GI, 0, 0, 100, 0, 0.5, id="no allocatable cpu counts 0 for cpu"),
    ],
)
def test_least_allocated_is_the_mean_free_fraction_after_placing_the_pod(
    alloc_cpu: float,
    alloc_mem: float,
    used_cpu: float,
    used_mem: float,
    pod_cpu: float,
    pod_mem: float,
    expected: float,
) -> None:
    scores = least_allocated(
        allocation(
            alloc_cpu=alloc_cpu,
            alloc_mem=alloc_mem,
            used_cpu=used_cpu,
            used_mem=used_mem,
            pod_cpu=pod_cpu,
            pod_mem=pod_mem,
        )
    )
    assert scores.tolist() == pytest.approx([expected])


@pytest.mark.parametrize(
    ("used_cpu", "used_mem", "pod_cpu", "pod_mem", "expected"),
    [
        pytest.param(0, 0, 2000, 8 * GI, 1.0, id="equal fractions are perfectly balanced"),
        pytest.param(0, 0, 4000, 0, 0.0, id="a full cpu and empty memory is the worst balance"),
        pytest.param(1000, 8 * GI, 1000, 0, 1.0, id="the pod evens out the node"),
        pytest.param(0, 0, 1000, 12 * GI, 0.5, id="a quarter against three quarters"),
        pytest.param(8000, 0, 0, 0, 0.0, id="fractions cap at 1"),
    ],
)
def test_balanced_allocation_compares_cpu_and_memory_fractions(
    used_cpu: float, used_mem: float, pod_cpu: float, pod_mem: float, expected: float
) -> None:
    scores = balanced_allocation(
        allocation(
            alloc_cpu=4000,
            alloc_mem=16 * GI,
            used_cpu=used_cpu,
            used_mem=used_mem,
            pod_cpu=pod_cpu,
            pod_mem=pod_mem,
        )
    )
    assert scores.tolist() == pytest.approx([expected])


amount = st.floats(min_value=0, max_value=1e12, allow_nan=False)


@settings(UNTIMED)
@given(amount, amount, amount, amount, amount, amount)
def test_resource_factors_stay_within_0_and_1(
    alloc_cpu: float, alloc_mem: float, used_cpu: float, used_mem: float, pod_cpu: float, pod_mem: float
) -> None:
    given_allocation = allocation(
        alloc_cpu=alloc_cpu,
        alloc_mem=alloc_mem,
        used_cpu=used_cpu,
        used_mem=used_mem,
        pod_cpu=pod_cpu,
        pod_mem=pod_mem,
    )
    for factor in (least_allocated, balanced_allocation):
        value = float(factor(given_allocation)[0])
        assert 0.0 <= value <= 1.0


def test_more_free_room_never_scores_lower() -> None:
    busy = allocation(
        alloc_cpu=4000, alloc_mem=16 * GI, used_cpu=3000, used_mem=12 * GI, pod_cpu=500, pod_mem=GI
    )
    idle = allocation(
        alloc_cpu=4000, alloc_mem=16 * GI, used_cpu=1000, used_mem=4 * GI, pod_cpu=500, pod_mem=GI
    )
    assert least_allocated(idle)[0] > least_allocated(busy)[0]
