"""Events about queued workloads, posted in the background and never in the way.

An admission cycle may want to report thousands of things at once; posting each Event in the
cycle would make admission wait for bookkeeping. So :class:`EventRecorder` queues them and
worker threads post them through :func:`ebbtide.kube.events.post_event`.

Events are best effort and yield to admissions, which share the API server's write capacity
with them: an Event per admission would add a write to every admission of a large backlog, on
the API server that sets its pace. So Events wait while admission writes are in flight (``hold``)
and then go out at ``rate`` per second after a first ``burst``
(:class:`ebbtide.kube.token_bucket.TokenBucket`): a large backlog is admitted first and told
about after, in the API server's spare time. The queue is bounded: an Event that finds it full
is dropped and counted, as Kubernetes' own event recorders do under pressure; the annotations
on the object still say the same thing.
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
    """Posts Events from a bounded queue with ``workers`` threads, never while ``hold()`` is
    true, at most ``rate`` per second after a first ``burst``; :meth:`record` never blocks.

    ``post`` sends one Event (by default through ``api_client``); ``poll`` is how long a worker
    waits before it looks again whether it may post.
    """

    def __init__(
        self,
        api_client: client.ApiClient,
        *,
        capacity: int = 1000,
        workers: int = 2,
        rate: float = 10.0,
        burst: int = 100,
        hold: Callable[[], bool] = lambda: False,
        on_drop: Callable[[], None] = lambda: None,
        post: Callable[[QueueEvent], object] | None = None,
        poll: float = 0.1,
    ) -> None:
        self._bucket = TokenBucket(rate=rate, burst=burst)
        self._api_client = api_client
        self._hold = hold
        self._post = post if post is not None else self._post_through_api
        self._poll = poll
        self._queue: queue.Queue[QueueEvent] = queue.Queue(maxsize=capacity)
        self._stopping = threading.Event()
        self._workers = workers
        self._on_drop = on_drop
        self._threads: list[threading.Thread] = []

    def record(self, workload: WorkloadRecord, *, type_: EventType, reason: str, message: str) -> None:
        """Queue an Event about ``workload``; dropped (and counted) when the queue is full."""
        self.record_about(workload_ref(workload), type_=type_, reason=reason, message=message)

    def record_about(self, regarding: ObjectRef, *, type_: EventType, reason: str, message: str) -> None:
        """Queue an Event about any object (a preempted pod's owner)."""
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
            if not self._wait_turn():
                return
            try:
                self._post(event)
            except Exception:  # post_event logs its own failures; anything else must not kill us
                logger.exception("posting event %s failed", event.reason)

    def _wait_turn(self) -> bool:
        """Wait until nothing holds Events back and the rate allows one; False when stopping."""
        while not self._stopping.is_set():
            # Tokens are taken only when free to post: a hold lets the bucket fill to its burst.
            if not self._hold() and self._bucket.take():
                return True
            self._stopping.wait(self._poll)
        return False

    def _post_through_api(self, event: QueueEvent) -> None:
        post_event(
            self._api_client,
            regarding=event.regarding,
            type_=event.type_,
            reason=event.reason,
            message=event.message,
        )
