"""One cohort while preemption chooses its victims: what each queue uses, and who still runs.

Victim rules (:mod:`ebbtide.queueing.preemption`, :mod:`ebbtide.queueing.time_slice`) update
the ledger as they choose, so each rule sees what the ones before it took and admitted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from ebbtide.api.resources import Resources
from ebbtide.queueing.fair_walk import QueueState
from ebbtide.queueing.model import PendingWorkload, RunningWorkload
from ebbtide.queueing.plan import Preemption
from ebbtide.queueing.shares import Share, dominant_share

#: A share of exactly 1: a queue using its whole entitlement and no more.
ONE: Final = Share(1, 1)


@dataclass
class CohortLedger:
    """A cohort while victims are chosen: capacity, queues' usage, and who is still running."""

    name: str
    capacity: Resources
    queues: dict[str, QueueState]
    running: dict[str, list[RunningWorkload]] = field(default_factory=dict)
    taken: list[Preemption] = field(default_factory=list)
    #: Per queue, what :meth:`admit` counted for workloads a rule let in on paper. They are not
    #: admitted yet (the next planning cycle decides), so a queue cannot lose real work for them.
    promised: dict[str, Resources] = field(default_factory=dict)

    @property
    def free(self) -> Resources:
        used = sum((state.usage for state in self.queues.values()), Resources.ZERO)
        return self.capacity.saturating_sub(used)

    def share(self, queue: str, usage: Resources | None = None) -> Share:
        state = self.queues[queue]
        return dominant_share(state.usage if usage is None else usage, state.entitlement)

    def held(self, queue: str) -> Resources:
        """What ``queue`` really holds: its usage without the workloads only promised to it."""
        return self.queues[queue].usage.saturating_sub(self.promised.get(queue, Resources.ZERO))

    def release(self, victim: RunningWorkload) -> None:
        state = self.queues[victim.queue]
        state.usage = state.usage.saturating_sub(victim.requests)
        self.running[victim.queue].remove(victim)

    def admit(self, workload: PendingWorkload) -> None:
        state = self.queues[workload.queue]
        state.usage = state.usage + workload.requests
        state.next_index += 1
        self.promised[workload.queue] = self.promised.get(workload.queue, Resources.ZERO) + workload.requests
