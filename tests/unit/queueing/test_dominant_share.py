from fractions import Fraction

import pytest

from ebbtide.api.resources import Resources
from ebbtide.queueing import Entitlement, QueueingError, Share, dominant_share

pytestmark = pytest.mark.unit

INFINITE = Share(1, 0)


@pytest.mark.parametrize(
    ("usage", "entitlement", "expected"),
    [
        pytest.param(
            Resources(0, 0), (Fraction(0), Fraction(0)), Fraction(0), id="idle queue with nothing entitled"
        ),
        pytest.param(
            Resources(2000, 0),
            (Fraction(4000), Fraction(0)),
            Fraction(1, 2),
            id="unused resource with no entitlement is ignored",
        ),
        pytest.param(
            Resources(1000, 8), (Fraction(4000), Fraction(16)), Fraction(1, 2), id="memory dominates"
        ),
        pytest.param(Resources(3000, 1), (Fraction(4000), Fraction(16)), Fraction(3, 4), id="cpu dominates"),
        pytest.param(
            Resources(1000, 0),
            (Fraction(10000, 3), Fraction(1)),
            Fraction(3, 10),
            id="fractional entitlement",
        ),
        pytest.param(
            Resources(5000, 0), (Fraction(4000), Fraction(1)), Fraction(5, 4), id="above entitlement"
        ),
        pytest.param(
            Resources(1, 0), (Fraction(0), Fraction(10)), None, id="using a resource with zero entitlement"
        ),
    ],
)
def test_dominant_share_is_the_largest_usage_to_entitlement_ratio(
    usage: Resources, entitlement: tuple[Fraction, Fraction], expected: Fraction | None
) -> None:
    share = dominant_share(usage, Entitlement(cpu_millis=entitlement[0], memory_bytes=entitlement[1]))
    assert share.ratio == expected
    assert share.infinite is (expected is None)


def test_shares_compare_exactly_whatever_their_representation() -> None:
    assert Share(2, 4) == Share(1, 2) == Share.of(Fraction(1, 2))
    assert hash(Share(2, 4)) == hash(Share(1, 2))
    assert Share(1, 3) < Share(1, 2) <= Share(2, 4) < Share(3, 2)
    assert Share(10**400, 1) < INFINITE
    assert Share(7, 0) == INFINITE
    assert not Share(7, 0) > INFINITE
    assert sorted([INFINITE, Share(0, 1), Share(5, 1)]) == [Share(0, 1), Share(5, 1), INFINITE]


@pytest.mark.parametrize(
    ("share", "within", "below"),
    [
        (Share(1, 2), True, True),
        (Share(1, 1), True, False),
        (Share(3, 2), False, False),
        (INFINITE, False, False),
    ],
)
def test_share_against_the_entitlement(share: Share, within: bool, below: bool) -> None:
    assert share.within_entitlement() is within
    assert share.below_one() is below


def test_malformed_share_is_rejected() -> None:
    with pytest.raises(QueueingError, match="not a share"):
        Share(0, 0)
