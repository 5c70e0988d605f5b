"""The load the demo plays: quiet, a ramp, a plateau, a fall, and quiet again.

The pattern is a story compressed into the run's duration, with every phase a fixed share of
it, so a shorter run (a smoke test) shows the same shape faster. The ramp is long: a linear
trend model needs part of it to see the trend, and then forecasts the rest. The quiet phase
after the fall is long too: replicas are only removed once the scale-down stabilisation window
has passed.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Each phase's share of the duration, in order; the shares add up to 1.
PHASE_SHARES: tuple[tuple[str, float], ...] = (
    ("quiet", 0.1),
    ("ramp", 0.4),
    ("plateau", 0.08),
    ("fall", 0.07),
    ("after", 0.35),
)


@dataclass(frozen=True)
class Phase:
    """One phase of the pattern, from ``start`` to ``end`` seconds after the pattern began."""

    name: str
    start: float
    end: float


@dataclass(frozen=True)
class LoadPattern:
    """Requests per second over ``duration`` seconds: ``base`` while quiet, rising linearly to
    ``peak`` during the ramp, held there, falling linearly back to ``base``.

    Before the pattern starts and after it ends the load is ``base``.
    """

    duration: float
    base: float = 60.0
    peak: float = 600.0

    def __post_init__(self) -> None:
        if not self.duration > 0:
            raise ValueError("duration must be positive")
        if not 0 <= self.base <= self.peak:
            raise ValueError("need 0 <= base <= peak")

    def phases(self) -> tuple[Phase, ...]:
        result, start = [], 0.0
        for name, share in PHASE_SHARES:
            end = start + share * self.duration
            result.append(Phase(name, start, end))
            start = end
        return tuple(result)

    def phase(self, name: str) -> Phase:
        """The phase called ``name``; raises KeyError for an unknown name."""
        for phase in self.phases():
            if phase.name == name:
                return phase
        raise KeyError(name)

    def value(self, elapsed: float) -> float:
        """The load ``elapsed`` seconds after the pattern began."""
        for phase in self.phases():
            if phase.start <= elapsed < phase.end:
                progress = (elapsed - phase.start) / (phase.end - phase.start)
                if phase.name == "ramp":
                    return self.base + (self.peak - self.base) * progress
                if phase.name == "plateau":
                    return self.peak
                if phase.name == "fall":
                    return self.peak - (self.peak - self.base) * progress
                return self.base
        return self.base
