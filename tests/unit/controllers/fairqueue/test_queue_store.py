"""The store: complete only once every kind is listed, woken only by changes that matter, and
bridging an admission write and its watch event."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ebbtide.api.fairqueue_vocabulary import ADMITTED_AT, QUEUE_LABEL, SCHEDULING_GATE, WAITING_REASON
from ebbtide.api.workloads import WorkloadState, read_pod
from ebbtide.controllers.fairqueue.store import QueueStore


def pod(
    name: str = "p",
    *,
    gated: bool = True,
    annotations: dict[str, str] | None = None,
    cpu: str = "1",
    node: str | None = None,
    queue: str | None = "q",
) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "c", "resources": {"requests": {"cpu": cpu}}}]}
    if gated:
        spec["schedulingGates"] = [{"name": SCHEDULING_GATE}]
    if node:
        spec["nodeName"] = node
    return {
        "metadata": {
            "name": name,
            "namespace": "ns",
            "uid": f"uid-{name}",
            "resourceVersion": "1",
            "labels": {QUEUE_LABEL: queue} if queue else {},
            "annotations": annotations or {},
        },
        "spec": spec,
        "status": {"phase": "Running" if node else "Pending"},
    }


class Pokes:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


def listed_store(pokes: Pokes, pods: list[dict[str, Any]]) -> QueueStore:
    store = QueueStore(on_change=pokes)
    store.replace_queues([])
    store.replace_jobs([])
    store.replace_nodes([])
    store.replace_namespaces([])
    store.replace_pods(pods)
    return store


def test_the_view_is_complete_only_when_every_kind_has_been_listed() -> None:
    store = QueueStore()
    for replace_kind in (store.replace_queues, store.replace_pods, store.replace_jobs, store.replace_nodes):
        replace_kind([])
        assert not store.view().synced
    store.replace_namespaces([])
    assert store.view().synced


def test_waiting_annotations_and_unrelated_updates_do_not_wake_the_loop() -> None:
    pokes = Pokes()
    store = listed_store(pokes, [pod()])
    before = pokes.count
    store.apply_pod("MODIFIED", pod(annotations={WAITING_REASON: "WaitingForCapacity"}))
    assert pokes.count == before
    assert store.view().workloads[0].waiting_reason == "WaitingForCapacity"


def test_arrivals_admissions_departures_and_resizes_wake_the_loop() -> None:
    pokes = Pokes()
    store = listed_store(pokes, [])
    changes = [
        ("ADDED", pod("a")),
        ("MODIFIED", pod("a", gated=False, annotations={ADMITTED_AT: "t"})),
        ("ADDED", pod("web", queue=None, gated=False, node="n1")),
        ("DELETED", pod("web", queue=None, gated=False, node="n1")),
        ("DELETED", pod("a", gated=False, annotations={ADMITTED_AT: "t"})),
    ]
    for number, (event, body) in enumerate(changes, start=1):
        store.apply_pod(event, body)
        assert pokes.count == 5 + number  # 5 first listings, then one per change


def test_unqueued_pods_that_hold_nothing_are_not_kept() -> None:
    store = listed_store(Pokes(), [pod("idle", queue=None, gated=False)])
    view = store.view()
    assert (view.workloads, view.active_pods) == ([], [])


def test_an_assumed_admission_hides_the_stale_pending_until_the_watch_confirms_it() -> None:
    store = listed_store(Pokes(), [pod()])
    pending = store.view().workloads[0]
    admitted = replace(pending, state=WorkloadState.ADMITTED, admitted_at="t")
    store.assume(admitted)
    store.apply_pod("MODIFIED", pod(annotations={WAITING_REASON: "x"}))  # an older event, still gated
    assert store.view().workloads[0].state is WorkloadState.ADMITTED
    store.apply_pod("MODIFIED", pod(gated=False, annotations={ADMITTED_AT: "t"}))
    assert store.view().workloads[0] == read_pod(pod(gated=False, annotations={ADMITTED_AT: "t"})).workload


def test_an_assumption_lapses_after_its_time_to_live() -> None:
    now = [0.0]
    store = QueueStore(assume_ttl=60, clock=lambda: now[0])
    for replace_kind in (
        store.replace_queues,
        store.replace_jobs,
        store.replace_nodes,
        store.replace_namespaces,
    ):
        replace_kind([])
    store.replace_pods([pod()])
    store.assume(replace(store.view().workloads[0], state=WorkloadState.ADMITTED))
    now[0] = 61.0
    assert store.view().workloads[0].state is WorkloadState.PENDING


def test_the_watch_confirming_an_assumed_admission_wakes_no_cycle_but_anything_else_does() -> None:
    pokes = Pokes()
    store = listed_store(pokes, [pod("a"), pod("b")])
    for name in ("a", "b"):
        pending = next(w for w in store.view().workloads if w.name == name)
        store.assume(replace(pending, state=WorkloadState.ADMITTED, admitted_at="t"))
    before = pokes.count
    store.apply_pod("MODIFIED", pod("a", gated=False, annotations={ADMITTED_AT: "t"}))
    assert pokes.count == before
    store.apply_pod("MODIFIED", pod("b", gated=False, cpu="2", annotations={ADMITTED_AT: "t"}))
    assert pokes.count == before + 1  # admitted, but not as the assumption had it: decide again
