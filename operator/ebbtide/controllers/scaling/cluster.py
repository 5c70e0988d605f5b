"""The scaling controller's port to Kubernetes: the few calls a round makes, as one small
interface.

A round reads the target's /scale (from a watch where it can), sets its replicas, writes the
policy's status and posts Events, and the loop takes an earlier version's finalizer off the
policy; nothing else. :class:`ScalingCluster` names exactly those
calls (blocking; the round runs them in the services' thread pool), :class:`KubeScalingCluster`
makes them through the API client with the scaling controller's field manager and call budget,
and tests hand the services a cluster of their own instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from kubernetes import client

from ebbtide.api.scalingpolicy import ScalingPolicy
from ebbtide.api.scalingpolicy_vocabulary import FIELD_MANAGER
from ebbtide.kube.call_budget import CALL_ATTEMPTS, CALL_TIMEOUT
from ebbtide.kube.discovery import ScalableResource
from ebbtide.kube.events import EventType, ObjectRef, post_event
from ebbtide.kube.finalizers import remove_finalizer
from ebbtide.kube.scale import ScaleReading, read_scale, write_replicas
from ebbtide.kube.scale_cache import ScaleCache
from ebbtide.kube.status import patch_status


class ScalingCluster(Protocol):
    """The Kubernetes calls of a scaling round (each blocks)."""

    def cached_scale(self, resource: ScalableResource, *, namespace: str, name: str) -> ScaleReading | None:
        """The target's /scale from a watch (never blocks); None: call :meth:`read_scale`."""
        ...

    def read_scale(self, resource: ScalableResource, *, namespace: str, name: str) -> ScaleReading | None:
        """The target's /scale; None if the target does not exist."""
        ...

    def write_replicas(
        self,
        resource: ScalableResource,
        *,
        namespace: str,
        name: str,
        replicas: int,
        fence: Callable[[], bool],
    ) -> ScaleReading | None:
        """Set the target's replica count if ``fence()``, asked right before the request, says
        so (else raise :class:`~ebbtide.errors.NotOwnerError`); None if the target is gone."""
        ...

    def patch_status(self, *, namespace: str, name: str, status: Mapping[str, Any]) -> bool:
        """Merge ``status`` into the policy's status; False if the policy is gone."""
        ...

    def post_event(self, *, regarding: ObjectRef, type_: EventType, reason: str, message: str) -> bool:
        """Post one Event; False (and a log line) if that failed."""
        ...

    def remove_finalizer(self, *, metadata: Mapping[str, Any], finalizer: str) -> bool:
        """Take ``finalizer`` off the policy of ``metadata``; False if it is gone or no longer
        carries it."""
        ...

    def close(self) -> None:
        """Stop whatever runs in the background (watches)."""
        ...


class KubeScalingCluster:
    """:class:`ScalingCluster` through ``api_client``; targets' /scale from watches where it can
    (:class:`~ebbtide.kube.scale_cache.ScaleCache`, over ``namespaces``, empty for all)."""

    def __init__(self, api_client: client.ApiClient, *, namespaces: tuple[str, ...] = ()) -> None:
        self.api_client = api_client
        self.scales = ScaleCache(api_client, namespaces=namespaces)

    def cached_scale(self, resource: ScalableResource, *, namespace: str, name: str) -> ScaleReading | None:
        return self.scales.lookup(resource, namespace=namespace, name=name)

    def read_scale(self, resource: ScalableResource, *, namespace: str, name: str) -> ScaleReading | None:
        return read_scale(self.api_client, resource, namespace=namespace, name=name)

    def write_replicas(
        self,
        resource: ScalableResource,
        *,
        namespace: str,
        name: str,
        replicas: int,
        fence: Callable[[], bool],
    ) -> ScaleReading | None:
        written = write_replicas(
            self.api_client, resource, namespace=namespace, name=name, replicas=replicas, fence=fence
        )
        if written is not None:
            self.scales.note_written(resource, namespace=namespace, name=name, reading=written)
        return written

    def patch_status(self, *, namespace: str, name: str, status: Mapping[str, Any]) -> bool:
        return patch_status(
            self.api_client,
            group=ScalingPolicy.API_GROUP,
            version=ScalingPolicy.API_VERSION,
            plural=ScalingPolicy.PLURAL,
            namespace=namespace,
            name=name,
            status=status,
            field_manager=FIELD_MANAGER,
            timeout=CALL_TIMEOUT,
            attempts=CALL_ATTEMPTS,
        )

    def post_event(self, *, regarding: ObjectRef, type_: EventType, reason: str, message: str) -> bool:
        return post_event(self.api_client, regarding=regarding, type_=type_, reason=reason, message=message)

    def remove_finalizer(self, *, metadata: Mapping[str, Any], finalizer: str) -> bool:
        return remove_finalizer(
            self.api_client,
            group=ScalingPolicy.API_GROUP,
            version=ScalingPolicy.API_VERSION,
            plural=ScalingPolicy.PLURAL,
            metadata=metadata,
            finalizer=finalizer,
        )

    def close(self) -> None:
        self.scales.close()
