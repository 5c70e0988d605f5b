"""One admission cycle: snapshot, plan, admit, report.

1. Take a consistent view from the store (nothing happens before every kind is listed).
2. Plan with :func:`ebbtide.queueing.plan_admissions`.
3. Admit, all of the plan's admissions at once on the write pool (each write carries its own
   resourceVersion, so concurrency cannot double-admit); every write that lands, or that a
   re-read shows had landed, becomes an assumption in the store at once.
4. Preempt (:mod:`ebbtide.controllers.fairqueue.reclaim`), when queues ask for it.
5. Report (:mod:`ebbtide.controllers.fairqueue.reporting`): metrics at once; FairQueue statuses
   and waiting notes in the background.

A cycle asks for another (:attr:`CycleResult.more`) when an admission met a changed object or
failed.

``may_admit`` says whether this replica may admit at all (it leads, see
:mod:`ebbtide.controllers.fairqueue.leadership`). It is asked before each cycle, which does nothing
without it (no plan, no writes, no status), again before each admission write and before the
report, so that a replica that stops leading mid-cycle writes nothing more after that (a write
already sent is not called back), and it drops its per-queue gauges (the leader's are the
ones that count). A replica that starts to lead calls :meth:`AdmissionCycle.forget_history`:
another one may have admitted and written statuses meanwhile, so the RoundRobin cursors are
found again from the admissions recorded on the workloads, and statuses are compared with the
cluster's rather than with this replica's last writes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

from ebbtide.api.fairqueue_vocabulary import EVENT_ADMITTED
from ebbtide.api.workloads import WorkloadRecord
from ebbtide.controllers.fairqueue.reclaim import Preempter
from ebbtide.controllers.fairqueue.reporting import Reporter
from ebbtide.controllers.fairqueue.snapshot import CycleInput, build_cycle_input
from ebbtide.controllers.fairqueue.store import QueueStore
from ebbtide.kube.queue_events import EventRecorder
from ebbtide.kube.workload_writes import AdmitOutcome, AdmitResult, WorkloadWriter
from ebbtide.metrics import queue_metrics as metrics
from ebbtide.queueing import Admission, plan_admissions
from ebbtide.queueing.formatting import format_cohort

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CycleResult:
    """``planned`` admissions were decided, ``admitted`` landed; ``more`` asks for another cycle
    (an admission to decide again); ``plan_seconds`` is what snapshot and plan took."""

    planned: int
    admitted: int
    more: bool
    plan_seconds: float = 0.0


def decision_of(admission: Admission, *, cohort: str) -> dict[str, object]:
    """The ``ebbtide.io/admission`` annotation's content for ``admission``."""
    return {
        "queue": admission.workload.queue,
        "cohort": cohort,
        "shareBefore": str(admission.share_before),
        "shareAfter": str(admission.share_after),
        "withinGuarantee": admission.within_guarantee,
    }


