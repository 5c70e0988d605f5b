import pytest

from ebbtide.api.resources import Resources
from ebbtide.queueing import AdmittedWorkload, InvalidSnapshotError, ResourceLimit, usage_by_queue

pytestmark = pytest.mark.unit

GI = 1024**3


@pytest.mark.parametrize(
    ("cpu_cores", "memory_bytes", "expected"),
    [
        pytest.param(0.1, 0, Resources(100, 0), id="a tenth of a core is exactly 100m"),
        pytest.param(2.5, 1.5 * GI, Resources(2500, 1536 * 1024**2), id="fractions of a Gi"),
        pytest.param(0.0005, 0.5, Resources(1, 1), id="sub-milli cpu and sub-byte memory round up"),
        pytest.param(None, None, Resources(0, 0), id="missing resources count as zero"),
    ],
)
def test_resources_from_quantities_are_exact_integers(
    cpu_cores: float | None, memory_bytes: float | None, expected: Resources
) -> None:
    assert Resources.from_quantities(cpu_cores=cpu_cores, memory_bytes=memory_bytes) == expected


@pytest.mark.parametrize("value", [pytest.param(-1.0, id="negative"), pytest.param(float("nan"), id="nan")])
def test_resources_from_bad_quantities_are_rejected(value: float) -> None:
    with pytest.raises(InvalidSnapshotError):
        Resources.from_quantities(cpu_cores=value, memory_bytes=0)


def test_negative_amounts_are_rejected() -> None:
    with pytest.raises(InvalidSnapshotError):
        Resources(cpu_millis=-1)
    with pytest.raises(InvalidSnapshotError):
        ResourceLimit(memory_bytes=-1)


def test_arithmetic_and_comparison_are_per_resource() -> None:
    small, large = Resources(1000, 5), Resources(2000, 3)
    assert small + large == Resources(3000, 8)
    assert not small.fits_within(large)  # memory is larger
    assert small.saturating_sub(large) == Resources(0, 2)
    assert Resources.ZERO.is_zero()


def test_limit_leaves_unset_resources_unbounded() -> None:
    cpu_only = ResourceLimit.from_quantities(cpu_cores=2, memory_bytes=None)
    assert cpu_only.admits(Resources(2000, 10**15))
    assert not cpu_only.admits(Resources(2001, 0))
    assert cpu_only.clamp(Resources(5000, 7)) == Resources(2000, 7)
    assert ResourceLimit.UNLIMITED.admits(Resources(10**12, 10**15))


def test_usage_counts_only_admitted_workloads_that_have_not_finished() -> None:
    admitted = [
        AdmittedWorkload(queue="a", requests=Resources(1000, 1)),
        AdmittedWorkload(queue="a", requests=Resources(2000, 2)),
        AdmittedWorkload(queue="a", requests=Resources(4000, 4), finished=True),
        AdmittedWorkload(queue="b", requests=Resources(8000, 8), finished=True),
    ]
    assert usage_by_queue(admitted) == {"a": Resources(3000, 3)}
