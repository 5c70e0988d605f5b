"""The extender's own metrics, served at ``GET /metrics``.

Each :class:`Telemetry` has its own registry, so tests and several apps in one process never share
counters. Gauges that describe state (cache sizes, age of the load figures) are computed when
Prometheus scrapes, from callbacks the app registers with :meth:`Telemetry.observe_state`.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from ebbtide.metrics.build_info import register_build_info

# The scheduling cycle waits for the extender, so the interesting range is well under 10 ms.
LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0)


class Telemetry:
    """Request, error, scoring and freshness metrics of one extender."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "ebbtide_extender_requests",
            "Requests served, by verb and HTTP status code.",
            ["verb", "code"],
            registry=r,
        )
        self.latency = Histogram(
            "ebbtide_extender_request_duration_seconds",
            "Time from reading the request to writing the answer, by verb.",
            ["verb"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.errors = Counter(
            "ebbtide_extender_errors",
            "Requests that failed: bad_request (400), not_ready (503) or internal (500).",
            ["verb", "kind"],
            registry=r,
        )
        self.filtered_nodes = Counter(
            "ebbtide_extender_filtered_nodes",
            "Nodes the filter left out, by reason (overloaded, unknown).",
            ["reason"],
            registry=r,
        )
        self.unknown_profiles = Counter(
            "ebbtide_extender_unknown_profile",
            "Pods that asked for a scoring profile that does not exist (the default was used).",
            registry=r,
        )
        self.assumptions = Counter(
            "ebbtide_extender_assumed_pods",
            "Pods charged to the nodes they were most likely placed on, before their binding.",
            registry=r,
        )
        self.imbalance = Gauge(
            "ebbtide_cluster_imbalance_ratio",
            "LB = (max - min) / max of the nodes' CPU utilisation at the last load refresh.",
            registry=r,
        )
        self.load_refresh_failures = Counter(
            "ebbtide_extender_load_refresh_failures",
            "Load refreshes from Prometheus that failed (the previous figures were kept).",
            registry=r,
        )
        self.config_reloads = Counter(
            "ebbtide_extender_config_reloads",
            "Reloads of the configuration file, by result (ok, error).",
            ["result"],
            registry=r,
        )
        self.config_valid = Gauge(
            "ebbtide_extender_config_valid",
            "1 when the configuration file in use was the last one read, 0 when it was invalid.",
            registry=r,
        )
        self.config_valid.set(1)
        register_build_info("extender", r)
        self._cache_objects = Gauge(
            "ebbtide_extender_cache_objects",
            "Objects in the node cache, by kind (nodes, bound_pods, assumed_pods).",
            ["kind"],
            registry=r,
        )
        self._load_age = Gauge(
            "ebbtide_extender_load_age_seconds",
            "Age of the load figures in use (-1 when none were ever read).",
            registry=r,
        )
        self._load_nodes = Gauge(
            "ebbtide_extender_load_nodes",
            "Nodes with a CPU utilisation figure in the last load refresh.",
            registry=r,
        )

    def observe_state(
        self,
        *,
        cache_objects: Callable[[], dict[str, int]],
        load_age_seconds: Callable[[], float],
        load_nodes: Callable[[], int],
    ) -> None:
        """Register the callbacks that the state gauges read at scrape time."""
        for kind in ("nodes", "bound_pods", "assumed_pods"):
            self._cache_objects.labels(kind).set_function(
                lambda kind=kind: float(cache_objects().get(kind, 0))  # type: ignore[misc]
            )
        self._load_age.set_function(load_age_seconds)
        self._load_nodes.set_function(lambda: float(load_nodes()))

    def exposition(self) -> bytes:
        """The registry in Prometheus' text format."""
        return generate_latest(self.registry)
