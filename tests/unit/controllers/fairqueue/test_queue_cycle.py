"""A whole admission cycle against an in-memory API: weighted admissions, waiting notes, status,
and a second cycle on an unchanged cluster that writes nothing at all."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest

from ebbtide.api.fairqueue_vocabulary import (
    ADMITTED_AT,
    QUEUE_LABEL,
    QUEUE_POSITION,
    SCHEDULING_GATE,
    WAITING_REASON,
)
from ebbtide.api.gates import admission_patch, waiting_patch
from ebbtide.api.workloads import WorkloadRecord, read_pod
from ebbtide.controllers.fairqueue.cycle import AdmissionCycle, CycleResult
from ebbtide.controllers.fairqueue.reporting import Reporter
from ebbtide.controllers.fairqueue.store import QueueStore
from ebbtide.controllers.fairqueue.waiting import WaitingNotes
from ebbtide.kube.workload_writes import AdmitOutcome, AdmitResult

NOW = datetime(2024, 5, 1, 12, 0, 30, tzinfo=UTC)


def merge(target: dict[str, Any], patch: Mapping[str, Any]) -> None:
    """RFC 7386 JSON merge patch, as the API server applies it."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(target.get(key), dict):
            merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


class FakeCluster:
    """Pods and FairQueues as an API server would keep them, and every write made to them."""

    def __init__(self) -> None:
        self.pods: dict[str, dict[str, Any]] = {}
        self.queues: dict[str, dict[str, Any]] = {}
        self.writes: list[tuple[str, str]] = []
        self.events: list[tuple[str, str]] = []
        self.status_error: Exception | None = None

    def add_queue(self, name: str, **spec: Any) -> None:
        self.queues[name] = {"metadata": {"name": name, "generation": 1}, "spec": spec, "status": {}}

    def add_pod(self, name: str, *, queue: str, second: int) -> None:
        self.pods[name] = {
            "metadata": {
                "name": name,
                "namespace": "ns",
                "uid": name,
                "resourceVersion": "1",
                "creationTimestamp": f"2024-05-01T12:00:{second:02d}Z",
                "labels": {QUEUE_LABEL: queue},
                "annotations": {},
            },
            "spec": {
                "schedulingGates": [{"name": SCHEDULING_GATE}],
                "containers": [{"name": "c", "resources": {"requests": {"cpu": "1", "memory": "1Gi"}}}],
            },
            "status": {"phase": "Pending"},
        }

    def _patch(self, name: str, body: Mapping[str, Any]) -> dict[str, Any]:
        obj = self.pods[name]
        merge(obj, body)
        obj["metadata"]["resourceVersion"] = str(int(obj["metadata"]["resourceVersion"]) + 1)
        return obj

    # the WorkloadWriter interface
    def admit(self, workload: WorkloadRecord, *, decision: Mapping[str, Any], now: datetime) -> AdmitOutcome:
        self.writes.append(("admit", workload.name))
        obj = self._patch(workload.name, admission_patch(workload, decision=decision, now=now))
        return AdmitOutcome(AdmitResult.ADMITTED, read_pod(obj).workload)

    def annotate_waiting(
        self, workload: WorkloadRecord, *, reason: str, message: str, position: str | None
    ) -> bool:
        self.writes.append(("waiting", workload.name))
        self._patch(workload.name, waiting_patch(reason=reason, message=message, position=position))
        return True

    # the status writer and the event recorder
    def write_status(self, name: str, status: Mapping[str, object]) -> bool:
        self.writes.append(("status", name))
        if self.status_error is not None:
            raise self.status_error
        merge(self.queues[name]["status"], status)
        return True

    def record(self, workload: WorkloadRecord, *, type_: str, reason: str, message: str) -> None:
        self.events.append((workload.name, reason))

    def feed(self, store: QueueStore) -> None:
        """What the watches would deliver: every object as it now is."""
        for obj in self.pods.values():
            store.apply_pod("MODIFIED", copy.deepcopy(obj))
        for obj in self.queues.values():
            store.apply_queue("MODIFIED", copy.deepcopy(obj))


