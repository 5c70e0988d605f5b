"""The /scale of Deployments, StatefulSets and ReplicaSets, kept current by watches.

A ScalingPolicy's round needs its target's replicas (wanted and running). Reading the /scale
subresource with a GET every round costs one request per policy per interval, most of the
operator's CPU at hundreds of policies (a TLS request through the blocking client and a thread
hop). For the built-in ``apps/v1`` kinds the same figures are in the object itself
(``spec.replicas``, ``status.replicas``, ``spec.selector``, ``metadata.uid``; that is how the API
server builds their /scale), so one watch per kind and namespace serves every round.

The cache answers only what it knows for sure: a kind it does not watch (custom resources,
ReplicationControllers), a watch that has not listed yet, or a name it has not seen gives None,
and the round reads /scale as before. So a target created a moment ago, or one whose watch is
failing (RBAC without list/watch), costs a GET but is never reported missing by mistake.

A watch lags the API server by a few milliseconds; the HPA's own controller reads through
informers as well. After a write the cache takes the /scale the API server answered with, unless
the watch already brought a newer version, so the next round never sees the value before it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from kubernetes import client

from ebbtide.kube.discovery import ScalableResource
from ebbtide.kube.informer import Informer, Obj
from ebbtide.kube.scale import ScaleReading

logger = logging.getLogger(__name__)

#: The kinds whose /scale the API server derives from the object's own replicas and selector.
WATCHED_PLURALS = frozenset({"deployments", "statefulsets", "replicasets"})
_ALL_NAMESPACES = ""

_Key = tuple[str, str, str]  # plural, namespace, name


def label_selector_text(selector: Mapping[str, Any] | None) -> str:
    """A LabelSelector in the text form /scale reports (``a=b,c in (d,e),!f``)."""
    if not selector:
        return ""
    parts = [f"{key}={value}" for key, value in sorted((selector.get("matchLabels") or {}).items())]
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression.get("key", ""), expression.get("operator", "")
        values = ",".join(sorted(expression.get("values") or []))
        parts.append(
            {"In": f"{key} in ({values})", "NotIn": f"{key} notin ({values})", "Exists": key}.get(
                operator, f"!{key}"
            )
        )
    return ",".join(parts)


def reading_from_object(obj: Obj) -> ScaleReading:
    """What the object's /scale would answer."""
    spec, status, metadata = obj.get("spec") or {}, obj.get("status") or {}, obj.get("metadata") or {}
    replicas = spec.get("replicas")
    return ScaleReading(
        replicas=1 if replicas is None else int(replicas),  # the API server's default
        observed=int(status.get("replicas") or 0),
        selector=label_selector_text(spec.get("selector")),
        uid=str(metadata.get("uid") or ""),
        version=str(metadata.get("resourceVersion") or ""),
    )


def _newer(version: str, *, than: str) -> bool:
    """Whether resourceVersion ``version`` is known to be newer than ``than``: only when both are
    numbers (etcd's are); otherwise the later arrival wins."""
    try:
        return int(version) > int(than)
    except ValueError:
        return False


class ScaleCache:
    """Watch-fed /scale readings; thread-safe (rounds read it, watch threads write it).

    ``namespaces``: where policies live (empty: every namespace); a watch per kind and namespace
    starts the first time a round asks about that kind there.
    """

    def __init__(
        self,
        api_client: client.ApiClient,
        *,
        namespaces: tuple[str, ...] = (),
        informer_factory: Callable[..., Informer] = Informer,
    ) -> None:
        self._apps = client.AppsV1Api(api_client)
        self._namespaces = frozenset(namespaces)
        self._informer_factory = informer_factory
        self._lock = threading.Lock()
        self._readings: dict[_Key, ScaleReading] = {}
        self._informers: dict[tuple[str, str], Informer] = {}

    def lookup(self, resource: ScalableResource, *, namespace: str, name: str) -> ScaleReading | None:
        """The target's /scale if a synced watch holds it; None: read it from the API server."""
        if resource.group != "apps" or resource.plural not in WATCHED_PLURALS:
            return None
        informer = self._informer(resource.plural, namespace)
        if informer is None or not informer.synced.is_set():
            return None
        with self._lock:
            held = self._readings.get((resource.plural, namespace, name))
        return held

    def note_written(
        self, resource: ScalableResource, *, namespace: str, name: str, reading: ScaleReading
    ) -> None:
        """Take the /scale a write returned, unless the watch already holds a newer version."""
        if resource.group == "apps" and resource.plural in WATCHED_PLURALS:
            self._put((resource.plural, namespace, name), reading)

    def close(self) -> None:
        """Stop every watch."""
        with self._lock:
            informers, self._informers = list(self._informers.values()), {}
        for informer in informers:
            informer.stop()

    def _informer(self, plural: str, namespace: str) -> Informer | None:
        scope = _ALL_NAMESPACES if not self._namespaces else namespace
        if self._namespaces and namespace not in self._namespaces:
            return None
        with self._lock:
            informer = self._informers.get((plural, scope))
            if informer is None:
                informer = self._new_informer(plural, scope)
                self._informers[(plural, scope)] = informer
                informer.start()
        return informer

    def _new_informer(self, plural: str, scope: str) -> Informer:
        singular = plural.removesuffix("s")
        if scope == _ALL_NAMESPACES:
            list_func, kwargs = getattr(self._apps, f"list_{singular}_for_all_namespaces"), {}
        else:
            list_func, kwargs = getattr(self._apps, f"list_namespaced_{singular}"), {"namespace": scope}
        return self._informer_factory(
            kind=plural,
            list_func=list_func,
            list_kwargs=kwargs,
            on_list=lambda items: self._replace(plural, scope, items),
            on_event=lambda event_type, obj: self._apply(plural, event_type, obj),
        )

    def _replace(self, plural: str, scope: str, items: list[Obj]) -> None:
        fresh = {}
        for obj in items:
            metadata = obj.get("metadata") or {}
            key = (plural, str(metadata.get("namespace")), str(metadata.get("name")))
            fresh[key] = reading_from_object(obj)
        with self._lock:
            stale = [
                k for k in self._readings if k[0] == plural and (scope == _ALL_NAMESPACES or k[1] == scope)
            ]
            for key in stale:
                del self._readings[key]
            self._readings.update(fresh)

    def _apply(self, plural: str, event_type: str, obj: Obj) -> None:
        metadata = obj.get("metadata") or {}
        key = (plural, str(metadata.get("namespace")), str(metadata.get("name")))
        if event_type == "DELETED":
            with self._lock:
                self._readings.pop(key, None)
            return
        self._put(key, reading_from_object(obj))

    def _put(self, key: _Key, reading: ScaleReading) -> None:
        with self._lock:
            held = self._readings.get(key)
            if held is not None and _newer(held.version, than=reading.version):
                return  # the watch already brought something newer than this write's answer
            self._readings[key] = reading
