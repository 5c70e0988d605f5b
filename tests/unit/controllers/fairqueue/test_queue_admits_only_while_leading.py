"""Only the leader admits: a cycle that may not admit writes nothing, a leader that loses the
Lease mid-cycle writes nothing more, a new leader plans RoundRobin turns from the admissions on
the workloads, and a stopping leader stops admitting before it hands the Lease over."""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from kubernetes import client
from prometheus_client import REGISTRY
from tests.unit.controllers.fairqueue import test_queue_cycle
from tests.unit.controllers.fairqueue.test_queue_cycle import NOW, FakeCluster
from tests.unit.kube.lease_builders import NAME, NAMESPACE, LeaseServer, Link

from ebbtide.api.fairqueue_vocabulary import ADMITTED_AT
from ebbtide.controllers.fairqueue.cycle import AdmissionCycle
from ebbtide.controllers.fairqueue.leadership import LeaderElectedEngine
from ebbtide.controllers.fairqueue.reporting import Reporter
from ebbtide.controllers.fairqueue.snapshot import build_cycle_input
from ebbtide.controllers.fairqueue.store import QueueStore, StoreView
from ebbtide.kube.lease_election import ElectionTiming
from ebbtide.metrics import queue_metrics

pytestmark = pytest.mark.unit


class Gate:
    """``may_admit`` that answers yes ``allowed`` times, then no (thread-safe: writers ask it)."""

    def __init__(self, allowed: int) -> None:
        self.allowed = allowed
        self._lock = threading.Lock()

    def __call__(self) -> bool:
        with self._lock:
            self.allowed -= 1
            return self.allowed >= 0


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(4) as executor:
        yield executor


def cycle_over(cluster: FakeCluster, pool: ThreadPoolExecutor, gate: Gate) -> tuple[AdmissionCycle, Reporter]:
    over = test_queue_cycle.engine(cluster, pool, may_admit=gate)
    return over.cycle, over.reporter


def backlog() -> FakeCluster:
    cluster = FakeCluster()
    cluster.add_queue("q", cohort="c", capacity={"cpu": "4", "memory": "64Gi"})
    for index in range(8):
        cluster.add_pod(f"p-{index}", queue="q", second=index)
    return cluster


def test_a_replica_that_may_not_admit_plans_and_writes_nothing_and_drops_its_gauges(
    pool: ThreadPoolExecutor,
) -> None:
    cluster = backlog()
    queue_metrics.PENDING.labels(queue="q", reason="WaitingForCapacity").set(8)  # reported while it led
    cycle, reporter = cycle_over(cluster, pool, Gate(allowed=0))
    result = cycle.run()
    assert reporter.wait_idle(timeout=30)
    assert (result.planned, result.admitted, result.more) == (0, 0, False)
    assert cluster.writes == []
    assert cluster.events == []
    labels = {"queue": "q", "reason": "WaitingForCapacity"}
    assert REGISTRY.get_sample_value("ebbtide_fairqueue_pending_workloads", labels) is None


def test_a_leader_that_loses_the_lease_mid_cycle_writes_nothing_more(pool: ThreadPoolExecutor) -> None:
    cluster = backlog()
    # Yes for the cycle and for two of its four admission writes; no from then on.
    cycle, reporter = cycle_over(cluster, pool, Gate(allowed=3))
    result = cycle.run()
    assert reporter.wait_idle(timeout=30)
    assert (result.planned, result.admitted, result.more) == (4, 2, False)
    assert [kind for kind, _ in cluster.writes] == ["admit", "admit"], "no status, no waiting note"
    assert sum(ADMITTED_AT in pod["metadata"]["annotations"] for pod in cluster.pods.values()) == 2


def test_a_new_leader_writes_the_status_it_wants_whatever_it_wrote_before(pool: ThreadPoolExecutor) -> None:
    cluster = backlog()
    cycle, reporter = cycle_over(cluster, pool, Gate(allowed=1000))
    cycle.run()
    assert reporter.wait_idle(timeout=30)
    assert ("status", "q") in cluster.writes
    # Before the watch showed that write, this replica lost the Lease; the other one wrote a
    # status of its own, which the watch now shows. The Lease comes back.
    cluster.queues["q"]["status"] = {"pending": 99}
    cycle._store.apply_queue("MODIFIED", copy.deepcopy(cluster.queues["q"]))
    writes = len(cluster.writes)
    cycle.forget_history()
    cycle.run()
    assert reporter.wait_idle(timeout=30)
    assert ("status", "q") in cluster.writes[writes:]
    assert cluster.queues["q"]["status"]["pending"] == 4


# -- RoundRobin cursors after a restart or a takeover ----------------------------------------


def round_robin_cluster() -> FakeCluster:
    """Namespaces a, b, c with two pods each in a RoundRobin queue; one pod fits at a time."""
    cluster = FakeCluster()
    cluster.add_queue("rr", order="RoundRobin", capacity={"cpu": "1", "memory": "64Gi"})
    for second, (namespace, index) in enumerate((ns, i) for i in range(2) for ns in "abc"):
        name = f"{namespace}{index}"
        cluster.add_pod(name, queue="rr", second=second)
        cluster.pods[name]["metadata"]["namespace"] = namespace
    return cluster


