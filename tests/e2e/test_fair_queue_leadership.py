"""Two operator replicas on the real test bed, one admitting: the fair-queue engine's leader
election on a coordination.k8s.io/v1 Lease.

Each test runs two real ``ebbtide operator --controllers=queueing`` processes as the chart runs
them: with its service account (whose Role grants the Lease in the release namespace), serving the
chart's webhook configuration from a given certificate (it calls the first replica; the Jobs are
all created before any replica is stopped). No other test's operator runs meanwhile. The leader
is SIGKILLed mid-backlog, or stopped gracefully, and the standby must take over: after the Lease
expired in the first case (and never before), at once in the second, and every Job must be
admitted exactly once either way.
"""

from __future__ import annotations

import socket
import time
import urllib.request
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from prometheus_client.parser import text_string_to_metric_families
from tests.e2e.test_fair_queue import (
    AdmissionRecorder,
    Queues,
    annotations,
    job_manifest,
    parse_time,
    wait_for_webhook,
)
from tests.support.chart_identities import NAMESPACE as LEASE_NAMESPACE
from tests.support.chart_identities import ChartIdentities, chart_webhook
from tests.support.cluster import E2ECluster
from tests.support.operator import OperatorProcess, free_port, running_operator
from tests.support.waiting import eventually

from ebbtide.api.fairqueue_vocabulary import ADMITTED_AT
from ebbtide.controllers.fairqueue.leadership import LEASE_NAME
from ebbtide.kube.lease_election import DEFAULT_TIMING

