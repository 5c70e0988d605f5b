"""What the planner remembers, rebuilt after an operator restart, erring on the side of not
scaling down.

The planner's memory (:class:`~ebbtide.scaling.decision.PlannerState`) lives only in the
operator's process. After a restart (a crash, an upgrade, another replica taking over), the
recommendations behind the scale-down stabilisation window are gone; starting from nothing would
let the first round shed replicas that the lost window was protecting. So the state is rebuilt
conservatively:

* the current replica count counts as a recommendation made at the restart: no scale-down below
  it until a full stabilisation window has passed since the restart;
* ``status.lastScaleTime`` counts as the last scale-up, so a scale-up cooldown that was running
  keeps running (the status cannot tell up from down; treating a scale-down as one only delays
  the next scale-up by ``cooldown.scaleUp``, 0s by default);
* rate-limit history, failure counts and the forecaster's memo start empty: a failure count that
  restarts from zero can only delay a fallback, never cause a change.
"""

from __future__ import annotations

from datetime import datetime

from ebbtide.scaling.decision import PlannerState
from ebbtide.scaling.stabilisation import TimedRecommendation


def restored_state(*, last_scale_time: datetime | None, current_replicas: int, now: float) -> PlannerState:
    """The planner state to start a policy's loop with, at Unix time ``now``."""
    return PlannerState(
        recommendations=(TimedRecommendation(at=now, replicas=current_replicas),),
        last_scale_up=None if last_scale_time is None else last_scale_time.timestamp(),
    )
