"""One bad object harms only itself: hostile Pods and Jobs, with anything in every field the
operator reads (annotations, labels, requests, priority, owner references, gates, timestamps,
phases, missing fields), never stop the readers, the store or an admission cycle.

* The readers return a record for any object; one they cannot read waits with its reason.
* A store listing hostile objects beside good ones is complete, and a cycle over it admits every
  good workload, while each hostile one is admitted or told why it waits.

``EBBTIDE_FUZZ_EXAMPLES`` sets how many examples each reader property runs (default 1500; the
whole-cycle property runs a tenth of that).
"""

from __future__ import annotations

import copy
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.support.hostile_requests import json_values, maybe
from tests.unit.controllers.fairqueue.test_queue_cycle import FakeCluster, engine

from ebbtide.api.fairqueue_vocabulary import (
    ADMISSION_DECISION,
    ADMITTED_AT,
    EXPECTED_DURATION_ANNOTATION,
    QUEUE_LABEL,
    QUEUE_POSITION,
    SCHEDULING_GATE,
    WAITING_MESSAGE,
    WAITING_REASON,
)
from ebbtide.api.workloads import WorkloadState, read_job, read_pod

pytestmark = pytest.mark.unit

EXAMPLES = int(os.environ.get("EBBTIDE_FUZZ_EXAMPLES", "1500"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)

# -- strategies -------------------------------------------------------------------------------

numbers_as_text = st.sampled_from(
    [
        "9" * 400,
        "1e400",
        "-1",
        "NaN",
        "inf",
        "٣",
        "\uff11\uff12",
        "0x10",
        "1_000",
        "",
        " 1",
        "1e-400",
        "9" * 30 + "h",
    ]
)
odd_text = st.text(max_size=40) | numbers_as_text | st.just("x" * 100_000)
durations = (
    st.sampled_from(["90s", "1h30m", "0", "99999999999999999999s", "1e400s", "٣s", "-5m", "5"]) | odd_text
)
annotation_keys = st.sampled_from(
    [
        EXPECTED_DURATION_ANNOTATION,
        ADMITTED_AT,
        ADMISSION_DECISION,
        WAITING_REASON,
        WAITING_MESSAGE,
        QUEUE_POSITION,
        "ebbtide.io/affinity-key",
    ]
)
annotations = maybe(
    st.dictionaries(annotation_keys | st.text(max_size=10), maybe(durations | odd_text), max_size=6)
)
labels = maybe(
    st.dictionaries(st.sampled_from([QUEUE_LABEL, "app"]) | st.text(max_size=8), maybe(odd_text), max_size=4)
)
quantities = maybe(
    st.sampled_from(["1", "500m", "1Gi", "1e400", "9" * 60, "-1", "1Ei", "abc", "", "٣"]) | odd_text
)
resources = maybe(st.fixed_dictionaries({}, optional={"cpu": quantities, "memory": quantities}))
containers = maybe(
    st.lists(
        maybe(
            st.fixed_dictionaries(
                {"name": st.just("c")},
                optional={
                    "resources": maybe(
                        st.fixed_dictionaries({}, optional={"requests": resources, "limits": resources})
                    ),
                    "restartPolicy": maybe(st.just("Always")),
                },
            )
        ),
        max_size=3,
    )
)
owners = maybe(
    st.lists(
        maybe(
            st.fixed_dictionaries(
                {},
                optional={
                    "apiVersion": maybe(st.sampled_from(["batch/v1", "v1"])),
                    "kind": maybe(st.sampled_from(["Job", "ReplicaSet"])),
                    "uid": json_values,
                    "controller": json_values,
                },
            )
        ),
        max_size=3,
    )
)
gates = maybe(
    st.lists(
        maybe(st.fixed_dictionaries({"name": maybe(st.sampled_from([SCHEDULING_GATE, "x.io/g"]))})),
        max_size=3,
    )
)
integers = maybe(st.integers(min_value=-(2**70), max_value=2**70) | odd_text)

#: Field path -> values a hostile object may carry there (None deletes the field).
HOSTILE_FIELDS: dict[tuple[str, ...], st.SearchStrategy[Any]] = {
    ("metadata", "annotations"): annotations,
    ("metadata", "labels"): labels,
    ("metadata", "ownerReferences"): owners,
    ("metadata", "creationTimestamp"): maybe(odd_text | st.just("2024-05-01T12:00:00Z")),
    ("metadata", "deletionTimestamp"): maybe(st.none() | st.just("2024-05-01T12:00:00Z")),
    ("metadata", "uid"): maybe(odd_text),
    ("metadata", "name"): maybe(odd_text),
    ("metadata", "namespace"): maybe(odd_text),
    ("metadata", "resourceVersion"): maybe(odd_text),
    ("metadata",): maybe(st.none()),
    ("spec",): maybe(st.none()),
    ("spec", "containers"): containers,
    ("spec", "initContainers"): containers,
    ("spec", "overhead"): resources,
    ("spec", "priority"): integers,
    ("spec", "schedulingGates"): gates,
    ("spec", "nodeName"): maybe(odd_text),
    ("spec", "suspend"): json_values,
    ("spec", "parallelism"): integers,
    ("spec", "completions"): integers,
    ("spec", "template"): maybe(
        st.fixed_dictionaries({"spec": maybe(st.fixed_dictionaries({"containers": containers}))})
    ),
    ("status",): maybe(st.none()),
    ("status", "phase"): maybe(st.sampled_from(["Pending", "Running", "Succeeded", "Failed"]) | odd_text),
    ("status", "conditions"): json_values,
}
mutations = st.dictionaries(
    st.sampled_from(sorted(HOSTILE_FIELDS)), st.none(), min_size=1, max_size=5
).flatmap(lambda chosen: st.fixed_dictionaries({path: HOSTILE_FIELDS[path] for path in chosen}))


def mutated(obj: dict[str, Any], changes: dict[tuple[str, ...], Any]) -> dict[str, Any]:
    """``obj`` with each path set to its value (an intermediate that is not an object is replaced)."""
    result = copy.deepcopy(obj)
    for path, value in changes.items():
        target = result
        for key in path[:-1]:
            if not isinstance(target.get(key), dict):
                target[key] = {}
            target = target[key]
        target[path[-1]] = value
    return result


def good_pod(name: str, *, queue: str) -> dict[str, Any]:
    cluster = FakeCluster()
    cluster.add_pod(name, queue=queue, second=1)
    return cluster.pods[name]


def good_job() -> dict[str, Any]:
    return {
        "metadata": {"name": "j", "namespace": "ns", "uid": "uid-j", "labels": {QUEUE_LABEL: "a"}},
        "spec": {
            "suspend": True,
            "parallelism": 2,
            "template": {"spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": "1"}}}]}},
        },
    }


