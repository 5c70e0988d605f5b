"""Which REST resource a ``targetRef`` names: the plural behind an apiVersion and kind.

A ScalingPolicy names its target the way manifests do (``apps/v1``, ``Deployment``); the /scale
subresource lives under the plural (``deployments``). Discovery answers that once per kind: the
answer is cached for the life of the process (a kind's plural never changes), failures are not,
so a CRD installed later is found at the next round.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from kubernetes import client

from ebbtide.errors import TargetKindError
from ebbtide.kube.call_budget import CALL_ATTEMPTS, CALL_TIMEOUT
from ebbtide.kube.errors import NotFoundError
from ebbtide.kube.retrying import with_retries


@dataclass(frozen=True)
class ScalableResource:
    """A namespaced resource with a /scale subresource. ``group`` is "" for the core group."""

    group: str
    version: str
    plural: str
    kind: str

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


def split_api_version(api_version: str) -> tuple[str, str]:
    """``("apps", "v1")`` for ``apps/v1`` and ``("", "v1")`` for the core group's ``v1``."""
    group, _, version = api_version.rpartition("/")
    return group, version


class ScaleResolver:
    """Finds the :class:`ScalableResource` of an apiVersion and kind, through API discovery.

    Thread-safe: :meth:`resolve` is called from worker threads.
    """

    def __init__(self, api_client: client.ApiClient) -> None:
        self._api_client = api_client
        self._known: dict[tuple[str, str], ScalableResource] = {}
        self._lock = threading.Lock()

    def known(self, *, api_version: str, kind: str) -> ScalableResource | None:
        """The resource for ``kind`` if it was resolved before (never blocks); else None."""
        with self._lock:
            return self._known.get((api_version, kind))

    def resolve(self, *, api_version: str, kind: str) -> ScalableResource:
        """The resource for ``kind`` in ``api_version`` (blocking, cached).

        Raises :class:`TargetKindError` when the group/version does not serve the kind, or the
        kind has no /scale subresource; an :mod:`ebbtide.kube.errors` class for other API errors.
        """
        key = (api_version, kind)
        with self._lock:
            known = self._known.get(key)
        if known is not None:
            return known
        resource = self._discover(api_version=api_version, kind=kind)
        with self._lock:
            self._known[key] = resource
        return resource

    def _discover(self, *, api_version: str, kind: str) -> ScalableResource:
        group, version = split_api_version(api_version)
        if not group and version != "v1":
            raise TargetKindError(f"the API server does not serve {api_version}")
        try:
            listing = with_retries(lambda: self._list_resources(group, version), attempts=CALL_ATTEMPTS)
        except NotFoundError as error:
            raise TargetKindError(f"the API server does not serve {api_version}") from error
        names = {entry.name: entry for entry in listing.resources or []}
        plural = next((name for name, entry in names.items() if entry.kind == kind and "/" not in name), None)
        if plural is None:
            raise TargetKindError(f"{api_version} has no kind {kind}")
        if f"{plural}/scale" not in names:
            raise TargetKindError(f"{kind} ({plural}.{group or 'core'}) has no /scale subresource")
        if not group and kind != "ReplicationController":
            # Only ReplicationController has /scale in the core group; kube.scale relies on it.
            raise TargetKindError(f"{kind} in the core group is not supported")
        if not names[plural].namespaced:
            raise TargetKindError(f"{kind} is cluster-scoped; a ScalingPolicy scales namespaced workloads")
        return ScalableResource(group=group, version=version, plural=plural, kind=kind)

    def _list_resources(self, group: str, version: str) -> Any:
        if not group:
            return client.CoreV1Api(self._api_client).get_api_resources(_request_timeout=CALL_TIMEOUT)
        return client.CustomObjectsApi(self._api_client).get_api_resources(
            group, version, _request_timeout=CALL_TIMEOUT
        )
