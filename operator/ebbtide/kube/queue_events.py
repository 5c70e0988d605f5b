"""Events about queued workloads, posted in the background and never in the way.

An admission cycle may want to report thousands of things at once; posting each Event in the
cycle would make admission wait for bookkeeping. So :class:`EventRecorder` queues them and
worker threads post them through :func:`ebbtide.kube.events.post_event`.

Events are best effort and yield to admissions. They go out at ``rate`` per second after a
first ``burst`` (:class:`ebbtide.kube.token_bucket.TokenBucket`): one Event per admission would
double the writes of a large backlog's admission, on the API server that sets its pace. The
queue is bounded too. An Event over the rate or the queue's capacity is dropped and counted, as
Kubernetes' own event recorders do under pressure; the annotations on the object still say the
same thing.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass

from kubernetes import client

from ebbtide.api.workloads import WorkloadRecord
from ebbtide.kube.events import EventType, ObjectRef, post_event
from ebbtide.kube.token_bucket import TokenBucket

logger = logging.getLogger(__name__)

_API_VERSIONS = {"Pod": "v1", "Job": "batch/v1"}


@dataclass(frozen=True, slots=True)
class QueueEvent:
    regarding: ObjectRef
    type_: EventType
    reason: str
    message: str


def workload_ref(workload: WorkloadRecord) -> ObjectRef:
    """The Event's ``involvedObject`` for a queued Pod or Job."""
    return ObjectRef(
        api_version=_API_VERSIONS.get(workload.kind, "v1"),
        kind=workload.kind,
        namespace=workload.namespace,
        name=workload.name,
        uid=workload.uid,
    )


class EventRecorder:
    """Posts Events from a bounded queue with ``workers`` threads, at most ``rate`` per second
    after a first ``burst``; :meth:`record` never blocks."""

    def __init__(
        self,
        api_client: client.ApiClient,
        *,
        capacity: int = 2000,
        workers: int = 2,
        rate: float = 10.0,
        burst: int = 100,
        on_drop: Callable[[], None] = lambda: None,
    ) -> None:
        self._bucket = TokenBucket(rate=rate, burst=burst)
        self._api_client = api_client
        self._queue: queue.Queue[QueueEvent] = queue.Queue(maxsize=capacity)
        self._stopping = threading.Event()
        self._workers = workers
        self._on_drop = on_drop
        self._threads: list[threading.Thread] = []

    def record(self, workload: WorkloadRecord, *, type_: EventType, reason: str, message: str) -> None:
        """Queue an Event about ``workload``; dropped (and counted) over the rate or when the
        queue is full."""
        self.record_about(workload_ref(workload), type_=type_, reason=reason, message=message)

    def record_about(self, regarding: ObjectRef, *, type_: EventType, reason: str, message: str) -> None:
        """Queue an Event about any object (a preempted pod's owner)."""
        if not self._bucket.take():
            self._on_drop()
            return
        event = QueueEvent(regarding=regarding, type_=type_, reason=reason, message=message)
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self._on_drop()

    def start(self) -> None:
        for index in range(self._workers):
            thread = threading.Thread(target=self._run, name=f"ebbtide-queue-events-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, *, timeout: float = 5.0) -> None:
        """Stop the workers; Events still queued are dropped (they are best effort)."""
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                event = self._queue.get(timeout=0.5)
            except queue.Empty:
                continue
            try:
                post_event(
                    self._api_client,
                    regarding=event.regarding,
                    type_=event.type_,
                    reason=event.reason,
                    message=event.message,
                )
            except Exception:  # post_event logs its own failures; anything else must not kill us
                logger.exception("posting event %s failed", event.reason)
