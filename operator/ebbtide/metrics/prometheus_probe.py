"""The start-up check of ``--prometheus-url``: is there a Prometheus answering queries there?

A URL that is not ``http(s)://host...`` is a mistake at once. A URL that does not answer is
tried again for a few seconds (Prometheus may be starting beside the operator), then reported in
the words of :mod:`ebbtide.metrics.prometheus_errors`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final
from urllib.parse import urlsplit

from ebbtide.errors import PrometheusUnusableError
from ebbtide.metrics.prometheus_access import NO_CREDENTIALS, PrometheusCredentials
from ebbtide.metrics.prometheus_errors import describe_error
from ebbtide.metrics.prometheus_source import connect

#: How long an unanswered probe is retried, and how long each try may take (seconds).
PROBE_PATIENCE: Final = 10.0
PROBE_TIMEOUT: Final = 5.0
#: A query every PromQL server answers without reading any series.
PROBE_QUERY: Final = "vector(1)"


def check_url(url: str) -> None:
    """Raise :class:`PrometheusUnusableError` unless ``url`` is an ``http``/``https`` URL with a host."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PrometheusUnusableError(
            f"--prometheus-url {url!r} is not an http:// or https:// URL with a host"
        )


def probe_prometheus(
    url: str,
    *,
    credentials: PrometheusCredentials = NO_CREDENTIALS,
    patience: float = PROBE_PATIENCE,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Return once Prometheus at ``url`` answers a query; raise :class:`PrometheusUnusableError` when
    the URL is malformed, or when it has not answered within ``patience`` seconds."""
    check_url(url)
    deadline = clock() + patience
    while True:
        try:
            connect(url, credentials).custom_query(PROBE_QUERY, timeout=int(PROBE_TIMEOUT))
            return
        except Exception as error:  # every failure is described, none is expected to pass
            problem = describe_error(error, url=url, timeout=PROBE_TIMEOUT)
            if clock() >= deadline:
                raise PrometheusUnusableError(problem.message) from error
        sleep(1.0)
