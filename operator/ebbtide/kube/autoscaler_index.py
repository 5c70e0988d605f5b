"""Autoscalers by the workload they scale: HorizontalPodAutoscalers from watches of their own,
ScalingPolicies from the controller's watch events (see :mod:`ebbtide.kube.hpa` for the keys).

Every round asks it whether another autoscaler scales its target, so it must answer without an
API call. It is kept here rather than in kopf indexes: kopf holds back every handler of every
watched kind until each object listed at start has been indexed, and tracks that with one
condition all objects' workers wait on, so that a start with N objects wakes N waiters N times
and checks N flags each time; at 3,000 policies that kept an operator from deciding anything
for minutes.

HPAs: one watch over every namespace, or one per namespace the operator is limited to
(:class:`~ebbtide.kube.informer.Informer`: a list replaces what it held for that scope, so an HPA
deleted while a watch was down is dropped at the next list). :meth:`AutoscalerIndex.wait_synced`
lets the controller wait until each watch has listed once before any round runs, so that a first
round never misses an HPA that exists.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from typing import Any

from kubernetes import client

from ebbtide.kube.hpa import HPA_KIND, POLICY_KIND, TargetKey, autoscaler, hpa_target_key, policy_target_key
from ebbtide.kube.informer import Informer, Obj

logger = logging.getLogger(__name__)

_ALL_NAMESPACES = ""
#: ``(kind, namespace, name)`` of an indexed autoscaler.
_Owner = tuple[str, str, str]


class AutoscalerIndex(Mapping[TargetKey, Collection[str]]):
    """``Kind/name`` entries of the autoscalers that scale each workload, HPAs first; a read-only
    mapping for the rounds, thread-safe (watch threads and the event loop write it)."""

    def __init__(
        self,
        api_client: client.ApiClient,
        *,
        namespaces: tuple[str, ...] = (),
        informer_factory: Callable[..., Informer] = Informer,
    ) -> None:
        api = client.AutoscalingV2Api(api_client)
        self._lock = threading.Lock()
        self._targets: dict[_Owner, TargetKey] = {}
        self._owners: dict[TargetKey, set[_Owner]] = {}  # the inverse of _targets
        scopes = namespaces or (_ALL_NAMESPACES,)
        self._informers = [
            informer_factory(
                kind="horizontalpodautoscalers",
                list_func=(
                    api.list_horizontal_pod_autoscaler_for_all_namespaces
                    if scope == _ALL_NAMESPACES
                    else api.list_namespaced_horizontal_pod_autoscaler
                ),
                list_kwargs={} if scope == _ALL_NAMESPACES else {"namespace": scope},
                on_list=lambda items, scope=scope: self._replace_hpas(scope, items),
                on_event=self._apply_hpa,
            )
            for scope in scopes
        ]

    # -- what the rounds read -----------------------------------------------------------------

    def __getitem__(self, key: TargetKey) -> Collection[str]:
        with self._lock:
            owners = list(self._owners.get(key, ()))
        if not owners:
            raise KeyError(key)
        # HPAs first, then policies, each by name: the order the conflict message lists them.
        owners.sort(key=lambda owner: (owner[0] != HPA_KIND, owner[2]))
        return [autoscaler(kind, name) for kind, _, name in owners]

    def __iter__(self) -> Iterator[TargetKey]:
        with self._lock:
            keys = list(self._owners)
        return iter(keys)

    def __len__(self) -> int:
        with self._lock:
            return len(self._owners)

    # -- ScalingPolicies, from the controller's watch events ----------------------------------

    def observe_policy(self, event_type: str | None, body: Mapping[str, Any]) -> None:
        """Take a watch event of a ScalingPolicy: a deleted one (or one being deleted) leaves the
        index, any other is indexed by the target its spec names (none for an invalid spec)."""
        metadata = body.get("metadata") or {}
        namespace, name = str(metadata.get("namespace") or ""), str(metadata.get("name") or "")
        key = None
        if event_type != "DELETED" and not metadata.get("deletionTimestamp"):
            key = policy_target_key(namespace=namespace, spec=body.get("spec") or {})
        self._set((POLICY_KIND, namespace, name), key)

    # -- HPAs, from watches -------------------------------------------------------------------

    def start(self) -> None:
        """Start the HPA watches."""
        for informer in self._informers:
            informer.start()

    def wait_synced(self, *, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds until every HPA watch has listed once; False if one
        has not (the controller then goes on: a failing watch, e.g. without list rights, must
        not stop the policies, and its warning is in the log)."""
        deadline = time.monotonic() + timeout
        for informer in self._informers:
            if not informer.synced.wait(max(0.0, deadline - time.monotonic())):
                logger.warning("the HorizontalPodAutoscaler watch has not listed after %gs", timeout)
                return False
        return True

    def close(self) -> None:
        """Stop the HPA watches."""
        for informer in self._informers:
            informer.stop()

    def _replace_hpas(self, scope: str, items: list[Obj]) -> None:
        fresh = {}
        for obj in items:
            owner, key = _hpa_entry(obj)
            if key is not None:
                fresh[owner] = key
        with self._lock:
            for owner in [o for o in self._targets if o[0] == HPA_KIND and scope in (_ALL_NAMESPACES, o[1])]:
                self._unset(owner)
            for owner, key in fresh.items():
                self._unset(owner)
                self._targets[owner] = key
                self._owners.setdefault(key, set()).add(owner)

    def _apply_hpa(self, event_type: str, obj: Obj) -> None:
        owner, key = _hpa_entry(obj)
        self._set(owner, None if event_type == "DELETED" else key)

    def _set(self, owner: _Owner, key: TargetKey | None) -> None:
        with self._lock:
            self._unset(owner)
            if key is not None:
                self._targets[owner] = key
                self._owners.setdefault(key, set()).add(owner)

    def _unset(self, owner: _Owner) -> None:
        """Drop ``owner`` from both maps; the caller holds the lock."""
        key = self._targets.pop(owner, None)
        if key is None:
            return
        others = self._owners[key]
        others.discard(owner)
        if not others:
            del self._owners[key]


def _hpa_entry(obj: Obj) -> tuple[_Owner, TargetKey | None]:
    metadata = obj.get("metadata") or {}
    namespace, name = str(metadata.get("namespace") or ""), str(metadata.get("name") or "")
    return (HPA_KIND, namespace, name), hpa_target_key(namespace=namespace, spec=obj.get("spec") or {})
