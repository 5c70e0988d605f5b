"""ScalingPolicies shared out among three operator replicas on the real test bed.

Three real ``ebbtide operator --controllers=scaling`` processes run as the chart runs them: with
its service account (whose Role grants the membership Leases in the release namespace), each
named by ``$POD_NAME``. They share many policies (``EBBTIDE_SHARD_POLICIES``, default 60, at
``EBBTIDE_SHARD_INTERVAL``, default 10 s, sized for a 2-core CI machine; larger runs are
parametrised: ``EBBTIDE_SHARD_POLICIES=300 EBBTIDE_SHARD_INTERVAL=20 pytest <this file>``, or
``EBBTIDE_SHARD_POLICIES=3000 EBBTIDE_SHARD_INTERVAL=60 EBBTIDE_SHARD_CHANGE_EVERY=4 pytest
--timeout=2400 <this file>``), each scaling a custom resource with a /scale subresource (no pods,
so the test bed spends itself on the operators, not on KWOK). Each policy's load alternates (a
PromQL expression of ``time()``), by default every interval, so every round patches its target:
the API server's audit log then shows which replica acted on which policy when (each replica's
identity rides in its User-Agent).

The scenario: the replicas split the policies by the ring, about a third each; one is SIGKILLed
and its policies are decided again by the other two after its Lease expires, within the lease
duration plus one interval, and only those move; it restarts, and the same third moves back.
Throughout, no policy is patched by two replicas within one interval, and a replica reads
Prometheus only for the policies it owns.
"""

from __future__ import annotations

import json
import math
import os
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException
from prometheus_client.parser import text_string_to_metric_families
from tests.support.chart_identities import NAMESPACE as RELEASE_NAMESPACE
from tests.support.chart_identities import TEST_SCALE_GROUP, TEST_SCALE_PLURAL, ChartIdentities
from tests.support.cluster import E2ECluster
from tests.support.operator import OperatorProcess, running_operator
from tests.support.waiting import eventually

from ebbtide.api import API_GROUP, API_VERSION, ScalingPolicy
from ebbtide.controllers.scaling.ownership import policy_key
from ebbtide.sharding.ownership import DEFAULT_SHARD_TIMING, SHARD_VIRTUAL_NODES
from ebbtide.sharding.ring import HashRing

pytestmark = pytest.mark.e2e

POLICIES = int(os.environ.get("EBBTIDE_SHARD_POLICIES", "60"))
INTERVAL = float(os.environ.get("EBBTIDE_SHARD_INTERVAL", "10"))
REPLICAS = 3
TIMING = DEFAULT_SHARD_TIMING
#: How late a round may start on a busy test bed; two replicas' patches of one policy closer than
#: the interval less this are counted as one interval's double patch.
LATENESS = 2.0
#: How far a replica's share may be from a third: 15 %, or, with few policies, three standard
#: deviations of a binomial share (hashing the names alone spreads a few hundred keys that much).
SPREAD = max(0.15 * POLICIES / REPLICAS, 3 * math.sqrt(POLICIES * (1 / REPLICAS) * (1 - 1 / REPLICAS)))
#: How often to list every policy while waiting (a list of 3,000 is megabytes).
POLL = max(2.0, POLICIES / 500)
#: Intervals between changes of each policy's load (``EBBTIDE_SHARD_CHANGE_EVERY``, default 1: a
#: patch in every round). Larger runs change each load less often, with the policies' changes
#: spread over the intervals, so that the test bed's API server is not asked for a /scale patch and
#: a status write per policy per round (3,000 policies at 60 s would be 100 writes/s).
CHANGE_EVERY = int(os.environ.get("EBBTIDE_SHARD_CHANGE_EVERY", "1"))
KIND = "ReplicaCounter"


