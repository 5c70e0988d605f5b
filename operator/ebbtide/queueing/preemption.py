"""Preemption, as pure logic: which admitted workloads to take back, and why.

Each queue chooses what may happen to its workloads and what it may do to others
(:class:`~ebbtide.queueing.model.PreemptionPolicy`; the default preempts nothing). A workload
``v`` of queue ``Q`` is *preemptible* when it has run for at least ``Q``'s minimum runtime and
it is a Job, or ``Q`` allows pods to be preempted. Three rules, run in this order on the cohort
as it stands after the cycle's admissions; each sees the victims the earlier ones chose:

1. **Reclaim** (the preemptor's queue ``P`` has ``reclaim``). While ``P``'s share is below 1
   (it uses less than its entitlement) and its next workload ``h`` does not fit in the cohort's
   free capacity, ``P`` may take capacity from the other queues of its cohort. A preemptible
   ``v`` of ``Q != P`` may be taken when, with the victims already chosen also gone,

   a. ``Q`` stays at or above its entitlement: its share is still at least 1;
   b. ``Q`` stays at or above its guarantee on every resource it guarantees;
   c. ``P``'s share after admitting ``h`` is at most ``Q``'s share after losing ``v``: the
      preemptor never ends above a queue it took from (the "final share" rule; it is what makes
      cycles impossible: ``Q`` is left at a share of at least 1, so it is never below its
      entitlement and never reclaims in turn while the demands stay the same).

   Victims are taken from the queue with the highest share first (shares recomputed after
   each one), most recently admitted first within a queue, until ``h`` fits; then every victim
   whose release turns out not to be needed is handed back (last chosen first), so the set is
   minimal: no victim can be left out and ``h`` still fit. When ``h`` cannot be made to fit,
   nothing is taken for it and ``P`` is done (its order is strict: nothing overtakes ``h``).
   Preemptors are served lowest share first.
2. **Priority within a queue** (``by_priority``). When a queue's next workload ``h`` does not
   fit, preemptible workloads of the same queue with a lower priority than ``h`` may be taken,
   lowest priority first, most recently admitted first, as few as possible, when the queue
   then stays within its entitlement with ``h`` admitted.
3. **Time slice** (:mod:`ebbtide.queueing.time_slice`).
4. **Drain**: every admitted workload of a queue whose stopPolicy is HoldAndDrain is taken back
   at once, whatever its runtime (the user asked for it); a bare pod only when its queue allows
   pods to be preempted, as above (a pod cannot be gated again, so preempting it deletes it).

A cohort in ``settling`` (earlier victims have not released their capacity yet) is left alone:
preempting again there would take twice for one need.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from ebbtide.api.fairqueue_vocabulary import PreemptionReason, StopPolicy
from ebbtide.api.resources import RESOURCE_NAMES, Resources
from ebbtide.queueing.entitlement import Entitlement
from ebbtide.queueing.fair_walk import QueueState
from ebbtide.queueing.formatting import format_cohort
from ebbtide.queueing.ledger import ONE, CohortLedger
from ebbtide.queueing.model import PendingWorkload, RunningWorkload, Snapshot
from ebbtide.queueing.plan import Preemption
from ebbtide.queueing.planner import queue_states, triage_pending
from ebbtide.queueing.shares import Share, dominant_share
from ebbtide.queueing.time_slice import time_slices as _time_slices
from ebbtide.queueing.validation import validate_snapshot


def plan_preemptions(
    snapshot: Snapshot,
    *,
    running: Sequence[RunningWorkload],
    now: datetime,
    admitted: Iterable[PendingWorkload] = (),
    settling: frozenset[str] = frozenset(),
) -> tuple[Preemption, ...]:
    """The workloads to preempt now, in the order chosen (module docstring).

    ``snapshot`` is the planner's input for this cycle and ``admitted`` the workloads its plan
    admits (they count as running, not waiting, and as too new to preempt); ``running`` lists
    every admitted, unfinished workload of the snapshot's queues, consistent with
    ``snapshot.usage``. ``now`` is timezone-aware.
    """
    validate_snapshot(snapshot)
    admitted_now = {workload.ref: workload for workload in admitted}
    after = Snapshot(
        queues=snapshot.queues,
        cohort_capacity=snapshot.cohort_capacity,
        pending=[workload for workload in snapshot.pending if workload.ref not in admitted_now],
        usage=_usage_with(snapshot.usage, admitted_now.values()),
        round_robin_cursors=snapshot.round_robin_cursors,
    )
    specs = {queue.name: queue for queue in after.queues}
    admittable, _ = triage_pending(after, specs=specs)
    # Entitlements count the demand of everything in the queues, this cycle's admissions too.
    states = queue_states(after, specs=specs, admittable=admittable)
    preemptions: list[Preemption] = []
    for ledger in _ledgers(after, states=states, running=running, settling=settling):
        _reclaim(ledger, now=now)
        _by_priority(ledger, now=now)
        _time_slices(ledger, now=now)
        _drain(ledger)
        preemptions.extend(ledger.taken)
    return tuple(preemptions)


def _usage_with(usage: Mapping[str, Resources], admitted: Iterable[PendingWorkload]) -> dict[str, Resources]:
    totals = dict(usage)
    for workload in admitted:
        totals[workload.queue] = totals.get(workload.queue, Resources.ZERO) + workload.requests
    return totals


def _ledgers(
    snapshot: Snapshot,
    *,
    states: Mapping[str, QueueState],
    running: Sequence[RunningWorkload],
    settling: frozenset[str],
) -> list[CohortLedger]:
    ledgers: dict[str, CohortLedger] = {}
    for name, state in sorted(states.items()):
        cohort = state.spec.cohort
        if cohort in settling:
            continue
        capacity = snapshot.cohort_capacity.get(cohort, Resources.ZERO)
        ledger = ledgers.setdefault(cohort, CohortLedger(name=cohort, capacity=capacity, queues={}))
        ledger.queues[name] = state
        ledger.running[name] = []
    for workload in running:
        for ledger in ledgers.values():
            if workload.queue in ledger.running:
                ledger.running[workload.queue].append(workload)
    for ledger in ledgers.values():
        for workloads in ledger.running.values():
            workloads.sort(key=lambda workload: (workload.admitted_at, workload.ref))
    return list(ledgers.values())


def _reclaim(ledger: CohortLedger, *, now: datetime) -> None:
    done: set[str] = set()
    while True:
        candidates = [
            (ledger.share(name), name)
            for name, state in ledger.queues.items()
            if name not in done
            and state.spec.preemption.reclaim
            and state.head is not None
            and ledger.share(name).below_one()
        ]
        if not candidates:
            return
        _, name = min(candidates)
        head = ledger.queues[name].head
        assert head is not None
        if not _fits(ledger, head):
            victims = _reclaim_victims(ledger, head, now=now)
            if victims is None:
                done.add(name)
                continue
            for victim in victims:
                ledger.taken.append(_reclaimed(ledger, victim, head))
                ledger.release(victim)
        ledger.admit(head)


def _fits(ledger: CohortLedger, head: PendingWorkload, *, freed: Resources = Resources.ZERO) -> bool:
    state = ledger.queues[head.queue]
    return head.requests.fits_within(ledger.free + freed) and state.spec.limit.admits(
        state.usage + head.requests
    )


def _reclaim_victims(
    ledger: CohortLedger, head: PendingWorkload, *, now: datetime
) -> list[RunningWorkload] | None:
    """Rule 1's victims for ``head``, minimal; None when ``head`` cannot be made to fit."""
    preemptor = ledger.queues[head.queue]
    if not preemptor.spec.limit.admits(preemptor.usage + head.requests):
        return None
    share_after = ledger.share(head.queue, preemptor.usage + head.requests)
    # A victim's queue is judged by what it really holds: work only promised to it this cycle
    # (its own heads let in on paper) is not admitted yet and keeps nothing running.
    left = {name: ledger.held(name) for name in ledger.queues}
    chosen: list[RunningWorkload] = []
    freed = Resources.ZERO
    while not _fits(ledger, head, freed=freed):
        pick = _next_reclaim_victim(ledger, head, left=left, chosen=chosen, share_after=share_after, now=now)
        if pick is None:
            return None
        chosen.append(pick)
        left[pick.queue] = left[pick.queue].saturating_sub(pick.requests)
        freed = freed + pick.requests
    return _minimal(ledger, head, chosen)


