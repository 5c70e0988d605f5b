"""The affinity-key hash ring: stability, ~1/N movement, balance, eligible owners."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ebbtide.sharding.ring import HashRing, hash_key, hash_member

pytestmark = pytest.mark.unit

# Properties, not timings: no deadline and no slowness check, however busy the machine is.
UNTIMED = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

KEYS = [f"tenant-{index}" for index in range(3000)]
node_names = st.lists(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-.", min_size=1, max_size=30),
    min_size=2,
    max_size=40,
    unique=True,
)


def owners(names: list[str]) -> dict[str, str]:
    ring = HashRing.over(names)
    found = {}
    for key in KEYS:
        owner = ring.owner(key)
        assert owner is not None
        found[key] = names[owner]
    return found


def test_hashes_and_owners_are_the_same_in_every_process() -> None:
    # Pinned values: BLAKE2b and SplitMix64, never Python's per-process salted hash().
    assert hash_key("tenant-1") == 0x641CF37696057CDE
    assert hash_member("node-1") == 0x9FABC46CFD911F43
    ring = HashRing.over(["node-a", "node-b", "node-c"])
    assert [ring.owner(f"tenant-{index}") for index in range(8)] == [0, 1, 0, 0, 1, 0, 1, 0]


@settings(UNTIMED, max_examples=40)
@given(node_names)
def test_ownership_does_not_depend_on_member_order(names: list[str]) -> None:
    assert owners(names) == owners(list(reversed(names)))


@settings(UNTIMED, max_examples=40)
@given(node_names, st.data())
def test_adding_a_node_moves_about_one_in_n_keys_all_to_the_new_node(
    names: list[str], data: st.DataObject
) -> None:
    newcomer = data.draw(st.text(alphabet="xyz", min_size=31, max_size=35))
    before, after = owners(names), owners([*names, newcomer])
    moved = [key for key in KEYS if before[key] != after[key]]
    assert all(after[key] == newcomer for key in moved)
    share = len(moved) / len(KEYS)
    expected = 1 / (len(names) + 1)
    assert 0.3 * expected <= share <= 2.0 * expected + 0.01


@settings(UNTIMED, max_examples=40)
@given(node_names, st.data())
def test_removing_a_node_moves_only_its_keys(names: list[str], data: st.DataObject) -> None:
    leaving = data.draw(st.sampled_from(names))
    before = owners(names)
    after = owners([name for name in names if name != leaving])
    moved = [key for key in KEYS if before[key] != after[key]]
    assert sorted(moved) == sorted(key for key in KEYS if before[key] == leaving)
    assert len(moved) / len(KEYS) <= 2.0 / len(names) + 0.01


@settings(UNTIMED, max_examples=40)
@given(node_names)
def test_virtual_nodes_balance_the_key_space_within_tolerance(names: list[str]) -> None:
    shares = HashRing.over(names, virtual_nodes=100).shares()
    assert sum(shares.values()) == pytest.approx(1.0)
    fair = 1 / len(names)
    assert all(0.5 * fair <= share <= 1.6 * fair for share in shares.values())


@settings(UNTIMED, max_examples=40)
@given(node_names, st.data())
def test_the_owner_among_eligible_members_is_the_owner_once_the_others_leave(
    names: list[str], data: st.DataObject
) -> None:
    eligible_names = data.draw(st.lists(st.sampled_from(names), min_size=1, unique=True))
    ring = HashRing.over(names)
    eligible = np.zeros(len(names), dtype=np.bool_)
    eligible[[names.index(name) for name in eligible_names]] = True
    smaller = HashRing.over(eligible_names)
    for key in KEYS[:300]:
        chosen = ring.owner_among(key, eligible)
        direct = smaller.owner(key)
        assert chosen is not None and direct is not None
        assert names[chosen] == eligible_names[direct]


def test_an_empty_ring_owns_nothing() -> None:
    ring = HashRing.over([])
    assert ring.owner("k") is None
    assert ring.owner_among("k", np.zeros(0, dtype=np.bool_)) is None
    assert ring.shares() == {}


def test_no_eligible_member_means_no_owner() -> None:
    ring = HashRing.over(["a", "b"])
    assert ring.owner_among("k", np.zeros(2, dtype=np.bool_)) is None
