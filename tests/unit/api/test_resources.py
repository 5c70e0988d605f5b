"""One rule for Kubernetes amounts: a pod's requests, a node's capacity and schedulability."""

import pytest

from ebbtide.api.resources import SCHEDULER_NON_ZERO, Resources, pod_requests, read_node
from ebbtide.errors import MalformedObjectError

pytestmark = pytest.mark.unit

GI = 1024**3


def container(**resources: dict[str, str]) -> dict[str, object]:
    return {"name": "c", "resources": resources}


def test_scoring_counts_what_a_container_leaves_unrequested_as_the_scheduler_does() -> None:
    spec = {"containers": [container(requests={"cpu": "1"}), container()]}
    assert pod_requests(spec) == Resources(cpu_millis=1000)
    assert pod_requests(spec, unrequested=SCHEDULER_NON_ZERO) == Resources(
        cpu_millis=1000 + SCHEDULER_NON_ZERO.cpu_millis,
        memory_bytes=2 * SCHEDULER_NON_ZERO.memory_bytes,
    )


def test_sidecars_run_beside_the_app_and_ordinary_init_containers_alone_plus_overhead() -> None:
    spec = {
        "initContainers": [
            {**container(requests={"cpu": "500m", "memory": "1Gi"}), "restartPolicy": "Always"},
            container(requests={"cpu": "3", "memory": "1Gi"}),
        ],
        "containers": [container(requests={"cpu": "1", "memory": "2Gi"})],
        "overhead": {"cpu": "100m"},
    }
    # The init container runs beside the sidecar (3.5 cpu, 2Gi); the app beside it (1.5, 3Gi).
    assert pod_requests(spec) == Resources(cpu_millis=3600, memory_bytes=3 * GI)


def test_a_malformed_pod_is_refused_with_the_field_path() -> None:
    with pytest.raises(MalformedObjectError, match=r"spec\.containers\[0\]\.resources\.requests\.cpu"):
        pod_requests({"containers": [container(requests={"cpu": "lots"})]})


@pytest.mark.parametrize(
    ("conditions", "cordoned", "schedulable"),
    [
        pytest.param([{"type": "Ready", "status": "True"}], False, True, id="ready"),
        pytest.param([{"type": "Ready", "status": "True"}], True, False, id="cordoned"),
        pytest.param([{"type": "Ready", "status": "False"}], False, False, id="not ready"),
        pytest.param([], False, False, id="no Ready condition yet"),
    ],
)
def test_a_node_is_schedulable_when_ready_and_not_cordoned(
    conditions: list[dict[str, str]], cordoned: bool, schedulable: bool
) -> None:
    node = {
        "metadata": {"name": "n1"},
        "spec": {"unschedulable": cordoned},
        "status": {"allocatable": {"cpu": "4", "memory": "8Gi"}, "conditions": conditions},
    }
    facts = read_node(node)
    assert facts.schedulable is schedulable
    assert facts.allocatable == Resources(cpu_millis=4000, memory_bytes=8 * GI)