# -- the readers --------------------------------------------------------------------------------


@FUZZ
@given(changes=mutations)
def test_the_pod_reader_reads_any_pod(changes: dict[tuple[str, ...], Any]) -> None:
    record = read_pod(mutated(good_pod("p", queue="a"), changes)).workload
    if record.unreadable is not None:
        assert record.unreadable and record.requests.cpu_millis == record.requests.memory_bytes == 0
        assert record.state is not WorkloadState.ADMITTED or record.admitted_at


@FUZZ
@given(changes=mutations)
def test_the_job_reader_reads_any_job(changes: dict[tuple[str, ...], Any]) -> None:
    record = read_job(mutated(good_job(), changes))
    if record.unreadable is not None:
        assert record.unreadable and record.requests.cpu_millis == record.requests.memory_bytes == 0


def test_an_unreadable_pod_waits_with_its_reason() -> None:
    hostile = mutated(
        good_pod("p", queue="a"), {("spec", "containers"): [{"resources": {"requests": {"cpu": "lots"}}}]}
    )
    record = read_pod(hostile).workload
    assert record.state is WorkloadState.PENDING
    assert record.unreadable is not None and "'lots' is not a Kubernetes quantity" in record.unreadable


# -- a whole cycle ----------------------------------------------------------------------------

GOOD = [f"good-{index}" for index in range(6)]


@settings(FUZZ, max_examples=max(50, EXAMPLES // 10))
@given(hostile=st.lists(mutations, min_size=1, max_size=3))
def test_hostile_pods_beside_good_ones_never_stop_a_cycle(hostile: list[dict[tuple[str, ...], Any]]) -> None:
    cluster = FakeCluster()
    capacity = {"cpu": "64", "memory": "1Ti"}
    cluster.add_queue("a", weight=1, cohort="c", capacity=capacity)
    cluster.add_queue("b", weight=2, cohort="c", capacity=capacity)
    for index, name in enumerate(GOOD):
        cluster.add_pod(name, queue="ab"[index % 2], second=index)
    for index, changes in enumerate(hostile):
        name = f"hostile-{index}"
        obj = mutated(good_pod(name, queue="ab"[index % 2]), changes)
        # The fake cluster keys objects by name; keep the name it gave them.
        metadata = obj["metadata"] if isinstance(obj.get("metadata"), dict) else {}
        obj["metadata"] = {**metadata, "name": name, "namespace": "ns", "uid": name, "resourceVersion": "1"}
        cluster.pods[name] = obj
    with ThreadPoolExecutor(4) as pool:
        running = engine(cluster, pool)
        assert running.store.view().synced
        running.run()
        cluster.feed(running.store)
        running.run()
    # A hostile pod that reads as running (ungated, with or without a forged admission) holds
    # capacity as running pods do; forging that is the admission policies' to refuse (see
    # tests/e2e/test_fair_queue_tenancy.py). Then good pods may wait, but each says why.
    holding = any(
        read_pod(cluster.pods[f"hostile-{index}"]).workload.state
        in (WorkloadState.ADMITTED, WorkloadState.UNMANAGED)
        for index in range(len(hostile))
    )
    for name in GOOD:
        notes = cluster.pods[name]["metadata"]["annotations"]
        assert ADMITTED_AT in notes or (holding and notes.get(WAITING_REASON)), (name, notes)
    for index in range(len(hostile)):
        record = read_pod(cluster.pods[f"hostile-{index}"]).workload
        if record.state is WorkloadState.PENDING and record.queue in ("a", "b"):
            assert record.waiting_reason, f"hostile-{index} waits without a reason: {record}"


def test_an_unreadable_pod_is_told_why_it_waits_and_the_others_are_admitted() -> None:
    cluster = FakeCluster()
    cluster.add_queue("a", weight=1, cohort="c", capacity={"cpu": "8", "memory": "64Gi"})
    cluster.add_pod("good", queue="a", second=2)
    cluster.add_pod("bad", queue="a", second=1)
    cluster.pods["bad"]["spec"]["containers"][0]["resources"]["requests"]["cpu"] = "lots"
    with ThreadPoolExecutor(2) as pool:
        engine(cluster, pool).run()
    assert ADMITTED_AT in cluster.pods["good"]["metadata"]["annotations"]
    notes = cluster.pods["bad"]["metadata"]["annotations"]
    assert notes[WAITING_REASON] == "InvalidWorkload"
    assert "'lots' is not a Kubernetes quantity" in notes[WAITING_MESSAGE]
    assert ("bad", "InvalidWorkload") in cluster.events
