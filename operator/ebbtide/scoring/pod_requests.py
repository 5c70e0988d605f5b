"""What a pod asks of a node, as the scheduler's scoring counts it.

The rule of Kubernetes' ``PodRequests`` (k8s.io/component-helpers resource helpers): app
containers and sidecars (init containers with ``restartPolicy: Always``) run together; each
ordinary init container runs alone beside the sidecars started before it; the pod needs the larger
of the two, plus its ``overhead``. For scoring, a container that requests no CPU counts as 100m and
one that requests no memory as 200 MiB, as in the scheduler's non-zero requests, so pods without
requests still spread.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ebbtide.scoring import shapes
from ebbtide.scoring.quantity import millicores, whole_units
from ebbtide.scoring.values import NO_RESOURCES, Bytes, Millicores, ResourceAmounts

DEFAULT_CPU_REQUEST = Millicores(100)
DEFAULT_MEMORY_REQUEST = Bytes(200 * 1024 * 1024)


def resource_amounts(resources: Mapping[str, Any], path: str) -> ResourceAmounts:
    """CPU and memory of a resource list such as ``{"cpu": "500m", "memory": "1Gi"}``.

    An absent resource is 0.
    """
    cpu = resources.get("cpu")
    memory = resources.get("memory")
    return ResourceAmounts(
        cpu=Millicores(0 if cpu is None else shapes.quantity(cpu, f"{path}.cpu", convert=millicores)),
        memory=Bytes(0 if memory is None else shapes.quantity(memory, f"{path}.memory", convert=whole_units)),
    )


def effective_requests(spec: Mapping[str, Any], *, path: str) -> ResourceAmounts:
    """The pod's scoring requests, from its ``spec``."""
    running = NO_RESOURCES
    for index, container in enumerate(shapes.items(spec.get("containers"), f"{path}.containers")):
        running += _container_requests(container, f"{path}.containers[{index}]")
    sidecars = NO_RESOURCES
    init_peak = NO_RESOURCES
    init_path = f"{path}.initContainers"
    for index, container in enumerate(shapes.items(spec.get("initContainers"), init_path)):
        where = f"{init_path}[{index}]"
        requests = _container_requests(container, where)
        if shapes.mapping(container, where).get("restartPolicy") == "Always":
            sidecars += requests
            running += requests
            init_peak = _larger(init_peak, sidecars)
        else:
            init_peak = _larger(init_peak, requests + sidecars)
    overhead = shapes.optional_mapping(spec.get("overhead"), f"{path}.overhead")
    return _larger(running, init_peak) + resource_amounts(overhead, f"{path}.overhead")


def _container_requests(container: object, path: str) -> ResourceAmounts:
    resources = shapes.optional_mapping(shapes.mapping(container, path).get("resources"), f"{path}.resources")
    requests = shapes.optional_mapping(resources.get("requests"), f"{path}.resources.requests")
    amounts = resource_amounts(requests, f"{path}.resources.requests")
    return ResourceAmounts(
        cpu=amounts.cpu if "cpu" in requests else DEFAULT_CPU_REQUEST,
        memory=amounts.memory if "memory" in requests else DEFAULT_MEMORY_REQUEST,
    )


def _larger(first: ResourceAmounts, second: ResourceAmounts) -> ResourceAmounts:
    """Per resource, the larger amount."""
    return ResourceAmounts(cpu=max(first.cpu, second.cpu), memory=max(first.memory, second.memory))
