"""Reading pods and nodes, as JSON dicts, into scoring values."""

from typing import Any

import pytest

from ebbtide.api.resources import SCHEDULER_NON_ZERO, millicores, read_node, whole_units
from ebbtide.errors import InvalidQuantityError, MalformedObjectError
from ebbtide.scoring.affinity_terms import LabelRequirement, NameRequirement, Operator, PreferredTerm
from ebbtide.scoring.kube_objects import read_bound_pod, read_pod

pytestmark = pytest.mark.unit

MI = 1024**2


def container(cpu: str | None = None, memory: str | None = None, **extra: Any) -> dict[str, Any]:
    requests = {key: value for key, value in (("cpu", cpu), ("memory", memory)) if value is not None}
    return {"name": "c", "resources": {"requests": requests}, **extra}


def pod_requests(spec: dict[str, Any]) -> tuple[int, int]:
    facts = read_pod({"metadata": {"uid": "u"}, "spec": spec})
    return facts.requests.cpu_millis, facts.requests.memory_bytes


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        pytest.param(
            {"containers": [container("250m", "64Mi"), container("1", "1Gi")]},
            (1250, 1088 * MI),
            id="app containers add up",
        ),
        pytest.param(
            {"containers": [container()]},
            (SCHEDULER_NON_ZERO.cpu_millis, SCHEDULER_NON_ZERO.memory_bytes),
            id="no requests count as the scheduler's non-zero defaults",
        ),
        pytest.param(
            {"containers": [container("0", "0")]},
            (0, 0),
            id="an explicit zero stays zero",
        ),
        pytest.param(
            {"containers": [container("100m", "64Mi")], "initContainers": [container("2", "32Mi")]},
            (2000, 64 * MI),
            id="an init container runs alone: the larger per resource wins",
        ),
        pytest.param(
            {
                "containers": [container("100m", "64Mi")],
                "initContainers": [
                    container("200m", "128Mi", restartPolicy="Always"),
                    container("250m", "16Mi"),
                ],
            },
            (450, 192 * MI),
            id="a sidecar runs beside the app and beside later init containers",
        ),
        pytest.param(
            {"containers": [container("100m", "64Mi")], "overhead": {"cpu": "50m", "memory": "1Mi"}},
            (150, 65 * MI),
            id="pod overhead is added",
        ),
    ],
)
def test_pod_requests_follow_kubernetes(spec: dict[str, Any], expected: tuple[int, int]) -> None:
    assert pod_requests(spec) == expected


def test_pod_preferences_key_and_profile_are_read() -> None:
    facts = read_pod(
        {
            "metadata": {
                "uid": "u1",
                "namespace": "ns",
                "name": "p",
                "labels": {"ebbtide.io/affinity-key": "from-label"},
                "annotations": {
                    "ebbtide.io/affinity-key": "from-annotation",
                    "ebbtide.io/scoring-profile": "packing",
                },
            },
            "spec": {
                "containers": [],
                "affinity": {
                    "nodeAffinity": {
                        "preferredDuringSchedulingIgnoredDuringExecution": [
                            {
                                "weight": 30,
                                "preference": {
                                    "matchExpressions": [{"key": "gen", "operator": "Gt", "values": ["4"]}],
                                    "matchFields": [
                                        {"key": "metadata.name", "operator": "NotIn", "values": ["n1"]}
                                    ],
                                },
                            }
                        ]
                    }
                },
            },
        }
    )
    assert facts.affinity_key == "from-label"
    assert facts.profile_name == "packing"
    assert facts.preferred_terms == (
        PreferredTerm(
            weight=30,
            labels=(LabelRequirement(key="gen", operator=Operator.GT, values=("4",)),),
            fields=(NameRequirement(operator=Operator.NOT_IN, names=("n1",)),),
        ),
    )


def test_the_affinity_key_may_be_an_annotation() -> None:
    facts = read_pod({"metadata": {"annotations": {"ebbtide.io/affinity-key": "k"}}, "spec": {}})
    assert facts.affinity_key == "k"


@pytest.mark.parametrize(
    ("pod", "message"),
    [
        pytest.param([], "Pod must be an object", id="pod not an object"),
        pytest.param({"spec": {"containers": {}}}, "containers must be a list", id="containers not a list"),
        pytest.param(
            {"spec": {"containers": [container(cpu="lots")]}}, "not a Kubernetes quantity", id="bad quantity"
        ),
        pytest.param({"metadata": {"labels": {"a": 1}}}, "values must be strings", id="label not a string"),
        pytest.param({}, None, id="an empty pod is fine"),
    ],
)
def test_malformed_pods_are_refused_with_the_field_path(pod: Any, message: str | None) -> None:
    if message is None:
        read_pod(pod)
        return
    with pytest.raises(MalformedObjectError, match=message):
        read_pod(pod)


@pytest.mark.parametrize(
    "expression",
    [
        pytest.param({"key": "a", "operator": "Gt", "values": ["1", "2"]}, id="Gt with two values"),
        pytest.param({"key": "a", "operator": "Lt", "values": ["x"]}, id="Lt with a non-integer"),
        pytest.param({"key": "a", "operator": "In", "values": []}, id="In without values"),
        pytest.param({"key": "a", "operator": "Exists", "values": ["v"]}, id="Exists with values"),
        pytest.param({"key": "a", "operator": "Near", "values": ["v"]}, id="an unknown operator"),
    ],
)
def test_affinity_requirements_the_api_server_would_refuse_are_malformed(expression: dict[str, Any]) -> None:
    spec = {
        "affinity": {
            "nodeAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {"weight": 1, "preference": {"matchExpressions": [expression]}}
                ]
            }
        }
    }
    with pytest.raises(MalformedObjectError):
        read_pod({"spec": spec})


def test_nodes_are_read_with_allocatable_labels_and_cordon() -> None:
    facts = read_node(
        {
            "metadata": {"name": "n1", "labels": {"zone": "a"}},
            "spec": {"unschedulable": True},
            "status": {"allocatable": {"cpu": "3800m", "memory": "15Gi", "pods": "110"}},
        }
    )
    assert (facts.name, facts.allocatable.cpu_millis, facts.allocatable.memory_bytes) == (
        "n1",
        3800,
        15 * 1024**3,
    )
    assert facts.labels == {"zone": "a"}
    assert facts.schedulable is False


def test_bound_pods_are_pods_with_a_node_that_have_not_finished() -> None:
    bound = {"metadata": {"uid": "u"}, "spec": {"nodeName": "n1", "containers": [container("1", "1Gi")]}}
    assert read_bound_pod(bound) is not None
    assert read_bound_pod({**bound, "status": {"phase": "Succeeded"}}) is None
    assert read_bound_pod({"metadata": {"uid": "u"}, "spec": {"containers": []}}) is None


@pytest.mark.parametrize(
    ("text", "cores_in_millis", "units"),
    [("100m", 100, 1), ("1.5", 1500, 2), ("2e3", 2_000_000, 2000), ("1Ki", 1_024_000, 1024), ("1n", 1, 1)],
)
def test_quantities_round_up_like_kubernetes(text: str, cores_in_millis: int, units: int) -> None:
    assert (millicores(text), whole_units(text)) == (cores_in_millis, units)


@pytest.mark.parametrize("text", ["", "abc", "1 ", "1e999999999", "99999999999E"])
def test_bad_or_absurd_quantities_are_refused(text: str) -> None:
    with pytest.raises(InvalidQuantityError):
        whole_units(text)
