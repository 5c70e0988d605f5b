"""Writing to queued Pods and Jobs: admitting them, and telling them why they wait.

Every call blocks (the official client is synchronous) and goes through
:func:`ebbtide.kube.retrying.with_retries`; responses are read as plain JSON, never as the
client's model classes. Admission is optimistic: the patch carries the resourceVersion the
decision was made on (:func:`ebbtide.api.gates.admission_patch`). On 409 Conflict the object
is read again and the decision re-checked: already admitted (an earlier write landed, e.g.
just before a restart) is reported as such and never written twice; still pending in the same
queue with the same requests is retried on the fresh version; anything else is left for the
next cycle to decide.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from kubernetes import client

from ebbtide.api.fairqueue_vocabulary import FIELD_MANAGER
from ebbtide.api.gates import admission_patch, waiting_patch
from ebbtide.api.workloads import WorkloadRecord, WorkloadState, read_job, read_pod
from ebbtide.kube.answers import discard
from ebbtide.kube.errors import ConflictError, NotFoundError
from ebbtide.kube.retrying import REQUEST_TIMEOUT, with_retries
from ebbtide.kube.status import MERGE_PATCH


class AdmitResult(StrEnum):
    ADMITTED = "Admitted"
    """This call's write admitted the workload."""
    ALREADY_ADMITTED = "AlreadyAdmitted"
    """The object already carried an admission: nothing was written."""
    GONE = "Gone"
    """The object no longer exists."""
    CHANGED = "Changed"
    """The object changed so that the decision no longer holds; nothing was written."""


@dataclass(frozen=True, slots=True)
class AdmitOutcome:
    """What :meth:`WorkloadWriter.admit` did; ``record`` is the object as last seen (None if gone)."""

    result: AdmitResult
    record: WorkloadRecord | None


class WorkloadWriter:
    """Admits and annotates Pods and Jobs through one API client (thread-safe)."""

    def __init__(self, api_client: client.ApiClient, *, max_conflicts: int = 3) -> None:
        self._core = client.CoreV1Api(api_client)
        self._batch = client.BatchV1Api(api_client)
        self._max_conflicts = max_conflicts

    def admit(self, workload: WorkloadRecord, *, decision: Mapping[str, Any], now: datetime) -> AdmitOutcome:
        """Admit ``workload`` as it was read, unless it changed meanwhile (module docstring)."""
        current = workload
        for _ in range(self._max_conflicts):
            body = admission_patch(current, decision=decision, now=now)
            try:
                answer = with_retries(
                    functools.partial(self._patch, current, body), what=f"admitting {_name(current)}"
                )
            except NotFoundError:
                return AdmitOutcome(AdmitResult.GONE, None)
            except ConflictError:
                pass
            else:
                return AdmitOutcome(AdmitResult.ADMITTED, _read(current.kind, answer))
            fresh = self.read(current)
            if fresh is None:
                return AdmitOutcome(AdmitResult.GONE, None)
            if fresh.state is WorkloadState.ADMITTED:
                return AdmitOutcome(AdmitResult.ALREADY_ADMITTED, fresh)
            unchanged = (
                fresh.state is WorkloadState.PENDING
                and fresh.queue == workload.queue
                and fresh.requests == workload.requests
            )
            if not unchanged:
                return AdmitOutcome(AdmitResult.CHANGED, fresh)
            current = fresh
        return AdmitOutcome(AdmitResult.CHANGED, current)

    def annotate_waiting(
        self, workload: WorkloadRecord, *, reason: str, message: str, position: str | None
    ) -> bool:
        """Write why ``workload`` waits; False if it is gone. No resourceVersion: the
        annotations are informational and ebbtide is their only writer."""
        body = waiting_patch(reason=reason, message=message, position=position)
        try:
            answer = with_retries(lambda: self._patch(workload, body), what=f"annotating {_name(workload)}")
        except NotFoundError:
            return False
        discard(answer)
        return True

    def read(self, workload: WorkloadRecord) -> WorkloadRecord | None:
        """The workload as it is now, or None if it is gone."""
        try:
            answer = with_retries(lambda: self._get(workload), what=f"reading {_name(workload)}")
        except NotFoundError:
            return None
        return _read(workload.kind, answer)

    def _patch(self, workload: WorkloadRecord, body: Mapping[str, Any]) -> Any:
        options: dict[str, Any] = {
            "field_manager": FIELD_MANAGER,
            "_content_type": MERGE_PATCH,
            "_preload_content": False,
            "_request_timeout": REQUEST_TIMEOUT,
        }
        if workload.kind == "Pod":
            return self._core.patch_namespaced_pod(workload.name, workload.namespace, dict(body), **options)
        return self._batch.patch_namespaced_job(workload.name, workload.namespace, dict(body), **options)

    def _get(self, workload: WorkloadRecord) -> Any:
        options: dict[str, Any] = {"_preload_content": False, "_request_timeout": REQUEST_TIMEOUT}
        if workload.kind == "Pod":
            return self._core.read_namespaced_pod(workload.name, workload.namespace, **options)
        return self._batch.read_namespaced_job(workload.name, workload.namespace, **options)


def _read(kind: str, answer: Any) -> WorkloadRecord:
    obj = json.loads(answer.data)
    return read_pod(obj).workload if kind == "Pod" else read_job(obj)


def _name(workload: WorkloadRecord) -> str:
    return f"{workload.kind} {workload.namespace}/{workload.name}"
