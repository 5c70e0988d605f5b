"""Every name the fair-queue machinery writes into the cluster, in one place.

Labels, the scheduling gate, annotation keys, Event reasons and condition types are part of
ebbtide's user-visible contract (``kubectl describe`` shows them, scripts read them), so they
are defined once here and imported by the webhook, the controller and the tests.

Wait reasons are not repeated here: a waiting workload's reason is the planner's
:class:`ebbtide.queueing.WaitReason` value, used verbatim as annotation value and Event reason.
"""

from __future__ import annotations

from typing import Final

#: The label a Pod or Job carries to join a queue; its value is the FairQueue's name.
QUEUE_LABEL: Final = "ebbtide.io/queue"

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

#: Annotations that describe a wait; an admission removes them all.
WAITING_ANNOTATIONS: Final = (WAITING_REASON, WAITING_MESSAGE, QUEUE_POSITION)

# -- Event reasons ----------------------------------------------------------------------------
# A workload gets an Event with its wait reason each time that reason changes (Warning for the
# reasons that need someone to act, Normal otherwise), and one when it is admitted.

EVENT_ADMITTED: Final = "Admitted"

# -- FairQueue condition types and reasons -------------------------------------------------

#: True while the queue's spec is valid and it takes part in admission cycles.
CONDITION_ACTIVE: Final = "Active"
#: True while admittable workloads wait; the reason is why the queue's first workload waits.
CONDITION_BACKLOGGED: Final = "Backlogged"
#: True while some workloads naming the queue can never be admitted as things stand (namespace
#: not allowed, larger than the limit or than the cohort); the reason is the first such reason.
CONDITION_INADMISSIBLE: Final = "InadmissibleWorkloads"

REASON_ADMITTING: Final = "Admitting"
REASON_INVALID_SPEC: Final = "InvalidSpec"
REASON_NO_BACKLOG: Final = "NoBacklog"
REASON_ALL_ADMISSIBLE: Final = "AllAdmissible"

# -- identities ------------------------------------------------------------------------------

#: The field manager of every write, and the Events' reporting component.
FIELD_MANAGER: Final = "ebbtide-fairqueue"
#: The name of the MutatingWebhookConfiguration kopf manages for the queue webhooks.
WEBHOOK_CONFIGURATION: Final = "fairqueue.ebbtide.io"