def admit_by_hand(cluster: FakeCluster, name: str, *, at: datetime) -> None:
    """What another replica's admission leaves on a pod: no gate, the admitted-at annotation."""
    pod = cluster.pods[name]
    pod["spec"].pop("schedulingGates")
    pod["metadata"]["annotations"][ADMITTED_AT] = at.isoformat()


def view_of(cluster: FakeCluster) -> StoreView:
    store = QueueStore()
    store.replace_queues(list(cluster.queues.values()))
    store.replace_pods(list(cluster.pods.values()))
    store.replace_jobs([])
    store.replace_nodes([])
    store.replace_namespaces([{"metadata": {"name": ns}} for ns in "abc"])
    return store.view()


def test_a_queue_without_a_cursor_resumes_after_the_namespace_admitted_last() -> None:
    cluster = round_robin_cluster()
    admit_by_hand(cluster, "a0", at=NOW)
    admit_by_hand(cluster, "b0", at=NOW + timedelta(seconds=5))
    snapshot = build_cycle_input(view_of(cluster), cursors={}).snapshot
    assert snapshot.round_robin_cursors == {"rr": "b"}
    assert build_cycle_input(view_of(cluster), cursors={"rr": "a"}).snapshot.round_robin_cursors == {
        "rr": "a"
    }


def test_a_new_leader_forgets_its_cursors_and_continues_the_rotation(pool: ThreadPoolExecutor) -> None:
    cluster = round_robin_cluster()
    cycle, reporter = cycle_over(cluster, pool, Gate(allowed=1000))
    cycle.run()  # this replica leads first: it admits a0 and remembers "a"
    assert reporter.wait_idle(timeout=30)
    assert [name for kind, name in cluster.writes if kind == "admit"] == ["a0"]
    # Another replica led meanwhile: a0 finished, it admitted b0; this one takes the Lease back.
    cluster.pods["a0"]["status"]["phase"] = "Succeeded"
    admit_by_hand(cluster, "b0", at=datetime.now(UTC))
    cluster.pods["b0"]["status"]["phase"] = "Succeeded"
    store = cycle._store
    cluster.feed(store)
    cycle.forget_history()
    cycle.run()
    assert reporter.wait_idle(timeout=30)
    assert [name for kind, name in cluster.writes if kind == "admit"] == ["a0", "c0"], "c's turn after b"


# -- the engine and its Lease --------------------------------------------------------------------


def leader_gauge() -> float | None:
    return REGISTRY.get_sample_value("ebbtide_fairqueue_leader")


@pytest.fixture
def server() -> LeaseServer:
    return LeaseServer()


@pytest.fixture
def engine(server: LeaseServer) -> Iterator[LeaderElectedEngine]:
    api = client.ApiClient(client.Configuration(host="http://127.0.0.1:9"))  # never called here
    made = LeaderElectedEngine(
        api,
        lease_namespace=NAMESPACE,
        identity="replica-a",
        timing=ElectionTiming(lease_duration=120, renew_deadline=60, retry_period=0.05),
        leases=Link(server),
    )
    yield made
    made.stop()
    api.close()


def test_the_engine_runs_cycles_only_while_it_leads(
    engine: LeaderElectedEngine, server: LeaseServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    views: list[int] = []
    real_view = engine.store.view
    monkeypatch.setattr(engine.store, "view", lambda: views.append(1) or real_view())
    pokes: list[int] = []
    monkeypatch.setattr(engine.loop, "poke", lambda: pokes.append(1))

    assert leader_gauge() == 0
    engine.cycle.run()
    assert views == [], "a standby does not even look"

    engine.elector.step()
    assert engine.is_leader
    assert leader_gauge() == 1
    assert pokes == [1], "the first cycle runs at once"
    assert engine.cycle._history_stale.is_set()
    engine.cycle.run()
    assert views == [1]

    server.give_to("replica-b")
    engine.elector.step()
    assert not engine.is_leader
    assert leader_gauge() == 0
    assert pokes == [1, 1], "a cycle that drops the per-queue gauges"
    engine.cycle.run()
    assert views == [1]


def test_stopping_the_engine_stops_admitting_before_it_releases_the_lease(
    engine: LeaderElectedEngine, server: LeaseServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    order: list[str] = []
    stop_loop = engine.loop.stop
    monkeypatch.setattr(engine.loop, "stop", lambda **kw: (order.append("loop stopped"), stop_loop(**kw)))
    replace = server.replace

    def recording_replace(**kwargs: object) -> object:
        if not kwargs["body"]["spec"].get("holderIdentity"):  # type: ignore[index]
            order.append("lease released")
        return replace(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(server, "replace", recording_replace)
    engine.elector.start()
    deadline = time.monotonic() + 10
    while not engine.is_leader and time.monotonic() < deadline:
        time.sleep(0.01)
    assert engine.is_leader
    engine.stop()
    assert order[:2] == ["loop stopped", "lease released"]
    assert not engine.is_leader
    assert leader_gauge() == 0
    lease = server.leases[(NAMESPACE, NAME)]
    assert "holderIdentity" not in lease["spec"]
