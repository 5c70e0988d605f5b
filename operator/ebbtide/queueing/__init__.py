"""Fair queueing, as pure logic: who is admitted next, and why everyone else waits.

Queues share their cohort's capacity by weight (:mod:`.entitlement`, :mod:`.waterfill`); a
queue's share is its dominant-resource usage over its entitlement (:mod:`.shares`); each
cycle admits, in fair order, as many workloads as fit (:mod:`.fair_walk`), each queue
keeping its own order (:mod:`.orders`). :func:`plan_admissions` (:mod:`.planner`) is the
entry point; its inputs are in :mod:`.model`, its output in :mod:`.plan`, and the reasons a
workload waits in :mod:`ebbtide.api.fairqueue_vocabulary`; :func:`resume_cursors`
(:mod:`.cursors`) finds RoundRobin queues' turns again after a restart.
:func:`plan_preemptions` (:mod:`.preemption`, :mod:`.time_slice`) chooses the admitted
workloads to take back: reclaim within a cohort, priority within a queue, and the TimeSlice
order's quantum. Nothing here performs I/O.
"""

from ebbtide.api.fairqueue_vocabulary import NEVER_ADMITTABLE, PreemptionReason, WaitReason
from ebbtide.api.resources import Resources
from ebbtide.errors import InvalidSnapshotError, QueueingError
from ebbtide.queueing.cursors import PastAdmission, resume_cursors
from ebbtide.queueing.entitlement import Entitlement, QueueDemand, cohort_entitlements
from ebbtide.queueing.model import (
    DEFAULT_COHORT,
    AdmittedWorkload,
    PendingWorkload,
    PreemptionPolicy,
    QueueOrder,
    QueueSpec,
    RunningWorkload,
    Snapshot,
    WorkloadRef,
    usage_by_queue,
)
from ebbtide.queueing.plan import Admission, AdmissionPlan, Preemption, QueueStatus, WaitingWorkload
from ebbtide.queueing.planner import plan_admissions
from ebbtide.queueing.preemption import plan_preemptions
from ebbtide.queueing.resources import ResourceLimit
from ebbtide.queueing.shares import (
    Share,
    ShareAfterAdmission,
    ShareBeforeAdmission,
    dominant_share,
)

__all__ = [
    "DEFAULT_COHORT",
    "NEVER_ADMITTABLE",
    "Admission",
    "AdmissionPlan",
    "AdmittedWorkload",
    "Entitlement",
    "InvalidSnapshotError",
    "PastAdmission",
    "PendingWorkload",
    "Preemption",
    "PreemptionPolicy",
    "PreemptionReason",
    "QueueDemand",
    "QueueOrder",
    "QueueSpec",
    "QueueStatus",
    "QueueingError",
    "ResourceLimit",
    "Resources",
    "RunningWorkload",
    "Share",
    "ShareAfterAdmission",
    "ShareBeforeAdmission",
    "Snapshot",
    "WaitReason",
    "WaitingWorkload",
    "WorkloadRef",
    "cohort_entitlements",
    "dominant_share",
    "plan_admissions",
    "plan_preemptions",
    "resume_cursors",
    "usage_by_queue",
]
