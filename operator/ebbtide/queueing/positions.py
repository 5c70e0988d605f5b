"""Where each waiting workload stands: in its queue and in its cohort's fair order."""

from __future__ import annotations

import heapq
from collections.abc import Iterable

from ebbtide.queueing.fair_walk import CandidateKey, QueueState, candidate_key
from ebbtide.queueing.model import WorkloadRef


def cohort_positions(queues: Iterable[QueueState]) -> dict[WorkloadRef, int]:
    """1-based position of every waiting workload in its cohort's projected fair order.

    The projection repeats the walk's fair order (guarantee tier, share before, share after,
    queue name) from the state the walk left, as if capacity, limits and reservations were
    not in the way and nothing finished or arrived: each step takes the lowest-key queue's
    next workload and charges it to that queue's usage. It is an order, not a forecast.
    """
    by_cohort: dict[str, list[QueueState]] = {}
    for queue in queues:
        by_cohort.setdefault(queue.spec.cohort, []).append(queue)
    positions: dict[WorkloadRef, int] = {}
    for members in by_cohort.values():
        states = {queue.spec.name: queue for queue in members}
        usage = {queue.spec.name: queue.usage for queue in members}
        next_index = {queue.spec.name: queue.next_index for queue in members}
        heap: list[CandidateKey] = [
            candidate_key(queue, usage=queue.usage, head=queue.backlog[queue.next_index])
            for queue in members
            if queue.head is not None
        ]
        heapq.heapify(heap)
        position = 0
        while heap:
            name = heapq.heappop(heap)[3]
            queue = states[name]
            workload = queue.backlog[next_index[name]]
            position += 1
            positions[workload.ref] = position
            usage[name] = usage[name] + workload.requests
            next_index[name] += 1
            if next_index[name] < len(queue.backlog):
                following = queue.backlog[next_index[name]]
                heapq.heappush(heap, candidate_key(queue, usage=usage[name], head=following))
    return positions
