"""After the admissions: FairQueue statuses, waiting notes and their Events, metrics.

Metrics are set at once. The writes (statuses that differ from what the queue shows,
:func:`ebbtide.controllers.fairqueue.status.desired_status`; waiting notes that changed, within a
budget, :class:`ebbtide.controllers.fairqueue.waiting.WaitingNotes`) go out as one batch on the
reporting pool, apart from the admission pool, and the cycle does not wait for them: on a slow
API server the next admissions must not queue behind bookkeeping. They share the API server's
write capacity with admissions all the same, so batches are paced: one starts at most every
``interval`` seconds, carrying the latest statuses and notes then (a queue admitting
continuously gets a status write every few seconds, not one per cycle). While a batch is in
flight, or before the interval has passed, a cycle writes nothing; the loop is woken once the
batch has ended and the interval has passed if a cycle skipped its report or the budget left
notes over, so the report catches up with the latest plan. A failed write is logged and
counted, and written again by a later batch because the difference is still there.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor

from ebbtide.api.workloads import WorkloadRecord
from ebbtide.controllers.fairqueue.snapshot import CycleInput
from ebbtide.controllers.fairqueue.status import desired_status
from ebbtide.controllers.fairqueue.waiting import DueNote, WaitingNote, WaitingNotes, note_for
from ebbtide.kube.queue_events import EventRecorder
from ebbtide.kube.workload_writes import WorkloadWriter
from ebbtide.metrics import queue_metrics as metrics
from ebbtide.queueing import NEVER_ADMITTABLE, AdmissionPlan, QueueStatus, WaitingWorkload, WaitReason

logger = logging.getLogger(__name__)

#: Writes a FairQueue's status (name, status) -> False when the queue is gone.
StatusWriter = Callable[[str, Mapping[str, object]], bool]
#: Calls the function after the delay in seconds, on another thread (:class:`threading.Timer`).
Scheduler = Callable[[float, Callable[[], None]], None]


def _timer(delay: float, function: Callable[[], None]) -> None:
    timer = threading.Timer(delay, function)
    timer.daemon = True
    timer.start()


class Reporter:
    """Reports each cycle's outcome; :meth:`report` is called from the loop's thread only.

    ``interval`` is the least time between the starts of two batches of writes; ``clock`` and
    ``schedule`` (which wakes the loop once the interval has passed) are replaced in tests.
    """

    def __init__(
        self,
        *,
        writer: WorkloadWriter,
        write_status: StatusWriter,
        events: EventRecorder,
        pool: ThreadPoolExecutor,
        notes: WaitingNotes,
        wake: Callable[[], None] = lambda: None,
        interval: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        schedule: Scheduler = _timer,
    ) -> None:
        self._writer = writer
        self._write_status = write_status
        self._events = events
        self._pool = pool
        self._notes = notes
        self._wake = wake
        self._interval = interval
        self._clock = clock
        self._schedule = schedule
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._in_flight = 0  # writes of the current batch not finished yet
        self._behind = False  # a report was skipped or cut short by the budget
        self._batch_started: float | None = None  # when the last batch started
        self._wake_scheduled = False
        self._known_queues: set[str] = set()
        # What each queue's status was last written as (transition times left out), so a cycle
        # that runs before the watch delivers the write does not send it again.
        self._written_status: dict[str, Mapping[str, object]] = {}

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until the batch in flight, if any, has finished; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout=timeout)

    def forget_written_statuses(self) -> None:
        """Compare the next statuses with what the watch shows only, not with what this reporter
        wrote last: someone else (another replica) may have written since."""
        self._written_status.clear()

    def report(self, *, plan: AdmissionPlan, cycle_input: CycleInput, admitted: Counter[str]) -> None:
        """Set the metrics; start a batch of writes unless one is still in flight."""
        counts = {
            name: (
                max(0, cycle_input.waiting_count.get(name, 0) - admitted[name]),
                cycle_input.running.get(name, 0) + admitted[name],
            )
            for name in cycle_input.queues
        }
        self._metrics(plan=plan, counts=counts)
        with self._lock:
            if self._in_flight or self._wait_for_interval():
                self._behind = True
                return
        statuses = self._statuses(plan=plan, cycle_input=cycle_input, counts=counts)
        notes, more = self._notes.due(self._waiting(plan=plan, cycle_input=cycle_input))
        with self._lock:
            self._behind = more
            self._in_flight = len(statuses) + len(notes)
            if self._in_flight:
                self._batch_started = self._clock()
        for name, status in statuses:
            written = self._pool.submit(self._write_status, name, status)
            written.add_done_callback(functools.partial(self._status_written, name, _comparable(status)))
        for note in notes:
            annotated = self._pool.submit(self._annotate, note)
            annotated.add_done_callback(functools.partial(self._note_written, note))

    # -- what to write ----------------------------------------------------------------------------

    def _statuses(
        self, *, plan: AdmissionPlan, cycle_input: CycleInput, counts: Mapping[str, tuple[int, int]]
    ) -> list[tuple[str, Mapping[str, object]]]:
        waiting: defaultdict[str, list[WaitingWorkload]] = defaultdict(list)
        for item in plan.waiting:
            waiting[item.workload.queue].append(item)
        writes: list[tuple[str, Mapping[str, object]]] = []
        for name, record in cycle_input.queues.items():
            pending, running = counts[name]
            status = desired_status(
                record=record,
                planned=plan.queues.get(name),
                waiting=waiting.get(name, ()),
                pending=pending,
                admitted=running,
            )
            if status is None:
                self._written_status.pop(name, None)  # the watch shows what was written
            elif self._written_status.get(name) != _comparable(status):
                writes.append((name, status))
            metrics.CONDITIONS.set((name,), _conditions(record.status if status is None else status))
            stopped = record.spec is not None and record.spec.stop_policy != "None"
            metrics.STOPPED.labels(queue=name).set(1 if stopped else 0)
        return writes

    def _waiting(
        self, *, plan: AdmissionPlan, cycle_input: CycleInput
    ) -> list[tuple[WorkloadRecord, WaitingNote]]:
        notes = []
        for item in plan.waiting:
            record = cycle_input.pending[item.workload.ref]
            note = note_for(item, record)
            queue = cycle_input.queues.get(item.workload.queue)
            if item.reason is WaitReason.QUEUE_NOT_FOUND and queue is not None:
                # It exists but its spec was refused: say that rather than "does not exist".
                message = f"queue {queue.name!r} has an invalid spec: {queue.error}"
                note = WaitingNote(reason=note.reason, position=note.position, message=message)
            notes.append((record, note))
        return notes

    def _metrics(self, *, plan: AdmissionPlan, counts: Mapping[str, tuple[int, int]]) -> None:
        pending: defaultdict[str, Counter[WaitReason]] = defaultdict(Counter)
        for item in plan.waiting:
            pending[item.workload.queue][item.reason] += 1
        for name, (_, running) in counts.items():
            metrics.set_pending(name, pending[name])
            metrics.ADMITTED.labels(queue=name).set(running)
            planned: QueueStatus | None = plan.queues.get(name)
            if planned is None:
                continue
            metrics.SHARE.labels(queue=name).set(planned.share.as_float())
            for resource, used, entitled in (
                ("cpu", planned.usage.cpu_millis / 1000, float(planned.entitlement.cpu_millis) / 1000),
                ("memory", planned.usage.memory_bytes, float(planned.entitlement.memory_bytes)),
            ):
                metrics.USAGE.labels(queue=name, resource=resource).set(used)
                metrics.ENTITLEMENT.labels(queue=name, resource=resource).set(entitled)
        for gone in self._known_queues - counts.keys():
            metrics.forget_queue(gone)
            self._written_status.pop(gone, None)
        self._known_queues = set(counts)

    # -- completions (on the pool's threads) --------------------------------------------------

    def _annotate(self, item: DueNote) -> bool:
        note = item.note
        return self._writer.annotate_waiting(
            item.record, reason=note.reason, message=note.message, position=note.position
        )

    def _note_written(self, item: DueNote, future: Future[bool]) -> None:
        try:
            future.result()
        except Exception as error:
            self._notes.failed(item)
            metrics.WRITES.labels(kind="waiting", outcome="error").inc()
            logger.warning("annotating %s failed: %s", _name(item.record), error)
        else:
            metrics.WRITES.labels(kind="waiting", outcome="ok").inc()
            if item.reason_changed:
                needs_action = WaitReason(item.note.reason) in NEVER_ADMITTABLE
                self._events.record(
                    item.record,
                    type_="Warning" if needs_action else "Normal",
                    reason=item.note.reason,
                    message=item.note.message,
                )
        self._done()

    def _status_written(self, name: str, written: Mapping[str, object], future: Future[bool]) -> None:
        # Only a write that landed is remembered; a failed one is written again by a later batch.
        try:
            exists = future.result()
        except Exception as error:
            metrics.WRITES.labels(kind="status", outcome="error").inc()
            logger.warning("writing the status of FairQueue %s failed: %s", name, error)
        else:
            metrics.WRITES.labels(kind="status", outcome="ok").inc()
            if exists:
                self._written_status[name] = written
        self._done()

    def _done(self) -> None:
        with self._lock:
            self._in_flight -= 1
            wake = self._in_flight == 0 and self._behind and not self._wait_for_interval()
            if self._in_flight == 0:
                self._idle.notify_all()
        if wake:
            self._wake()

    # -- pacing -------------------------------------------------------------------------------------

    def _wait_for_interval(self) -> bool:
        """True when the next batch may not start yet; then the loop is woken when it may
        (once). Called with the lock held."""
        if self._batch_started is None:
            return False
        left = self._batch_started + self._interval - self._clock()
        if left <= 0:
            return False
        if not self._wake_scheduled:
            self._wake_scheduled = True
            self._schedule(left, self._interval_passed)
        return True

    def _interval_passed(self) -> None:
        with self._lock:
            self._wake_scheduled = False
            wake = self._behind and not self._in_flight
        if wake:
            self._wake()


def _comparable(status: Mapping[str, object]) -> Mapping[str, object]:
    conditions = status.get("conditions")
    if not isinstance(conditions, list):
        return status
    stripped = [{k: v for k, v in c.items() if k != "lastTransitionTime"} for c in conditions]
    return {**status, "conditions": stripped}


def _conditions(status: Mapping[str, object]) -> list[tuple[str, str]]:
    """(type, status) of each readable condition in a FairQueue's ``status``."""
    conditions = status.get("conditions")
    if not isinstance(conditions, list):
        return []
    return [
        (str(c["type"]), str(c["status"]))
        for c in conditions
        if isinstance(c, Mapping) and "type" in c and "status" in c
    ]


def _name(record: WorkloadRecord) -> str:
    return f"{record.kind} {record.namespace}/{record.name}"
