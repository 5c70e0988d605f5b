"""Setting aside pending workloads that cannot be admitted as things stand.

Checked in this order, the first that applies wins:

0. InvalidWorkload: the workload's object could not be read;
1. QueueNotFound: the workload names a queue that does not exist;
2. NamespaceNotAllowed: the queue's namespace selector excludes the workload's namespace;
3. ExceedsQueueLimit: the workload alone asks for more than the queue's limit;
4. ExceedsCohortCapacity: the workload alone asks for more than its cohort's capacity
   (a cohort without a capacity entry has none);
5. QueueStopped: the queue's stopPolicy holds its admissions.

Such a workload neither counts as its queue's demand nor blocks its queue; it waits until a
queue, a selector, a limit or the capacity changes (or, for 5, until the queue admits again).
"""

from __future__ import annotations

from collections.abc import Mapping

from ebbtide.api.fairqueue_vocabulary import WaitReason
from ebbtide.api.resources import Resources
from ebbtide.queueing.formatting import format_cohort, format_resources
from ebbtide.queueing.model import PendingWorkload, QueueSpec
from ebbtide.queueing.plan import WaitingWorkload


def never_admittable(
    workload: PendingWorkload,
    *,
    queues: Mapping[str, QueueSpec],
    cohort_capacity: Mapping[str, Resources],
) -> WaitingWorkload | None:
    """Why ``workload`` cannot be admitted now, or ``None`` when it can."""
    if workload.unreadable is not None:
        return _rejected(workload, WaitReason.INVALID_WORKLOAD, workload.unreadable)
    spec = queues.get(workload.queue)
    if spec is None:
        return _rejected(workload, WaitReason.QUEUE_NOT_FOUND, f"queue {workload.queue!r} does not exist")
    if not spec.allows_namespace(workload.namespace):
        return _rejected(
            workload,
            WaitReason.NAMESPACE_NOT_ALLOWED,
            f"queue {spec.name!r} does not admit workloads from namespace {workload.namespace!r}",
        )
    asks = format_resources(workload.requests)
    if not spec.limit.admits(workload.requests):
        return _rejected(
            workload,
            WaitReason.EXCEEDS_QUEUE_LIMIT,
            f"asks for {asks}, more than the limit of queue {spec.name!r}",
        )
    capacity = cohort_capacity.get(spec.cohort, Resources.ZERO)
    if not workload.requests.fits_within(capacity):
        return _rejected(
            workload,
            WaitReason.EXCEEDS_COHORT_CAPACITY,
            f"asks for {asks}, more than the capacity of {format_cohort(spec.cohort)} "
            f"({format_resources(capacity)})",
        )
    if spec.stopped:
        return _rejected(
            workload,
            WaitReason.QUEUE_STOPPED,
            f"queue {spec.name!r} admits nothing while its stopPolicy is {spec.stop_policy}",
        )
    return None


def _rejected(workload: PendingWorkload, reason: WaitReason, message: str) -> WaitingWorkload:
    return WaitingWorkload(
        workload=workload, reason=reason, message=message, queue_position=None, cohort_position=None
    )
