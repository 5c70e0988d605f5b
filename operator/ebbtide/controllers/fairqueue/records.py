"""FairQueues and namespaces as the admission cycle needs them: plain records (nodes are
:func:`ebbtide.api.resources.read_node`'s).

A FairQueue whose spec does not parse (it passed the API server's schema, so this means an
operator older than the CRD) is kept with its error, so its status can say so, and takes no
part in admission: its workloads wait as if it did not exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from ebbtide.api import FairQueueSpec, Quantity, ResourceAmounts, error_messages
from ebbtide.api.fairqueue_vocabulary import StopPolicy
from ebbtide.api.resources import Resources, millicores, whole_units
from ebbtide.queueing import PreemptionPolicy, QueueOrder, QueueSpec, ResourceLimit

#: A declared amount per resource; None where the spec leaves the resource out.
DeclaredAmounts = tuple[int | None, int | None]


def _millis(quantity: Quantity | None) -> int | None:
    return None if quantity is None else millicores(str(quantity))


def _units(quantity: Quantity | None) -> int | None:
    return None if quantity is None else whole_units(str(quantity))


def declared(amounts: ResourceAmounts | None) -> DeclaredAmounts:
    """``(millicores, bytes)`` of an optional ``{cpu, memory}`` block; None where unset."""
    if amounts is None:
        return (None, None)
    return (_millis(amounts.cpu), _units(amounts.memory))


@dataclass(frozen=True, slots=True)
class QueueRecord:
    """One FairQueue: its parsed spec (or why it does not parse) and its current status."""

    name: str
    generation: int
    spec: FairQueueSpec | None
    error: str | None = None
    status: Mapping[str, Any] = field(default_factory=dict)

    def to_queue_spec(self, namespaces: Mapping[str, Mapping[str, str]]) -> QueueSpec:
        """The planner's view of the queue; the namespace selector resolved against
        ``namespaces`` (name -> labels). Only for a queue whose spec parsed."""
        assert self.spec is not None
        spec = self.spec
        guaranteed = declared(spec.guaranteed)
        limit = declared(spec.limit)
        selector = spec.namespace_selector
        allowed = None
        if selector is not None and (selector.match_labels or selector.match_expressions):
            allowed = frozenset(name for name, labels in namespaces.items() if selector.matches(labels))
        return QueueSpec(
            name=self.name,
            weight=spec.weight,
            order=QueueOrder(spec.order),
            cohort=spec.cohort,
            guaranteed=Resources(guaranteed[0] or 0, guaranteed[1] or 0),
            limit=ResourceLimit(cpu_millis=limit[0], memory_bytes=limit[1]),
            allowed_namespaces=allowed,
            preemption=PreemptionPolicy(
                reclaim=spec.preemption.reclaim_within_cohort == "LowerShare",
                by_priority=spec.preemption.within_queue == "LowerPriority",
                min_runtime=spec.preemption.min_runtime,
                pods=spec.preemption.pod_preemption == "Allowed",
            ),
            time_slice=spec.time_slice,
            stop_policy=StopPolicy(spec.stop_policy),
        )


def read_queue(obj: Mapping[str, Any]) -> QueueRecord:
    """A FairQueue object's record; a spec the model refuses is kept as ``error``."""
    metadata = obj.get("metadata") or {}
    name = str(metadata.get("name", ""))
    status = obj.get("status") or {}
    generation = int(metadata.get("generation") or 0)
    try:
        spec = FairQueueSpec.model_validate(obj.get("spec") or {})
    except ValidationError as error:
        message = "; ".join(error_messages(error)) or str(error)
        return QueueRecord(name=name, generation=generation, spec=None, error=message, status=status)
    return QueueRecord(name=name, generation=generation, spec=spec, status=status)


def read_namespace_labels(obj: Mapping[str, Any]) -> dict[str, str]:
    """A namespace's labels (the API server adds ``kubernetes.io/metadata.name`` itself)."""
    return dict((obj.get("metadata") or {}).get("labels") or {})
