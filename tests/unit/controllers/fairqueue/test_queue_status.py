"""A FairQueue's status: figures and conditions, written only when they change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ebbtide.api import FairQueueSpec
from ebbtide.api.resources import Resources
from ebbtide.controllers.fairqueue.records import QueueRecord
from ebbtide.controllers.fairqueue.status import desired_status
from ebbtide.queueing import PendingWorkload, QueueSpec, Snapshot, WaitingWorkload, plan_admissions

GI = 1024**3
T0 = datetime(2024, 5, 1, 12, tzinfo=UTC)


def planned_queue(*, pending: int, capacity_cpu: int) -> tuple[Any, list[WaitingWorkload]]:
    workloads = [
        PendingWorkload(namespace="ns", name=f"p{i}", queue="a", requests=Resources(1000, GI), created_at=T0)
        for i in range(pending)
    ]
    plan = plan_admissions(
        Snapshot(
            queues=[QueueSpec(name="a")],
            cohort_capacity={"": Resources(capacity_cpu * 1000, 64 * GI)},
            pending=workloads,
        )
    )
    return plan.queues["a"], list(plan.waiting)


def queue(status: dict[str, Any] | None = None) -> QueueRecord:
    return QueueRecord(name="a", generation=3, spec=FairQueueSpec(), status=status or {})


def test_a_backlogged_queue_reports_its_figures_and_why_its_head_waits() -> None:
    planned, waiting = planned_queue(pending=5, capacity_cpu=2)
    status = desired_status(record=queue(), planned=planned, waiting=waiting, pending=3, admitted=2, now=T0)
    assert status is not None
    assert {
        k: status[k] for k in ("observedGeneration", "pending", "admitted", "usage", "entitlement", "share")
    } == {
        "observedGeneration": 3,
        "pending": 3,
        "admitted": 2,
        "usage": {"cpu": "2", "memory": "2Gi"},
        "entitlement": {"cpu": "2", "memory": "5Gi"},
        "share": 1.0,
    }
    conditions = {c["type"]: c for c in status["conditions"]}
    assert conditions["Active"]["status"] == "True"
    assert conditions["Backlogged"]["status"] == "True"
    assert conditions["Backlogged"]["reason"] == "WaitingForCapacity"
    assert conditions["InadmissibleWorkloads"]["status"] == "False"


def test_an_unchanged_queue_is_not_written_again() -> None:
    planned, waiting = planned_queue(pending=5, capacity_cpu=2)
    first = desired_status(record=queue(), planned=planned, waiting=waiting, pending=3, admitted=2, now=T0)
    assert first is not None
    later = T0 + timedelta(minutes=5)
    again = desired_status(
        record=queue(first), planned=planned, waiting=waiting, pending=3, admitted=2, now=later
    )
    assert again is None


def test_a_condition_keeps_its_transition_time_until_its_status_flips() -> None:
    planned, waiting = planned_queue(pending=5, capacity_cpu=2)
    first = desired_status(record=queue(), planned=planned, waiting=waiting, pending=3, admitted=2, now=T0)
    assert first is not None
    drained, none_waiting = planned_queue(pending=2, capacity_cpu=2)
    later = T0 + timedelta(minutes=5)
    second = desired_status(
        record=queue(first), planned=drained, waiting=none_waiting, pending=0, admitted=2, now=later
    )
    assert second is not None
    times = {c["type"]: c["lastTransitionTime"] for c in second["conditions"]}
    assert times["Active"] == "2024-05-01T12:00:00Z"
    assert times["Backlogged"] == "2024-05-01T12:05:00Z"


def test_an_invalid_queue_says_why_and_reports_no_figures() -> None:
    broken = QueueRecord(name="a", generation=4, spec=None, error="spec.weight: must be greater than 0")
    status = desired_status(record=broken, planned=None, waiting=[], pending=7, admitted=0, now=T0)
    assert status is not None
    assert status["pending"] == 7
    assert status["usage"] is None
    (active,) = [c for c in status["conditions"] if c["type"] == "Active"]
    assert (active["status"], active["reason"]) == ("False", "InvalidSpec")
    assert "weight" in active["message"]


def test_workloads_that_can_never_be_admitted_show_on_their_queue() -> None:
    huge = PendingWorkload(
        namespace="ns", name="huge", queue="a", requests=Resources(9000, GI), created_at=T0
    )
    plan = plan_admissions(
        Snapshot(queues=[QueueSpec(name="a")], cohort_capacity={"": Resources(4000, 64 * GI)}, pending=[huge])
    )
    status = desired_status(
        record=queue(), planned=plan.queues["a"], waiting=list(plan.waiting), pending=1, admitted=0, now=T0
    )
    assert status is not None
    (condition,) = [c for c in status["conditions"] if c["type"] == "InadmissibleWorkloads"]
    assert (condition["status"], condition["reason"]) == ("True", "ExceedsCohortCapacity")
    assert "Pod ns/huge" in condition["message"]
