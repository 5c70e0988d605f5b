"""The demo's batch backlog: Jobs submitted to its FairQueues and kept topped up.

Each queue always has a few Jobs waiting, so both queues stay backlogged for the whole run and
the CPU they are given shows their weights. Jobs are made from ``examples/demo/batch-job.yaml``.
"""

from __future__ import annotations

import copy
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client

from ebbtide.api.fairqueue_vocabulary import ADMITTED_AT, QUEUE_LABEL

#: The label every object the demo makes carries.
PART_OF = "app.kubernetes.io/part-of"
PART_OF_VALUE = "ebbtide-demo"
DEMO_SELECTOR = f"{PART_OF}={PART_OF_VALUE}"


def admitted(job: Any) -> bool:
    """Whether the fair queue has admitted ``job`` (a V1Job)."""
    return ADMITTED_AT in (job.metadata.annotations or {})


def queue_of(job: Any) -> str | None:
    return (job.metadata.labels or {}).get(QUEUE_LABEL)


class Backlog:
    """Keeps ``waiting`` Jobs of this run pending in each of ``queues``."""

    def __init__(
        self, batch: client.BatchV1Api, *, namespace: str, template: Path, queues: Iterable[str], waiting: int
    ) -> None:
        self.batch = batch
        self.namespace = namespace
        self.template: dict[str, Any] = yaml.safe_load(template.read_text())
        self.queues = tuple(queues)
        self.waiting = waiting
        self.submitted: Counter[str] = Counter()

    def top_up(self, jobs: Iterable[Any]) -> int:
        """Submit Jobs until every queue has ``waiting`` pending among ``jobs`` (the demo's Jobs
        as last listed); returns how many were submitted."""
        pending = Counter(queue_of(job) for job in jobs if not admitted(job))
        made = 0
        # In turns, so that no queue's Jobs are all older than the other's.
        while any(pending[queue] < self.waiting for queue in self.queues):
            for queue in self.queues:
                if pending[queue] < self.waiting:
                    self.batch.create_namespaced_job(self.namespace, self._job(queue))
                    pending[queue] += 1
                    made += 1
        return made

    def _job(self, queue: str) -> dict[str, Any]:
        self.submitted[queue] += 1
        job = copy.deepcopy(self.template)
        metadata = job.setdefault("metadata", {})
        metadata["name"] = f"{queue}-{self.submitted[queue]:04d}"
        metadata.setdefault("labels", {}).update({QUEUE_LABEL: queue, PART_OF: PART_OF_VALUE})
        return dict(job)


def list_jobs(batch: client.BatchV1Api, *, namespace: str) -> list[Any]:
    """The demo's Jobs in ``namespace``."""
    return list(batch.list_namespaced_job(namespace, label_selector=DEMO_SELECTOR).items)


def delete_jobs(batch: client.BatchV1Api, *, namespace: str, timeout: float = 60.0) -> int:
    """Delete the Jobs an earlier demo run left (with their pods) and wait until they are gone;
    returns how many there were."""
    jobs = list_jobs(batch, namespace=namespace)
    if jobs:
        batch.delete_collection_namespaced_job(
            namespace, label_selector=DEMO_SELECTOR, propagation_policy="Foreground"
        )
    deadline = time.monotonic() + timeout
    while list_jobs(batch, namespace=namespace) and time.monotonic() < deadline:
        time.sleep(1.0)
    return len(jobs)


def read_placement(
    core: client.CoreV1Api, *, namespace: str, deployments: Iterable[str]
) -> dict[str, dict[str, int]]:
    """Deployment -> node -> number of its bound pods (label ``app.kubernetes.io/name``)."""
    result: dict[str, dict[str, int]] = {}
    for name in deployments:
        pods = core.list_namespaced_pod(namespace, label_selector=f"app.kubernetes.io/name={name}").items
        nodes = Counter(pod.spec.node_name for pod in pods if pod.spec.node_name)
        result[name] = dict(sorted(nodes.items()))
    return result


def wait_placed(
    core: client.CoreV1Api, *, namespace: str, replicas: Mapping[str, int], timeout: float = 60.0
) -> dict[str, dict[str, int]]:
    """Wait until every Deployment in ``replicas`` has that many pods bound (or ``timeout``
    passes) and return the placement."""
    deadline = time.monotonic() + timeout
    while True:
        placed = read_placement(core, namespace=namespace, deployments=replicas)
        complete = all(sum(placed[name].values()) >= count for name, count in replicas.items())
        if complete or time.monotonic() > deadline:
            return placed
        time.sleep(1.0)
