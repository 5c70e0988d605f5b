from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from queue_builders import SnapshotBuilder, job, queue, snapshot

from ebbtide.queueing import InvalidSnapshotError, QueueSpec, plan_admissions

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("builder", "complaint"),
    [
        pytest.param(
            snapshot().with_queues(queue("a"), queue("a")),
            "duplicate queue names",
            id="two queues with one name",
        ),
        pytest.param(
            snapshot().with_queues(queue("a").weight(-1)),
            "weight must be finite and >= 0",
            id="negative weight",
        ),
        pytest.param(
            snapshot().with_queues(queue("a").weight(float("nan"))),
            "weight must be finite and >= 0",
            id="nan weight",
        ),
        pytest.param(
            snapshot().with_queues(queue("a").weight(float("inf"))),
            "weight must be finite and >= 0",
            id="infinite weight",
        ),
        pytest.param(
            snapshot().with_pending(job("w"), job("w")),
            "duplicate pending workloads",
            id="same workload listed twice",
        ),
        pytest.param(
            snapshot().with_pending(replace(job("w").build(), created_at=datetime(2024, 1, 1))),
            "timezone-aware",
            id="naive creation time",
        ),
        pytest.param(
            snapshot().with_pending(replace(job("w").build(), expected_duration=timedelta(seconds=-1))),
            "expected duration must be >= 0",
            id="negative expected duration",
        ),
    ],
)
def test_malformed_snapshots_are_rejected(builder: SnapshotBuilder, complaint: str) -> None:
    with pytest.raises(InvalidSnapshotError, match=complaint):
        plan_admissions(builder.build())


def test_same_name_in_two_kinds_is_two_workloads() -> None:
    snap = (
        snapshot()
        .with_capacity(cpu=4)
        .with_queues(QueueSpec(name="q"))
        .with_pending(job("w").kind("Job"), job("w").kind("Pod"))
    )
    assert len(plan_admissions(snap.build()).admissions) == 2
