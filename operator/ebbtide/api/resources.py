"""Kubernetes amounts: what a pod asks for and what a node offers, in one place.

Amounts are integers in the units Kubernetes itself counts in, millicores of cpu and bytes of
memory, so sums and comparisons never drift the way floats do (:class:`Resources`). Quantity
strings (``500m``, ``1.5Gi``, ``2e3``) become amounts through one converter
(:func:`millicores`, :func:`whole_units`): parsed by :class:`~ebbtide.api.quantity.Quantity`,
rounded up as Kubernetes' ``MilliValue`` and ``Value`` do, and refused beyond the int64 that
Kubernetes keeps them in.

A pod's requests follow Kubernetes' ``PodRequests`` rule (k8s.io/component-helpers), which the
scheduler applies: app containers and sidecars (init containers with ``restartPolicy:
Always``) run together; each ordinary init container runs alone beside the sidecars started
before it; the pod needs the larger of the two, plus ``spec.overhead``. A container that sets
limits but no requests asks for its limits, as the API server defaults it (Job templates are
not defaulted, so the rule applies it itself). A resource a container does not request counts
as ``unrequested``: zero for a queue, which charges only what a workload declares, and the
scheduler's non-zero defaults (:data:`SCHEDULER_NON_ZERO`) for scoring, so that best-effort
pods still spread.

A node is schedulable when it is not cordoned (``spec.unschedulable``) and its Ready condition
is True: the scheduler places no new pod on a node that is either (the node lifecycle
controller taints a node that is not ready). Taints otherwise do not count: pods may tolerate
them.

Objects are untrusted in shape: every field read is type-checked and a malformed object raises
:class:`~ebbtide.api.shapes.MalformedObjectError` naming the offending field.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any, ClassVar, Final, Literal, NewType

from ebbtide.api import shapes
from ebbtide.api.quantity import Quantity
from ebbtide.errors import InvalidQuantityError, InvalidSnapshotError

NodeName = NewType("NodeName", str)
ResourceName = Literal["cpu", "memory"]
RESOURCE_NAMES: Final[tuple[ResourceName, ...]] = ("cpu", "memory")

#: Pod phases after which a pod holds nothing on its node.
TERMINAL_PHASES: Final = frozenset({"Succeeded", "Failed"})

# Kubernetes keeps quantities in an int64; anything larger is not a real request or capacity.
_LIMIT = Decimal(2**63)


@dataclass(frozen=True, slots=True)
class Resources:
    """A non-negative amount of cpu (millicores) and memory (bytes)."""

    cpu_millis: int = 0
    memory_bytes: int = 0

    ZERO: ClassVar[Resources]

    def __post_init__(self) -> None:
        if self.cpu_millis < 0 or self.memory_bytes < 0:
            raise InvalidSnapshotError(f"resource amounts must be >= 0, got {self}")

    @classmethod
    def from_quantities(cls, *, cpu_cores: float | None, memory_bytes: float | None) -> Resources:
        """Build from the float values of Kubernetes quantities (``Quantity.as_float()``).

        ``None`` means the resource was not given and counts as zero. Fractions of a millicore
        or of a byte round up.
        """
        return cls(
            cpu_millis=0 if cpu_cores is None else _float_amount(cpu_cores, scale=1000),
            memory_bytes=0 if memory_bytes is None else _float_amount(memory_bytes, scale=1),
        )

    def get(self, name: ResourceName) -> int:
        return self.cpu_millis if name == "cpu" else self.memory_bytes

    def __add__(self, other: Resources) -> Resources:
        return Resources(self.cpu_millis + other.cpu_millis, self.memory_bytes + other.memory_bytes)

    def larger(self, other: Resources) -> Resources:
        """Per resource, the larger amount."""
        return Resources(max(self.cpu_millis, other.cpu_millis), max(self.memory_bytes, other.memory_bytes))

    def saturating_sub(self, other: Resources) -> Resources:
        """``self - other`` per resource, clamped at zero."""
        return Resources(
            max(0, self.cpu_millis - other.cpu_millis),
            max(0, self.memory_bytes - other.memory_bytes),
        )

    def fits_within(self, bound: Resources) -> bool:
        """True when every resource of ``self`` is at most the same resource of ``bound``."""
        return self.cpu_millis <= bound.cpu_millis and self.memory_bytes <= bound.memory_bytes

    def is_zero(self) -> bool:
        return self.cpu_millis == 0 and self.memory_bytes == 0


Resources.ZERO = Resources()

#: What the scheduler's scoring counts for a container that requests no cpu or no memory.
SCHEDULER_NON_ZERO: Final = Resources(cpu_millis=100, memory_bytes=200 * 1024 * 1024)


@lru_cache(maxsize=4096)
def millicores(text: str) -> int:
    """A cpu quantity in millicores, rounded up as Kubernetes' ``MilliValue`` does."""
    return _ceil(_parse(text) * 1000, text)


@lru_cache(maxsize=4096)
def whole_units(text: str) -> int:
    """A quantity in whole units (bytes for memory), rounded up as Kubernetes' ``Value`` does."""
    return _ceil(_parse(text), text)


