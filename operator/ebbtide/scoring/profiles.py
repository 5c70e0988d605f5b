"""Weight profiles: how much each factor counts, chosen per pod by annotation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class Factor(StrEnum):
    """The priority factors, named as in the configuration file."""

    RESOURCE_MATCH = "resourceMatch"
    BALANCED_ALLOCATION = "balancedAllocation"
    NODE_AFFINITY = "nodeAffinity"
    LOAD_AWARE = "loadAware"
    KEY_AFFINITY = "keyAffinity"


DEFAULT_WEIGHTS: Mapping[Factor, float] = {
    Factor.RESOURCE_MATCH: 1.0,
    Factor.BALANCED_ALLOCATION: 1.0,
    Factor.NODE_AFFINITY: 1.0,
    Factor.LOAD_AWARE: 2.0,
    Factor.KEY_AFFINITY: 2.0,
}


@dataclass(frozen=True)
class ScoringProfile:
    """A named set of non-negative factor weights; a factor left out weighs 0."""

    name: str
    weights: Mapping[Factor, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))

    def __post_init__(self) -> None:
        negative = [str(factor) for factor, weight in self.weights.items() if weight < 0]
        if negative:
            raise ValueError(f"profile {self.name!r} has negative weights: {', '.join(negative)}")

    def weight(self, factor: Factor) -> float:
        """The factor's weight; 0 when the profile leaves it out."""
        return self.weights.get(factor, 0.0)


@dataclass(frozen=True)
class ProfileBook:
    """The profiles a pod may choose from, and the one it gets when it chooses none."""

    default: ScoringProfile
    named: Mapping[str, ScoringProfile] = field(default_factory=dict)

    def choose(self, name: str | None) -> tuple[ScoringProfile, bool]:
        """The profile for a pod's annotation value, and whether that value was known.

        No annotation selects the default and counts as known; an unknown name also selects
        the default, and the caller reports it.
        """
        if name is None or name == self.default.name:
            return self.default, True
        profile = self.named.get(name)
        if profile is None:
            return self.default, False
        return profile, True


DEFAULT_PROFILE_NAME = "default"
