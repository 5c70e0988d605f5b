"""The cluster the e2e tests run against, whichever backend provides it.

``EBBTIDE_TEST_CLUSTER`` chooses the backend: ``local`` (default) is the real control plane
run as local processes by ``ebbtide dev``; ``kind`` is a kind cluster made from kind-config.yaml
through pytest-kind, for machines with Docker. Either way the scenarios see the same test bed:
KWOK plays the pods on the same fake nodes, and Prometheus, KWOK, the second scheduler and the
extender run on this machine (on kind, against kind's API server; see tests/support/kind.py), so
the scrape targets a test starts on loopback are reachable. Only a webhook the tests serve must
listen where the API server can reach it: :attr:`E2ECluster.host_address`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import yaml
from kubernetes import client, config

from ebbtide.devcluster.cluster import DevCluster
from ebbtide.devcluster.configs import write_scrape_targets
from ebbtide.devcluster.layout import LOOPBACK
from ebbtide.devcluster.scheduling import EXTENDER_CONFIG, EXTENDER_IDENTITY

if TYPE_CHECKING:
    from tests.support.chart_identities import ChartIdentities

REPO = Path(__file__).resolve().parents[2]
BACKEND_ENV = "EBBTIDE_TEST_CLUSTER"


class SecondScheduler(Protocol):
    """Runs the second kube-scheduler (``ebbtide-scheduler``) and the extender it calls.

    Both read their files from the host's layout: the extender its configuration
    (:data:`EXTENDER_CONFIG`) and kubeconfig (:data:`EXTENDER_IDENTITY`).
    """

    def start(self, identities: ChartIdentities) -> None:
        """(Re)start the pair, so that the extender reads its files afresh; wait until both are ready."""

    def start_extender(self) -> None:
        """Start the stopped extender again and wait until it is ready."""


@dataclass(frozen=True)
class LocalSecondScheduler:
    """The local cluster's own pair (``ebbtide dev up --extender``); its scheduler keeps the
    cluster's client certificate and lease."""

    dev: DevCluster

    def start(self, identities: ChartIdentities) -> None:
        # Both (re)start with the files just written: the scheduler's extender verbs follow them.
        if self.dev.layout.extender_enabled():
            self.dev.restart_second_scheduler()
        else:
            self.dev.up(extender=True)

    def start_extender(self) -> None:
        self.dev.start_component("ebbtide-extender")