@pytest.fixture
def pool() -> Any:
    with ThreadPoolExecutor(4) as executor:
        yield executor


class Pacing:
    """A reporter's interval on a hand-moved clock; wake-ups are recorded, not run."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.now = 1000.0
        self.scheduled: list[tuple[float, Callable[[], None]]] = []
        self.woken = 0

    def reporter_options(self) -> dict[str, Any]:
        return {
            "interval": self.interval,
            "clock": lambda: self.now,
            "schedule": lambda delay, function: self.scheduled.append((delay, function)),
            "wake": self.wake,
        }

    def wake(self) -> None:
        self.woken += 1


class Engine:
    """The store, the cycle and its reporter over a fake cluster; :meth:`run` waits for the
    cycle's background writes too."""

    def __init__(self, store: QueueStore, cycle: AdmissionCycle, reporter: Reporter) -> None:
        self.store = store
        self.cycle = cycle
        self.reporter = reporter

    def run(self) -> CycleResult:
        result = self.cycle.run()
        assert self.reporter.wait_idle(timeout=30)
        return result


def engine(
    cluster: FakeCluster,
    pool: ThreadPoolExecutor,
    *,
    may_admit: Callable[[], bool] = lambda: True,
    pacing: Pacing | None = None,
) -> Engine:
    store = QueueStore()
    store.replace_queues(copy.deepcopy(list(cluster.queues.values())))
    store.replace_pods(copy.deepcopy(list(cluster.pods.values())))
    store.replace_jobs([])
    store.replace_nodes([])
    store.replace_namespaces([{"metadata": {"name": "ns"}}])
    reporter = Reporter(
        writer=cluster,  # type: ignore[arg-type]
        write_status=cluster.write_status,
        events=cluster,  # type: ignore[arg-type]
        pool=pool,
        notes=WaitingNotes(budget=100),
        **(pacing.reporter_options() if pacing is not None else {}),
    )
    cycle = AdmissionCycle(
        store=store,
        writer=cluster,  # type: ignore[arg-type]
        reporter=reporter,
        events=cluster,  # type: ignore[arg-type]
        pool=pool,
        clock=lambda: NOW,
        may_admit=may_admit,
    )
    return Engine(store, cycle, reporter)


def backlog() -> FakeCluster:
    cluster = FakeCluster()
    capacity = {"cpu": "4", "memory": "64Gi"}
    cluster.add_queue("light", weight=1, cohort="c", capacity=capacity)
    cluster.add_queue("heavy", weight=3, cohort="c", capacity=capacity)
    for index in range(8):
        cluster.add_pod(f"light-{index}", queue="light", second=index)
        cluster.add_pod(f"heavy-{index}", queue="heavy", second=index)
    return cluster


def test_a_cycle_admits_by_weight_and_tells_every_waiting_workload_why(pool: ThreadPoolExecutor) -> None:
    cluster = backlog()
    result = engine(cluster, pool).run()
    admitted = sorted(name for kind, name in cluster.writes if kind == "admit")
    assert admitted == ["heavy-0", "heavy-1", "heavy-2", "light-0"]
    assert result.admitted == 4
    for name in admitted:
        obj = cluster.pods[name]
        assert "schedulingGates" not in obj["spec"]
        assert ADMITTED_AT in obj["metadata"]["annotations"]
    waiting = {
        name: obj["metadata"]["annotations"] for name, obj in cluster.pods.items() if name not in admitted
    }
    assert {a[WAITING_REASON] for a in waiting.values()} == {"WaitingForCapacity"}
    assert waiting["light-1"][QUEUE_POSITION] == "1"
    assert waiting["heavy-7"][QUEUE_POSITION] == "5"
    assert {reason for _, reason in cluster.events} == {"Admitted", "WaitingForCapacity"}
    heavy = cluster.queues["heavy"]["status"]
    assert (heavy["admitted"], heavy["pending"], heavy["usage"]["cpu"], heavy["entitlement"]["cpu"]) == (
        3,
        5,
        "3",
        "3",
    )


