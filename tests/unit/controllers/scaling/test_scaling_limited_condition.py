"""ScalingLimited, as the HPA reports it: True while maxReplicas, minReplicas or a rate limit
changes the count the load asks for, False otherwise, untouched while the load is unreadable."""

from __future__ import annotations

import pytest
from tests.unit.controllers.scaling.test_scaling_round import World, body, condition, run

from ebbtide.api import scalingpolicy_vocabulary as why
from ebbtide.controllers.scaling.status import scaling_limit
from ebbtide.scaling.decision import Decision

pytestmark = pytest.mark.unit


def decided(reason: str, *, wanted: int | None, desired: int) -> Decision:
    return Decision(desired_replicas=desired, wanted_replicas=wanted, reason=reason, message="")


@pytest.mark.parametrize(
    ("reason", "wanted", "desired", "expected"),
    [
        (why.CLAMPED_TO_MAX, 12, 10, ("True", why.TOO_MANY_REPLICAS)),
        (why.CLAMPED_TO_MIN, 1, 2, ("True", why.TOO_FEW_REPLICAS)),
        (why.RATE_LIMITED, 9, 5, ("True", why.SCALE_UP_LIMIT)),
        (why.RATE_LIMITED, 2, 6, ("True", why.SCALE_DOWN_LIMIT)),
        (why.SCALE_UP_ON_LOAD, 5, 5, ("False", why.DESIRED_WITHIN_RANGE)),
        (why.COOLDOWN, 7, 4, ("False", why.DESIRED_WITHIN_RANGE)),
        (why.STABILISING, 4, 4, ("False", why.DESIRED_WITHIN_RANGE)),
    ],
    ids=[
        "above maxReplicas",
        "below minReplicas",
        "faster up than the rate limit",
        "faster down than the rate limit",
        "within range",
        "a cooldown waits, it does not cap",
        "a stabilisation window waits, it does not cap",
    ],
)
def test_the_condition_follows_the_limit_that_bound(
    reason: str, wanted: int, desired: int, expected: tuple[str, str]
) -> None:
    limit = scaling_limit(decided(reason, wanted=wanted, desired=desired))
    assert limit is not None
    assert limit[:2] == expected


@pytest.mark.parametrize("reason", [why.LOAD_UNAVAILABLE, why.FALLBACK_HOLD, why.FALLBACK_REPLICAS])
def test_an_unreadable_load_leaves_the_condition_as_it_was(reason: str) -> None:
    assert scaling_limit(decided(reason, wanted=None, desired=3)) is None


def test_a_round_capped_by_max_replicas_says_so_and_clears_when_the_load_falls() -> None:
    world = World()  # a load of 45 asks for 5 replicas
    memory = run(world, body(maxReplicas=3))
    limited = condition(world.statuses[-1], why.SCALING_LIMITED)
    assert (limited["status"], limited["reason"]) == ("True", why.TOO_MANY_REPLICAS)
    assert limited["message"] == "the load asks for 5 replicas; maxReplicas is 3"
    run(world, body(maxReplicas=10), memory)
    limited = condition(world.statuses[-1], why.SCALING_LIMITED)
    assert (limited["status"], limited["reason"]) == ("False", why.DESIRED_WITHIN_RANGE)