LEASE = DEFAULT_TIMING.lease_duration
RETRY = DEFAULT_TIMING.retry_period


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def replicas(
    cluster: E2ECluster,
    chart_identities: ChartIdentities,
    namespace: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[list[OperatorProcess]]:
    """Two operators with the queue controller, started one after the other, with the chart's
    identity; the Lease lives in the release namespace, their identities are ``hostname_pid``."""
    monkeypatch.setenv("POD_NAMESPACE", LEASE_NAMESPACE)
    monkeypatch.delenv("POD_NAME", raising=False)
    with ExitStack() as stack:
        webhook = stack.enter_context(chart_webhook(cluster, chart_identities, tmp_path, port=free_port()))
        started = []
        for index in range(2):
            log = tmp_path / f"operator-{index}.log"
            port = webhook.port if index == 0 else free_port()
            started.append(
                stack.enter_context(
                    running_operator(
                        cluster,
                        log=log,
                        controllers="queueing",
                        kubeconfig=chart_identities.operator,
                        extra_args=webhook.operator_args(port),
                    )
                )
            )
        wait_for_webhook(cluster)
        yield started


@pytest.fixture
def queues(cluster: E2ECluster) -> Iterator[Queues]:
    made = Queues(cluster)
    yield made
    made.delete_all()


# -- helpers ----------------------------------------------------------------------------------


def identity(operator: OperatorProcess) -> str:
    """The holder name the operator writes into the Lease (no ``$POD_NAME``: hostname_pid)."""
    assert operator.process is not None
    return f"{socket.gethostname()}_{operator.process.pid}"


def samples(operator: OperatorProcess) -> dict[tuple[str, tuple[tuple[str, str], ...]], float] | None:
    """The operator's /metrics as {(sample name, sorted labels): value}; None if it does not answer."""
    try:
        with urllib.request.urlopen(operator.metrics_url, timeout=2) as response:
            text = response.read().decode()
    except OSError:
        return None
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def leading(operator: OperatorProcess) -> float | None:
    found = samples(operator)
    return None if found is None else found.get(("ebbtide_fairqueue_leader", ()))


def admissions_by(operator: OperatorProcess, queue: str) -> float:
    found = samples(operator) or {}
    return found.get(("ebbtide_fairqueue_admissions_total", (("queue", queue),)), 0.0)


def read_lease(cluster: E2ECluster, namespace: str) -> client.V1Lease | None:
    try:
        return client.CoordinationV1Api(cluster.api_client).read_namespaced_lease(LEASE_NAME, namespace)
    except ApiException as error:
        if error.status == 404:
            return None
        raise


def holder(cluster: E2ECluster, namespace: str) -> str | None:
    lease = read_lease(cluster, LEASE_NAMESPACE)
    return None if lease is None else lease.spec.holder_identity


def one_leader(
    cluster: E2ECluster, namespace: str, replicas: list[OperatorProcess]
) -> tuple[OperatorProcess, OperatorProcess]:
    """(leader, standby) once exactly one replica reports leading and holds the Lease."""

    def settled() -> tuple[OperatorProcess, OperatorProcess] | None:
        flags = [leading(operator) for operator in replicas]
        if sorted(flag or 0.0 for flag in flags) != [0.0, 1.0] or None in flags:
            return None
        leader = replicas[flags.index(1.0)]
        standby = replicas[flags.index(0.0)]
        return (leader, standby) if holder(cluster, LEASE_NAMESPACE) == identity(leader) else None

    # A first candidate creates the Lease at once; allow for both operators' start-up.
    return eventually(settled, timeout=60, what="exactly one replica to lead and hold the lease")


# -- tests ------------------------------------------------------------------------------------


def test_a_killed_leaders_backlog_is_admitted_exactly_once_by_the_standby_after_the_lease_expires(
    cluster: E2ECluster,
    namespace: str,
    replicas: list[OperatorProcess],
    queues: Queues,
    record_property: Callable[[str, object], None],
) -> None:
    leader, standby = one_leader(cluster, namespace, replicas)
    queue = queues.create("failover", capacity={"cpu": "2", "memory": "16Gi"})
    names = [f"job-{index:02d}" for index in range(16)]

    def admitted_count() -> int:
        jobs = cluster.batch.list_namespaced_job(namespace).items
        return sum(1 for job in jobs if ADMITTED_AT in annotations(job))

    with AdmissionRecorder(cluster, namespace) as recorder:
        for name in names:
            cluster.batch.create_namespaced_job(namespace, job_manifest(name, queue=queue, duration="3s"))
        eventually(lambda: admitted_count() >= 4, what="the leader to admit part of the backlog")
        assert (leading(leader), leading(standby)) == (1.0, 0.0)
        assert admissions_by(standby, queue) == 0, "the standby admitted while the leader led"

        killed_wall = datetime.now(UTC)
        killed = time.monotonic()
        leader.kill()
        assert admitted_count() < len(names), "the leader must die with work still pending"

        eventually(
            lambda: holder(cluster, LEASE_NAMESPACE) == identity(standby),
            timeout=LEASE + 4 * RETRY + 15,
            every=0.2,
            what="the standby to take the lease",
        )
        took = time.monotonic() - killed
        record_property("takeover_seconds", round(took, 1))
        # The standby waits a whole lease from when it saw the last renewal, which came at most a
        # retry period before the kill; then up to a retry period passes before its next attempt.
        assert LEASE - RETRY - 1 <= took <= LEASE + 2 * RETRY + 3, f"took over after {took:.1f}s"
        eventually(lambda: leading(standby) == 1.0, what="the new leader to report leading")

        def all_complete() -> list[client.V1Job] | None:
            jobs = cluster.batch.list_namespaced_job(namespace).items
            done = len(jobs) == len(names) and all(job.status.succeeded == 1 for job in jobs)
            return jobs if done else None

        jobs = eventually(all_complete, timeout=180, every=1, what="every Job to run to completion")
        eventually(
            lambda: all(recorder.values.get(name) for name in names), what="the watch to see every admission"
        )

    # Exactly once each: one admitted-at value ever, never removed, one pod per Job.
    assert {name: len(values) for name, values in recorder.values.items()} == dict.fromkeys(names, 1)
    assert recorder.removed == set()
    pods = cluster.core.list_namespaced_pod(namespace, label_selector="batch.kubernetes.io/job-name").items
    per_job: dict[str, int] = defaultdict(int)
    for pod in pods:
        per_job[pod.metadata.labels["batch.kubernetes.io/job-name"]] += 1
    assert per_job == dict.fromkeys(names, 1)

    # Nobody admitted while the lease was held by the dead leader; the new leader admitted the rest.
    lease = read_lease(cluster, LEASE_NAMESPACE)
    assert lease is not None
    acquired = lease.spec.acquire_time.astimezone(UTC)
    assert lease.spec.lease_transitions >= 1
    times = [parse_time(annotations(job)[ADMITTED_AT]) for job in jobs]
    assert not [t for t in times if killed_wall <= t < acquired], "an admission while nobody led"
    after = sum(1 for t in times if t >= acquired)
    assert after >= 1
    assert admissions_by(standby, queue) == after


def test_a_leader_stopped_gracefully_releases_the_lease_and_the_standby_takes_over_at_once(
    cluster: E2ECluster,
    namespace: str,
    replicas: list[OperatorProcess],
    record_property: Callable[[str, object], None],
) -> None:
    leader, standby = one_leader(cluster, namespace, replicas)
    transitions = read_lease(cluster, LEASE_NAMESPACE).spec.lease_transitions or 0  # type: ignore[union-attr]

    stopping = time.monotonic()
    leader.stop()  # SIGTERM, and wait for the process to exit
    eventually(
        lambda: holder(cluster, LEASE_NAMESPACE) == identity(standby),
        timeout=LEASE + 4 * RETRY,
        every=0.2,
        what="the standby to take the lease",
    )
    took = time.monotonic() - stopping
    record_property("handover_seconds", round(took, 1))
    # Waiting for expiry would take at least LEASE - RETRY from the stop: the release is what
    # makes it quick (the standby's next attempt, plus the operator's own shutdown).
    assert took < LEASE - RETRY - 3, f"handed over after {took:.1f}s"
    lease = read_lease(cluster, LEASE_NAMESPACE)
    assert lease is not None
    assert lease.spec.lease_transitions == transitions + 1
    eventually(lambda: leading(standby) == 1.0, what="the new leader to report leading")
