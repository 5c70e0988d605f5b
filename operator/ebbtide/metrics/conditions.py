"""Condition gauges: an object's status conditions as series Prometheus can alert on.

Each condition of an object is exported as kube-state-metrics exports a Deployment's
(``kube_deployment_status_condition``): three series, one per status (True, False, Unknown),
the one of the current status 1 and the others 0. So ``...{condition="Ready", status="False"} == 1``
selects exactly the objects not ready, and an alert built on it names each one through the
object's own labels. A condition the object no longer has loses its series.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence

from prometheus_client import Gauge

STATUSES = ("True", "False", "Unknown")


class ConditionGauge:
    """One gauge ``<name>{<object labels>, condition, status}``; thread-safe."""

    def __init__(self, name: str, documentation: str, object_labels: Sequence[str]) -> None:
        self._object_labels = tuple(object_labels)
        self._gauge = Gauge(name, documentation, [*object_labels, "condition", "status"])
        self._lock = threading.Lock()
        self._types: dict[tuple[str, ...], set[str]] = {}

    def set(self, key: Sequence[str], conditions: Iterable[tuple[str, str]]) -> None:
        """Export the object ``key``'s ``conditions`` as (type, status) pairs; conditions it had
        before and has no more are removed."""
        key = tuple(key)
        current = dict(conditions)
        with self._lock:
            for gone in self._types.get(key, set()) - current.keys():
                for status in STATUSES:
                    self._gauge.remove(*key, gone, status)
            for type_, value in current.items():
                for status in STATUSES:
                    self._gauge.labels(*key, type_, status).set(1 if value == status else 0)
            self._types[key] = set(current)

    def forget(self, key: Sequence[str]) -> None:
        """Remove every series of the object ``key`` (it is gone, or no longer ours)."""
        key = tuple(key)
        with self._lock:
            for type_ in self._types.pop(key, set()):
                for status in STATUSES:
                    self._gauge.remove(*key, type_, status)

    def forget_all(self) -> None:
        """Remove every object's series."""
        with self._lock:
            self._types.clear()
            self._gauge.clear()