@dataclass
class E2ECluster:
    """Handles to a running cluster for tests: clients, kubectl, Prometheus and the processes
    on this machine.

    ``host`` holds what runs on this machine: the whole local cluster, or on kind Prometheus,
    KWOK and the second scheduler with the extender. ``host_address`` is where the API server
    reaches this machine (a webhook the tests serve listens there). ``local`` is the local
    cluster itself (None on kind).
    """

    backend: str
    kubeconfig: Path
    kubectl_path: Path
    prometheus_url: str
    host: DevCluster
    second_scheduler: SecondScheduler
    host_address: str = LOOPBACK
    local: DevCluster | None = None
    api_client: client.ApiClient = field(init=False)

    def __post_init__(self) -> None:
        self.api_client = config.new_client_from_config(config_file=str(self.kubeconfig))

    @property
    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.api_client)

    @property
    def apps(self) -> client.AppsV1Api:
        return client.AppsV1Api(self.api_client)

    @property
    def batch(self) -> client.BatchV1Api:
        return client.BatchV1Api(self.api_client)

    @property
    def custom(self) -> client.CustomObjectsApi:
        return client.CustomObjectsApi(self.api_client)

    @property
    def apiext(self) -> client.ApiextensionsV1Api:
        return client.ApiextensionsV1Api(self.api_client)

    @property
    def rbac(self) -> client.RbacAuthorizationV1Api:
        return client.RbacAuthorizationV1Api(self.api_client)

    def kubectl(
        self,
        *args: str,
        input: str | None = None,
        check: bool = True,
        kubeconfig: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run the pinned kubectl against the cluster (admin unless ``kubeconfig`` is given)."""
        return subprocess.run(
            [str(self.kubectl_path), f"--kubeconfig={kubeconfig or self.kubeconfig}", *args],
            input=input,
            capture_output=True,
            text=True,
            check=check,
            timeout=120,
        )

    def add_scrape_target(
        self, *, job: str, targets: list[str], labels: dict[str, str] | None = None
    ) -> None:
        """Have Prometheus scrape ``targets`` (host:port on this machine) as ``job``; [] removes it."""
        write_scrape_targets(self.host.layout, job=job, targets=targets, labels=labels)

    def stop_prometheus(self) -> None:
        """Stop the Prometheus server (an outage, as far as its clients can tell)."""
        self.host.stop_component("prometheus")

    def start_prometheus(self) -> None:
        """Start Prometheus again (same data folder) and wait until it is ready."""
        self.host.start_component("prometheus")

    def start_extender_scheduling(self, *, config: dict[str, Any], identities: ChartIdentities) -> None:
        """Run the second scheduler (``ebbtide-scheduler``) and the extender, the extender with
        ``config`` (an ExtenderConfiguration) and the chart's extender service account.

        Pods opt in with ``spec.schedulerName: ebbtide-scheduler``. On kind the scheduler also
        authenticates as the chart's scheduler service account and holds the chart's lease.
        """
        layout = self.host.layout
        path = layout.config_file(EXTENDER_CONFIG)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(config))
        shutil.copyfile(identities.extender, layout.config_file(EXTENDER_IDENTITY))
        self.second_scheduler.start(identities)

    def stop_extender(self) -> None:
        """Stop the extender (the scheduler carries on without it: it is ignorable)."""
        self.host.stop_component("ebbtide-extender")

    def start_extender(self) -> None:
        """Start the stopped extender again and wait until it is ready."""
        self.second_scheduler.start_extender()

    @property
    def extender_url(self) -> str:
        """The extender's root on this machine (``/healthz``, ``/metrics``)."""
        ports = self.host.layout.load_ports()
        assert ports is not None, "the host's processes are not set up"
        return f"http://{LOOPBACK}:{ports.ebbtide_extender}"

    def token_for(self, *, namespace: str, service_account: str, seconds: int = 3600) -> str:
        """A token the apiserver signs for ``namespace/service_account`` (TokenRequest API)."""
        request = client.AuthenticationV1TokenRequest(
            spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=seconds)
        )
        response = self.core.create_namespaced_service_account_token(service_account, namespace, request)
        return str(response.status.token)

    def client_as(self, *, namespace: str, service_account: str) -> client.ApiClient:
        """An API client that authenticates as the service account, with nothing else."""
        base = self.api_client.configuration
        configuration = client.Configuration()
        configuration.host = base.host
        configuration.ssl_ca_cert = base.ssl_ca_cert
        configuration.verify_ssl = True
        configuration.api_key = {
            "authorization": self.token_for(namespace=namespace, service_account=service_account)
        }
        configuration.api_key_prefix = {"authorization": "Bearer"}
        return client.ApiClient(configuration)

    def kubeconfig_as(self, path: Path, *, namespace: str, service_account: str, seconds: int = 3600) -> Path:
        """Write a kubeconfig for the service account (for kubectl or a subprocess) and return it."""
        import yaml

        base = self.api_client.configuration
        document: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "c",
                    "cluster": {"server": base.host, "certificate-authority": base.ssl_ca_cert},
                }
            ],
            "users": [
                {
                    "name": "u",
                    "user": {
                        "token": self.token_for(
                            namespace=namespace, service_account=service_account, seconds=seconds
                        )
                    },
                }
            ],
            # The account's namespace, as in a pod: namespaced objects the process keeps for
            # itself (the admission Lease) go there.
            "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u", "namespace": namespace}}],
            "current-context": "c",
        }
        path.write_text(yaml.safe_dump(document))
        path.chmod(0o600)
        return path


@contextmanager
def provide_cluster() -> Iterator[E2ECluster]:
    """Bring up (or reuse) the cluster for the chosen backend; tear down only what was started here.

    Set ``EBBTIDE_KEEP_CLUSTER=1`` to leave a cluster this run started running afterwards.
    """
    backend = os.environ.get(BACKEND_ENV, "local")
    keep = os.environ.get("EBBTIDE_KEEP_CLUSTER") == "1"
    if backend == "local":
        with _local(keep=keep) as cluster:
            yield cluster
    elif backend == "kind":
        with _kind(keep=keep) as cluster:
            yield cluster
    else:
        raise ValueError(f"{BACKEND_ENV}={backend!r}: expected 'local' or 'kind'")


@contextmanager
def _local(*, keep: bool) -> Iterator[E2ECluster]:
    dev = DevCluster(os.environ.get("EBBTIDE_TEST_CLUSTER_NAME", "test"))
    was_running = dev.exists() and all(s.ready for s in dev.status())
    info = dev.up()
    try:
        yield E2ECluster(
            backend="local",
            kubeconfig=info.kubeconfig,
            kubectl_path=info.bin_dir / "kubectl",
            prometheus_url=info.prometheus_url,
            host=dev,
            second_scheduler=LocalSecondScheduler(dev),
            local=dev,
        )
    finally:
        if not (keep or was_running):
            dev.down()


@contextmanager
def _kind(*, keep: bool) -> Iterator[E2ECluster]:
    from tests.support import kind  # imports this module

    with kind.provide_kind(keep=keep) as running:
        yield running
