"""Checks that reject a snapshot the rules cannot be applied to.

Only true input errors raise (:class:`InvalidSnapshotError`): a weight that is negative, NaN
or infinite, a duplicate queue or workload, a naive creation time, a negative expected
duration. Negative amounts are already impossible (:class:`Resources` refuses them). Things a
healthy cluster produces, such as a workload naming a missing queue, are wait reasons instead.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from datetime import timedelta

from ebbtide.errors import InvalidSnapshotError
from ebbtide.queueing.model import Snapshot


def validate_snapshot(snapshot: Snapshot) -> None:
    """Raise :class:`InvalidSnapshotError` describing the first problem found."""
    duplicate_queues = _duplicates(queue.name for queue in snapshot.queues)
    if duplicate_queues:
        raise InvalidSnapshotError(f"duplicate queue names: {sorted(duplicate_queues)}")
    for queue in snapshot.queues:
        if not math.isfinite(queue.weight) or queue.weight < 0:
            raise InvalidSnapshotError(
                f"queue {queue.name!r}: weight must be finite and >= 0, got {queue.weight!r}"
            )
    duplicate_workloads = _duplicates(str(workload.ref) for workload in snapshot.pending)
    if duplicate_workloads:
        raise InvalidSnapshotError(f"duplicate pending workloads: {sorted(duplicate_workloads)}")
    for workload in snapshot.pending:
        if workload.created_at.utcoffset() is None:
            raise InvalidSnapshotError(f"{workload.ref}: created_at must be timezone-aware")
        if workload.queued_at is not None and workload.queued_at.utcoffset() is None:
            raise InvalidSnapshotError(f"{workload.ref}: queued_at must be timezone-aware")
        if workload.expected_duration is not None and workload.expected_duration < timedelta(0):
            raise InvalidSnapshotError(f"{workload.ref}: expected duration must be >= 0")


def _duplicates(names: Iterable[str]) -> set[str]:
    counts = Counter(names)
    return {name for name, count in counts.items() if count > 1}
