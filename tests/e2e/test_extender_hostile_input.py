"""The real extender process under hostile input: thousands of malformed, wrong-typed, deeply
nested and oversized bodies on /filter and /prioritize, sent over HTTP as nothing but a broken
scheduler would. Every answer is 200 or 400 with a reason, the process neither dies nor grows
without bound, and afterwards it still answers the real scheduler (a pod is placed through it).

``EBBTIDE_FUZZ_EXAMPLES`` sets how many examples each property runs (default 1500).
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kubernetes.client.exceptions import ApiException
from tests.support.chart_identities import ChartIdentities
from tests.support.cluster import E2ECluster
from tests.support.hostile_requests import extender_args, json_values
from tests.support.waiting import eventually

from ebbtide.devcluster.scheduling import SCHEDULER_NAME

EXAMPLES = int(os.environ.get("EBBTIDE_FUZZ_EXAMPLES", "1500"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
    database=None,
)
VERBS = ("/filter", "/prioritize")
#: The extender's default body limit (ExtenderConfig.server.maxBodyBytes).
DEFAULT_LIMIT = 32 * 1024 * 1024
#: How much the extender's resident memory may grow over the whole run.
MEMORY_GROWTH_LIMIT = 256 * 1024 * 1024

ANSWERS: dict[int, int] = {}


@pytest.fixture(scope="module")
def extender_url(cluster: E2ECluster, chart_identities: ChartIdentities) -> Iterator[str]:
    """The extender beside the second scheduler, with its default configuration; its resident
    memory is compared before and after the module, and it must still be the same process."""
    cluster.start_extender_scheduling(
        config={"apiVersion": "ebbtide.io/v1alpha1", "kind": "ExtenderConfiguration"},
        identities=chart_identities,
    )
    pid = extender_pid(cluster)
    before = resident_bytes(pid)
    yield cluster.extender_url
    after = resident_bytes(pid)
    total = sum(ANSWERS.values())
    print(f"\nextender answers by status: {dict(sorted(ANSWERS.items()))} of {total}")
    print(f"extender resident memory: {before >> 20} MiB before, {after >> 20} MiB after")
    assert extender_pid(cluster) == pid, "the extender restarted"
    assert after - before < MEMORY_GROWTH_LIMIT


def extender_pid(cluster: E2ECluster) -> int:
    [pid] = [status.pid for status in cluster.host.status() if status.name == "ebbtide-extender"]
    assert pid is not None, "the extender is not running"
    return pid


def resident_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for {pid}")


def post(url: str, body: bytes, *, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method="POST", headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, answer = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, answer = error.code, error.read()
    ANSWERS[status] = ANSWERS.get(status, 0) + 1
    return status, answer


def assert_answered(status: int, body: bytes) -> None:
    assert status in (200, 400), (status, body[:500])
    document = json.loads(body)
    if status == 400:
        assert isinstance(document, dict) and isinstance(document.get("Error"), str) and document["Error"]


@FUZZ
@given(verb=st.sampled_from(VERBS), body=st.binary(max_size=2048))
def test_random_bytes(extender_url: str, verb: str, body: bytes) -> None:
    assert_answered(*post(extender_url + verb, body))


@FUZZ
@given(verb=st.sampled_from(VERBS), document=json_values)
def test_random_json(extender_url: str, verb: str, document: object) -> None:
    assert_answered(*post(extender_url + verb, json.dumps(document).encode()))


@FUZZ
@given(verb=st.sampled_from(VERBS), args=extender_args)
def test_extender_arguments_with_anything_anywhere(extender_url: str, verb: str, args: object) -> None:
    assert_answered(*post(extender_url + verb, json.dumps(args).encode()))


@pytest.mark.parametrize("verb", VERBS)
@pytest.mark.parametrize("opener", ['{"Pod":', "[", '{"Pod":{"spec":{"containers":['])
def test_deep_nesting(extender_url: str, verb: str, opener: str) -> None:
    status, answer = post(extender_url + verb, (opener * 500_000).encode())
    assert status == 400
    assert_answered(status, answer)


@pytest.mark.parametrize("verb", VERBS)
def test_bodies_over_the_limit_are_refused_without_being_kept(extender_url: str, verb: str) -> None:
    # Announced too large: refused from the header. Streamed without a length: cut at the limit.
    oversized = b'{"Pod":{},"NodeNames":["' + b"n" * (DEFAULT_LIMIT + 1024) + b'"]}'
    for _ in range(3):
        status, answer = post(extender_url + verb, oversized)
        assert status == 400 and b"exceeds the limit" in answer

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(oversized), 1 << 20):
            yield oversized[start : start + (1 << 20)]

    request = urllib.request.Request(
        extender_url + verb, data=chunks(), method="POST", headers={"Transfer-Encoding": "chunked"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status, answer = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, answer = error.code, error.read()
    assert status == 400 and b"exceeds the limit" in answer


def test_the_extender_still_serves_the_scheduler_afterwards(cluster: E2ECluster, extender_url: str) -> None:
    with urllib.request.urlopen(extender_url + "/healthz", timeout=10) as response:
        assert response.status == 200
    namespace = f"t-{uuid.uuid4().hex[:10]}"
    cluster.core.create_namespace({"metadata": {"name": namespace, "labels": {"ebbtide.io/test": "true"}}})
    try:
        pod = {
            "metadata": {"name": "after-fuzz"},
            "spec": {
                "schedulerName": SCHEDULER_NAME,
                "containers": [{"name": "c", "image": "pause", "resources": {"requests": {"cpu": "100m"}}}],
            },
        }
        eventually(
            lambda: _create(cluster, namespace, pod), what="the namespace's default service account to exist"
        )
        eventually(
            lambda: cluster.core.read_namespaced_pod("after-fuzz", namespace).spec.node_name,
            what="the pod to be placed by the scheduler through the extender",
        )
        with urllib.request.urlopen(extender_url + "/metrics", timeout=10) as response:
            counted = [
                line
                for line in response.read().decode().splitlines()
                if line.startswith("ebbtide_extender_requests_total{")
            ]
        assert counted and not [line for line in counted if 'code="5' in line], counted
    finally:
        cluster.core.delete_namespace(namespace)


def _create(cluster: E2ECluster, namespace: str, pod: dict[str, object]) -> bool:
    try:
        cluster.core.create_namespaced_pod(namespace, pod)
    except ApiException as error:
        if error.status == 403:  # the service account is not there yet
            return False
        raise
    return True
