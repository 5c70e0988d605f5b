"""What each cohort may admit: its capacity, less what runs outside its queues.

Per resource (cpu, memory) and cohort:

* Declared: the smallest ``spec.capacity`` any queue of the cohort declares for the resource (the
  safe reading when queues disagree). A declared capacity is a quota for the cohort's admitted
  workloads, as a Kueue ClusterQueue's nominal quota is: what runs outside the queues does not
  count against it (on a real cluster the control plane, DNS and ebbtide itself would otherwise
  eat a small quota whole).
* Undeclared: what the cluster has left, i.e. the allocatable total of the schedulable nodes
  (Ready, not cordoned), less what pods running outside every queue request (pods bound to a
  node and not finished that are neither an admitted queued pod nor a pod of an admitted queued
  Job; this includes queued workloads admitted to a queue that has since been deleted), less the
  usage of the *other* cohorts' queues, which share the same nodes.

The result is clamped at zero. Pure functions: the caller gathers the figures.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ebbtide.api.resources import NodeFacts, Resources
from ebbtide.controllers.fairqueue.records import QueueRecord, declared


@dataclass(frozen=True, slots=True)
class CohortCapacity:
    """A cohort's capacity for admission, and where its base came from (for status messages)."""

    capacity: Resources
    declared_cpu: bool
    declared_memory: bool


def node_capacity(nodes: Iterable[NodeFacts]) -> Resources:
    """The allocatable total of the schedulable nodes."""
    return sum((node.allocatable for node in nodes if node.schedulable), Resources.ZERO)


def _declared_minimum(values: Iterable[int | None]) -> int | None:
    present = [value for value in values if value is not None]
    return min(present) if present else None


def cohort_capacities(
    *,
    queues: Iterable[QueueRecord],
    nodes_total: Resources,
    outside: Resources,
    usage_by_cohort: Mapping[str, Resources],
) -> dict[str, CohortCapacity]:
    """Each cohort's capacity (see the module docstring); ``queues`` are the valid queues."""
    declared_by_cohort: dict[str, list[tuple[int | None, int | None]]] = {}
    for queue in queues:
        assert queue.spec is not None
        declared_by_cohort.setdefault(queue.spec.cohort, []).append(declared(queue.spec.capacity))
    all_usage = sum(usage_by_cohort.values(), Resources.ZERO)
    result = {}
    for cohort, amounts in declared_by_cohort.items():
        cpu = _declared_minimum(amount[0] for amount in amounts)
        memory = _declared_minimum(amount[1] for amount in amounts)
        others = all_usage.saturating_sub(usage_by_cohort.get(cohort, Resources.ZERO))
        left = nodes_total.saturating_sub(others).saturating_sub(outside)
        result[cohort] = CohortCapacity(
            capacity=Resources(
                cpu if cpu is not None else left.cpu_millis,
                memory if memory is not None else left.memory_bytes,
            ),
            declared_cpu=cpu is not None,
            declared_memory=memory is not None,
        )
    return result
