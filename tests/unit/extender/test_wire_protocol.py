"""Request and response shapes of k8s.io/kube-scheduler/extender/v1."""

import json

import numpy as np
import pytest
from extender_builders import FIXTURES, fixture
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ebbtide.api.resources import NodeFacts, NodeName, Resources
from ebbtide.extender.protocol import (
    PriorityEncoder,
    decode_args,
    encode_filter_names,
    encode_filter_nodes,
    encode_priorities,
)
from ebbtide.scoring.node_table import NodeTable

pytestmark = pytest.mark.unit

# Properties, not timings: no deadline and no slowness check, however busy the machine is.
UNTIMED = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_names_only_args_are_decoded() -> None:
    args = decode_args((FIXTURES / "extender_args_names.json").read_bytes())
    assert args.node_names == ["node-a1", "node-b1", "node-b2"]
    assert args.nodes is None
    assert args.pod["metadata"]["name"] == "web-7d9f8"


def test_full_node_args_are_decoded_from_the_node_lists_items() -> None:
    args = decode_args((FIXTURES / "extender_args_nodes.json").read_bytes())
    assert args.node_names is None
    assert [node["metadata"]["name"] for node in args.nodes or []] == ["node-a1", "node-new"]


def test_a_node_list_without_items_is_empty() -> None:
    assert decode_args(b'{"Pod": {}, "Nodes": {"metadata": {}, "items": null}}').nodes == []


def test_filter_results_have_the_upstream_fields() -> None:
    expected = fixture("extender_filter_result.json")
    body = encode_filter_names(passed=expected["NodeNames"], failed=expected["FailedNodes"])
    assert json.loads(body) == expected


def test_full_node_filter_results_carry_a_node_list() -> None:
    node = {"metadata": {"name": "n1"}, "status": {"allocatable": {"cpu": "1"}}}
    answer = json.loads(encode_filter_nodes(passed=[node], failed={}))
    assert answer["Nodes"] == {"metadata": {}, "items": [node]}
    assert answer["NodeNames"] is None
    assert answer["Error"] == ""


def test_priorities_are_a_bare_list_of_hosts_and_integer_scores() -> None:
    expected = fixture("host_priority_list.json")
    body = encode_priorities(
        hosts=[entry["Host"] for entry in expected], scores=np.array([entry["Score"] for entry in expected])
    )
    assert json.loads(body) == expected


names = st.lists(st.text(min_size=1, max_size=20), min_size=0, max_size=30, unique=True)


@settings(UNTIMED)
@given(names, st.data())
def test_the_precomputed_encoder_writes_what_json_would(all_names: list[str], data: st.DataObject) -> None:
    table = NodeTable.build(
        [NodeFacts(name=NodeName(name), allocatable=Resources.ZERO) for name in all_names]
    )
    chosen = data.draw(st.lists(st.sampled_from(all_names), unique=True) if all_names else st.just([]))
    rows, _ = table.rows_of(chosen)
    scores = np.array(
        data.draw(st.lists(st.integers(0, 10), min_size=len(chosen), max_size=len(chosen))), dtype=np.int64
    )
    fast = PriorityEncoder(table).encode(rows=rows, scores=scores)
    assert json.loads(fast) == json.loads(encode_priorities(hosts=chosen, scores=scores))


def test_an_encoder_serves_every_table_with_the_same_names_in_the_same_rows() -> None:
    def table(*nodes: tuple[str, dict[str, str]]) -> NodeTable:
        return NodeTable.build(
            [
                NodeFacts(name=NodeName(name), allocatable=Resources.ZERO, labels=labels)
                for name, labels in nodes
            ]
        )

    encoder = PriorityEncoder(table(("a", {}), ("b", {})))
    assert encoder.serves(table(("b", {"zone": "z"}), ("a", {"pool": "p"})))
    assert not encoder.serves(table(("a", {}), ("c", {})))
    assert not encoder.serves(table(("a", {}), ("b", {}), ("c", {})))
    relabelled = table(("a", {"zone": "y"}), ("b", {}))
    moved = encoder.for_table(relabelled)
    assert moved.table is relabelled and encoder.table is not relabelled
    rows, scores = np.array([1, 0]), np.array([3, 7])
    assert moved.encode(rows=rows, scores=scores) == encoder.encode(rows=rows, scores=scores)


def _named_table(names: list[str]) -> NodeTable:
    return NodeTable.build([NodeFacts(name=NodeName(name), allocatable=Resources.ZERO) for name in names])


def test_names_of_similar_length_give_padded_bodies_that_decode_as_json_would() -> None:
    names = [f"node-{index}" for index in range(120)]
    table = _named_table(names)
    rows, _ = table.rows_of(names[::-1])
    scores = np.arange(len(rows), dtype=np.int64) % 11
    body = PriorityEncoder(table).encode(rows=rows, scores=scores)
    expected = encode_priorities(hosts=names[::-1], scores=scores)
    assert json.loads(body) == json.loads(expected)
    assert len(expected) < len(body) <= 1.25 * len(expected) + 2


def test_a_few_far_longer_names_do_not_pad_every_entry() -> None:
    names = [f"n{index}" for index in range(50)] + ["x" * 253]
    table = _named_table(names)
    rows, _ = table.rows_of(names)
    scores = np.full(len(rows), 10, dtype=np.int64)
    body = PriorityEncoder(table).encode(rows=rows, scores=scores)
    assert body == encode_priorities(hosts=names, scores=scores)


def test_an_empty_candidate_list_is_an_empty_json_list() -> None:
    for names in (["a", "b"], ["a", "b" * 200]):  # padded and unpadded entries
        encoder = PriorityEncoder(_named_table(names))
        assert encoder.encode(rows=np.zeros(0, dtype=np.intp), scores=np.zeros(0, dtype=np.int64)) == b"[]"
