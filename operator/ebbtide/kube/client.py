"""How ebbtide finds its cluster: the same rules as other Kubernetes tools.

The first of these that applies is used (controller-runtime's order):

1. ``--kubeconfig`` (or ``$EBBTIDE_KUBECONFIG``);
2. ``$KUBECONFIG`` (a list of files separated by ``:``, merged as kubectl merges them);
3. the pod's service account, when running in a pod;
4. ``~/.kube/config``.

``--context`` picks a context of the kubeconfig instead of its current one; it cannot apply to a
service account, so with ``--context`` step 3 is skipped. Every failure to find or read a
configuration is a :class:`ClusterConfigError` whose message says what was tried.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import yaml
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError, MaxRetryError, NewConnectionError

from ebbtide.errors import ClusterConfigError

#: Where a pod's service account token is mounted; its presence means "running in a pod".
SERVICE_ACCOUNT_TOKEN: Final = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")
SERVICE_ACCOUNT_NAMESPACE: Final = SERVICE_ACCOUNT_TOKEN.with_name("namespace")
DEFAULT_KUBECONFIG: Final = Path("~/.kube/config")
#: Seconds the start-up probe of the API server may take.
PROBE_TIMEOUT: Final = 10
#: The longest pause between two start-up probes of an API server that does not answer.
PROBE_BACKOFF_CAP: Final = 10.0

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ClusterAccess:
    """Which cluster to talk to, as the user chose it (both None: the default rules)."""

    kubeconfig: Path | None = None
    context: str | None = None

    def kubeconfig_source(self) -> str | None:
        """The kubeconfig file(s) the rules pick, ``os.pathsep``-separated; None for the pod's
        service account."""
        if self.kubeconfig is not None:
            return str(self.kubeconfig)
        if from_env := os.environ.get("KUBECONFIG", "").strip(os.pathsep):
            return from_env
        if in_pod() and self.context is None:
            return None
        return str(DEFAULT_KUBECONFIG.expanduser())

    def default_namespace(self) -> str:
        """The namespace a kubectl user of the same configuration works in: the context's
        namespace, else the pod's own (in a pod), else ``default``."""
        source = self.kubeconfig_source()
        try:
            if source is None:
                return SERVICE_ACCOUNT_NAMESPACE.read_text().strip() or "default"
            contexts, current = config.list_kube_config_contexts(config_file=source)
        except (config.ConfigException, yaml.YAMLError, OSError):
            return "default"
        chosen = (
            next((c for c in contexts if c.get("name") == self.context), current) if self.context else current
        )
        return str(((chosen or {}).get("context") or {}).get("namespace") or "default")


def in_pod() -> bool:
    """True when running in a pod with a service account (as the client library decides it)."""
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and SERVICE_ACCOUNT_TOKEN.exists()


def load_configuration(access: ClusterAccess) -> client.Configuration:
    """The client configuration the rules of this module pick; raises :class:`ClusterConfigError`."""
    configuration = client.Configuration()
    source = access.kubeconfig_source()
    try:
        if source is None:
            config.load_incluster_config(client_configuration=configuration)
            return configuration
        if not any(Path(part).expanduser().is_file() for part in source.split(os.pathsep) if part):
            raise ClusterConfigError(
                f"no Kubernetes cluster configured: {source} does not exist "
                "(set KUBECONFIG or --kubeconfig, or run in a pod)"
            )
        config.load_kube_config(
            config_file=source, context=access.context, client_configuration=configuration
        )
    except (config.ConfigException, yaml.YAMLError, OSError) as error:
        where = "the pod's service account" if source is None else source
        raise ClusterConfigError(f"cannot use the cluster configuration of {where}: {error}") from error
    return configuration


def load_api_client(kubeconfig: Path | None = None, *, context: str | None = None) -> client.ApiClient:
    """An API client for the cluster the rules of this module pick (``kubeconfig`` and
    ``context`` as ``--kubeconfig`` and ``--context``); raises :class:`ClusterConfigError`."""
    return client.ApiClient(load_configuration(ClusterAccess(kubeconfig=kubeconfig, context=context)))


def probe_api_server(api_client: client.ApiClient) -> None:
    """Ask the API server for its version once; raises :class:`ClusterConfigError` saying why the
    cluster cannot be reached (connection refused, TLS, credentials refused)."""
    host = api_client.configuration.host
    try:
        client.VersionApi(api_client).get_code(_request_timeout=PROBE_TIMEOUT)
    except ApiException as error:
        raise ClusterConfigError(
            f"the Kubernetes API at {host} refused the request: {error.status} {error.reason}"
        ) from error
    except (HTTPError, OSError) as error:
        raise ClusterConfigError(
            f"cannot reach the Kubernetes API at {host}: {_root_cause(error)}"
        ) from error


def wait_for_api_server(api_client: client.ApiClient, *, timeout: float) -> None:
    """Probe the API server until it answers, for at most ``timeout`` seconds.

    An API server that does not answer is asked again with a growing pause (a control plane that
    restarts, or comes up after the operator, must not cost a crash loop); one that answers with
    a refusal (credentials, TLS) fails at once. Raises :class:`ClusterConfigError` with the last
    reason when time is up.
    """
    deadline = time.monotonic() + timeout
    pause = 0.5
    while True:
        try:
            probe_api_server(api_client)
            return
        except ClusterConfigError as error:
            if isinstance(error.__cause__, ApiException) or time.monotonic() + pause > deadline:
                raise
            log.warning("%s; asking again in %.1fs", error, pause)
        time.sleep(pause)
        pause = min(pause * 2, PROBE_BACKOFF_CAP)


def _root_cause(error: BaseException) -> str:
    """``Connection refused`` rather than urllib3's account of its retries and pool objects."""
    if isinstance(error, MaxRetryError) and error.reason is not None:
        error = error.reason
    if isinstance(error, NewConnectionError):
        return str(error).rsplit(": ", 1)[-1]
    return str(error) or type(error).__name__
