from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from queue_builders import GI, QueueBuilder, cores, queue

from ebbtide.api.resources import Resources
from ebbtide.queueing import QueueDemand, QueueSpec, ResourceLimit, cohort_entitlements
from ebbtide.queueing.waterfill import Claim, water_fill

pytestmark = pytest.mark.unit


def demand(builder: QueueBuilder, cpu: float, memory_gi: float = 0) -> QueueDemand:
    return QueueDemand(spec=builder.build(), demand=cores(cpu, memory_gi))


def cpu_entitlements(capacity_cpu: float, *demands: QueueDemand) -> dict[str, Fraction]:
    entitlements = cohort_entitlements(capacity=cores(capacity_cpu), queues=demands)
    return {name: e.cpu_millis / 1000 for name, e in entitlements.items()}


def test_published_worked_example_weights_1_1_2_over_12_cpu() -> None:
    # 12 cpu, weights 1/1/2, demands 10/2/10: b is satisfied with 2, a and c split the
    # remaining 10 in the ratio 1:2.
    got = cpu_entitlements(
        12,
        demand(queue("a").weight(1), cpu=10),
        demand(queue("b").weight(1), cpu=2),
        demand(queue("c").weight(2), cpu=10),
    )
    assert got == {"a": Fraction(10, 3), "b": Fraction(2), "c": Fraction(20, 3)}
    assert [round(float(v), 2) for v in got.values()] == [3.33, 2.0, 6.67]


def test_each_resource_is_water_filled_on_its_own() -> None:
    # The DRF paper's cluster: 9 cpu, 18 Gi. a asks mostly memory, b mostly cpu.
    entitlements = cohort_entitlements(
        capacity=cores(9, 18),
        queues=[demand(queue("a"), cpu=10, memory_gi=40), demand(queue("b"), cpu=30, memory_gi=10)],
    )
    assert entitlements["a"].cpu_millis == entitlements["b"].cpu_millis == 4500
    assert entitlements["a"].memory_bytes == entitlements["b"].memory_bytes == 9 * GI


@pytest.mark.parametrize(
    ("capacity", "queues", "expected"),
    [
        pytest.param(
            12,
            [demand(queue("a"), 3), demand(queue("b"), 4)],
            {"a": 3, "b": 4},
            id="demand below capacity is entitled in full and the rest is left over",
        ),
        pytest.param(
            10,
            [demand(queue("a").weight(1), 100), demand(queue("b").weight(4), 100)],
            {"a": 2, "b": 8},
            id="backlogged queues split capacity by weight",
        ),
        pytest.param(
            10,
            [demand(queue("a").weight(1).guaranteed(cpu=6), 100), demand(queue("b").weight(9), 100)],
            {"a": 6, "b": 4},
            id="guarantee floors a low weight queue",
        ),
        pytest.param(
            10,
            [demand(queue("a").weight(1).guaranteed(cpu=6), 2), demand(queue("b").weight(1), 100)],
            {"a": 2, "b": 8},
            id="guarantee only holds what the queue demands",
        ),
        pytest.param(
            10,
            [demand(queue("a").weight(9).limit(cpu=3), 100), demand(queue("b").weight(1), 100)],
            {"a": 3, "b": 7},
            id="limit caps a high weight queue and the rest flows to others",
        ),
        pytest.param(
            10,
            [
                demand(queue("a").guaranteed(cpu=12), 100),
                demand(queue("b").guaranteed(cpu=8), 100),
            ],
            {"a": 6, "b": 4},
            id="oversubscribed guarantees shrink proportionally",
        ),
        pytest.param(
            10,
            [demand(queue("a").weight(0), 100), demand(queue("b").weight(1), 100)],
            {"a": 0, "b": 10},
            id="zero weight queue gets nothing while a weighted queue wants everything",
        ),
        pytest.param(
            10,
            [demand(queue("a").weight(0), 100), demand(queue("b").weight(1), 4)],
            {"a": 6, "b": 4},
            id="zero weight queue gets what weighted queues leave",
        ),
        pytest.param(
            10,
            [demand(queue("a").weight(0).guaranteed(cpu=2), 100), demand(queue("b").weight(1), 100)],
            {"a": 2, "b": 8},
            id="zero weight queue still gets its guarantee",
        ),
        pytest.param(
            10,
            [demand(queue("a").weight(0), 100), demand(queue("b").weight(0), 100)],
            {"a": 5, "b": 5},
            id="all zero weights split equally",
        ),
        pytest.param(
            10,
            [demand(queue("a").weight(1e300), 100), demand(queue("b").weight(1), 100)],
            {"a": Fraction(10) - Fraction(10, 10**300 + 1), "b": Fraction(10, 10**300 + 1)},
            id="huge weight takes nearly everything, exactly",
        ),
        pytest.param(
            0,
            [demand(queue("a"), 5), demand(queue("b").guaranteed(cpu=3), 5)],
            {"a": 0, "b": 0},
            id="zero capacity entitles nobody",
        ),
        pytest.param(10, [], {}, id="empty cohort has no entitlements"),
    ],
)
def test_entitlement_rules(
    capacity: float, queues: list[QueueDemand], expected: dict[str, Fraction | int]
) -> None:
    assert cpu_entitlements(capacity, *queues) == expected


