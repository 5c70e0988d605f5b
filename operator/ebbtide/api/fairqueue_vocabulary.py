"""FairQueue's vocabulary: every name the fair-queue machinery writes into the cluster.

Labels, the scheduling gate, annotation keys, wait reasons, Event reasons and condition types
are part of ebbtide's user-visible contract (``kubectl describe`` shows them, scripts read
them), so they are defined once here, beside the model (:mod:`ebbtide.api.fairqueue`), and
imported by the planner, the webhook, the controller and the tests.

A waiting workload's reason is a :class:`WaitReason` value, used verbatim as annotation value,
Event reason and the reason of the queue's Backlogged and InadmissibleWorkloads conditions.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

#: The label a Pod or Job carries to join a queue; its value is the FairQueue's name.
QUEUE_LABEL: Final = "ebbtide.io/queue"

#: The namespace label that makes every Pod and Job in the namespace go through a queue
#: (value ``"true"``).
QUEUE_MANAGED_LABEL: Final = "ebbtide.io/queue-managed"
#: The namespace label naming the FairQueue that a queue-managed namespace's unlabelled Pods and
#: Jobs join; without it they are refused instead.
DEFAULT_QUEUE_LABEL: Final = "ebbtide.io/default-queue"

#: The scheduling gate (KEP-3521) that holds a queued pod back until it is admitted.
SCHEDULING_GATE: Final = "ebbtide.io/fair-queue"

# -- annotations on workloads ----------------------------------------------------------------

#: When the workload was admitted (RFC 3339, microseconds, UTC). Written exactly once, in the
#: same write that removes the gate or unsuspends the Job; its presence on an ungated pod or an
#: unsuspended Job is what makes the workload count as admitted after a restart.
ADMITTED_AT: Final = "ebbtide.io/admitted-at"
#: The queue's decision, as JSON: queue, cohort, shares before and after, within guarantee.
ADMISSION_DECISION: Final = "ebbtide.io/admission"
#: Why a pending workload waits: a :class:`ebbtide.queueing.WaitReason` value.
WAITING_REASON: Final = "ebbtide.io/waiting-reason"
#: A human-readable explanation of the wait, as of the last time the reason or position changed.
WAITING_MESSAGE: Final = "ebbtide.io/waiting-message"
#: Where the workload stands in its queue: exact near the head, a lower bound further back
#: (see :mod:`ebbtide.controllers.fairqueue.waiting`). Absent when it can never be admitted as
#: things stand.
QUEUE_POSITION: Final = "ebbtide.io/queue-position"

#: When the operator preempted the workload (RFC 3339, microseconds, UTC), written in the same
#: write that suspends the Job (or just before a pod is deleted), with :data:`PREEMPTION`. The
#: pair, together with the admitted-at time it ends, is what stops a restarted operator from
#: preempting the same admission twice.
PREEMPTED_AT: Final = "ebbtide.io/preempted-at"
#: Why the workload was preempted, as JSON: reason, queue that took the capacity, message, and
#: the admitted-at time of the admission it ended.
PREEMPTION: Final = "ebbtide.io/preemption"
#: When a workload went to the back of a TimeSlice queue (its quantum ran out); the TimeSlice
#: order sorts by it instead of the creation time.
REQUEUED_AT: Final = "ebbtide.io/requeued-at"

#: Annotations that describe a wait; an admission removes them all.
WAITING_ANNOTATIONS: Final = (WAITING_REASON, WAITING_MESSAGE, QUEUE_POSITION)
#: How long a workload expects to run (a duration such as ``90s`` or ``1h30m``); read by the
#: ShortestJobFirst order.
EXPECTED_DURATION_ANNOTATION: Final = "ebbtide.io/expected-duration"


# -- wait reasons ------------------------------------------------------------------------------
# Each value is a CamelCase reason as Kubernetes conditions and events use them. The first four
# are *never admittable* as things stand (the snapshot itself would have to change); the others
# are transient and resolve as capacity frees or shares move.
class WaitReason(StrEnum):
    # Never admittable with the current queue definitions and capacity.
    QUEUE_NOT_FOUND = "QueueNotFound"
    """The workload names a queue that does not exist."""
    NAMESPACE_NOT_ALLOWED = "NamespaceNotAllowed"
    """The queue's namespace selector does not admit the workload's namespace."""
    EXCEEDS_QUEUE_LIMIT = "ExceedsQueueLimit"
    """The workload alone asks for more than the queue's limit."""
    EXCEEDS_COHORT_CAPACITY = "ExceedsCohortCapacity"
    """The workload alone asks for more than its cohort's whole capacity."""
    INVALID_WORKLOAD = "InvalidWorkload"
    """Something in the workload's object cannot be read (e.g. a request that is not a quantity);
    it waits until it is fixed, and nobody else waits for it."""

    # Transient.
    WAITING_FOR_CAPACITY = "WaitingForCapacity"
    """Not enough free capacity in the cohort (it, or its queue's head, waits for some to free)."""
    WAITING_FOR_FAIR_SHARE = "WaitingForFairShare"
    """Free capacity exists but is held for a queue with a stronger claim (fair walk rule 4)."""
    WAITING_FOR_QUEUE_LIMIT = "WaitingForQueueLimit"
    """Admitting it would take the queue's usage above its limit; waits for the queue's own work."""
    QUEUE_STOPPED = "QueueStopped"
    """The queue's stopPolicy (Hold, HoldAndDrain) holds its admissions; it waits until the
    queue's stopPolicy is None again, and neither counts as demand nor blocks other queues."""


