"""The extender over HTTP: prioritize and filter in both cache modes, on a fake cluster."""

from typing import Any

import pytest
from extender_builders import (
    client_for,
    extender,
    filled_cache,
    fixture,
    names_args,
    node_object,
    pod_object,
    run,
)

from ebbtide.extender.config import ExtenderConfig

pytestmark = pytest.mark.unit

ZONES = {"node-a1": "zone-a", "node-b1": "zone-b", "node-b2": "zone-b"}
RESOURCES_ONLY = ExtenderConfig.model_validate({"profiles": {"default": {"weights": {"resourceMatch": 1}}}})
NODES = [node_object(name, labels={"topology.kubernetes.io/zone": zone}) for name, zone in ZONES.items()]


async def post(built: Any, verb: str, body: bytes) -> tuple[int, Any]:
    async with client_for(built) as client:
        response = await client.post(f"/{verb}", data=body, headers={"Content-Type": "application/json"})
        return response.status, await response.json()


def test_prioritize_answers_a_bare_host_priority_list_for_the_named_nodes() -> None:
    built = extender(filled_cache(NODES))
    status, answer = run(post(built, "prioritize", names_args(pod_object(), ["node-a1", "node-b2"])))
    assert status == 200
    assert [entry["Host"] for entry in answer] == ["node-a1", "node-b2"]
    assert all(set(entry) == {"Host", "Score"} for entry in answer)
    assert all(isinstance(entry["Score"], int) and 0 <= entry["Score"] <= 10 for entry in answer)


@pytest.mark.parametrize(
    ("factor", "expected"),
    [
        pytest.param("nodeAffinity", {"node-a1": 10, "node-b1": 0, "node-b2": 0}, id="prefers zone-a"),
        pytest.param("keyAffinity", [0, 0, 10], id="one node owns the key cart"),
    ],
)
def test_prioritize_reads_the_upstream_shaped_request(factor: str, expected: Any) -> None:
    config = ExtenderConfig.model_validate(
        {"defaultProfile": "balanced", "profiles": {"balanced": {"weights": {factor: 1}}}}
    )
    built = extender(filled_cache(NODES), config=config)
    status, answer = run(post(built, "prioritize", _fixture_bytes("extender_args_names.json")))
    assert status == 200
    scores = {entry["Host"]: entry["Score"] for entry in answer}
    assert scores == expected if isinstance(expected, dict) else sorted(scores.values()) == expected


def test_prioritize_ignores_names_the_cache_does_not_know() -> None:
    built = extender(filled_cache(NODES))
    status, answer = run(post(built, "prioritize", names_args(pod_object(), ["ghost", "node-b1"])))
    assert status == 200
    assert [entry["Host"] for entry in answer] == ["node-b1"]


def test_prioritize_prefers_the_emptier_and_cooler_node() -> None:
    pods = [pod_object(f"filler-{i}", node="node-b1", cpu="1", memory="4Gi") for i in range(3)]
    built = extender(filled_cache(NODES, pods), utilisation={"node-a1": 0.2, "node-b1": 0.97})
    status, answer = run(post(built, "prioritize", names_args(pod_object(), ["node-a1", "node-b1"])))
    scores = {entry["Host"]: entry["Score"] for entry in answer}
    assert status == 200
    assert scores["node-a1"] > scores["node-b1"]


def test_prioritize_with_full_node_objects_scores_every_node_sent() -> None:
    built = extender(filled_cache(NODES))
    status, answer = run(post(built, "prioritize", _fixture_bytes("extender_args_nodes.json")))
    assert status == 200
    assert {entry["Host"] for entry in answer} == {"node-a1", "node-new"}  # node-new is unknown to the cache