def _parse(text: str) -> Decimal:
    try:
        return Quantity(text).value
    # A huge exponent overflows the decimal context (an ArithmeticError, not a ValueError).
    except (ValueError, ArithmeticError) as error:
        raise InvalidQuantityError(f"{text!r} is not a Kubernetes quantity") from error


def _ceil(value: Decimal, text: str) -> int:
    if not value.is_finite() or abs(value) >= _LIMIT:
        raise InvalidQuantityError(f"{text!r} is out of range")
    return math.ceil(value)


def _float_amount(value: float, *, scale: int) -> int:
    # Decimal(repr(...)) keeps the decimal the user wrote (0.1 stays 0.1, not
    # 0.1000000000000000055), so rounding up, as Kubernetes' MilliValue does, adds no spurious unit.
    if not math.isfinite(value) or value < 0:
        raise InvalidSnapshotError(f"resource amounts must be finite and >= 0, got {value!r}")
    return math.ceil(Decimal(repr(value)) * scale)


def resource_list(resources: Mapping[str, Any], path: str) -> Resources:
    """Cpu and memory of a resource list such as ``{"cpu": "500m", "memory": "1Gi"}``.

    An absent resource is 0, and so is a negative amount (the API server admits none).
    """
    cpu, memory = resources.get("cpu"), resources.get("memory")
    return Resources(
        cpu_millis=0 if cpu is None else max(0, _amount(cpu, f"{path}.cpu", convert=millicores)),
        memory_bytes=0 if memory is None else max(0, _amount(memory, f"{path}.memory", convert=whole_units)),
    )


def _amount(value: object, path: str, *, convert: Any) -> int:
    # Kubernetes serialises quantities as strings; a manifest may write a plain integer.
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    return shapes.quantity(value, path, convert=convert)


def pod_requests(
    spec: Mapping[str, Any], *, path: str = "spec", unrequested: Resources = Resources.ZERO
) -> Resources:
    """The effective requests of a pod ``spec`` (see the module docstring)."""
    running = Resources.ZERO
    for index, container in enumerate(shapes.items(spec.get("containers"), f"{path}.containers")):
        running += _container_requests(container, f"{path}.containers[{index}]", unrequested)
    sidecars = Resources.ZERO
    init_peak = Resources.ZERO
    init_path = f"{path}.initContainers"
    for index, container in enumerate(shapes.items(spec.get("initContainers"), init_path)):
        where = f"{init_path}[{index}]"
        requests = _container_requests(container, where, unrequested)
        if shapes.mapping(container, where).get("restartPolicy") == "Always":
            sidecars += requests
            running += requests
            init_peak = init_peak.larger(sidecars)
        else:
            init_peak = init_peak.larger(requests + sidecars)
    overhead = shapes.optional_mapping(spec.get("overhead"), f"{path}.overhead")
    return running.larger(init_peak) + resource_list(overhead, f"{path}.overhead")


def _container_requests(container: object, path: str, unrequested: Resources) -> Resources:
    resources = shapes.optional_mapping(shapes.mapping(container, path).get("resources"), f"{path}.resources")
    requests = dict(shapes.optional_mapping(resources.get("requests"), f"{path}.resources.requests"))
    for name, limit in shapes.optional_mapping(resources.get("limits"), f"{path}.resources.limits").items():
        requests.setdefault(name, limit)
    amounts = resource_list(requests, f"{path}.resources.requests")
    return Resources(
        cpu_millis=amounts.cpu_millis if "cpu" in requests else unrequested.cpu_millis,
        memory_bytes=amounts.memory_bytes if "memory" in requests else unrequested.memory_bytes,
    )


@dataclass(frozen=True, slots=True)
class NodeFacts:
    """A node's name, labels, allocatable cpu and memory, and whether new pods may be placed
    on it (see the module docstring)."""

    name: NodeName
    allocatable: Resources
    labels: Mapping[str, str] = field(default_factory=dict)
    schedulable: bool = True


def read_node(node: object) -> NodeFacts:
    """A node object's :class:`NodeFacts`."""
    node = shapes.mapping(node, "node")
    metadata = shapes.mapping(node.get("metadata"), "node.metadata")
    spec = shapes.optional_mapping(node.get("spec"), "node.spec")
    status = shapes.optional_mapping(node.get("status"), "node.status")
    allocatable = shapes.optional_mapping(status.get("allocatable"), "node.status.allocatable")
    conditions = shapes.items(status.get("conditions"), "node.status.conditions")
    ready = any(
        isinstance(condition, Mapping)
        and condition.get("type") == "Ready"
        and condition.get("status") == "True"
        for condition in conditions
    )
    return NodeFacts(
        name=NodeName(shapes.text(metadata.get("name"), "node.metadata.name")),
        allocatable=resource_list(allocatable, "node.status.allocatable"),
        labels=shapes.string_map(metadata.get("labels"), "node.metadata.labels"),
        schedulable=ready and spec.get("unschedulable") is not True,
    )