class AdmissionCycle:
    """Runs cycles over ``store`` (one at a time: the loop's thread calls :meth:`run`)."""

    def __init__(
        self,
        *,
        store: QueueStore,
        writer: WorkloadWriter,
        reporter: Reporter,
        events: EventRecorder,
        pool: ThreadPoolExecutor,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        may_admit: Callable[[], bool] = lambda: True,
        preempter: Preempter | None = None,
    ) -> None:
        self._preempter = preempter
        self._store = store
        self._writer = writer
        self._reporter = reporter
        self._events = events
        self._pool = pool
        self._clock = clock
        self._may_admit = may_admit
        self._cursors: dict[str, str] = {}
        self._history_stale = threading.Event()
        self._admitting = threading.Event()

    @property
    def admitting(self) -> bool:
        """True while a cycle's admission writes are in flight (thread-safe): writes that only
        report (Events) wait for the end, so that they do not take the API server's capacity
        from admissions."""
        return self._admitting.is_set()

    def forget_history(self) -> None:
        """Start the next cycle from the cluster alone, not from this replica's own past cycles
        (see the module docstring; thread-safe: the next cycle does the forgetting)."""
        self._history_stale.set()

    def run(self) -> CycleResult:
        if not self._may_admit():
            metrics.forget_all_queues()
            return CycleResult(planned=0, admitted=0, more=False)
        if self._history_stale.is_set():
            self._history_stale.clear()
            self._cursors = {}
            self._reporter.forget_written_statuses()
        view = self._store.view()
        if not view.synced:
            return CycleResult(planned=0, admitted=0, more=False)
        started = time.perf_counter()
        cycle_input = build_cycle_input(view, cursors=self._cursors)
        plan = plan_admissions(cycle_input.snapshot)
        planned = time.perf_counter()
        self._cursors = dict(plan.round_robin_cursors)
        admitted, retry = self._admit(plan.admissions, cycle_input)
        if self._preempter is not None and self._may_admit():
            retry = self._preempter.run(view=view, cycle_input=cycle_input, plan=plan) > 0 or retry
        if self._may_admit():  # statuses and notes are the leader's to write
            self._reporter.report(plan=plan, cycle_input=cycle_input, admitted=admitted)
        metrics.CYCLE_SECONDS.observe(time.perf_counter() - started)
        if plan.admissions:
            logger.info(
                "admission cycle: %d admitted of %d planned, %d waiting, %.3fs",
                sum(admitted.values()),
                len(plan.admissions),
                len(plan.waiting),
                time.perf_counter() - started,
            )
        return CycleResult(
            planned=len(plan.admissions),
            admitted=sum(admitted.values()),
            more=retry,
            plan_seconds=planned - started,
        )

    def _admit(self, admissions: tuple[Admission, ...], cycle_input: CycleInput) -> tuple[Counter[str], bool]:
        """Carry out ``admissions``; the count that landed per queue, and whether to retry some."""
        if not admissions:
            return Counter(), False
        self._admitting.set()
        try:
            return self._admit_all(admissions, cycle_input)
        finally:
            self._admitting.clear()

    def _admit_all(
        self, admissions: tuple[Admission, ...], cycle_input: CycleInput
    ) -> tuple[Counter[str], bool]:
        cohorts = {spec.name: spec.cohort for spec in cycle_input.snapshot.queues}
        submitted: list[tuple[Admission, WorkloadRecord, Future[AdmitOutcome | None]]] = []
        for admission in admissions:
            record = cycle_input.pending[admission.workload.ref]
            cohort = cohorts[admission.workload.queue]
            future = self._pool.submit(self._admit_one, record, decision_of(admission, cohort=cohort))
            submitted.append((admission, record, future))
        admitted: Counter[str] = Counter()
        retry = False
        unwritten = 0
        for admission, record, future in submitted:
            try:
                outcome = future.result()
            except Exception as error:
                metrics.WRITES.labels(kind="admission", outcome="error").inc()
                logger.warning("admitting %s failed: %s", admission.workload.ref, error)
                retry = True
                continue
            if outcome is None:
                unwritten += 1
                continue
            metrics.WRITES.labels(kind="admission", outcome="ok").inc()
            if outcome.result is not AdmitResult.ADMITTED:
                metrics.CONFLICTS.labels(result=str(outcome.result)).inc()
            if outcome.record is not None and outcome.result in (
                AdmitResult.ADMITTED,
                AdmitResult.ALREADY_ADMITTED,
            ):
                self._store.assume(outcome.record)
                admitted[record.queue or ""] += 1
            if outcome.result is AdmitResult.ADMITTED:
                self._record_admission(admission, record, outcome, cohort=cohorts[admission.workload.queue])
            elif outcome.result is AdmitResult.CHANGED:
                retry = True
        if unwritten:
            logger.warning("%d planned admissions not written: this replica may no longer admit", unwritten)
        return admitted, retry

    def _admit_one(self, record: WorkloadRecord, decision: dict[str, object]) -> AdmitOutcome | None:
        """The write's outcome; None when this replica may no longer admit (nothing written)."""
        if not self._may_admit():
            return None
        # The timestamp is taken by the worker, as close to the write as it gets.
        return self._writer.admit(record, decision=decision, now=self._clock())

    def _record_admission(
        self, admission: Admission, record: WorkloadRecord, outcome: AdmitOutcome, *, cohort: str
    ) -> None:
        queue = record.queue or ""
        metrics.ADMISSIONS.labels(queue=queue).inc()
        admitted_at = outcome.record.admitted_at if outcome.record is not None else None
        moment = datetime.fromisoformat(admitted_at) if admitted_at else self._clock()
        metrics.ADMISSION_LATENCY.labels(queue=queue).observe(
            max(0.0, (moment - record.created_at).total_seconds())
        )
        self._events.record(
            record,
            type_="Normal",
            reason=EVENT_ADMITTED,
            message=(
                f"admitted by FairQueue {queue!r} in {format_cohort(cohort)}: share "
                f"{admission.share_before} -> {admission.share_after}"
            ),
        )
