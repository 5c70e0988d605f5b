"""Handing back everything ebbtide holds, for when it is removed from a cluster.

While ebbtide runs it holds three things that outlive it if nobody lets go:

* queued Pods and Jobs, gated or suspended until the operator admits them;
* ScalingPolicies that still carry kopf's finalizer: an earlier ebbtide (a kopf daemon per
  policy) kept it on every policy, and the operator takes it off only the policies it decides,
  after a round, and those it sees deleted (see :mod:`ebbtide.controllers.scaling.finalizer`): a
  policy outside its namespaces, or one not decided yet, keeps it; deleting such a policy (or its
  namespace) without an operator never completes;
* the fair-queue webhook configuration, which fails closed: with no operator answering,
  labelled Pods and Jobs cannot even be created.

:func:`release_all` lets go of all three, in the order that keeps them let go: the webhook
configuration first (nothing new is gated), then the operator is stopped (it would gate and
admit), then every waiting workload is admitted as it stands, recorded as a release rather than
a queue decision, and any finalizer left is removed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

from kubernetes import client

from ebbtide.api import API_GROUP, API_VERSION, ScalingPolicy
from ebbtide.api.fairqueue_vocabulary import QUEUE_LABEL
from ebbtide.api.workloads import WorkloadRecord, WorkloadState, read_job, read_pod
from ebbtide.kube.errors import NotFoundError, translated
from ebbtide.kube.finalizers import KOPF_FINALIZER, remove_finalizer
from ebbtide.kube.reads import list_all
from ebbtide.kube.workload_writes import AdmitResult, WorkloadWriter

logger = logging.getLogger(__name__)

#: What a released workload's ``ebbtide.io/admission`` annotation says instead of a decision.
RELEASE_DECISION: Final = {"released": "ebbtide was removed from the cluster; no queue admitted this"}


@dataclass
class ReleaseReport:
    """What :func:`release_all` did, for the command to print."""

    webhook_configurations: list[str] = field(default_factory=list)
    stopped: str | None = None
    released: list[str] = field(default_factory=list)
    unfinalized: list[str] = field(default_factory=list)


def release_all(
    api_client: client.ApiClient,
    *,
    webhook_configurations: Sequence[str],
    operator_deployment: tuple[str, str] | None,
    stop_timeout: float = 120,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> ReleaseReport:
    """Let go of everything (see the module docstring); ``operator_deployment`` is the
    (namespace, name) of the operator's Deployment to scale to zero first, if it runs as one."""
    report = ReleaseReport()
    for name in webhook_configurations:
        if delete_webhook_configuration(api_client, name):
            report.webhook_configurations.append(name)
    if operator_deployment is not None and stop_deployment(
        api_client, *operator_deployment, timeout=stop_timeout
    ):
        report.stopped = "/".join(operator_deployment)
    writer = WorkloadWriter(api_client)
    for record in waiting_workloads(api_client):
        outcome = writer.admit(record, decision=RELEASE_DECISION, now=now())
        if outcome.result is AdmitResult.ADMITTED:
            report.released.append(f"{record.kind} {record.namespace}/{record.name}")
    report.unfinalized = remove_kopf_finalizers(api_client)
    return report


def delete_webhook_configuration(api_client: client.ApiClient, name: str) -> bool:
    """Delete MutatingWebhookConfiguration ``name``; False if there was none."""
    try:
        with translated():
            client.AdmissionregistrationV1Api(api_client).delete_mutating_webhook_configuration(name)
    except NotFoundError:
        return False
    return True


def stop_deployment(api_client: client.ApiClient, namespace: str, name: str, *, timeout: float) -> bool:
    """Scale Deployment ``name`` to zero and wait until none of its pods is left; False when
    there is no such Deployment. Raises TimeoutError after ``timeout`` seconds."""
    apps, core = client.AppsV1Api(api_client), client.CoreV1Api(api_client)
    try:
        with translated():
            deployment = apps.read_namespaced_deployment(name, namespace)
            apps.patch_namespaced_deployment_scale(name, namespace, {"spec": {"replicas": 0}})
    except NotFoundError:
        return False
    labels = deployment.spec.selector.match_labels or {}
    selector = ",".join(f"{key}={value}" for key, value in sorted(labels.items()))
    deadline = time.monotonic() + timeout
    while list_all(core.list_namespaced_pod, namespace=namespace, label_selector=selector):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the pods of Deployment {namespace}/{name} did not stop within {timeout:g}s")
        time.sleep(1)
    return True


def waiting_workloads(api_client: client.ApiClient) -> list[WorkloadRecord]:
    """Every queued Pod and Job still held back, in every namespace."""
    core, batch = client.CoreV1Api(api_client), client.BatchV1Api(api_client)
    pods = [
        read_pod(obj).workload
        for obj in list_all(core.list_pod_for_all_namespaces, label_selector=QUEUE_LABEL)
    ]
    jobs = [read_job(obj) for obj in list_all(batch.list_job_for_all_namespaces, label_selector=QUEUE_LABEL)]
    return [
        record
        for record in (*pods, *jobs)
        if record.queue is not None and record.state is WorkloadState.PENDING
    ]


def remove_kopf_finalizers(api_client: client.ApiClient) -> list[str]:
    """Take kopf's finalizer off every ScalingPolicy still carrying it (left by an earlier
    ebbtide); returns ``namespace/name`` of each changed."""
    api = client.CustomObjectsApi(api_client)
    changed = []
    for obj in list_all(
        api.list_cluster_custom_object, group=API_GROUP, version=API_VERSION, plural=ScalingPolicy.PLURAL
    ):
        metadata = obj.get("metadata") or {}
        if remove_finalizer(
            api_client,
            group=API_GROUP,
            version=API_VERSION,
            plural=ScalingPolicy.PLURAL,
            metadata=metadata,
            finalizer=KOPF_FINALIZER,
        ):
            changed.append(f"{metadata['namespace']}/{metadata['name']}")
    return changed