def test_filter_reports_overloaded_and_unknown_nodes_with_reasons() -> None:
    built = extender(filled_cache(NODES), utilisation={"node-a1": 0.3, "node-b1": 0.93})
    body = names_args(pod_object(), ["node-a1", "node-b1", "node-b2", "ghost"])
    status, answer = run(post(built, "filter", body))
    assert status == 200
    assert answer == {
        "Nodes": None,
        "NodeNames": ["node-a1", "node-b2"],
        "FailedNodes": {
            "node-b1": "node cpu utilisation 93 percent is above the ebbtide ceiling 90 percent",
            "ghost": "node is not in the ebbtide node cache yet",
        },
        "FailedAndUnresolvableNodes": {},
        "Error": "",
    }
    assert set(answer) == set(fixture("extender_filter_result.json"))


def test_filter_with_full_node_objects_returns_the_passing_objects_unchanged() -> None:
    args = fixture("extender_args_nodes.json")
    built = extender(filled_cache(NODES), utilisation={"node-new": 0.99})
    status, answer = run(post(built, "filter", _fixture_bytes("extender_args_nodes.json")))
    assert status == 200
    assert answer["NodeNames"] is None
    assert answer["Nodes"]["items"] == [args["Nodes"]["items"][0]]
    assert answer["FailedNodes"] == {
        "node-new": "node cpu utilisation 99 percent is above the ebbtide ceiling 90 percent"
    }


def test_filter_passes_nodes_whose_load_is_unknown() -> None:
    built = extender(filled_cache(NODES), utilisation={})
    status, answer = run(post(built, "filter", names_args(pod_object(), list(ZONES))))
    assert status == 200
    assert answer["NodeNames"] == list(ZONES)
    assert answer["FailedNodes"] == {}


def test_filter_uses_the_configured_ceiling() -> None:
    config = ExtenderConfig.model_validate({"filter": {"ceilings": {"cpu": 0.5}}})
    built = extender(filled_cache(NODES), utilisation={"node-a1": 0.6}, config=config)
    status, answer = run(post(built, "filter", names_args(pod_object(), ["node-a1"])))
    assert status == 200
    assert answer["FailedNodes"] == {
        "node-a1": "node cpu utilisation 60 percent is above the ebbtide ceiling 50 percent"
    }


def test_the_next_pod_is_scored_as_if_the_previous_one_were_placed() -> None:
    # The first pod's best node is charged with its requests at once, before any binding is
    # watched, so an identical second pod is steered to the other node.
    nodes = [node_object("small", cpu="4", memory="16Gi"), node_object("large", cpu="6", memory="24Gi")]
    cache = filled_cache(nodes)
    built = extender(cache, config=RESOURCES_ONLY)

    async def two_pods() -> list[dict[str, int]]:
        async with client_for(built) as client:
            answers = []
            for uid in ("p1", "p2"):
                body = names_args(pod_object(uid, uid=uid, cpu="3", memory="12Gi"), ["small", "large"])
                response = await client.post("/prioritize", data=body)
                answers.append({entry["Host"]: entry["Score"] for entry in await response.json()})
            return answers

    first, second = run(two_pods())
    assert first == {"small": 3, "large": 5}
    assert second == {"small": 3, "large": 0}
    assert cache.snapshot().assumed_pods == 2


def _fixture_bytes(name: str) -> bytes:
    from extender_builders import FIXTURES

    return (FIXTURES / name).read_bytes()


def test_a_lone_filter_survivor_is_assumed_because_prioritize_will_not_be_called() -> None:
    cache = filled_cache(NODES)
    built = extender(cache, utilisation={"node-b1": 0.99, "node-b2": 0.99})
    body = names_args(pod_object("solo", cpu="2", memory="1Gi"), ["node-a1", "node-b1", "node-b2"])
    status, answer = run(post(built, "filter", body))
    assert status == 200
    assert answer["NodeNames"] == ["node-a1"]
    snapshot = cache.snapshot()
    assert snapshot.assumed_pods == 1
    assert snapshot.requested_cpu[snapshot.table.index["node-a1"]] == 2000.0