class StopPolicy(StrEnum):
    """A FairQueue's ``spec.stopPolicy``: whether it admits, and what happens to its admitted work."""

    NONE = "None"
    """The queue admits as usual."""
    HOLD = "Hold"
    """No new admissions; admitted workloads run on."""
    HOLD_AND_DRAIN = "HoldAndDrain"
    """No new admissions, and admitted workloads are preempted (Jobs suspended, bare pods
    deleted when the queue allows pod preemption); they wait in the queue again."""


class PreemptionReason(StrEnum):
    """Why an admitted workload was preempted (Event reason, waiting reason and metric label)."""

    RECLAIMED = "Reclaimed"
    """A queue below its entitlement took back capacity its queue held above its own."""
    PREEMPTED_BY_PRIORITY = "PreemptedByPriority"
    """A higher-priority workload of the same queue needed the capacity."""
    TIME_SLICE_EXPIRED = "TimeSliceExpired"
    """Its TimeSlice queue's quantum ran out while another workload waited."""
    QUEUE_DRAINED = "QueueDrained"
    """Its queue's stopPolicy is HoldAndDrain."""


NEVER_ADMITTABLE = frozenset(
    {
        WaitReason.QUEUE_NOT_FOUND,
        WaitReason.NAMESPACE_NOT_ALLOWED,
        WaitReason.EXCEEDS_QUEUE_LIMIT,
        WaitReason.EXCEEDS_COHORT_CAPACITY,
        WaitReason.INVALID_WORKLOAD,
    }
)

# -- Event reasons ----------------------------------------------------------------------------
# A workload gets an Event with its wait reason each time that reason changes (Warning for the
# reasons that need someone to act, Normal otherwise), and one when it is admitted.

EVENT_ADMITTED: Final = "Admitted"
#: On a preempted workload and on the owner of a deleted pod; the message names the queue that
#: took the capacity and why.
EVENT_PREEMPTED: Final = "Preempted"

# -- FairQueue condition types and reasons -------------------------------------------------

#: True while the queue's spec is valid and it takes part in admission cycles; False with reason
#: InvalidSpec, or Stopped while its stopPolicy holds its admissions.
CONDITION_ACTIVE: Final = "Active"
#: True while admittable workloads wait; the reason is why the queue's first workload waits.
CONDITION_BACKLOGGED: Final = "Backlogged"
#: True while some workloads naming the queue can never be admitted as things stand (namespace
#: not allowed, larger than the limit or than the cohort); the reason is the first such reason.
CONDITION_INADMISSIBLE: Final = "InadmissibleWorkloads"

REASON_ADMITTING: Final = "Admitting"
REASON_INVALID_SPEC: Final = "InvalidSpec"
REASON_STOPPED: Final = "Stopped"
REASON_NO_BACKLOG: Final = "NoBacklog"
REASON_ALL_ADMISSIBLE: Final = "AllAdmissible"

# -- identities ------------------------------------------------------------------------------

#: The field manager of the fair-queue controller's writes: admissions, waiting annotations and
#: FairQueue statuses (``metadata.managedFields`` shows them). Events name their reporting
#: component themselves (:data:`ebbtide.kube.events.COMPONENT`).
FIELD_MANAGER: Final = "ebbtide-fairqueue"
#: The name of the MutatingWebhookConfiguration kopf manages for the queue webhooks.
WEBHOOK_CONFIGURATION: Final = "fairqueue.ebbtide.io"
