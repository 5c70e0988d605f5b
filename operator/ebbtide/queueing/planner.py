"""The admission planner: one fair-sharing cycle over a snapshot, as a pure function.

:func:`plan_admissions` applies, in order:

1. Validation (:mod:`ebbtide.queueing.validation`): malformed input raises.
2. Triage (:mod:`ebbtide.queueing.triage`). Each pending workload that cannot be admitted
   as things stand (no such queue, namespace not allowed, bigger than its queue's limit or
   its cohort's capacity) is set aside with its reason; it neither counts as demand nor
   blocks its queue.
3. Queue order. Each queue's admittable workloads are sorted by the queue's order.
4. Entitlements (:mod:`ebbtide.queueing.entitlement`), per cohort, from each queue's demand
   (usage plus admittable requests).
5. The fair walk (:mod:`ebbtide.queueing.fair_walk`), which admits as many workloads as fit,
   in fair order, updating usage and shares after every admission.
6. Reporting: each workload left waits with its queue's blocking reason, its position in
   its queue and in its cohort's fair order (:mod:`ebbtide.queueing.positions`).

The function is deterministic; applying its admissions and planning again on the updated
snapshot admits nothing more, so a controller that replays a cycle cannot double-admit.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from ebbtide.api.resources import Resources
from ebbtide.queueing.entitlement import QueueDemand, cohort_entitlements
from ebbtide.queueing.fair_walk import CohortState, QueueState, walk
from ebbtide.queueing.model import PendingWorkload, QueueOrder, QueueSpec, Snapshot
from ebbtide.queueing.orders import order_workloads
from ebbtide.queueing.plan import AdmissionPlan, QueueStatus, WaitingWorkload
from ebbtide.queueing.positions import cohort_positions
from ebbtide.queueing.shares import dominant_share
from ebbtide.queueing.triage import never_admittable
from ebbtide.queueing.validation import validate_snapshot


def plan_admissions(snapshot: Snapshot) -> AdmissionPlan:
    """Decide which pending workloads to admit now, and why the others wait."""
    validate_snapshot(snapshot)
    specs = {queue.name: queue for queue in snapshot.queues}
    admittable, never = triage_pending(snapshot, specs=specs)
    states = queue_states(snapshot, specs=specs, admittable=admittable)
    cohorts: dict[str, CohortState] = {}
    for name, spec in specs.items():
        capacity = snapshot.cohort_capacity.get(spec.cohort, Resources.ZERO)
        cohort = cohorts.setdefault(
            spec.cohort, CohortState(name=spec.cohort, capacity=capacity, committed=Resources.ZERO)
        )
        cohort.committed = cohort.committed + states[name].usage
    admissions = walk(queues=states, cohorts=cohorts)
    set_aside = Counter(item.workload.queue for item in never)
    return AdmissionPlan(
        admissions=tuple(admissions),
        waiting=(*_waiting(states), *never),
        queues={name: _status(state, set_aside=set_aside[name]) for name, state in states.items()},
        round_robin_cursors=_cursors(snapshot.round_robin_cursors, states),
    )


def triage_pending(
    snapshot: Snapshot, *, specs: Mapping[str, QueueSpec]
) -> tuple[dict[str, list[PendingWorkload]], list[WaitingWorkload]]:
    """Step 2: each queue's admittable workloads (in input order), and the others set aside."""
    never: list[WaitingWorkload] = []
    admittable: dict[str, list[PendingWorkload]] = {name: [] for name in specs}
    for workload in snapshot.pending:
        rejection = never_admittable(workload, queues=specs, cohort_capacity=snapshot.cohort_capacity)
        if rejection is None:
            admittable[workload.queue].append(workload)
        else:
            never.append(rejection)
    return admittable, never


def queue_states(
    snapshot: Snapshot,
    *,
    specs: Mapping[str, QueueSpec],
    admittable: Mapping[str, list[PendingWorkload]],
) -> dict[str, QueueState]:
    """Steps 3 and 4: each queue's ordered backlog, usage and entitlement, before any walk."""
    backlogs = {
        name: order_workloads(
            order=spec.order,
            workloads=admittable[name],
            round_robin_cursor=snapshot.round_robin_cursors.get(name),
        )
        for name, spec in specs.items()
    }
    usage = {name: snapshot.usage.get(name, Resources.ZERO) for name in specs}
    demands: dict[str, list[QueueDemand]] = {}
    for name, spec in specs.items():
        demand = sum((workload.requests for workload in backlogs[name]), usage[name])
        demands.setdefault(spec.cohort, []).append(QueueDemand(spec=spec, demand=demand))
    entitlements = {}
    for cohort, members in demands.items():
        cohort_capacity = snapshot.cohort_capacity.get(cohort, Resources.ZERO)
        entitlements.update(cohort_entitlements(capacity=cohort_capacity, queues=members))
    return {
        name: QueueState(spec=spec, entitlement=entitlements[name], usage=usage[name], backlog=backlogs[name])
        for name, spec in specs.items()
    }


def _waiting(states: Mapping[str, QueueState]) -> list[WaitingWorkload]:
    positions = cohort_positions(states.values())
    waiting = []
    for state in states.values():
        head = state.head
        if head is None or state.blocked is None:
            continue
        for offset, workload in enumerate(state.backlog[state.next_index :]):
            message = state.blocked_message
            if offset:
                message = (
                    f"position {offset + 1} in queue {state.spec.name!r}, "
                    f"behind {head.ref}, which waits: {message}"
                )
            waiting.append(
                WaitingWorkload(
                    workload=workload,
                    reason=state.blocked,
                    message=message,
                    queue_position=offset + 1,
                    cohort_position=positions[workload.ref],
                )
            )
    waiting.sort(key=lambda item: (states[item.workload.queue].spec.cohort, item.cohort_position or 0))
    return waiting


def _status(state: QueueState, *, set_aside: int) -> QueueStatus:
    return QueueStatus(
        name=state.spec.name,
        cohort=state.spec.cohort,
        entitlement=state.entitlement,
        usage=state.usage,
        share=dominant_share(state.usage, state.entitlement),
        admitted=state.admitted,
        waiting=len(state.backlog) - state.next_index + set_aside,
        blocked=state.blocked if state.head is not None else None,
    )


def _cursors(previous: Mapping[str, str], states: Mapping[str, QueueState]) -> dict[str, str]:
    cursors = {name: cursor for name, cursor in previous.items() if name in states}
    for name, state in states.items():
        if state.spec.order is QueueOrder.ROUND_ROBIN and state.admitted:
            cursors[name] = state.backlog[state.next_index - 1].namespace
    return cursors