def load_query(index: int) -> str:
    """15 and 25 in alternate spells of ``CHANGE_EVERY`` intervals (2 and 3 replicas at 10 per
    replica), the spells of policy ``index`` shifted by ``index`` intervals."""
    phase = index % CHANGE_EVERY
    return f"15 + 10 * (floor((vector(time()) / {INTERVAL:g} + {phase}) / {CHANGE_EVERY}) % 2)"


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def counter_crd(cluster: E2ECluster) -> str:
    """A namespaced kind with a /scale subresource and nothing that acts on it."""
    name = f"{TEST_SCALE_PLURAL}.{TEST_SCALE_GROUP}"
    crd: dict[str, Any] = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": name},
        "spec": {
            "group": TEST_SCALE_GROUP,
            "scope": "Namespaced",
            "names": {"plural": TEST_SCALE_PLURAL, "singular": "replicacounter", "kind": KIND},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "spec": {"type": "object", "properties": {"replicas": {"type": "integer"}}},
                                "status": {"type": "object", "properties": {"replicas": {"type": "integer"}}},
                            },
                        }
                    },
                    "subresources": {
                        "status": {},
                        "scale": {
                            "specReplicasPath": ".spec.replicas",
                            "statusReplicasPath": ".status.replicas",
                        },
                    },
                }
            ],
        },
    }
    cluster.kubectl("apply", "--server-side", "-f=-", input=json.dumps(crd))
    cluster.kubectl("wait", "--for=condition=Established", "--timeout=60s", f"crd/{name}")
    return name


def policy_body(index: int) -> dict[str, Any]:
    return {
        "apiVersion": f"{API_GROUP}/{API_VERSION}",
        "kind": ScalingPolicy.KIND,
        "metadata": {"name": f"p-{index:04d}"},
        "spec": {
            "targetRef": {"apiVersion": f"{TEST_SCALE_GROUP}/v1", "kind": KIND, "name": f"c-{index:04d}"},
            "minReplicas": 1,
            "maxReplicas": 10,
            "metric": {"query": load_query(index), "targetPerReplica": 10},
            "interval": f"{INTERVAL:g}s",
            "prediction": {"model": "None", "horizon": "10s", "history": "2m", "seasonality": None},
            "cooldown": {"scaleUp": "0s", "scaleDown": "0s"},
            "rateLimits": {"scaleUp": {"maxPods": 10, "period": "1s"}, "scaleDown": {"period": "1s"}},
        },
    }


