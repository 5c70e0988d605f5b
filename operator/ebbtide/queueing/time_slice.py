"""The TimeSlice order's preemption: a workload whose quantum is used yields to one that waits.

The source's time-slice round robin, between admission cycles: in a queue with order TimeSlice,
an admitted workload that has run for its queue's ``time_slice`` (and at least the minimum
runtime), and that may be preempted at all (a Job, or a pod when the queue allows it), yields
its capacity when a workload of the cohort waits that

* is the next workload of its queue (queues keep their order strictly),
* would fit once the yielding workload's capacity is free, and within its queue's limit, and
* would be served first by the fair walk: it is in the same queue (the yielding workload goes
  to the back of it), or its queue's share is at most the yielding queue's share once the
  yielding workload is gone.

Workloads that have run longest yield first, one per waiting workload; a workload that yields
goes back to its queue with a new place at the back (its ``queued_at``). Without a waiting
workload nothing yields: a quantum only ends when someone else needs the capacity.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ebbtide.api.duration import format_duration
from ebbtide.api.fairqueue_vocabulary import PreemptionReason
from ebbtide.queueing.ledger import CohortLedger
from ebbtide.queueing.model import PendingWorkload, QueueOrder, RunningWorkload
from ebbtide.queueing.plan import Preemption


def time_slices(ledger: CohortLedger, *, now: datetime) -> None:
    """Add the cohort's time-slice preemptions to ``ledger`` (module docstring)."""
    for victim in _expired(ledger, now=now):
        waiter = _waiter_for(ledger, victim)
        if waiter is None:
            continue
        spec = ledger.queues[victim.queue].spec
        assert spec.time_slice is not None
        ledger.taken.append(
            Preemption(
                victim=victim,
                reason=PreemptionReason.TIME_SLICE_EXPIRED,
                by_queue=waiter.queue,
                for_workload=waiter.ref,
                message=(
                    f"its time slice of {format_duration(spec.time_slice)} in queue {victim.queue} "
                    f"is used and {waiter.ref} of queue {waiter.queue} waits: back of the queue"
                ),
            )
        )
        ledger.release(victim)
        ledger.admit(waiter)


def _expired(ledger: CohortLedger, *, now: datetime) -> list[RunningWorkload]:
    expired: list[RunningWorkload] = []
    for name, state in ledger.queues.items():
        spec = state.spec
        if spec.order is not QueueOrder.TIME_SLICE or spec.time_slice is None:
            continue
        quantum = max(spec.time_slice, spec.preemption.min_runtime, timedelta(0))
        expired.extend(
            victim
            for victim in ledger.running[name]
            if now - victim.admitted_at >= quantum and spec.preemption.allows(victim, now=now)
        )
    expired.sort(key=lambda victim: (victim.admitted_at, victim.ref))
    return expired


def _waiter_for(ledger: CohortLedger, victim: RunningWorkload) -> PendingWorkload | None:
    victim_state = ledger.queues[victim.queue]
    share_left = ledger.share(victim.queue, victim_state.usage.saturating_sub(victim.requests))
    heads = []
    for name, state in ledger.queues.items():
        head = state.head
        if head is None:
            continue
        usage = state.usage.saturating_sub(victim.requests) if name == victim.queue else state.usage
        freed = ledger.free + victim.requests
        share = ledger.share(name, usage)
        if (
            head.requests.fits_within(freed)
            and state.spec.limit.admits(usage + head.requests)
            and (name == victim.queue or share <= share_left)
        ):
            heads.append((share, head.created_at, name, head))
    return min(heads, key=lambda item: item[:3])[3] if heads else None
