"""Name resolution through hashes: the same answer as the exact lookup, or a referral to it."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ebbtide.api.resources import NodeFacts, NodeName, Resources
from ebbtide.scoring.name_hashes import NameHashes
from ebbtide.scoring.node_table import NodeTable

pytestmark = pytest.mark.unit

NAMES = [f"node-{index}" for index in range(50)]
TABLE = NodeTable.build(
    NodeFacts(name=NodeName(name), allocatable=Resources(cpu_millis=1000, memory_bytes=1), labels={})
    for name in NAMES
)


@given(st.lists(st.sampled_from(NAMES), max_size=80))
def test_known_names_resolve_to_their_rows_in_request_order(names: list[str]) -> None:
    fresh = ["".join(name) for name in names]  # new string objects, as a decoded request has
    rows, unknown = TABLE.rows_of(fresh)
    assert unknown == []
    assert [TABLE.names[row] for row in rows.tolist()] == names


def test_a_name_outside_the_table_is_referred_to_the_exact_lookup() -> None:
    hashes = TABLE.name_hashes
    assert hashes.rows_of(["node-1", "elsewhere"]) is None
    rows, unknown = TABLE.rows_of(["node-1", "elsewhere", "node-2"])
    assert [TABLE.names[row] for row in rows.tolist()] == ["node-1", "node-2"]
    assert unknown == ["elsewhere"]


@pytest.mark.parametrize("item", [7, None, 1.5, ("node-1",)], ids=["int", "null", "float", "tuple"])
def test_an_item_that_is_not_a_string_is_never_a_node(item: object) -> None:
    assert TABLE.name_hashes.rows_of(["node-1", item]) is None
    _, unknown = TABLE.rows_of(["node-1", item])
    assert unknown == [item]


def test_an_unhashable_item_still_raises_for_the_caller_to_reject() -> None:
    with pytest.raises(TypeError):
        TABLE.rows_of(["node-1", ["node-2"]])


def test_names_sharing_a_hash_leave_the_index_unused() -> None:
    shared = NameHashes(["a", "b", "a"])  # a repeated name stands in for a hash collision
    assert not shared.usable
    assert shared.rows_of(["b"]) is None


def test_an_empty_table_or_request_uses_the_exact_lookup() -> None:
    assert NameHashes([]).rows_of(["a"]) is None
    assert TABLE.name_hashes.rows_of([]) is None
    rows, unknown = NodeTable.build([]).rows_of(["a"])
    assert len(rows) == 0
    assert unknown == ["a"]