@pytest.fixture
def policies(cluster: E2ECluster, counter_crd: str, namespace: str) -> list[str]:
    """``POLICIES`` counters at one replica and a policy for each; their names."""

    def create(index: int) -> str:
        counter = {
            "apiVersion": f"{TEST_SCALE_GROUP}/v1",
            "kind": KIND,
            "metadata": {"name": f"c-{index:04d}"},
            "spec": {"replicas": 1},
        }
        cluster.custom.create_namespaced_custom_object(
            TEST_SCALE_GROUP, "v1", namespace, TEST_SCALE_PLURAL, counter
        )
        body = policy_body(index)
        cluster.custom.create_namespaced_custom_object(
            API_GROUP, API_VERSION, namespace, ScalingPolicy.PLURAL, body
        )
        return str(body["metadata"]["name"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(create, range(POLICIES)))


@pytest.fixture
def replicas(
    cluster: E2ECluster,
    chart_identities: ChartIdentities,
    namespace: str,
    policies: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[list[OperatorProcess]]:
    """Three operators with the chart's identity, named ``<namespace>-<i>`` (the policies go
    with the test's namespace: nothing holds them)."""
    monkeypatch.setenv("POD_NAMESPACE", RELEASE_NAMESPACE)
    with ExitStack() as stack:
        started = []
        for index in range(REPLICAS):
            monkeypatch.setenv("POD_NAME", f"{namespace}-{index}")
            started.append(
                stack.enter_context(
                    running_operator(
                        cluster,
                        log=tmp_path / f"operator-{index}.log",
                        controllers="scaling",
                        kubeconfig=chart_identities.operator,
                        extra_args=(f"--namespace={namespace}",),
                    )
                )
            )
        yield started


# -- helpers ----------------------------------------------------------------------------------


def listed(cluster: E2ECluster, namespace: str) -> list[dict[str, Any]]:
    """Every policy in ``namespace``, from the API server's watch cache however far behind it
    is (``resourceVersion=0``): the test polls, so a list a moment old does, while a list that
    must be current waits for the cache to catch up, which under 3,000 policies' first status
    writes took longer than the request timeout. A list the API server could not answer (5xx)
    is asked for again."""
    for attempt in range(5):
        try:
            found = cluster.custom.list_namespaced_custom_object(
                API_GROUP, API_VERSION, namespace, ScalingPolicy.PLURAL, resource_version="0"
            )
            return list(found["items"])
        except ApiException as error:
            if error.status is None or error.status < 500 or attempt == 4:
                raise
            time.sleep(2)
    raise AssertionError("unreachable")


def owners(cluster: E2ECluster, namespace: str) -> dict[str, str | None]:
    """Each policy's status.owner (None before any round)."""
    return {
        item["metadata"]["name"]: (item.get("status") or {}).get("owner")
        for item in listed(cluster, namespace)
    }


def decided_at(item: dict[str, Any]) -> float | None:
    text = ((item.get("status") or {}).get("lastDecision") or {}).get("time")
    return None if text is None else datetime.fromisoformat(text).timestamp()


def ring_owners(names: list[str], *, namespace: str, members: list[str]) -> dict[str, str]:
    """Who owns each policy on the ring over ``members``, as the operators compute it."""
    ordered = sorted(members)
    ring = HashRing.over(ordered, virtual_nodes=SHARD_VIRTUAL_NODES)
    found = {}
    for name in names:
        owner = ring.owner(policy_key(namespace=namespace, name=name))
        assert owner is not None
        found[name] = ordered[owner]
    return found


def query_count(operator: OperatorProcess) -> float:
    """How many load queries the operator has sent to Prometheus."""
    with urllib.request.urlopen(operator.metrics_url, timeout=5) as response:
        text = response.read().decode()
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "ebbtide_prometheus_query_seconds_count"
    )


@dataclass(frozen=True)
class Patch:
    at: float
    target: str
    replica: str


def scale_patches(cluster: E2ECluster, namespace: str) -> list[Patch]:
    """Every /scale patch of a counter in ``namespace`` that the API server took, from its audit log."""
    assert cluster.local is not None, "the audit log is the local test bed's"
    patches = []
    for line in cluster.local.layout.audit_log.read_text().splitlines():
        event = json.loads(line)
        ref = event.get("objectRef") or {}
        if (
            event.get("verb") == "patch"
            and ref.get("resource") == TEST_SCALE_PLURAL
            and ref.get("subresource") == "scale"
            and ref.get("namespace") == namespace
            and (event.get("responseStatus") or {}).get("code") == 200
        ):
            agent = str(event.get("userAgent", ""))
            replica = agent.rsplit("ebbtide-replica/", 1)[-1] if "ebbtide-replica/" in agent else agent
            at = datetime.fromisoformat(event["requestReceivedTimestamp"]).timestamp()
            patches.append(Patch(at=at, target=ref["name"], replica=replica))
    return patches


def double_patches(patches: list[Patch]) -> tuple[int, float | None]:
    """Handovers in which two replicas patched one target less than an interval apart (less the
    lateness allowance), and the shortest gap of any handover."""
    by_target: dict[str, list[Patch]] = {}
    for patch in sorted(patches, key=lambda p: p.at):
        by_target.setdefault(patch.target, []).append(patch)
    doubles, shortest = 0, None
    for series in by_target.values():
        for before, after in pairwise(series):
            if before.replica != after.replica:
                gap = after.at - before.at
                shortest = gap if shortest is None else min(shortest, gap)
                doubles += gap < INTERVAL - LATENESS
    return doubles, shortest


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


# -- the scenario -----------------------------------------------------------------------------


def test_three_replicas_share_the_policies_hand_a_killed_ones_over_and_take_them_back(
    cluster: E2ECluster,
    namespace: str,
    policies: list[str],
    replicas: list[OperatorProcess],
    record_property: Callable[[str, object], None],
) -> None:
    def report(name: str, value: object) -> None:
        record_property(name, value)
        print(f"shards {POLICIES} policies at {INTERVAL:g}s: {name} = {value}")

    members = [f"{namespace}-{index}" for index in range(REPLICAS)]
    expected = ring_owners(policies, namespace=namespace, members=members)
    # A replica's first rounds come a settle period and an interval after it joins; a busy test
    # bed may make it miss a renewal and join again, and each replica that joins later defers the
    # policies it takes once more.
    settle = 3 * (TIMING.settle + 2 * INTERVAL) + 60

    # 1. Every policy is decided by its ring owner; each replica owns about a third.
    def all_owned() -> dict[str, str | None] | None:
        found = owners(cluster, namespace)
        if found == expected:
            return found
        wrong = Counter(
            (expected.get(name), owner) for name, owner in found.items() if owner != expected.get(name)
        )
        print(f"not yet owned as the ring says: {dict(wrong)}")
        return None

    before = eventually(
        all_owned, timeout=settle + POLICIES / 10, every=POLL, what="every policy to show its ring owner"
    )
    split = Counter(before.values())
    report("ownership_split", dict(split))
    for member in members:
        assert abs(split[member] - POLICIES / REPLICAS) <= SPREAD, split

    # A replica reads Prometheus for the policies it owns, and for no other.
    first = [query_count(operator) for operator in replicas]
    window_started = time.monotonic()
    time.sleep(2 * INTERVAL)  # a window of rounds to count queries over, not a wait for a state
    window = time.monotonic() - window_started
    queries = [query_count(operator) - count for operator, count in zip(replicas, first, strict=True)]
    per_replica = dict(zip(members, queries, strict=True))
    report("prometheus_queries_in_window", {"seconds": round(window), **per_replica})
    for member, count in zip(members, queries, strict=True):
        rounds = split[member] * window / INTERVAL
        assert 0.7 * rounds <= count <= 1.3 * rounds + split[member], (member, count, rounds)
    report("load_average_steady", load_average())

    # 2. SIGKILL one: its policies (and only those) are decided by the others after its Lease
    # expired, within the lease duration plus one interval.
    victim = members[1]
    orphans = {name for name, owner in before.items() if owner == victim}
    killed_at = time.time()
    replicas[1].kill()

    def taken_over() -> dict[str, float] | None:
        items = {item["metadata"]["name"]: item for item in listed(cluster, namespace)}
        decided = {}
        for name in orphans:
            item = items[name]
            owner = (item.get("status") or {}).get("owner")
            at = decided_at(item)
            if owner in (None, victim) or at is None or at <= killed_at:
                return None
            decided[name] = at - killed_at
        return decided

    taken = eventually(
        taken_over,
        timeout=TIMING.lease_duration + INTERVAL + 60,
        every=POLL / 2,
        what="the killed replica's policies to be decided by the others",
    )
    slowest, quickest = max(taken.values()), min(taken.values())
    report("takeover_seconds", {"min": round(quickest, 1), "max": round(slowest, 1)})
    report("load_average_takeover", load_average())
    assert slowest <= TIMING.lease_duration + INTERVAL, f"slowest takeover {slowest:.1f}s"
    assert quickest >= TIMING.lease_duration - TIMING.retry_period, f"taken over after {quickest:.1f}s"
    during = owners(cluster, namespace)
    assert during == ring_owners(policies, namespace=namespace, members=[members[0], members[2]])
    assert {name for name in policies if during[name] != before[name]} == orphans

    # 3. Restart it: the same third moves back, and nothing else moves.
    replicas[1].start()
    after = eventually(
        all_owned, timeout=settle, every=POLL, what="the restarted replica's policies to come back"
    )
    moved_back = {name for name in policies if during[name] != after[name]}
    report("moved_back_fraction", round(len(moved_back) / POLICIES, 3))
    assert moved_back == orphans
    assert abs(len(moved_back) - POLICIES / REPLICAS) <= SPREAD

    # No policy was patched by two replicas in one interval, from start to end.
    time.sleep(INTERVAL)  # let the last round of this run reach the audit log (batched every second)
    patches = scale_patches(cluster, namespace)
    doubles, shortest = double_patches(patches)
    by_replica = Counter(patch.replica for patch in patches)
    report("scale_patches", dict(by_replica))
    report("double_patches", doubles)
    report("shortest_handover_gap_seconds", None if shortest is None else round(shortest, 1))
    assert set(by_replica) == set(members), by_replica
    assert doubles == 0, f"{doubles} double patches; shortest handover gap {shortest}"
