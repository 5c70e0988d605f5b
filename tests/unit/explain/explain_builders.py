"""API objects as the API server sends them, for the explanation tests."""

from __future__ import annotations

from typing import Any

from ebbtide.api.fairqueue_vocabulary import (
    ADMITTED_AT,
    QUEUE_LABEL,
    SCHEDULING_GATE,
    WAITING_MESSAGE,
    WAITING_REASON,
)

CREATED = "2026-01-01T00:00:00Z"


def fairqueue(
    name: str, *, cpu: str = "1", status: dict[str, Any] | None = None, **spec: Any
) -> dict[str, Any]:
    return {
        "kind": "FairQueue",
        "metadata": {"name": name, "generation": 1},
        "spec": {"cohort": "c", "capacity": {"cpu": cpu, "memory": "8Gi"}, **spec},
        "status": status or {},
    }


def pod(
    name: str,
    *,
    queue: str | None = "q",
    gated: bool = True,
    second: int = 0,
    cpu: str = "1",
    annotations: dict[str, str] | None = None,
    namespace: str = "ns",
) -> dict[str, Any]:
    labels = {QUEUE_LABEL: queue} if queue else {}
    return {
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": f"uid-{name}",
            "creationTimestamp": f"2026-01-01T00:00:{second:02d}Z",
            "labels": labels,
            "annotations": annotations or {},
        },
        "spec": {
            "schedulingGates": [{"name": SCHEDULING_GATE}] if gated else [],
            "containers": [{"name": "c", "resources": {"requests": {"cpu": cpu, "memory": "1Gi"}}}],
        },
        "status": {"phase": "Pending"},
    }


def admitted_pod(name: str, **kwargs: Any) -> dict[str, Any]:
    obj = pod(name, gated=False, **kwargs)
    obj["metadata"]["annotations"][ADMITTED_AT] = "2026-01-01T00:01:00.000000Z"
    obj["metadata"]["annotations"]["ebbtide.io/admission"] = (
        '{"cohort":"c","queue":"q","shareAfter":"0.5","shareBefore":"0","withinGuarantee":false}'
    )
    obj["spec"]["nodeName"] = "n1"
    obj["status"]["phase"] = "Running"
    return obj


def noted(obj: dict[str, Any], *, reason: str, message: str) -> dict[str, Any]:
    obj["metadata"]["annotations"].update({WAITING_REASON: reason, WAITING_MESSAGE: message})
    return obj


def node(name: str = "n1", *, cpu: str = "8") -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {},
        "status": {
            "allocatable": {"cpu": cpu, "memory": "32Gi", "pods": "110"},
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    }


def namespace(name: str = "ns", **labels: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name, **labels}}}


def event(
    reason: str, message: str, *, stamp: str = "2026-01-01T00:00:30Z", type_: str = "Normal"
) -> dict[str, Any]:
    return {"type": type_, "reason": reason, "message": message, "count": 1, "lastTimestamp": stamp}
