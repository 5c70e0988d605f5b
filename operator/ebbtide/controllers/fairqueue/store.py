"""The admission controller's view of the cluster, fed by informers, read as snapshots.

One store holds every kind a cycle looks at (FairQueues, queued Pods and Jobs, pods holding
node resources, nodes, namespaces), so a cycle plans on one consistent copy, and only once
every kind has been listed (:attr:`StoreView.synced`): a cycle on a half-listed view could see
pending workloads but not yet the admitted ones, and over-admit.

Changes that can alter a decision call ``on_change`` (the loop debounces them): a workload
appearing, finishing or changing queue, state or requests; a pod starting or stopping to hold
node resources; a queue's spec, a node's capacity or a namespace's labels changing. Writes that
change nothing of the sort (waiting annotations, FairQueue status, pod status churn) do not,
or the controller would wake itself forever.

Assumptions bridge the gap between an admission write and its watch event: the record the
write returned stands in for the watched one until the watch shows the workload admitted (or
finished, or gone), so the next cycle does not plan with a stale "pending", and the watch event
that only confirms the assumption wakes no cycle (the view already had it). An assumption
also lapses after ``assume_ttl`` seconds: by then the watch has long delivered the write, and
a workload still pending was suspended again by someone else and must wait again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ebbtide.api.resources import NodeFacts, read_node
from ebbtide.api.workloads import PodRecord, WorkloadRecord, WorkloadState, read_job, read_pod
from ebbtide.controllers.fairqueue.records import QueueRecord, read_namespace_labels, read_queue

Obj = Mapping[str, Any]
KINDS = ("queues", "pods", "jobs", "nodes", "namespaces")


@dataclass(frozen=True)
class StoreView:
    """A consistent copy of the store. ``workloads`` are queued Pods and Jobs (any state);
    ``active_pods`` are all pods holding node resources (queued or not)."""

    synced: bool
    queues: Mapping[str, QueueRecord]
    workloads: Sequence[WorkloadRecord]
    active_pods: Sequence[PodRecord]
    nodes: Sequence[NodeFacts]
    namespaces: Mapping[str, Mapping[str, str]]


def _uid(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("uid", ""))


def _name(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))


def _workload_signature(record: WorkloadRecord) -> Hashable:
    return (record.queue, record.state, record.requests)


def _pod_signature(record: PodRecord) -> Hashable:
    if record.workload.queue is not None:
        return _workload_signature(record.workload)
    return (record.active, record.workload.requests, record.job_uid)


class QueueStore:
    """Thread-safe: informer threads write, the admission loop reads :meth:`view`."""

    def __init__(
        self,
        *,
        on_change: Callable[[], None] = lambda: None,
        assume_ttl: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._on_change = on_change
        self._assume_ttl = assume_ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._synced = dict.fromkeys(KINDS, False)
        self._queues: dict[str, QueueRecord] = {}
        self._pods: dict[str, PodRecord] = {}
        self._jobs: dict[str, WorkloadRecord] = {}
        self._nodes: dict[str, NodeFacts] = {}
        self._namespaces: dict[str, dict[str, str]] = {}
        self._assumed: dict[str, tuple[WorkloadRecord, float]] = {}

    # -- feeds (informer callbacks) ----------------------------------------------------------

    def replace_pods(self, items: Iterable[Obj]) -> None:
        records = (read_pod(obj) for obj in items)
        self._replace("pods", self._pods, {r.workload.uid: r for r in records if _keeps(r)})

    def apply_pod(self, event_type: str, obj: Obj) -> None:
        record = None if event_type == "DELETED" else read_pod(obj)
        self._apply(self._pods, _uid(obj), record if record is not None and _keeps(record) else None)

    def replace_jobs(self, items: Iterable[Obj]) -> None:
        self._replace("jobs", self._jobs, {_uid(obj): read_job(obj) for obj in items})

    def apply_job(self, event_type: str, obj: Obj) -> None:
        self._apply(self._jobs, _uid(obj), None if event_type == "DELETED" else read_job(obj))

    def replace_queues(self, items: Iterable[Obj]) -> None:
        self._replace("queues", self._queues, {_name(obj): read_queue(obj) for obj in items})

    def apply_queue(self, event_type: str, obj: Obj) -> None:
        self._apply(self._queues, _name(obj), None if event_type == "DELETED" else read_queue(obj))

    def replace_nodes(self, items: Iterable[Obj]) -> None:
        self._replace("nodes", self._nodes, {_name(obj): read_node(obj) for obj in items})

    def apply_node(self, event_type: str, obj: Obj) -> None:
        self._apply(self._nodes, _name(obj), None if event_type == "DELETED" else read_node(obj))

    def replace_namespaces(self, items: Iterable[Obj]) -> None:
        self._replace("namespaces", self._namespaces, {_name(o): read_namespace_labels(o) for o in items})

    def apply_namespace(self, event_type: str, obj: Obj) -> None:
        labels = None if event_type == "DELETED" else read_namespace_labels(obj)
        self._apply(self._namespaces, _name(obj), labels)

    # -- the admission loop's side -------------------------------------------------------------

    def assume(self, record: WorkloadRecord) -> None:
        """Treat ``record`` (returned by a write) as current until the watch catches up."""
        with self._lock:
            self._assumed[record.uid] = (record, self._clock() + self._assume_ttl)

    def view(self) -> StoreView:
        with self._lock:
            pods = list(self._pods.values())
            workloads = [pod.workload for pod in pods if pod.workload.queue is not None]
            workloads.extend(self._jobs.values())
            if self._assumed:
                now = self._clock()
                for uid in [uid for uid, (_, until) in self._assumed.items() if until <= now]:
                    del self._assumed[uid]
                workloads = [
                    self._assumed[record.uid][0] if record.uid in self._assumed else record
                    for record in workloads
                ]
            return StoreView(
                synced=all(self._synced.values()),
                queues=dict(self._queues),
                workloads=workloads,
                active_pods=[pod for pod in pods if pod.active],
                nodes=list(self._nodes.values()),
                namespaces=dict(self._namespaces),
            )

    # -- bookkeeping -------------------------------------------------------------------------

    def _replace(self, kind: str, target: dict[str, Any], items: dict[str, Any]) -> None:
        with self._lock:
            # A first list always counts: it may be the one that completes the view.
            changed = (
                not self._synced[kind]
                or target.keys() != items.keys()
                or {_signature(value) for value in target.values()}
                != {_signature(value) for value in items.values()}
            )
            target.clear()
            target.update(items)
            for uid in [uid for uid in self._assumed if uid not in self._pods and uid not in self._jobs]:
                del self._assumed[uid]
            self._synced[kind] = True
        if changed:
            self._on_change()

    def _apply(self, target: dict[str, Any], key: str, value: Any) -> None:
        with self._lock:
            old = target.get(key)
            assumed = self._assumed.get(key)
            if value is None:
                target.pop(key, None)
                self._assumed.pop(key, None)
            else:
                target[key] = value
                self._settle_assumption(key, value)
            changed = (old is None) != (value is None) or (
                old is not None and _signature(old) != _signature(value)
            )
            if changed and assumed is not None and value is not None:
                # The watch echoing an admission this controller wrote: the view had it already.
                changed = _signature(value) != _workload_signature(assumed[0])
        if changed:
            self._on_change()

    def _settle_assumption(self, key: str, value: Any) -> None:
        record = value.workload if isinstance(value, PodRecord) else value
        # A watched "pending" is older than the write that admitted it; anything else is newer.
        settled = isinstance(record, WorkloadRecord) and record.state is not WorkloadState.PENDING
        if settled and key in self._assumed:
            del self._assumed[key]


def _keeps(record: PodRecord) -> bool:
    # Only workloads and pods holding node resources matter; the rest would only cost memory.
    return record.workload.queue is not None or record.active


def _signature(value: Any) -> Hashable:
    if isinstance(value, PodRecord):
        return _pod_signature(value)
    if isinstance(value, WorkloadRecord):
        return _workload_signature(value)
    if isinstance(value, QueueRecord):
        # The generation moves with every spec change; status writes leave it alone.
        return (value.name, value.generation, value.error)
    if isinstance(value, NodeFacts):
        return value
    return tuple(sorted(dict(value).items()))  # a namespace's labels
