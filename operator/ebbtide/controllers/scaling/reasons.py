"""The scaling controller's vocabulary: condition types, condition reasons and event reasons.

These strings are API: users match on them (``kubectl wait --for=condition=Ready``, alerting on
events), so they live here, once, and stay stable. Decision reasons (``ScaleUpOnForecast``,
``ScaleDownStabilising`` ...) belong to the planner, in :mod:`ebbtide.scaling.reasons`; a scale
event carries the decision's reason.
"""

from __future__ import annotations

from typing import Final

# -- condition types ---------------------------------------------------------------------------

READY: Final = "Ready"
"""True when the last round ran through: spec valid, target found and read, status written."""
METRICS_AVAILABLE: Final = "MetricsAvailable"
"""True when the last load query returned one finite sample for now."""
SCALING_ACTIVE: Final = "ScalingActive"
"""True when the replica count follows the load; False in DryRun mode and while the load is
unavailable (holding or falling back)."""
AUTOSCALER_CONFLICT: Final = "AutoscalerConflict"
"""Present (True) while a HorizontalPodAutoscaler also scales the target; absent otherwise."""

# -- condition reasons -------------------------------------------------------------------------

RECONCILED: Final = "Reconciled"
INVALID_SPEC: Final = "InvalidSpec"
TARGET_NOT_FOUND: Final = "TargetNotFound"
TARGET_NOT_SCALABLE: Final = "TargetNotScalable"
KUBERNETES_API_ERROR: Final = "KubernetesAPIError"
SCALE_FAILED: Final = "ScaleFailed"
LOAD_READ: Final = "LoadRead"
METRICS_UNAVAILABLE: Final = "MetricsUnavailable"
ACTIVE: Final = "Active"
DRY_RUN: Final = "DryRun"
HPA_FOUND: Final = "HorizontalPodAutoscalerFound"

# -- event reasons (besides the decision reasons of scale events) ----------------------------

EVENT_METRICS_UNAVAILABLE: Final = "MetricsUnavailable"
"""Warning: the load cannot be read (first failure after a success); replicas are held."""
EVENT_METRICS_AVAILABLE: Final = "MetricsAvailable"
"""Normal: the load can be read again."""
EVENT_TARGET_NOT_FOUND: Final = "TargetNotFound"
EVENT_TARGET_NOT_SCALABLE: Final = "TargetNotScalable"
EVENT_INVALID_SPEC: Final = "InvalidSpec"
EVENT_SCALE_FAILED: Final = "ScaleFailed"
EVENT_AUTOSCALER_CONFLICT: Final = "AutoscalerConflict"
EVENT_DRY_RUN_PREFIX: Final = "DryRun"
"""A DryRun policy's decision event is ``DryRun`` + the decision's reason, e.g.
``DryRunScaleUpOnLoad``, so it can never be mistaken for a change that happened."""
