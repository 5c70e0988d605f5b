"""Each queue's entitlement: its fair slice of its cohort's capacity.

For every resource separately (cpu, memory), the cohort's capacity is water-filled across
the cohort's queues (:func:`ebbtide.queueing.waterfill.water_fill`) with

* weight: the queue's weight,
* cap: ``min(demand, limit)``, where demand is the queue's usage plus the requests of its
  admittable pending workloads (a queue never needs more than it asks for, nor may it hold
  more than its limit),
* floor: ``min(guaranteed, cap)`` (a guarantee only reserves what the queue can use).

So when the cohort is oversubscribed the entitlements add up to its capacity, split in
proportion to weight among queues that are neither satisfied nor held at their guarantee;
when it is not, every queue is entitled to its whole demand. A queue without demand is
entitled to nothing, so idle guarantees do not hold capacity back from the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from ebbtide.api.resources import RESOURCE_NAMES, ResourceName, Resources
from ebbtide.queueing.model import QueueSpec
from ebbtide.queueing.waterfill import Claim, water_fill


@dataclass(frozen=True, slots=True)
class Entitlement:
    """A queue's fair share of capacity, exact: millicores and bytes as fractions."""

    cpu_millis: Fraction
    memory_bytes: Fraction

    def get(self, name: ResourceName) -> Fraction:
        return self.cpu_millis if name == "cpu" else self.memory_bytes


@dataclass(frozen=True, slots=True)
class QueueDemand:
    """A queue and everything it would use if all its admittable workloads ran."""

    spec: QueueSpec
    demand: Resources


def exact_weight(weight: float) -> Fraction:
    """The weight as the exact decimal the user wrote (``0.1`` is one tenth, not its float)."""
    return Fraction(repr(weight))


def cohort_entitlements(*, capacity: Resources, queues: Sequence[QueueDemand]) -> dict[str, Entitlement]:
    """Entitlements of the queues of one cohort, keyed by queue name.

    An empty cohort gives an empty mapping; a zero capacity gives zero entitlements.
    """
    per_resource: dict[ResourceName, list[Fraction]] = {}
    for resource in RESOURCE_NAMES:
        claims = []
        for queue in queues:
            limit = queue.spec.limit.get(resource)
            cap = queue.demand.get(resource)
            if limit is not None:
                cap = min(cap, limit)
            floor = min(queue.spec.guaranteed.get(resource), cap)
            claims.append(Claim(weight=exact_weight(queue.spec.weight), floor=floor, cap=cap))
        per_resource[resource] = water_fill(capacity=capacity.get(resource), claims=claims)
    return {
        queue.spec.name: Entitlement(cpu_millis=cpu, memory_bytes=memory)
        for queue, cpu, memory in zip(queues, per_resource["cpu"], per_resource["memory"], strict=True)
    }
