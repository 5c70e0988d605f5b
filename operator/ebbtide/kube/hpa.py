"""Autoscalers that scale the same workload as a ScalingPolicy: HorizontalPodAutoscalers and
other ScalingPolicies.

Two autoscalers on one workload fight: each writes its own replica count and undoes the other's.
The controller keeps an index of HPAs and ScalingPolicies by the workload they target (fed by
watches, see :mod:`ebbtide.kube.autoscaler_index`); these helpers give every side the same key.
The key ignores the API version: ``apps/v1`` and ``apps/v1beta2`` name the same Deployment. An
index entry names its autoscaler as ``Kind/name`` (:func:`autoscaler`).
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


HPA_KIND = "HorizontalPodAutoscaler"
POLICY_KIND = "ScalingPolicy"


def hpa_target_key(*, namespace: str, spec: Mapping[str, Any]) -> TargetKey | None:
    """The key of the workload an HPA's ``spec.scaleTargetRef`` names; None if it names none."""
    return _ref_key(namespace, spec.get("scaleTargetRef"))


def policy_target_key(*, namespace: str, spec: Mapping[str, Any]) -> TargetKey | None:
    """The key of the workload a ScalingPolicy's ``spec.targetRef`` names; None if it names none
    (an invalid spec: the policy's own round reports that)."""
    return _ref_key(namespace, spec.get("targetRef"))


def _ref_key(namespace: str, ref: object) -> TargetKey | None:
    if not isinstance(ref, Mapping):
        return None
    kind, name = ref.get("kind"), ref.get("name")
    if not isinstance(kind, str) or not isinstance(name, str) or not kind or not name:
        return None
    return target_key(namespace=namespace, api_version=str(ref.get("apiVersion") or ""), kind=kind, name=name)


def autoscaler(kind: str, name: str) -> str:
    """How an index entry names an autoscaler: ``HorizontalPodAutoscaler/web``."""
    return f"{kind}/{name}"


def conflict_message(others: Iterable[str], *, kind: str, name: str) -> str:
    """What to tell the user about the other autoscalers (``Kind/name`` entries) that also scale
    ``kind``/``name``."""
    by_kind: dict[str, set[str]] = {}
    for entry in others:
        other_kind, _, other_name = entry.partition("/")
        by_kind.setdefault(other_kind, set()).add(other_name)
    listed = " and ".join(f"{k} {', '.join(sorted(names))}" for k, names in sorted(by_kind.items()))
    verb = "scales" if sum(map(len, by_kind.values())) == 1 else "scale"
    return (
        f"{listed} also {verb} {kind} {name}: autoscalers of one workload undo each other's "
        "changes; keep one of them (or set the others' mode to DryRun)"
    )