def _next_reclaim_victim(
    ledger: CohortLedger,
    head: PendingWorkload,
    *,
    left: Mapping[str, Resources],
    chosen: Sequence[RunningWorkload],
    share_after: Share,
    now: datetime,
) -> RunningWorkload | None:
    """The most recently admitted allowed victim of the queue with the highest share."""
    options: list[tuple[Share, str, RunningWorkload]] = []
    for name, state in ledger.queues.items():
        share = ledger.share(name, left[name])
        if name == head.queue or not share > ONE:
            continue
        for victim in reversed(ledger.running[name]):
            if victim in chosen or not state.spec.preemption.allows(victim, now=now):
                continue
            remaining = left[name].saturating_sub(victim.requests)
            remaining_share = ledger.share(name, remaining)
            if (
                remaining_share >= ONE
                and _keeps_guarantee(remaining, state.spec.guaranteed)
                and share_after <= remaining_share
            ):
                options.append((share, name, victim))
                break
    if not options:
        return None
    # Highest share first; ``max`` keeps the first of equal ones, and queues are walked in name
    # order, so the choice is total.
    return max(options, key=lambda option: option[0])[2]


def _keeps_guarantee(usage: Resources, guaranteed: Resources) -> bool:
    return all(
        guaranteed.get(resource) == 0 or usage.get(resource) >= guaranteed.get(resource)
        for resource in RESOURCE_NAMES
    )


