"""FairQueue's preemption and TimeSlice fields: defaults that preempt nothing, rules users can read."""

from datetime import timedelta

import pytest
from pydantic import ValidationError

from ebbtide.api.fairqueue import FairQueueSpec

pytestmark = pytest.mark.unit


def test_defaults_preempt_nothing() -> None:
    spec = FairQueueSpec.model_validate({})
    assert spec.preemption.reclaim_within_cohort == "Never"
    assert spec.preemption.within_queue == "Never"
    assert spec.preemption.pod_preemption == "Never"
    assert spec.preemption.min_runtime == timedelta(0)
    assert spec.time_slice is None


def test_time_slice_order_with_its_quantum() -> None:
    spec = FairQueueSpec.model_validate(
        {
            "order": "TimeSlice",
            "timeSlice": "10m",
            "preemption": {"reclaimWithinCohort": "LowerShare", "minRuntime": "1m"},
        }
    )
    assert spec.time_slice == timedelta(minutes=10)
    assert spec.preemption.min_runtime == timedelta(minutes=1)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"order": "TimeSlice"}, "timeSlice is required when order is TimeSlice, and only then"),
        (
            {"order": "FIFO", "timeSlice": "5m"},
            "timeSlice is required when order is TimeSlice, and only then",
        ),
        ({"order": "TimeSlice", "timeSlice": "0s"}, "timeSlice must be at least 1s"),
        ({"preemption": {"reclaimWithinCohort": "Always"}}, "reclaimWithinCohort"),
    ],
)
def test_invalid_preemption_settings_are_refused_with_a_clear_message(spec: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        FairQueueSpec.model_validate(spec)
