"""Bad requests get 400 with a message, an unsynced cache 503; health and metrics endpoints."""

import json
import platform
import re
from typing import Any

import pytest
from extender_builders import client_for, extender, filled_cache, names_args, node_object, pod_object, run

import ebbtide
from ebbtide.extender.config import ExtenderConfig
from ebbtide.kube.node_cache import NodeCache

pytestmark = pytest.mark.unit

NODES = [node_object("n1"), node_object("n2")]
POD = pod_object()


async def exchange(built: Any, requests: list[tuple[str, str, bytes]]) -> list[tuple[int, str]]:
    async with client_for(built) as client:
        answers = []
        for method, path, body in requests:
            response = await client.request(method, path, data=body)
            answers.append((response.status, await response.text()))
        return answers


def one(built: Any, path: str, body: bytes = b"", method: str = "POST") -> tuple[int, str]:
    return run(exchange(built, [(method, path, body)]))[0]


@pytest.mark.parametrize("verb", ["filter", "prioritize"])
@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(b"{not json", "not JSON", id="malformed JSON"),
        pytest.param(b"\xff\xfe", "not JSON", id="not UTF-8"),
        pytest.param(b"[1, 2]", "must be a JSON object", id="an array instead of ExtenderArgs"),
        pytest.param(json.dumps({"NodeNames": ["n1"]}).encode(), "Pod is missing", id="missing Pod"),
        pytest.param(
            json.dumps({"Pod": "p", "NodeNames": []}).encode(), "Pod must be an object", id="Pod a string"
        ),
        pytest.param(json.dumps({"Pod": POD}).encode(), "neither NodeNames nor Nodes", id="no nodes at all"),
        pytest.param(
            json.dumps({"Pod": POD, "NodeNames": "n1"}).encode(),
            "NodeNames must be a list",
            id="names a string",
        ),
        pytest.param(names_args(POD, ["n1", 7]), "list of strings", id="a number among the names"),
        pytest.param(names_args(POD, [["n1"]]), "list of strings", id="a list among the names"),
        pytest.param(
            json.dumps({"Pod": POD, "Nodes": {"items": ["n1"]}}).encode(),
            "node objects",
            id="items not objects",
        ),
        pytest.param(json.dumps({"Pod": POD, "Nodes": []}).encode(), "NodeList object", id="Nodes a list"),
        pytest.param(
            names_args(pod_object(cpu="a lot"), ["n1"]),
            "not a Kubernetes quantity",
            id="a bad quantity in the pod",
        ),
        pytest.param(b"[" * 100_000, "not JSON|nested too deeply", id="deeply nested"),
    ],
)
def test_malformed_requests_get_400_with_a_message(verb: str, body: bytes, message: str) -> None:
    status, text = one(extender(filled_cache(NODES)), f"/{verb}", body)
    assert status == 400
    assert set(json.loads(text)) == {"Error"}
    assert re.search(message, json.loads(text)["Error"])


def test_oversized_bodies_get_400_and_the_server_keeps_serving() -> None:
    config = ExtenderConfig.model_validate({"server": {"maxBodyBytes": 2048}})
    built = extender(filled_cache(NODES), config=config)
    huge = names_args(POD, [f"node-{index}" for index in range(1000)])
    answers = run(
        exchange(built, [("POST", "/prioritize", huge), ("POST", "/prioritize", names_args(POD, ["n1"]))])
    )
    assert answers[0][0] == 400
    assert "exceeds the limit of 2048 bytes" in json.loads(answers[0][1])["Error"]
    assert answers[1][0] == 200


def test_names_case_insensitively_as_go_decodes_them() -> None:
    body = json.dumps({"pod": POD, "nodenames": ["n2"]}).encode()
    status, text = one(extender(filled_cache(NODES)), "/prioritize", body)
    assert status == 200
    assert [entry["Host"] for entry in json.loads(text)] == ["n2"]


def test_verbs_answer_503_until_the_cache_has_synced() -> None:
    built = extender(NodeCache())
    status, text = one(built, "/prioritize", names_args(POD, ["n1"]))
    assert status == 503
    assert "not synced" in json.loads(text)["Error"]
    health_status, health = one(built, "/healthz", method="GET")
    assert health_status == 200
    assert json.loads(health)["status"] == "syncing"


def test_healthz_reports_the_cache_and_load_figures() -> None:
    cache = filled_cache(NODES, [pod_object("bound", node="n1")])
    status, text = one(extender(cache, utilisation={"n1": 0.5}), "/healthz", method="GET")
    assert status == 200
    assert json.loads(text) | {"loadAgeSeconds": 0} == {
        "status": "ok",
        "nodes": 2,
        "boundPods": 1,
        "assumedPods": 0,
        "loadAgeSeconds": 0,
        "loadNodes": 1,
        "configError": None,
    }


def test_metrics_count_requests_errors_and_expose_state() -> None:
    built = extender(filled_cache(NODES), utilisation={"n1": 0.8, "n2": 0.2})
    built.telemetry.imbalance.set(0.75)
    answers = run(
        exchange(
            built,
            [
                ("POST", "/prioritize", names_args(POD, ["n1", "n2"])),
                ("POST", "/filter", b"{"),
                ("GET", "/nowhere", b""),
                ("GET", "/metrics", b""),
            ],
        )
    )
    status, metrics = answers[-1]
    assert status == 200
    for line in [
        'ebbtide_extender_requests_total{code="200",verb="prioritize"} 1.0',
        'ebbtide_extender_requests_total{code="400",verb="filter"} 1.0',
        'ebbtide_extender_requests_total{code="404",verb="other"} 1.0',
        'ebbtide_extender_errors_total{kind="bad_request",verb="filter"} 1.0',
        'ebbtide_extender_request_duration_seconds_count{verb="prioritize"} 1.0',
        "ebbtide_cluster_imbalance_ratio 0.75",
        'ebbtide_extender_cache_objects{kind="nodes"} 2.0',
        "ebbtide_extender_load_nodes 2.0",
        f'ebbtide_build_info{{component="extender",python_version="{platform.python_version()}",'
        f'version="{ebbtide.__version__}"}} 1.0',
    ]:
        assert line in metrics, line
    assert "ebbtide_extender_load_age_seconds " in metrics


def test_an_unknown_profile_falls_back_to_the_default_and_is_counted() -> None:
    pod = pod_object(annotations={"ebbtide.io/scoring-profile": "no-such-profile"})
    built = extender(filled_cache(NODES))
    answers = run(
        exchange(built, [("POST", "/prioritize", names_args(pod, ["n1"])), ("GET", "/metrics", b"")])
    )
    assert answers[0][0] == 200
    assert "ebbtide_extender_unknown_profile_total 1.0" in answers[1][1]


def test_an_internal_failure_is_a_500_and_the_server_survives(monkeypatch: pytest.MonkeyPatch) -> None:
    built = extender(filled_cache(NODES))

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("ebbtide.extender.service.scorer.score", broken)
    answers = run(
        exchange(
            built,
            [("POST", "/prioritize", names_args(POD, ["n1"])), ("POST", "/filter", names_args(POD, ["n1"]))],
        )
    )
    assert answers[0][0] == 500
    assert json.loads(answers[0][1]) == {"Error": "internal error"}
    assert answers[1][0] == 200
