"""Node utilisation from Prometheus: the load figures behind the load-aware factor and the filter.

One instant query per resource (CPU by default, memory optionally) must return one series per
node, with the node's name in a label (``node`` by default) and the utilisation as a fraction of
capacity (0.93 for 93 %). prometheus-api-client is synchronous, so :meth:`PrometheusNodeLoad.fetch`
is meant to run in a thread executor, in the background, never on a request path.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from prometheus_api_client.exceptions import PrometheusApiClientException
from prometheus_api_client.prometheus_connect import PrometheusConnect
from requests import RequestException

from ebbtide.errors import NodeLoadError
from ebbtide.metrics.prometheus_access import NO_CREDENTIALS, PrometheusCredentials
from ebbtide.metrics.prometheus_connection import connect
from ebbtide.scoring.values import LoadResource, Utilisation

logger = logging.getLogger(__name__)

# Busy fraction of each node's CPUs over the last two minutes, from node-exporter; a scrape config
# (or recording rule) must put the Kubernetes node name in the ``node`` label.
DEFAULT_CPU_QUERY = '1 - avg by (node) (rate(node_cpu_seconds_total{mode="idle"}[2m]))'
DEFAULT_NODE_LABEL = "node"


@dataclass(frozen=True, slots=True)
class LoadSample:
    """One node's utilisation and the Unix time Prometheus evaluated it at."""

    utilisation: Utilisation
    sampled_at: float


@dataclass(frozen=True)
class NodeLoadReport:
    """Utilisation per resource and node name, as fetched at ``fetched_at`` (Unix time).

    A node missing from a resource's mapping has no known utilisation for it.
    """

    samples: Mapping[LoadResource, Mapping[str, LoadSample]] = field(default_factory=dict)
    fetched_at: float = 0.0


class LoadSource(Protocol):
    """Where load figures come from: Prometheus in production, fixed figures in tests."""

    def fetch(self) -> NodeLoadReport:
        """The current figures; raises :class:`NodeLoadError` when they cannot be read."""
        ...


@dataclass(frozen=True)
class PrometheusSettings:
    """How to query Prometheus for node utilisation."""

    url: str
    queries: Mapping[LoadResource, str] = field(default_factory=lambda: {"cpu": DEFAULT_CPU_QUERY})
    node_label: str = DEFAULT_NODE_LABEL
    timeout_seconds: int = 5


class PrometheusNodeLoad:
    """A :class:`LoadSource` that runs the configured instant queries."""

    def __init__(
        self,
        settings: PrometheusSettings,
        *,
        connect: Callable[[PrometheusSettings], PrometheusConnect] | None = None,
        credentials: PrometheusCredentials = NO_CREDENTIALS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self._prometheus = connect(settings) if connect else _connect(settings, credentials=credentials)
        self._clock = clock

    def fetch(self) -> NodeLoadReport:
        fetched_at = self._clock()
        samples: dict[LoadResource, Mapping[str, LoadSample]] = {}
        for resource, query in self.settings.queries.items():
            try:
                result = self._prometheus.custom_query(query, timeout=self.settings.timeout_seconds)
            except (PrometheusApiClientException, RequestException, ValueError) as error:
                raise NodeLoadError(f"{resource} utilisation query failed: {error}") from error
            samples[resource] = samples_by_node(result, node_label=self.settings.node_label)
        return NodeLoadReport(samples=samples, fetched_at=fetched_at)

    def close(self) -> None:
        self._prometheus.close()


def samples_by_node(result: object, *, node_label: str) -> dict[str, LoadSample]:
    """Read an instant-query vector into samples per node.

    Series without the node label and values that are not finite numbers are skipped (the node's
    utilisation stays unknown). When a query returns several series for one node, the highest
    utilisation wins, so an ambiguous query errs towards caution.
    """
    if not isinstance(result, list):
        raise NodeLoadError("the query did not return an instant vector")
    samples: dict[str, LoadSample] = {}
    for series in result:
        sample = _sample(series, node_label)
        if sample is None:
            continue
        node, reading = sample
        known = samples.get(node)
        if known is None or reading.utilisation > known.utilisation:
            samples[node] = reading
    return samples


def _sample(series: Any, node_label: str) -> tuple[str, LoadSample] | None:
    try:
        node = series["metric"][node_label]
        timestamp, text = series["value"]
        utilisation, sampled_at = float(text), float(timestamp)
    except (KeyError, TypeError, ValueError):
        return None
    if not isinstance(node, str) or not math.isfinite(utilisation):
        return None
    return node, LoadSample(utilisation=Utilisation(utilisation), sampled_at=sampled_at)


def _connect(
    settings: PrometheusSettings, *, credentials: PrometheusCredentials = NO_CREDENTIALS
) -> PrometheusConnect:
    # One quick retry at most: the next background refresh is the real retry, and a long backoff
    # would only make the figures older.
    return connect(settings.url, retries=1, credentials=credentials)
