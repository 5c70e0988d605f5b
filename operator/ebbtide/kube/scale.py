"""Reading and setting a workload's replica count through its /scale subresource.

The /scale subresource is what every scalable kind shares (Deployments, StatefulSets,
ReplicaSets, custom resources that declare one), so one code path serves them all. Writes set
the absolute replica count, never a relative change: repeating a write (after a retry, or after
an operator restart that cannot tell whether its last write landed) changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kubernetes import client

from ebbtide.api.scalingpolicy_vocabulary import FIELD_MANAGER
from ebbtide.errors import NotOwnerError
from ebbtide.kube.call_budget import CALL_ATTEMPTS, CALL_TIMEOUT, FENCED_WRITE_TIMEOUT
from ebbtide.kube.discovery import ScalableResource
from ebbtide.kube.errors import NotFoundError
from ebbtide.kube.retrying import with_retries


@dataclass(frozen=True)
class ScaleReading:
    """A target's /scale: ``replicas`` wanted (spec), ``observed`` replicas (status), its label
    ``selector`` ("" when the kind reports none), the target's ``uid`` and the ``version``
    (resourceVersion) it was read at ("" when unknown)."""

    replicas: int
    observed: int
    selector: str
    uid: str
    version: str = ""


def read_scale(
    api_client: client.ApiClient, resource: ScalableResource, *, namespace: str, name: str
) -> ScaleReading | None:
    """The target's current /scale (blocking); None if the target does not exist (404)."""
    try:
        answer = with_retries(
            lambda: _get(api_client, resource, namespace=namespace, name=name), attempts=CALL_ATTEMPTS
        )
    except NotFoundError:
        return None
    return scale_from_dict(answer)


def write_replicas(
    api_client: client.ApiClient,
    resource: ScalableResource,
    *,
    namespace: str,
    name: str,
    replicas: int,
    fence: Callable[[], bool] | None = None,
) -> ScaleReading | None:
    """Set the target's replica count to ``replicas`` (blocking); None if the target is gone.

    With a ``fence``, it is asked right before the request, which is then sent once with
    :data:`FENCED_WRITE_TIMEOUT`; raises :class:`NotOwnerError` (nothing sent) if it says no.
    """
    body = {"spec": {"replicas": replicas}}
    try:
        if fence is None:
            answer = with_retries(
                lambda: _patch(api_client, resource, namespace=namespace, name=name, body=body),
                attempts=CALL_ATTEMPTS,
            )
        elif fence():
            answer = _patch(
                api_client, resource, namespace=namespace, name=name, body=body, timeout=FENCED_WRITE_TIMEOUT
            )
        else:
            raise NotOwnerError(f"not the owner of the writes to {resource.plural}/{name} in {namespace} now")
    except NotFoundError:
        return None
    return scale_from_dict(answer)


def scale_from_dict(scale: dict[str, Any]) -> ScaleReading:
    """Read an autoscaling/v1 Scale object; absent counts are 0 (a new object has no status)."""
    spec = scale.get("spec") or {}
    status = scale.get("status") or {}
    metadata = scale.get("metadata") or {}
    return ScaleReading(
        replicas=int(spec.get("replicas") or 0),
        observed=int(status.get("replicas") or 0),
        selector=str(status.get("selector") or ""),
        uid=str(metadata.get("uid") or ""),
        version=str(metadata.get("resourceVersion") or ""),
    )


def _get(api_client: client.ApiClient, resource: ScalableResource, *, namespace: str, name: str) -> Any:
    if not resource.group:
        # The core group's only scalable kind is ReplicationController (see discovery).
        answer = client.CoreV1Api(api_client).read_namespaced_replication_controller_scale(
            name, namespace, _request_timeout=CALL_TIMEOUT
        )
        return api_client.sanitize_for_serialization(answer)
    return client.CustomObjectsApi(api_client).get_namespaced_custom_object_scale(
        resource.group, resource.version, namespace, resource.plural, name, _request_timeout=CALL_TIMEOUT
    )


def _patch(
    api_client: client.ApiClient,
    resource: ScalableResource,
    *,
    namespace: str,
    name: str,
    body: dict[str, Any],
    timeout: tuple[float, float] = CALL_TIMEOUT,
) -> Any:
    if not resource.group:
        answer = client.CoreV1Api(api_client).patch_namespaced_replication_controller_scale(
            name, namespace, body, field_manager=FIELD_MANAGER, _request_timeout=timeout
        )
        return api_client.sanitize_for_serialization(answer)
    return client.CustomObjectsApi(api_client).patch_namespaced_custom_object_scale(
        resource.group,
        resource.version,
        namespace,
        resource.plural,
        name,
        body,
        field_manager=FIELD_MANAGER,
        _request_timeout=timeout,
    )