claims_strategy = st.lists(
    st.builds(
        lambda weight, floor, extra: Claim(weight=weight, floor=floor, cap=floor + extra),
        # Weights in hundredths from 0 to 1000, zero included.
        st.integers(min_value=0, max_value=100_000).map(lambda hundredths: Fraction(hundredths, 100)),
        st.integers(min_value=0, max_value=50_000),
        st.integers(min_value=0, max_value=100_000),
    ),
    max_size=8,
)


@settings(deadline=None)
@given(capacity=st.integers(min_value=0, max_value=400_000), claims=claims_strategy)
def test_entitlements_sum_to_capacity_when_demand_exceeds_it(capacity: int, claims: list[Claim]) -> None:
    shares = water_fill(capacity=capacity, claims=claims)
    caps = sum(claim.cap for claim in claims)
    assert sum(shares) == min(capacity, caps)
    assert all(share <= claim.cap for share, claim in zip(shares, claims, strict=True))


@settings(deadline=None)
@given(capacity=st.integers(min_value=0, max_value=400_000), claims=claims_strategy)
def test_guarantees_are_floors_whenever_capacity_covers_them(capacity: int, claims: list[Claim]) -> None:
    shares = water_fill(capacity=capacity, claims=claims)
    if sum(claim.floor for claim in claims) <= capacity:
        assert all(share >= claim.floor for share, claim in zip(shares, claims, strict=True))


@settings(deadline=None)
@given(capacity=st.integers(min_value=1, max_value=400_000), claims=claims_strategy)
def test_unconstrained_positive_weight_claims_share_one_level(capacity: int, claims: list[Claim]) -> None:
    # Max-min fairness with weights: claims strictly between floor and cap hold the same
    # amount per unit of weight; a claim held at its floor or cap sits below/above that level.
    shares = water_fill(capacity=capacity, claims=claims)
    levels = {
        share / claim.weight
        for share, claim in zip(shares, claims, strict=True)
        if claim.weight > 0 and claim.floor < share < claim.cap
    }
    assert len(levels) <= 1


@settings(deadline=None)
@given(capacity=st.integers(min_value=0, max_value=200_000), claims=claims_strategy)
def test_more_capacity_never_lowers_an_entitlement(capacity: int, claims: list[Claim]) -> None:
    before = water_fill(capacity=capacity, claims=claims)
    after = water_fill(capacity=capacity + 1000, claims=claims)
    if sum(claim.floor for claim in claims) <= capacity:
        assert all(b <= a for b, a in zip(before, after, strict=True))


def test_limits_cap_entitlement_on_each_resource_separately() -> None:
    spec = QueueSpec(name="a", limit=ResourceLimit(cpu_millis=1000))
    entitlements = cohort_entitlements(
        capacity=Resources(10_000, 10 * GI),
        queues=[QueueDemand(spec=spec, demand=Resources(5000, 5 * GI))],
    )
    assert entitlements["a"].cpu_millis == 1000
    assert entitlements["a"].memory_bytes == 5 * GI