def _minimal(
    ledger: CohortLedger, head: PendingWorkload, chosen: list[RunningWorkload]
) -> list[RunningWorkload]:
    """``chosen`` without every victim ``head`` fits without, trying the last chosen first."""
    kept = list(chosen)
    for victim in reversed(chosen):
        rest = [other for other in kept if other is not victim]
        if _fits(ledger, head, freed=sum((other.requests for other in rest), Resources.ZERO)):
            kept = rest
    return kept


def _reclaimed(ledger: CohortLedger, victim: RunningWorkload, head: PendingWorkload) -> Preemption:
    state = ledger.queues[head.queue]
    used, entitled, resource = _cohort_fractions(state.usage, state.entitlement, ledger.capacity)
    return Preemption(
        victim=victim,
        reason=PreemptionReason.RECLAIMED,
        by_queue=head.queue,
        for_workload=head.ref,
        message=(
            f"reclaimed by {head.queue}: {used:.2f} of its {entitled:.2f} share of "
            f"{format_cohort(ledger.name)} ({resource}), for {head.ref}"
        ),
    )


def _cohort_fractions(
    usage: Resources, entitlement: Entitlement, capacity: Resources
) -> tuple[float, float, str]:
    """The queue's usage and entitlement as fractions of the cohort, on the resource where its
    entitlement is the largest fraction (its dominant resource in the cohort)."""
    best = (0.0, 0.0, "cpu")
    for resource in RESOURCE_NAMES:
        total = capacity.get(resource)
        if total == 0:
            continue
        entitled = float(entitlement.get(resource)) / total
        if entitled > best[1]:
            best = (usage.get(resource) / total, entitled, resource)
    return best


def _by_priority(ledger: CohortLedger, *, now: datetime) -> None:
    for name, state in sorted(ledger.queues.items()):
        head = state.head
        if not state.spec.preemption.by_priority or head is None or _fits(ledger, head):
            continue
        lower = [
            victim
            for victim in ledger.running[name]
            if victim.priority < head.priority and state.spec.preemption.allows(victim, now=now)
        ]
        # Lowest priority first; most recently admitted first among equals.
        lower.sort(key=lambda victim: (victim.priority, -victim.admitted_at.timestamp()))
        chosen: list[RunningWorkload] = []
        freed = Resources.ZERO
        for victim in lower:
            if _fits_in_queue(ledger, head, freed=freed):
                break
            chosen.append(victim)
            freed = freed + victim.requests
        if not _fits_in_queue(ledger, head, freed=freed):
            continue
        usage_after = state.usage.saturating_sub(freed) + head.requests
        if not dominant_share(usage_after, state.entitlement).within_entitlement():
            continue
        for victim in _minimal_in_queue(ledger, head, chosen):
            ledger.taken.append(
                Preemption(
                    victim=victim,
                    reason=PreemptionReason.PREEMPTED_BY_PRIORITY,
                    by_queue=name,
                    for_workload=head.ref,
                    message=(
                        f"preempted by {head.ref} of priority {head.priority} in queue {name} "
                        f"(this workload's priority: {victim.priority})"
                    ),
                )
            )
            ledger.release(victim)
        ledger.admit(head)


def _fits_in_queue(ledger: CohortLedger, head: PendingWorkload, *, freed: Resources) -> bool:
    state = ledger.queues[head.queue]
    within_limit = state.spec.limit.admits(state.usage.saturating_sub(freed) + head.requests)
    return within_limit and head.requests.fits_within(ledger.free + freed)


def _minimal_in_queue(
    ledger: CohortLedger, head: PendingWorkload, chosen: list[RunningWorkload]
) -> list[RunningWorkload]:
    kept = list(chosen)
    for victim in reversed(chosen):
        rest = [other for other in kept if other is not victim]
        if _fits_in_queue(ledger, head, freed=sum((other.requests for other in rest), Resources.ZERO)):
            kept = rest
    return kept


def _drain(ledger: CohortLedger) -> None:
    """Rule 4: take back every admitted workload of the cohort's HoldAndDrain queues."""
    for name, state in ledger.queues.items():
        spec = state.spec
        if spec.stop_policy is not StopPolicy.HOLD_AND_DRAIN:
            continue
        for victim in list(ledger.running.get(name, ())):
            if victim.kind != "Job" and not spec.preemption.pods:
                continue
            ledger.release(victim)
            ledger.taken.append(
                Preemption(
                    victim=victim,
                    reason=PreemptionReason.QUEUE_DRAINED,
                    by_queue=name,
                    for_workload=None,
                    message=f"queue {name!r} is drained: its stopPolicy is HoldAndDrain",
                )
            )
