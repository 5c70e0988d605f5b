"""The admission walk: which queue's next workload goes next, and whether it fits.

Rules (one planning cycle; each cohort's capacity is shared only by its own queues):

1. Candidates. Every queue with an admittable workload left offers exactly one: the first
   in the queue's own order (:mod:`ebbtide.queueing.orders`).
2. Fair order. Candidates are taken lowest key first, the key being

   a. tier: 0 when the queue's usage plus the candidate stays within the queue's guarantee
      on every resource it guarantees (a queue guaranteeing nothing is never in tier 0),
      so a queue below its guarantee is served before the others; 2 when the candidate
      needs a resource its queue is entitled to none of (its share after admission would be
      infinite, e.g. a zero-weight queue while weighted queues want everything), so it
      only gets what the others leave; 1 otherwise;
   b. the queue's share before admitting (:mod:`ebbtide.queueing.shares`): the least
      served queue relative to its entitlement goes first;
   c. the candidate's creation time: among equally served queues (typically idle ones, at
      share 0), the one whose next workload has waited longest goes first, so ties cannot
      keep favouring one queue;
   d. the queue name, so the order is total.

3. Fit. The candidate is admitted when (i) the queue's usage plus its requests stays within
   the queue's limit, and (ii) the cohort's committed usage plus its requests plus the
   capacity reserved in this cycle (rule 4) stays within the cohort's capacity. An admission
   updates the queue's usage and share and the queue offers its next workload.
4. Blocking and reservations. A candidate that does not fit blocks its queue for the rest
   of the cycle (capacity only shrinks within a cycle), and the walk goes on with the other
   queues, whose smaller workloads may still fit (backfill). A blocked candidate reserves its
   requests in its cohort, so that later candidates must fit beside the reservation, when
   its queue is in the guarantee tier or is still below its entitlement (share before
   admission < 1). A queue at or above its entitlement, or entitled to nothing, reserves
   nothing: its blocked workload never idles capacity others could use. A candidate blocked
   by its queue's limit reserves nothing either (rule 3 (i) fails before any capacity check).

Consequences: admissions never exceed a limit or a cohort's capacity; the walk ends when
every queue is empty or blocked, so one cycle admits as many workloads as fit in fair
order; and no workload of a positive-weight queue starves: once its queue's running work
drains below the entitlement it holds a reservation, nothing walked after it may take the
capacity it waits for, and a queue walked before it has a lower share (or an equal one and an
older workload), which each of its admissions raises. The price is capacity held idle while
a large workload waits for enough to free; a queue below its entitlement may overshoot it by
one workload. Zero-weight queues are best-effort: with weighted demand filling the cohort
they can wait indefinitely.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from ebbtide.api.fairqueue_vocabulary import WaitReason
from ebbtide.api.resources import Resources
from ebbtide.queueing.entitlement import Entitlement
from ebbtide.queueing.formatting import format_cohort, format_resources
from ebbtide.queueing.model import PendingWorkload, QueueSpec
from ebbtide.queueing.plan import Admission
from ebbtide.queueing.shares import ShareAfterAdmission, ShareBeforeAdmission, dominant_share

CandidateKey = tuple[int, ShareBeforeAdmission, datetime, str, ShareAfterAdmission]
"""Rule 2's key (tier, share before, creation time, queue name), then the share after
admission, carried along for the record (queue names are unique, so it is never compared)."""

GUARANTEED_TIER: Final = 0
ENTITLED_TIER: Final = 1
UNENTITLED_TIER: Final = 2


@dataclass
class QueueState:
    """A queue during the walk; ``backlog`` is in the queue's order, ``next_index`` its head."""

    spec: QueueSpec
    entitlement: Entitlement
    usage: Resources
    backlog: list[PendingWorkload]
    next_index: int = 0
    admitted: int = 0
    blocked: WaitReason | None = None
    blocked_message: str = ""

    @property
    def head(self) -> PendingWorkload | None:
        return self.backlog[self.next_index] if self.next_index < len(self.backlog) else None


@dataclass
class CohortState:
    """A cohort during the walk: what its queues hold, and what blocked claims reserve."""

    name: str
    capacity: Resources
    committed: Resources
    reserved: Resources = Resources.ZERO
    reserved_for: list[str] = field(default_factory=list)


