"""ScalingPolicy's vocabulary: condition types and reasons, event reasons, decision reasons.

These strings are API: users match on them (``kubectl wait --for=condition=Ready``, alerting on
events), so they live here, once, beside the model (:mod:`ebbtide.api.scalingpolicy`), and stay
stable. Decision reasons (``ScaleUpOnForecast``, ``ScaleDownStabilising`` ...) are what the
planner (:mod:`ebbtide.scaling.planner`) puts in each decision; the controller copies them into
the status (``lastDecision.reason``), and a scale event carries the decision's reason.
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
"""Present (True) while a HorizontalPodAutoscaler or another ScalingPolicy also scales the
target (reason HorizontalPodAutoscalerFound or ScalingPolicyFound); absent otherwise."""
SCALING_LIMITED: Final = "ScalingLimited"
"""As the HorizontalPodAutoscaler's: True when the last decision was cut by minReplicas,
maxReplicas or a rate limit (reasons TooFewReplicas, TooManyReplicas, ScaleUpLimit,
ScaleDownLimit), False (DesiredWithinRange) otherwise; left as it was while the load cannot be
read."""

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
PAUSED: Final = "Paused"
HPA_FOUND: Final = "HorizontalPodAutoscalerFound"
SCALING_POLICY_FOUND: Final = "ScalingPolicyFound"
TOO_FEW_REPLICAS: Final = "TooFewReplicas"
TOO_MANY_REPLICAS: Final = "TooManyReplicas"
SCALE_UP_LIMIT: Final = "ScaleUpLimit"
SCALE_DOWN_LIMIT: Final = "ScaleDownLimit"
DESIRED_WITHIN_RANGE: Final = "DesiredWithinRange"

# -- event reasons (besides the decision reasons of scale events) ----------------------------
# A round that cannot decide posts a Warning whose reason is the Ready condition's reason
# (InvalidSpec, TargetNotFound, TargetNotScalable, KubernetesAPIError, ScaleFailed); the
# events below are the others.

EVENT_METRICS_UNAVAILABLE: Final = "MetricsUnavailable"
"""Warning: the load cannot be read (first failure after a success); replicas are held."""
EVENT_METRICS_AVAILABLE: Final = "MetricsAvailable"
"""Normal: the load can be read again."""
EVENT_AUTOSCALER_CONFLICT: Final = "AutoscalerConflict"
EVENT_DRY_RUN_PREFIX: Final = "DryRun"
"""A DryRun policy's decision event is ``DryRun`` + the decision's reason, e.g.
``DryRunScaleUpOnLoad``, so it can never be mistaken for a change that happened."""


# -- decision reasons ----------------------------------------------------------------------------
# Each Decision carries exactly one of these in ``reason``; CamelCase like other Kubernetes reasons.

# The load was read and the count follows from it.
STEADY: Final = "Steady"
"""Nothing to do: the recommendation equals the current count."""
WITHIN_TOLERANCE: Final = "WithinTolerance"
"""Load per replica is within ``tolerance`` of the target, so the count is left alone."""
OUTSIDE_THRESHOLD_BAND: Final = "HeldByThresholds"
"""The HPA rule wanted a change, but utilisation has not crossed the ``thresholds`` band."""
SCALE_UP_ON_LOAD: Final = "ScaleUpOnLoad"
"""More replicas, because of the load observed now."""
SCALE_UP_ON_FORECAST: Final = "ScaleUpOnForecast"
"""More replicas, because of the load forecast for ``now + horizon``."""
SCALE_DOWN_ON_LOAD: Final = "ScaleDownOnLoad"
"""Fewer replicas: the observed load, held over the stabilisation window, allows it."""
SCALE_DOWN_ON_FORECAST: Final = "ScaleDownOnForecast"
"""Fewer replicas before the stabilisation window is over: the upper quantile of the forecast
peak load, until a removed replica could be back, stays within what the smaller count carries."""
SCALE_FROM_ZERO: Final = "ScaleFromZero"
"""The target had no replicas and load arrived."""
STABILISING: Final = "ScaleDownStabilising"
"""A scale-down waits: a higher recommendation was seen within the stabilisation window."""
COOLDOWN: Final = "ScaleUpCooldown"
"""A scale-up waits: the previous scale-up was less than ``cooldown.scaleUp`` ago."""
RATE_LIMITED: Final = "RateLimited"
"""The change was cut to the rate limit for its direction."""
CLAMPED_TO_MIN: Final = "ClampedToMinReplicas"
"""The count was raised to ``minReplicas``."""
CLAMPED_TO_MAX: Final = "ClampedToMaxReplicas"
"""The count was lowered to ``maxReplicas``."""

# The load could not be read (empty result, NaN, Inf, an error): never treated as zero load.
LOAD_UNAVAILABLE: Final = "LoadUnavailable"
"""No usable load; fewer than ``fallback.failureThreshold`` failures in a row, so holding."""
FALLBACK_HOLD: Final = "FallbackHold"
"""Too many failures in a row; ``fallback.action`` is Hold."""
FALLBACK_REPLICAS: Final = "FallbackReplicas"
"""Too many failures in a row; ``fallback.action`` is Replicas, so the fixed count applies."""


# -- identities ----------------------------------------------------------------------------------

#: The field manager of the scaling controller's writes (the target's /scale and the policy's
#: status), so ``metadata.managedFields`` shows who set replicas.
FIELD_MANAGER: Final = "ebbtide"
