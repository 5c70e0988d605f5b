"""The start-up check of ``--prometheus-url``: is it usable, and is a Prometheus answering there?

Two outcomes are told apart. A configuration mistake ends the operator with one line: a URL that
is not ``http(s)://host...``, credentials Prometheus refuses (HTTP 401 or 403), or a certificate
the configured CA does not vouch for. A Prometheus that does not answer (not up yet, restarting,
unreachable) is not a mistake: it is tried again for a few seconds (it may be starting beside the
operator), then reported in the words of :mod:`ebbtide.metrics.prometheus_errors` for the caller
to log, and the operator runs on. Its scaling controller reads the load every round and holds
every ScalingPolicy while no load can be read, saying so in the policy's status.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Final
from urllib.parse import urlsplit

import requests

from ebbtide.errors import PrometheusUnusableError
from ebbtide.metrics.prometheus_access import NO_CREDENTIALS, PrometheusCredentials
from ebbtide.metrics.prometheus_connection import connect
from ebbtide.metrics.prometheus_errors import QueryError, describe_error, http_status

#: How long an unanswered probe is retried, and how long each try may take (seconds).
PROBE_PATIENCE: Final = 10.0
PROBE_TIMEOUT: Final = 5.0
#: A query every PromQL server answers without reading any series.
PROBE_QUERY: Final = "vector(1)"
#: Answers that say the credentials are wrong, not that Prometheus is away.
REFUSALS: Final = frozenset({401, 403})
_VERIFY_FAILURE = re.compile(r"certificate verify failed: ([^(')\"]+)")


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
) -> QueryError | None:
    """Ask Prometheus at ``url`` a query until it answers or ``patience`` seconds pass.

    Returns ``None`` once it answers, or why the last try failed when it has not answered in
    time. Raises :class:`PrometheusUnusableError` for a configuration mistake (see the module's
    docstring), which no waiting mends.
    """
    check_url(url)
    deadline = clock() + patience
    while True:
        try:
            connect(url, retries=2, credentials=credentials).custom_query(
                PROBE_QUERY, timeout=int(PROBE_TIMEOUT)
            )
            return None
        except Exception as error:  # every failure is described, none is expected to pass
            problem = describe_error(error, url=url, timeout=PROBE_TIMEOUT)
            if http_status(error) in REFUSALS:
                raise PrometheusUnusableError(
                    f"{problem.message}; check the --prometheus-* credentials"
                ) from error
            if isinstance(error, requests.exceptions.SSLError):
                raise PrometheusUnusableError(
                    f"Prometheus at {url} presented a certificate that is not trusted "
                    f"({_verify_failure(error)}; check --prometheus-ca-file)"
                ) from error
            if clock() >= deadline:
                return problem
        sleep(1.0)


def _verify_failure(error: BaseException) -> str:
    # OpenSSL's reason ("unable to get local issuer certificate", "Hostname mismatch") sits deep
    # inside the message requests builds around it.
    match = _VERIFY_FAILURE.search(str(error))
    return match.group(1).strip() if match else "the TLS handshake failed"
