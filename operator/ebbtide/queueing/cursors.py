"""Where a RoundRobin queue's turns resume after a restart or a change of leader.

A RoundRobin queue's cursor is the namespace it admitted from last (:mod:`.orders`); the planner
hands it from cycle to cycle in memory. A process that starts, or takes over from another
replica, has none, and the queue's next turn would go to the first namespace in name order
whoever had the last one. Admissions are recorded on the workloads themselves (their
admitted-at time), so the cursor can be found again without storing it anywhere: it is the
namespace of the queue's latest admission.

Two limits, both costing at most one turn once:

* The admissions of one cycle are written concurrently, each stamped as its write starts, so
  the latest stamp names a namespace of the cycle's last round, not always its last one.
* Only admissions still in view count: a finished pod drops out of the controller's view (a
  finished Job stays), so a queue whose admitted pods have all finished starts from the first
  namespace again.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class PastAdmission:
    """A workload of ``queue`` in ``namespace`` was admitted at ``admitted_at`` (timezone-aware)."""

    queue: str
    namespace: str
    admitted_at: datetime


def resume_cursors(
    *,
    cursors: Mapping[str, str],
    round_robin: Collection[str],
    admissions: Iterable[PastAdmission],
) -> dict[str, str]:
    """``cursors``, plus for each queue in ``round_robin`` that has none the namespace of its
    latest admission; a queue without any admission in ``admissions`` stays without.

    A cursor in ``cursors`` always wins: it is the planner's own, and exact. Equal times are
    broken by namespace name (the later name wins), so the answer does not depend on the order
    of ``admissions``. ``admissions`` is not read at all when no cursor is missing.
    """
    resumed = dict(cursors)
    missing = {queue for queue in round_robin if queue not in cursors}
    if not missing:
        return resumed
    latest: dict[str, tuple[datetime, str]] = {}
    for admission in admissions:
        if admission.queue not in missing:
            continue
        key = (admission.admitted_at, admission.namespace)
        if admission.queue not in latest or key > latest[admission.queue]:
            latest[admission.queue] = key
    resumed.update({queue: namespace for queue, (_, namespace) in latest.items()})
    return resumed
