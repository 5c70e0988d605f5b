"""A watch-fed cache of nodes and of the CPU and memory requested on each, for the extender.

With ``nodeCacheCapable: true`` the scheduler sends node names only, so the extender keeps its own
view: a list+watch of nodes and one of pods (:class:`ebbtide.kube.informer.Informer`, as the queue
engine uses), each in a background thread (the official client is
synchronous). Watches resume from the last resourceVersion seen; a 410 Gone (history compacted)
triggers a fresh list. Requests never wait for the watchers: every change publishes a new immutable
:class:`~ebbtide.scoring.snapshot.ClusterSnapshot`, and :meth:`NodeCache.snapshot` is an attribute
read. Node changes that matter (labels, allocatable, cordon) rebuild the node table and hash ring
in a third thread, coalesced over ``rebuild_delay`` and paced so that a stream of node changes
keeps that thread busy at most a fifth of the time (:func:`pause_after`); pod changes only adjust
two arrays.

Assumed pods close the gap between a scheduling decision and the watch event of its binding. The
scheduler binds asynchronously and starts the next pod's cycle at once, and the extender is never
told which node won. So the extender assumes: after scoring a pod it charges the pod's requests to
the nodes it scored highest (shared equally among ties; see :meth:`NodeCache.assume`) until the
watch reports the real binding, the pod is deleted, or ``assume_ttl`` passes. The guess is wrong
when the scheduler's own plugins outweigh the extender's preference; the error lasts only until the
binding's watch event arrives (milliseconds to a second) and never outlives the TTL.

The pod watch selects bound pods only (``spec.nodeName`` set, not finished), as the scheduler's own
cache of assigned pods does: pending pods churn (a FairQueue backlog is created gated and
ungated, thousands at a time) without changing what any node carries. A pod enters the selection
with its binding and leaves it when it finishes or is deleted. The price: a pending pod deleted
after it was scored keeps its assumption until the TTL.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from ebbtide.api.resources import NodeFacts, NodeName, Resources, read_node
from ebbtide.errors import MalformedObjectError
from ebbtide.kube.informer import Informer
from ebbtide.scoring.kube_objects import pod_uid, read_bound_pod
from ebbtide.scoring.node_table import NodeTable, frozen
from ebbtide.scoring.snapshot import ClusterSnapshot, ring_for
from ebbtide.scoring.values import BoundPod
from ebbtide.sharding.ring import DEFAULT_VIRTUAL_NODES, HashRing

logger = logging.getLogger(__name__)

# The watches are read in batches (see ebbtide.kube.informer): a binding, a deletion or a node
# change reaches the cache up to this much later, while the thread wakes once per batch rather than
# once per event. Scores meanwhile still see a pod the extender placed: its assumption stands in.
WATCH_BATCH_SECONDS = 0.1

# Bound pods that have not finished; the API server reports a pod leaving this selection (finished
# or deleted) as DELETED, and a pod entering it (bound) as ADDED.
POD_FIELD_SELECTOR = "spec.nodeName!=,status.phase!=Succeeded,status.phase!=Failed"


class CoreApi(Protocol):
    """The part of ``kubernetes.client.CoreV1Api`` the cache uses."""

    def list_node(self, **kwargs: Any) -> Any: ...

    def list_pod_for_all_namespaces(self, **kwargs: Any) -> Any: ...


@dataclass(frozen=True, slots=True)
class _Assumption:
    nodes: tuple[NodeName, ...]
    cpu_share: float  # millicores charged to each of ``nodes``
    memory_share: float  # bytes charged to each of ``nodes``
    expires_at: float


class NodeCache:
    """Nodes and requested resources, fed by watches (or directly by tests), read as snapshots."""

    def __init__(
        self,
        *,
        virtual_nodes: int = DEFAULT_VIRTUAL_NODES,
        assume_ttl: float = 30.0,
        rebuild_delay: float = 0.1,
        watch_batch_seconds: float = WATCH_BATCH_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.virtual_nodes = virtual_nodes
        self.assume_ttl = assume_ttl
        self.rebuild_delay = rebuild_delay
        self.watch_batch_seconds = watch_batch_seconds
        self._clock = clock
        self._lock = threading.Lock()  # guards everything below but the published snapshot
        self._rebuild_lock = threading.Lock()  # one table rebuild at a time
        self._nodes: dict[NodeName, NodeFacts] = {}
        self._node_generation = 0
        self._pods: dict[str, BoundPod] = {}
        self._assumed: dict[str, _Assumption] = {}  # oldest first: the TTL is the same for all
        self._next_expiry = float("inf")  # read without the lock on the request path
        self._table = NodeTable.build([])
        self._ring: HashRing = ring_for(self._table, virtual_nodes=virtual_nodes)
        self._cpu = np.zeros(0, dtype=np.float64)
        self._memory = np.zeros(0, dtype=np.float64)
        self._synced = {"nodes": False, "pods": False}
        self._version = 0
        self._snapshot = ClusterSnapshot.empty()
        self._rebuild_wanted = threading.Event()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._informers: list[Informer] = []

    # -- read side (the request path) ------------------------------------------------------

    def snapshot(self) -> ClusterSnapshot:
        """The latest published view; expires overdue assumptions first."""
        if self._next_expiry <= self._clock():
            with self._lock:
                if self._expire_assumptions_locked():
                    self._publish_locked()
        return self._snapshot

    def assume(self, *, uid: str, nodes: Sequence[NodeName], requests: Resources) -> None:
        """Charge a pod the scheduler is placing to ``nodes``, each carrying an equal share.

        Replaces an earlier assumption for the same pod; ignored for a pod already bound, for a
        pod without a UID and for an empty node list.
        """
        if not uid or not nodes:
            return
        assumption = _Assumption(
            nodes=tuple(nodes),
            cpu_share=requests.cpu_millis / len(nodes),
            memory_share=requests.memory_bytes / len(nodes),
            expires_at=self._clock() + self.assume_ttl,
        )
        with self._lock:
            if uid in self._pods:
                return
            self._drop_assumption_locked(uid)
            self._assumed[uid] = assumption
            self._charge_assumption_locked(assumption, sign=1.0)
            self._expire_assumptions_locked()
            self._publish_locked()

    # -- write side (the watchers) -----------------------------------------------------------

    def replace_nodes(self, nodes: Iterable[NodeFacts]) -> None:
        """Take a full node list (after a list call) and rebuild the table right away."""
        with self._lock:
            self._nodes = {node.name: node for node in nodes}
            self._node_generation += 1
            self._synced["nodes"] = True
        self.rebuild()

    def apply_node(self, event_type: str, node: NodeFacts) -> None:
        """Apply one node watch event; status-only updates change nothing."""
        with self._lock:
            if event_type == "DELETED":
                changed = self._nodes.pop(node.name, None) is not None
            else:
                changed = self._nodes.get(node.name) != node
                self._nodes[node.name] = node
            if changed:
                self._node_generation += 1
        if changed:
            self._rebuild_wanted.set()

    def replace_pods(self, pods: Iterable[BoundPod]) -> None:
        """Take a full list of bound pods (after a list call)."""
        with self._lock:
            self._pods = {pod.uid: pod for pod in pods}
            for uid in [uid for uid in self._assumed if uid in self._pods]:
                del self._assumed[uid]
            self._synced["pods"] = True
            self._recount_locked()
            self._publish_locked()

    def apply_pod(self, event_type: str, uid: str, bound: BoundPod | None) -> None:
        """Apply one pod watch event: ``bound`` is None for a pod that is not (or no longer) bound.

        A binding or a deletion ends the pod's assumption; an update of a pending pod does not.
        """
        with self._lock:
            old = self._pods.get(uid)
            new = None if event_type == "DELETED" else bound
            if new is None and event_type != "DELETED" and old is None:
                return  # still pending: keep any assumption
            if old == new and uid not in self._assumed:
                return
            self._drop_assumption_locked(uid)
            if old is not None:
                del self._pods[uid]
                self._charge_pod_locked(old, sign=-1.0)
            if new is not None:
                self._pods[uid] = new
                self._charge_pod_locked(new, sign=1.0)
            self._publish_locked()

    def rebuild(self) -> None:
        """Rebuild the node table and ring from the current nodes (slow: runs off the lock).

        The ring is kept when the schedulable nodes are the same, and the requested amounts when
        every node keeps its row (the same names): then only labels, allocatable or cordons
        changed, and recounting every pod under the lock would only repeat the same sums.
        """
        with self._rebuild_lock:
            with self._lock:
                generation = self._node_generation
                nodes = list(self._nodes.values())
                previous = (self._table, self._ring)
            table = NodeTable.build(nodes)
            ring = ring_for(table, virtual_nodes=self.virtual_nodes, previous=previous)
            with self._lock:
                same_rows = table.names == self._table.names
                self._table, self._ring = table, ring
                if not same_rows:
                    self._recount_locked()
                self._publish_locked()
                if self._node_generation != generation:
                    self._rebuild_wanted.set()

    # -- threads ---------------------------------------------------------------------------------

    def start(self, api: CoreApi) -> None:
        """Start the node and pod list+watch threads and the table rebuilder."""
        self._informers = [
            Informer(
                kind="nodes",
                list_func=api.list_node,
                on_list=lambda items: self.replace_nodes(_read_all(items, read_node)),
                on_event=self._apply_node_object,
                batch_interval=self.watch_batch_seconds,
            ),
            Informer(
                kind="pods",
                list_func=api.list_pod_for_all_namespaces,
                list_kwargs={"field_selector": POD_FIELD_SELECTOR},
                on_list=lambda items: self.replace_pods(_bound_pods(items)),
                on_event=self._apply_pod_object,
                batch_interval=self.watch_batch_seconds,
            ),
        ]
        for informer in self._informers:
            informer.start()
        rebuilder = threading.Thread(target=self._rebuild_forever, name="ebbtide-node-table", daemon=True)
        rebuilder.start()
        self._threads.append(rebuilder)

    def stop(self, *, timeout: float = 5.0) -> None:
        """Stop the threads (each watch's connection is shut so no thread waits for an event)."""
        self._stopping.set()
        self._rebuild_wanted.set()
        for informer in self._informers:
            informer.stop(timeout=timeout)
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()

    def _rebuild_forever(self) -> None:
        pause = self.rebuild_delay
        while not self._stopping.is_set():
            self._rebuild_wanted.wait()
            if self._stopping.wait(pause):  # coalesce a burst of node changes
                return
            self._rebuild_wanted.clear()
            started = time.thread_time()
            try:
                self.rebuild()
            except Exception:  # keep serving the last table rather than dying
                logger.exception("rebuilding the node table failed")
            pause = pause_after(time.thread_time() - started, delay=self.rebuild_delay)

    def _apply_node_object(self, event_type: str, obj: Mapping[str, Any]) -> None:
        self.apply_node(event_type, read_node(obj))

    def _apply_pod_object(self, event_type: str, obj: Mapping[str, Any]) -> None:
        self.apply_pod(event_type, pod_uid(obj), read_bound_pod(obj))

    # -- bookkeeping under the lock --------------------------------------------------------------

    def _charge_locked(self, node: NodeName, *, cpu: float, memory: float) -> None:
        row = self._table.index.get(node)
        if row is not None:  # pods on nodes not in the table yet are counted at the next rebuild
            self._cpu[row] += cpu
            self._memory[row] += memory

    def _charge_pod_locked(self, pod: BoundPod, *, sign: float) -> None:
        self._charge_locked(
            pod.node, cpu=sign * pod.requests.cpu_millis, memory=sign * pod.requests.memory_bytes
        )

    def _charge_assumption_locked(self, assumption: _Assumption, *, sign: float) -> None:
        for node in assumption.nodes:
            self._charge_locked(node, cpu=sign * assumption.cpu_share, memory=sign * assumption.memory_share)

    def _recount_locked(self) -> None:
        self._cpu = np.zeros(len(self._table), dtype=np.float64)
        self._memory = np.zeros(len(self._table), dtype=np.float64)
        for pod in self._pods.values():
            self._charge_pod_locked(pod, sign=1.0)
        for assumption in self._assumed.values():
            self._charge_assumption_locked(assumption, sign=1.0)

    def _drop_assumption_locked(self, uid: str) -> None:
        assumption = self._assumed.pop(uid, None)
        if assumption is not None:
            self._charge_assumption_locked(assumption, sign=-1.0)

    def _expire_assumptions_locked(self) -> bool:
        now = self._clock()
        expired = []
        for uid, held in self._assumed.items():  # oldest first, so stop at the first live one
            if held.expires_at > now:
                break
            expired.append(uid)
        for uid in expired:
            self._drop_assumption_locked(uid)
        return bool(expired)

    def _publish_locked(self) -> None:
        self._version += 1
        oldest = next(iter(self._assumed.values()), None)
        self._next_expiry = float("inf") if oldest is None else oldest.expires_at
        # Rounding from shared assumptions must never show as a negative request.
        self._snapshot = ClusterSnapshot(
            table=self._table,
            requested_cpu=frozen(np.maximum(self._cpu, 0.0)),
            requested_memory=frozen(np.maximum(self._memory, 0.0)),
            ring=self._ring,
            version=self._version,
            bound_pods=len(self._pods),
            assumed_pods=len(self._assumed),
            synced=all(self._synced.values()),
        )


# A rebuild is followed by a pause of at least this many times its CPU time.
REBUILD_PAUSE_FACTOR = 4.0


def pause_after(rebuild_seconds: float, *, delay: float) -> float:
    """How long the rebuilder waits, after a rebuild that took ``rebuild_seconds`` of CPU, before
    the next one: ``delay``, or four times the rebuild's cost if that is longer.

    Nodes of a large cluster can change many times a second (labels from node feature discovery,
    cordons, a fleet going Ready), and every rebuild holds the interpreter lock for most of its
    time, which requests then wait for. So under a stream of changes rebuilding takes at most a
    fifth of a core and of the lock; changes still land within a few rebuild times.
    """
    return max(delay, REBUILD_PAUSE_FACTOR * rebuild_seconds)


def _read_all(items: list[Any], read: Callable[[Any], NodeFacts]) -> list[NodeFacts]:
    nodes = []
    for item in items:
        try:
            nodes.append(read(item))
        except MalformedObjectError as error:
            logger.warning("ignoring a malformed node: %s", error)
    return nodes


def _bound_pods(items: list[Any]) -> list[BoundPod]:
    pods = []
    for item in items:
        try:
            bound = read_bound_pod(item)
        except MalformedObjectError as error:
            logger.warning("ignoring a malformed pod: %s", error)
            continue
        if bound is not None:
            pods.append(bound)
    return pods
