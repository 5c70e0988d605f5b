"""One look at the cluster: the web Deployment, its ScalingPolicy, the demo's queues and Jobs.

Every read is a plain GET or LIST through the official client. A read that fails (the API
server is busy, the operator has not written a status yet) leaves its fields None for that look:
the live view must keep going.

The forecast comes from the operator's /metrics (``ebbtide_scaling_predicted_load``), which
changes every round: the policy's status carries it too, but the operator writes a status whose
only change is a load figure at most once a minute.
"""

from __future__ import annotations

import logging
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from kubernetes import client
from kubernetes.utils import parse_quantity
from prometheus_client.parser import text_string_to_metric_families

from ebbtide.api import API_GROUP, API_VERSION, FairQueue, ScalingPolicy
from ebbtide.api.fairqueue import FairQueueStatus
from ebbtide.api.fairqueue_vocabulary import ADMITTED_AT
from ebbtide.api.scalingpolicy import ScalingPolicyStatus
from ebbtide.demo.ledger import JobLedger, JobTally
from ebbtide.demo.timeline import QueueSample, Sample
from ebbtide.demo.workloads import admitted, queue_of

logger = logging.getLogger(__name__)

#: The operator's gauge of each policy's latest forecast.
PREDICTED_LOAD_METRIC = "ebbtide_scaling_predicted_load"


def predicted_load(exposition: str, *, namespace: str, name: str) -> float | None:
    """The forecast of policy ``namespace/name`` in a /metrics text; None if it has none."""
    for family in text_string_to_metric_families(exposition):
        if family.name != PREDICTED_LOAD_METRIC:
            continue
        for sample in family.samples:
            if sample.labels.get("namespace") == namespace and sample.labels.get("name") == name:
                return float(sample.value)
    return None


def record_jobs(ledger: JobLedger, jobs: Iterable[Any], *, now: datetime) -> set[str]:
    """Note the admitted ones among ``jobs`` (V1Job) in ``ledger``; returns the names of all."""
    names = set()
    for job in jobs:
        names.add(job.metadata.name)
        queue = queue_of(job)
        if queue is None or not admitted(job):
            continue
        ended = job.status.completion_time if job.status else None
        ledger.record(
            name=job.metadata.name,
            queue=queue,
            cpu=_cpu(job),
            admitted_at=datetime.fromisoformat(job.metadata.annotations[ADMITTED_AT]),
            ended_at=ended,
            seen_at=now,
        )
    return names


def _cpu(job: Any) -> float:
    containers = job.spec.template.spec.containers or []
    total = 0.0
    for container in containers:
        requests = (container.resources.requests or {}) if container.resources else {}
        if "cpu" in requests:
            total += float(parse_quantity(requests["cpu"]))
    return total


class Observer:
    """Reads what the live view shows, for the ScalingPolicy ``policy`` and its target
    Deployment ``deployment`` in ``namespace``, and the FairQueues ``queues`` (name -> weight).
    ``read_metrics`` returns the operator's /metrics text, raising OSError when it cannot."""

    def __init__(
        self,
        api_client: client.ApiClient,
        *,
        namespace: str,
        policy: str,
        deployment: str,
        queues: Mapping[str, float],
        read_metrics: Callable[[], str],
    ) -> None:
        self.apps = client.AppsV1Api(api_client)
        self.custom = client.CustomObjectsApi(api_client)
        self.namespace = namespace
        self.policy = policy
        self.deployment = deployment
        self.queues = dict(queues)
        self.read_metrics = read_metrics
        self.ledger = JobLedger()

    def look(self, *, elapsed: float, load: float, jobs: Iterable[Any] | None) -> Sample:
        """A sample of now; ``elapsed`` and ``load`` are the exporter's, ``jobs`` the demo's
        Jobs as just listed (None: the list failed)."""
        now = datetime.now(UTC)
        present = None if jobs is None else record_jobs(self.ledger, jobs, now=now)
        status = self._policy_status()
        desired, ready = self._replicas()
        decision = status.last_decision if status else None
        return Sample(
            elapsed=elapsed,
            load=load,
            predicted_load=self._predicted_load(status),
            desired_replicas=desired,
            ready_replicas=ready,
            model=status.model if status else None,
            reason=decision.reason if decision else None,
            message=decision.message if decision else None,
            queues=self._queues(self.ledger.tallies(now=now, present=present)),
        )

    def _policy_status(self) -> ScalingPolicyStatus | None:
        try:
            obj = self.custom.get_namespaced_custom_object(
                API_GROUP, API_VERSION, self.namespace, ScalingPolicy.PLURAL, self.policy
            )
            return ScalingPolicy.model_validate(obj).status
        except Exception as error:  # busy API server, or a status being written: next look
            logger.debug("reading the ScalingPolicy failed: %s", error)
            return None

    def _predicted_load(self, status: ScalingPolicyStatus | None) -> float | None:
        try:
            exposition = self.read_metrics()
        except OSError as error:
            logger.debug("reading the operator's metrics failed: %s", error)
            return status.predicted_load if status else None
        return predicted_load(exposition, namespace=self.namespace, name=self.policy)

    def _replicas(self) -> tuple[int | None, int | None]:
        try:
            deployment = self.apps.read_namespaced_deployment(self.deployment, self.namespace)
        except Exception as error:
            logger.debug("reading the Deployment failed: %s", error)
            return None, None
        return deployment.spec.replicas, deployment.status.available_replicas or 0

    def _queues(self, tallies: dict[str, JobTally]) -> tuple[QueueSample, ...]:
        try:
            listed = self.custom.list_cluster_custom_object(API_GROUP, API_VERSION, FairQueue.PLURAL)
            found = {q.metadata.name: q for q in map(FairQueue.model_validate, listed.get("items", []))}
        except Exception as error:
            logger.debug("listing the FairQueues failed: %s", error)
            found = {}
        samples = []
        for name, weight in self.queues.items():
            queue = found.get(name)
            status = queue.status if queue else FairQueueStatus()
            tally = tallies.get(name, JobTally())
            samples.append(
                QueueSample(
                    name=name,
                    weight=weight,
                    pending=status.pending,
                    running=status.admitted,
                    share=status.share,
                    admitted=tally.admitted,
                    cpu_seconds=tally.cpu_seconds,
                )
            )
        return tuple(samples)


def metrics_reader(url: str) -> Callable[[], str]:
    """A ``read_metrics`` for an operator serving /metrics at ``url``."""

    def read() -> str:
        with urllib.request.urlopen(url, timeout=2) as response:
            return str(response.read().decode())

    return read
