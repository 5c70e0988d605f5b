"""The one place Prometheus clients are made, with the project's rule for retrying.

Network errors and 502/503/504 are retried briefly (backoff 0.2 s, 0.4 s, ...), a 4xx never
(a bad query stays bad), and a query that timed out is not repeated: that would double the load
on a Prometheus that is already slow. After the last retry the error answer itself is kept, so
its text reaches the user. Callers choose only how many retries their work is worth, and pass
the credentials of a Prometheus behind authentication (:mod:`.prometheus_access`).

The same rule holds for the operator's asynchronous client (:mod:`.prometheus_queries`), which
takes its figures from here.
"""

from __future__ import annotations

from typing import Final

from prometheus_api_client.prometheus_connect import PrometheusConnect
from urllib3.util.retry import Retry

from ebbtide.metrics.prometheus_access import NO_CREDENTIALS, PrometheusCredentials

#: Answers that a moment later may be different: a proxy or Prometheus itself restarting.
RETRIED_STATUSES: Final = (502, 503, 504)
#: The first retry waits this long, each later one twice the one before.
BACKOFF_SECONDS: Final = 0.2


def connect(
    url: str, *, retries: int, credentials: PrometheusCredentials = NO_CREDENTIALS
) -> PrometheusConnect:
    """A client of the Prometheus server at ``url`` that retries at most ``retries`` times and
    sends ``credentials`` with every request."""
    retry = Retry(
        total=retries,
        connect=retries,
        read=False,  # a read timeout is raised as such, not retried
        status=min(1, retries),
        backoff_factor=BACKOFF_SECONDS,
        status_forcelist=RETRIED_STATUSES,
        allowed_methods=frozenset({"GET", "POST"}),
        raise_on_status=False,
    )
    return PrometheusConnect(url=url, retry=retry, **credentials.client_options())