def test_a_second_cycle_on_an_unchanged_cluster_writes_nothing(pool: ThreadPoolExecutor) -> None:
    cluster = backlog()
    running = engine(cluster, pool)
    running.run()
    cluster.feed(running.store)
    writes, events = len(cluster.writes), len(cluster.events)
    result = running.run()
    assert result.admitted == 0
    assert cluster.writes[writes:] == []
    assert cluster.events[events:] == []


def test_a_second_cycle_before_the_watch_catches_up_repeats_no_write(pool: ThreadPoolExecutor) -> None:
    cluster = backlog()
    running = engine(cluster, pool)
    running.run()
    writes = len(cluster.writes)
    running.run()  # the store has not seen any write yet: only its memory of them
    assert cluster.writes[writes:] == []


def test_a_status_write_that_fails_is_sent_again_by_the_next_cycle(pool: ThreadPoolExecutor) -> None:
    cluster = backlog()
    cluster.status_error = OSError("connection reset")
    running = engine(cluster, pool)
    running.run()
    assert cluster.queues["heavy"]["status"] == {}
    cluster.status_error = None
    cluster.feed(running.store)
    writes = len(cluster.writes)
    running.run()
    assert sorted(name for kind, name in cluster.writes[writes:] if kind == "status") == ["heavy", "light"]
    assert cluster.queues["heavy"]["status"]["admitted"] == 3


def test_a_finished_workload_makes_room_for_the_queue_furthest_below_its_share(
    pool: ThreadPoolExecutor,
) -> None:
    cluster = backlog()
    running = engine(cluster, pool)
    running.run()
    cluster.feed(running.store)
    cluster.pods["light-0"]["status"]["phase"] = "Succeeded"
    cluster.feed(running.store)
    running.run()
    assert [name for kind, name in cluster.writes if kind == "admit"][-1] == "light-1"


def test_the_cycle_says_it_is_admitting_only_while_its_admission_writes_are_in_flight(
    pool: ThreadPoolExecutor,
) -> None:
    cluster = backlog()
    running = engine(cluster, pool)
    seen: list[bool] = []
    admit = cluster.admit

    def admit_and_look(
        workload: WorkloadRecord, *, decision: Mapping[str, Any], now: datetime
    ) -> AdmitOutcome:
        seen.append(running.cycle.admitting)
        return admit(workload, decision=decision, now=now)

    cluster.admit = admit_and_look  # type: ignore[method-assign]
    assert not running.cycle.admitting
    running.run()
    assert seen == [True] * 4
    assert not running.cycle.admitting


def test_reports_within_the_interval_wait_and_the_loop_is_woken_once_it_has_passed(
    pool: ThreadPoolExecutor,
) -> None:
    cluster = backlog()
    pacing = Pacing(interval=5.0)
    running = engine(cluster, pool, pacing=pacing)
    running.run()
    first = [kind for kind, _ in cluster.writes if kind != "admit"]
    assert first.count("status") == 2
    # A pod finishes: the next cycle admits at once, but its statuses wait for the interval.
    cluster.feed(running.store)
    cluster.pods["light-0"]["status"]["phase"] = "Succeeded"
    cluster.feed(running.store)
    pacing.now += 1.0
    writes = len(cluster.writes)
    running.run()
    assert [kind for kind, _ in cluster.writes[writes:]] == ["admit"]
    assert [delay for delay, _ in pacing.scheduled] == [4.0]
    running.run()  # another cycle meanwhile asks for no second wake-up
    assert len(pacing.scheduled) == 1
    woken = pacing.woken
    pacing.now += 4.0
    pacing.scheduled[0][1]()
    assert pacing.woken == woken + 1
    cluster.feed(running.store)
    running.run()
    assert ("status", "light") in cluster.writes[writes:]
