"""Preempting queued Pods and Jobs: suspending a Job again, deleting a bare pod.

Every call blocks and goes through :func:`ebbtide.kube.retrying.with_retries`. The patches
(:mod:`ebbtide.api.preemption_marks`) carry the resourceVersion the decision was made on; on
409 Conflict nothing is written and the next cycle decides again on a fresh view, so a
preemption is never carried out on a stale one. A pod is deleted only after its mark landed,
with its uid as precondition, so a pod of the same name created since is never touched.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from kubernetes import client

from ebbtide.api.fairqueue_vocabulary import FIELD_MANAGER
from ebbtide.api.workloads import WorkloadRecord, read_job, read_pod
from ebbtide.kube.errors import ConflictError, NotFoundError
from ebbtide.kube.retrying import REQUEST_TIMEOUT, with_retries
from ebbtide.kube.status import MERGE_PATCH


class PreemptResult(StrEnum):
    PREEMPTED = "Preempted"
    """The Job is suspended again, or the pod is marked and deleted."""
    CHANGED = "Changed"
    """The object changed since the decision; nothing was written."""
    GONE = "Gone"
    """The object no longer exists."""


@dataclass(frozen=True, slots=True)
class PreemptOutcome:
    """What a preemption did; ``record`` is the object as written (None for a deleted pod)."""

    result: PreemptResult
    record: WorkloadRecord | None


class PreemptionWriter:
    """Suspends Jobs and deletes pods through one API client (thread-safe)."""

    def __init__(self, api_client: client.ApiClient) -> None:
        self._core = client.CoreV1Api(api_client)
        self._batch = client.BatchV1Api(api_client)

    def preempt(self, workload: WorkloadRecord, *, patch: Mapping[str, Any]) -> PreemptOutcome:
        """Write ``patch`` (a Job's suspension, a pod's mark), then delete a pod."""
        options: dict[str, Any] = {
            "field_manager": FIELD_MANAGER,
            "_content_type": MERGE_PATCH,
            "_preload_content": False,
            "_request_timeout": REQUEST_TIMEOUT,
        }
        what = f"preempting {workload.kind} {workload.namespace}/{workload.name}"
        try:
            if workload.kind == "Job":
                answer = with_retries(
                    lambda: self._batch.patch_namespaced_job(
                        workload.name, workload.namespace, dict(patch), **options
                    ),
                    what=what,
                )
                return PreemptOutcome(PreemptResult.PREEMPTED, read_job(json.loads(answer.data)))
            answer = with_retries(
                lambda: self._core.patch_namespaced_pod(
                    workload.name, workload.namespace, dict(patch), **options
                ),
                what=what,
            )
            marked = read_pod(json.loads(answer.data)).workload
        except NotFoundError:
            return PreemptOutcome(PreemptResult.GONE, None)
        except ConflictError:
            return PreemptOutcome(PreemptResult.CHANGED, None)
        return self.delete_pod(marked)

    def delete_pod(self, workload: WorkloadRecord) -> PreemptOutcome:
        """Delete a marked pod, only the very one (uid precondition)."""
        body = client.V1DeleteOptions(preconditions=client.V1Preconditions(uid=workload.uid))
        try:
            with_retries(
                lambda: self._core.delete_namespaced_pod(
                    workload.name, workload.namespace, body=body, _request_timeout=REQUEST_TIMEOUT
                ),
                what=f"deleting preempted pod {workload.namespace}/{workload.name}",
            )
        except NotFoundError:
            return PreemptOutcome(PreemptResult.GONE, None)
        except ConflictError:
            return PreemptOutcome(PreemptResult.CHANGED, None)
        return PreemptOutcome(PreemptResult.PREEMPTED, None)
