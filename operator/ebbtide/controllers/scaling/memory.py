"""What one ScalingPolicy's loop remembers from one round to the next.

The memory lives in the process only: a restart loses it, and :mod:`.restart` rebuilds what the
planner needs from the object's status. The round (:mod:`.round`) fills it and the reporter
(:mod:`.report`) reads and updates the status last written.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ebbtide.api.scalingpolicy import ScalingPolicyStatus
from ebbtide.controllers.scaling.forecast_error import ForecastErrors
from ebbtide.scaling.decision import PlannerState


@dataclass
class PolicyMemory:
    """What one policy's loop keeps between rounds, in memory only (see
    :mod:`.restart` for what happens when it is lost): the planner's state, the status
    last written and when (Unix time), the forecasts waiting to be scored, and whether a status
    write found the policy gone (its loop then ends)."""

    namespace: str
    name: str
    uid: str
    planner_state: PlannerState | None = None
    status: ScalingPolicyStatus | None = None
    written_at: float | None = None
    forecasts: ForecastErrors = field(default_factory=ForecastErrors)
    gone: bool = False
