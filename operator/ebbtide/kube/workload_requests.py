"""What a queued workload asks for: a pod's effective requests, and a Job's.

A pod's requests follow Kubernetes' ``PodRequests`` rule (k8s.io/component-helpers): app
containers and sidecars (init containers with ``restartPolicy: Always``) run together; each
ordinary init container runs alone beside the sidecars started before it; the pod needs the
larger of the two, plus ``spec.overhead``. A container that sets limits but no requests asks for
its limits (the API server defaults pods that way, but not Job templates, so it is applied here
too). A resource nobody requests counts as zero: unlike the scheduler's scoring, a queue
charges only what a workload declares.

A Job's requests are its pod template's times the number of pods it runs at once:
``parallelism`` (default 1), but never more than ``completions`` when that is set, because the
Job controller never runs more pods than completions remain.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from ebbtide.api.quantity import Quantity
from ebbtide.queueing import Resources


class InvalidRequestsError(ValueError):
    """A quantity in the workload's spec is not a Kubernetes quantity."""


@lru_cache(maxsize=4096)
def _amount(text: str, scale: int) -> int:
    # The same few quantity strings recur across thousands of pods: parse each once.
    try:
        value = Quantity(text).value * scale
    except (ValueError, ArithmeticError) as error:
        raise InvalidRequestsError(f"{text!r} is not a Kubernetes quantity") from error
    return max(0, math.ceil(value))


def resource_list(resources: Mapping[str, Any] | None) -> Resources:
    """``{"cpu": "500m", "memory": "1Gi"}`` as :class:`Resources` (millicores, bytes)."""
    if not resources:
        return Resources.ZERO
    cpu, memory = resources.get("cpu"), resources.get("memory")
    return Resources(
        cpu_millis=0 if cpu is None else _amount(str(cpu), 1000),
        memory_bytes=0 if memory is None else _amount(str(memory), 1),
    )


def _container(container: Mapping[str, Any]) -> Resources:
    resources = container.get("resources") or {}
    requests = dict(resources.get("requests") or {})
    for name, limit in (resources.get("limits") or {}).items():
        requests.setdefault(name, limit)
    return resource_list(requests)


def _larger(first: Resources, second: Resources) -> Resources:
    return Resources(max(first.cpu_millis, second.cpu_millis), max(first.memory_bytes, second.memory_bytes))


def pod_requests(spec: Mapping[str, Any]) -> Resources:
    """The effective requests of a pod ``spec`` (see the module docstring)."""
    running = Resources.ZERO
    for container in spec.get("containers") or ():
        running = running + _container(container)
    sidecars = Resources.ZERO
    init_peak = Resources.ZERO
    for container in spec.get("initContainers") or ():
        requests = _container(container)
        if container.get("restartPolicy") == "Always":
            sidecars = sidecars + requests
            running = running + requests
            init_peak = _larger(init_peak, sidecars)
        else:
            init_peak = _larger(init_peak, requests + sidecars)
    return _larger(running, init_peak) + resource_list(spec.get("overhead"))


def job_pod_count(spec: Mapping[str, Any]) -> int:
    """How many pods a Job ``spec`` runs at once: parallelism, capped by completions."""
    parallelism = spec.get("parallelism")
    count = 1 if parallelism is None else int(parallelism)
    completions = spec.get("completions")
    if completions is not None:
        count = min(count, int(completions))
    return max(0, count)


def job_requests(spec: Mapping[str, Any]) -> Resources:
    """The requests of a Job ``spec``: its pod template's times :func:`job_pod_count`."""
    template_spec = (spec.get("template") or {}).get("spec") or {}
    per_pod = pod_requests(template_spec)
    count = job_pod_count(spec)
    return Resources(per_pod.cpu_millis * count, per_pod.memory_bytes * count)
