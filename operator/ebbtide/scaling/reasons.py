"""Why the planner chose a replica count: the reason constants, all in one place.

Each :class:`~ebbtide.scaling.decision.Decision` carries exactly one of these in ``reason``; the
controller copies it into the policy's status (``lastDecision.reason``) and into Kubernetes events,
so they are CamelCase like other Kubernetes reasons and must stay stable once released.
"""

from __future__ import annotations

from typing import Final

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
