"""HorizontalPodAutoscalers that scale the same workload as a ScalingPolicy.

Two autoscalers on one workload fight: each writes its own replica count and undoes the other's.
The controller keeps an index of HPAs by the workload they target (fed by a watch, see
``ebbtide.controllers.scaling.controller``); these helpers give both sides the same key.
The key ignores the API version: ``apps/v1`` and ``apps/v1beta2`` name the same Deployment.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

#: ``(namespace, group, kind, name)`` of a scaled workload.
TargetKey = tuple[str, str, str, str]


def target_key(*, namespace: str, api_version: str, kind: str, name: str) -> TargetKey:
    """The key of the workload ``kind``/``name`` in ``namespace`` (group from ``api_version``)."""
    group = api_version.rpartition("/")[0]
    return (namespace, group, kind, name)


def hpa_target_key(*, namespace: str, spec: Mapping[str, Any]) -> TargetKey | None:
    """The key of the workload an HPA's ``spec.scaleTargetRef`` names; None if it names none."""
    ref = spec.get("scaleTargetRef") or {}
    kind, name = ref.get("kind"), ref.get("name")
    if not kind or not name:
        return None
    return target_key(namespace=namespace, api_version=str(ref.get("apiVersion") or ""), kind=kind, name=name)


def conflict_message(hpa_names: Iterable[str], *, kind: str, name: str) -> str:
    """What to tell the user about HPAs that also scale ``kind``/``name``."""
    names = ", ".join(sorted(set(hpa_names)))
    return (
        f"HorizontalPodAutoscaler {names} also scales {kind} {name}: the two autoscalers will undo "
        "each other's changes; delete the HPA or this ScalingPolicy"
    )