def within_guarantee(amount: Resources, guaranteed: Resources) -> bool:
    """True when ``amount`` fits the guarantee on every guaranteed (non-zero) resource."""
    if guaranteed.is_zero():
        return False
    return (guaranteed.cpu_millis == 0 or amount.cpu_millis <= guaranteed.cpu_millis) and (
        guaranteed.memory_bytes == 0 or amount.memory_bytes <= guaranteed.memory_bytes
    )


def candidate_key(queue: QueueState, *, usage: Resources, head: PendingWorkload) -> CandidateKey:
    """The fair-order key of rule 2 for ``head`` when its queue uses ``usage``."""
    after = usage + head.requests
    share_after = ShareAfterAdmission(dominant_share(after, queue.entitlement))
    if within_guarantee(after, queue.spec.guaranteed):
        tier = GUARANTEED_TIER
    elif share_after.infinite:
        tier = UNENTITLED_TIER
    else:
        tier = ENTITLED_TIER
    return (
        tier,
        ShareBeforeAdmission(dominant_share(usage, queue.entitlement)),
        head.created_at,
        queue.spec.name,
        share_after,
    )


def walk(*, queues: dict[str, QueueState], cohorts: dict[str, CohortState]) -> list[Admission]:
    """Run rules 1-4 over ``queues``, mutating their states; return the admissions in order."""
    admissions: list[Admission] = []
    heap: list[CandidateKey] = []
    for queue in queues.values():
        if queue.head is not None:
            heap.append(candidate_key(queue, usage=queue.usage, head=queue.head))
    heapq.heapify(heap)
    while heap:
        key = heapq.heappop(heap)
        tier, share_before, _, name, share_after = key
        queue = queues[name]
        head = queue.head
        assert head is not None  # only queues with a head are ever pushed
        cohort = cohorts[queue.spec.cohort]
        blocked = _block_reason(queue, cohort=cohort, head=head)
        if blocked is not None:
            queue.blocked, queue.blocked_message = blocked
            below_entitlement = tier == ENTITLED_TIER and share_before.below_one()
            if blocked[0] is not WaitReason.WAITING_FOR_QUEUE_LIMIT and (
                tier == GUARANTEED_TIER or below_entitlement
            ):
                cohort.reserved = cohort.reserved + head.requests
                cohort.reserved_for.append(name)
            continue
        queue.usage = queue.usage + head.requests
        cohort.committed = cohort.committed + head.requests
        queue.next_index += 1
        queue.admitted += 1
        admissions.append(
            Admission(
                workload=head,
                share_before=share_before,
                share_after=share_after,
                within_guarantee=tier == GUARANTEED_TIER,
            )
        )
        if queue.head is not None:
            heapq.heappush(heap, candidate_key(queue, usage=queue.usage, head=queue.head))
    return admissions


def _block_reason(
    queue: QueueState, *, cohort: CohortState, head: PendingWorkload
) -> tuple[WaitReason, str] | None:
    """Rule 3: ``None`` when ``head`` fits, else the reason and message it waits with."""
    requests = head.requests
    if not queue.spec.limit.admits(queue.usage + requests):
        return (
            WaitReason.WAITING_FOR_QUEUE_LIMIT,
            f"queue {queue.spec.name!r} uses {format_resources(queue.usage)} of its limit; "
            f"{head.ref} needs {format_resources(requests)} more",
        )
    committed = cohort.committed + requests
    if not committed.fits_within(cohort.capacity):
        free = cohort.capacity.saturating_sub(cohort.committed)
        return (
            WaitReason.WAITING_FOR_CAPACITY,
            f"{head.ref} needs {format_resources(requests)}; "
            f"{format_cohort(cohort.name)} has {format_resources(free)} free",
        )
    if not (committed + cohort.reserved).fits_within(cohort.capacity):
        holders = ", ".join(repr(holder) for holder in cohort.reserved_for)
        return (
            WaitReason.WAITING_FOR_FAIR_SHARE,
            f"the free capacity of {format_cohort(cohort.name)} is held for queue(s) {holders}, "
            "which wait for it with a stronger claim (lower share or within guarantee)",
        )
    return None
