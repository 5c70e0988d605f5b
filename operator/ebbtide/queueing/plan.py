"""The planner's output: what to admit now, and why everything else waits."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ebbtide.api.fairqueue_vocabulary import PreemptionReason, WaitReason
from ebbtide.api.resources import Resources
from ebbtide.queueing.entitlement import Entitlement
from ebbtide.queueing.model import PendingWorkload, RunningWorkload, WorkloadRef
from ebbtide.queueing.shares import Share, ShareAfterAdmission, ShareBeforeAdmission


@dataclass(frozen=True, slots=True)
class Admission:
    """Admit ``workload`` now; the shares are its queue's just before and just after."""

    workload: PendingWorkload
    share_before: ShareBeforeAdmission
    share_after: ShareAfterAdmission
    within_guarantee: bool


@dataclass(frozen=True, slots=True)
class WaitingWorkload:
    """A workload that stays pending this cycle.

    ``queue_position`` is its 1-based place among its queue's waiting workloads, in the
    queue's order. ``cohort_position`` is its 1-based place in the order the fair rule would
    admit every waiting workload of the cohort if capacity, limits and reservations were not
    in the way and nothing else changed (cohorts do not compete, so positions across
    cohorts would mean nothing). Both are ``None`` for a workload that is never admittable
    as things stand (see :data:`ebbtide.api.fairqueue_vocabulary.NEVER_ADMITTABLE`).
    """

    workload: PendingWorkload
    reason: WaitReason
    message: str
    queue_position: int | None
    cohort_position: int | None


@dataclass(frozen=True, slots=True)
class QueueStatus:
    """A queue after the plan: the figures its status reports.

    ``usage`` and ``share`` include this plan's admissions. ``admitted`` counts this plan's
    admissions from the queue; ``waiting`` every workload of the queue left pending,
    never-admittable ones included. ``blocked`` is why the queue's first admittable waiting
    workload waits, or ``None`` when none is left.
    """

    name: str
    cohort: str
    entitlement: Entitlement
    usage: Resources
    share: Share
    admitted: int
    waiting: int
    blocked: WaitReason | None


@dataclass(frozen=True)
class AdmissionPlan:
    """One planning cycle's decisions.

    ``admissions`` are in the order they were chosen, which is the order to carry them out.
    ``waiting`` lists admittable workloads cohort by cohort (cohorts by name) in
    ``cohort_position`` order, then the never-admittable ones in input order.
    ``round_robin_cursors`` are the cursors to pass to the next cycle.
    """

    admissions: tuple[Admission, ...]
    waiting: tuple[WaitingWorkload, ...]
    queues: Mapping[str, QueueStatus]
    round_robin_cursors: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Preemption:
    """Take ``victim`` back, because of ``reason``: queue ``by_queue`` needs its capacity for
    its waiting workload ``for_workload`` (None when nothing waits for it: a drained queue);
    ``message`` says so in words, for the victim's Events and waiting message."""

    victim: RunningWorkload
    reason: PreemptionReason
    by_queue: str
    for_workload: WorkloadRef | None
    message: str
