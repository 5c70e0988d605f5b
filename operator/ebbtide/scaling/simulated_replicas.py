"""A target's replicas as the backtest imagines them: new ones become ready after a start-up
delay, removed ones go at once."""

from __future__ import annotations

import bisect


class SimulatedReplicas:
    """The replicas of one workload, each known by the time it becomes ready.

    Scaling down removes the replicas that would become ready last (those still starting first),
    as a ReplicaSet deletes unready pods before ready ones.
    """

    def __init__(self, *, ready: int, startup_delay: float) -> None:
        self._startup_delay = startup_delay
        self._ready_times: list[float] = [float("-inf")] * ready

    @property
    def count(self) -> int:
        """All replicas, ready or starting (the ``/scale`` spec)."""
        return len(self._ready_times)

    def ready(self, now: float) -> int:
        """How many replicas are ready at ``now``."""
        return bisect.bisect_right(self._ready_times, now)

    def scale_to(self, replicas: int, *, now: float) -> None:
        """Ask for ``replicas`` replicas at ``now``."""
        missing = replicas - self.count
        if missing > 0:
            # Ready times only grow (now does), so appending keeps the list sorted.
            self._ready_times.extend([now + self._startup_delay] * missing)
        elif missing < 0:
            del self._ready_times[replicas:]
