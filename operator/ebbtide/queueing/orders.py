"""The order of workloads within one queue.

* FIFO: oldest creation time first; ties by namespace, name, then kind, so the order is total.
* RoundRobin: namespaces take turns, one workload each, FIFO within a namespace. Turns go
  through the namespaces in name order, cyclically, starting with the first namespace after
  the queue's cursor (the namespace admitted from last, carried between planning cycles), so
  a namespace with a long backlog cannot keep the front of the queue across cycles.
* ShortestJobFirst: shortest expected duration (``ebbtide.io/expected-duration``) first;
  workloads without one sort after all that have one; ties FIFO. Long jobs can wait as long
  as shorter ones keep arriving: that is the policy's nature, the fair share between queues
  is what bounds it.
* Priority: higher pod priority first; ties FIFO.
* TimeSlice: FIFO by the time a workload last joined the queue: its creation, or the end of
  its last time slice (``queued_at``), so a workload whose quantum ran out goes to the back.

The planner treats a queue's order strictly: only the first workload of a queue is ever
considered, so a workload is never overtaken inside its own queue.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from itertools import zip_longest

from ebbtide.queueing.model import PendingWorkload, QueueOrder

FifoKey = tuple[datetime, str, str, str]


def fifo_key(workload: PendingWorkload) -> FifoKey:
    return (workload.created_at, workload.namespace, workload.name, workload.kind)


def _shortest_job_key(workload: PendingWorkload) -> tuple[bool, timedelta, FifoKey]:
    duration = workload.expected_duration
    return (duration is None, duration or timedelta(0), fifo_key(workload))


def _priority_key(workload: PendingWorkload) -> tuple[int, FifoKey]:
    return (-workload.priority, fifo_key(workload))


def _time_slice_key(workload: PendingWorkload) -> tuple[datetime, FifoKey]:
    return (workload.queued_at or workload.created_at, fifo_key(workload))


def order_workloads(
    *,
    order: QueueOrder,
    workloads: Sequence[PendingWorkload],
    round_robin_cursor: str | None = None,
) -> list[PendingWorkload]:
    """``workloads`` in the queue's order; ``round_robin_cursor`` only matters for RoundRobin."""
    match order:
        case QueueOrder.FIFO:
            return sorted(workloads, key=fifo_key)
        case QueueOrder.ROUND_ROBIN:
            return _round_robin(workloads, cursor=round_robin_cursor)
        case QueueOrder.SHORTEST_JOB_FIRST:
            return sorted(workloads, key=_shortest_job_key)
        case QueueOrder.PRIORITY:
            return sorted(workloads, key=_priority_key)
        case QueueOrder.TIME_SLICE:
            return sorted(workloads, key=_time_slice_key)


def _round_robin(workloads: Sequence[PendingWorkload], *, cursor: str | None) -> list[PendingWorkload]:
    by_namespace: defaultdict[str, list[PendingWorkload]] = defaultdict(list)
    for workload in sorted(workloads, key=fifo_key):
        by_namespace[workload.namespace].append(workload)
    namespaces = sorted(by_namespace)
    start = 0 if cursor is None else bisect.bisect_right(namespaces, cursor) % max(len(namespaces), 1)
    rotation = namespaces[start:] + namespaces[:start]
    turns = zip_longest(*(by_namespace[namespace] for namespace in rotation))
    return [workload for turn in turns for workload in turn if workload is not None]
