"""The kind backend: a kind cluster made into the same test bed as the local one.

The scenarios rely on more than the API. KWOK plays their pods on fake nodes named ``kwok-node-0``
to ``kwok-node-2`` (Running without pulling an image; a Job's pod succeeds once it has run for its
``ebbtide.io/simulated-duration``), a second scheduler calls the extender, and the API server
calls webhooks the tests serve on this machine. On kind the same pieces run on this machine, as
the local backend runs them, against kind's API server:

1. kind-config.yaml makes the cluster with the pinned kind (:data:`KIND_VERSION`), whose node
   image is the Kubernetes minor the host's binaries are built from.
2. Once kind's own Deployments (CoreDNS, the storage provisioner) are available, kind's nodes are
   labelled and tainted ``ebbtide.io/real-node=true:NoSchedule``. The tests' pods tolerate
   nothing, so only the fake nodes take them; what must run on a real node (the chart with the
   real image, tests/kind) selects and tolerates the pair (:func:`real_node_placement`). kind's
   DaemonSets are kept off the fake nodes, which on the local cluster run only the tests' pods.
3. KWOK runs on this machine with the devcluster's stages and serves the devcluster's default
   nodes.
4. The API server reaches this machine at the kind network's gateway (:func:`gateway_address`).
5. The extender scenarios start the second scheduler and the extender here
   (:class:`KindSecondScheduler`) with the Helm chart's service accounts and the chart's lease.
"""

from __future__ import annotations

import ipaddress
import json
import os
import platform
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from unittest import mock

from kubernetes import client
from tests.support.cluster import REPO, E2ECluster
from tests.support.waiting import eventually

from ebbtide.devcluster.build import ensure_binaries
from ebbtide.devcluster.cluster import DevCluster
from ebbtide.devcluster.components import KWOK_NODE_ANNOTATION, Component, kwok
from ebbtide.devcluster.configs import write_kwok_stages, write_scheduler_configuration
from ebbtide.devcluster.layout import Ports
from ebbtide.devcluster.node_sync import reconcile_nodes, wait_nodes_ready
from ebbtide.devcluster.nodes import DEV_NODE_LABEL, default_nodes
from ebbtide.devcluster.paths import bin_dir
from ebbtide.devcluster.scheduling import ebbtide_scheduler_configuration, ebbtide_scheduling
from ebbtide.devcluster.versions import KUBERNETES_VERSION

if TYPE_CHECKING:
    from pytest_kind import KindCluster
    from tests.support.chart_identities import ChartIdentities

KIND_NAME_ENV = "EBBTIDE_KIND_CLUSTER_NAME"
#: Its default node image is Kubernetes v1.36.1, the minor of KUBERNETES_VERSION: the host's
#: kube-scheduler must not be newer than the API server (the version skew policy). KIND_VERSION
#: in the environment overrides it, as it does for pytest-kind.
KIND_VERSION = "v0.32.0"
#: The network kind puts its nodes on; kind reads the same variable.
KIND_NETWORK_ENV = "KIND_EXPERIMENTAL_DOCKER_NETWORK"
REAL_NODE = "ebbtide.io/real-node"
REAL_NODE_TAINT = {"key": REAL_NODE, "value": "true", "effect": "NoSchedule"}
OFF_FAKE_NODES = {"key": DEV_NODE_LABEL, "operator": "DoesNotExist"}
READY_SECONDS = 300.0
_ARCHITECTURES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


# -- the cluster ------------------------------------------------------------------------------


def kind_handle() -> KindCluster:
    """pytest-kind's handle on the test cluster: the same name, kind binary and kubeconfig on
    every call (the kind tests load their image through it), and the pinned kubectl."""
    from pytest_kind import KindCluster  # pytest-kind is a test dependency, needed only here

    name = os.environ.get(KIND_NAME_ENV, "ebbtide")
    state = REPO / ".pytest-kind" / name
    state.mkdir(parents=True, exist_ok=True)
    return KindCluster(
        name,
        kubeconfig=state / "kubeconfig",
        kind_path=state / f"kind-{_kind_version()}",
        kubectl_path=bin_dir() / "kubectl",
    )


def kind_download_url(version: str, *, system: str, machine: str) -> str:
    """Where kind ``version`` for this operating system and processor is published."""
    architecture = _ARCHITECTURES.get(machine.lower(), machine.lower())
    return (
        f"https://github.com/kubernetes-sigs/kind/releases/download/{version}/"
        f"kind-{system.lower()}-{architecture}"
    )


def skew_problem(*, server: str, host: str) -> str | None:
    """Why binaries of Kubernetes ``host`` cannot serve an API server of version ``server``, or None.

    The host's kube-scheduler may be one minor older than the API server but never newer, and
    kubectl one minor either way: the server's minor must be the host's or the next.
    """
    (server_major, server_minor), (host_major, host_minor) = _minor(server), _minor(host)
    if server_major == host_major and server_minor in (host_minor, host_minor + 1):
        return None
    return (
        f"the kind cluster runs Kubernetes {server}, the host's kube-scheduler, KWOK and kubectl are "
        f"built from {host}: delete the cluster (`kind delete cluster --name ...`) so that kind "
        f"{_kind_version()} makes it again, or set KIND_VERSION to a kind whose node image is "
        f"v{host_major}.{host_minor} or v{host_major}.{host_minor + 1}"
    )


def _minor(version: str) -> tuple[int, int]:
    found = re.match(r"v?(\d+)\.(\d+)", version)
    if found is None:
        raise ValueError(f"not a Kubernetes version: {version!r}")
    return int(found[1]), int(found[2])


def _kind_version() -> str:
    return os.environ.get("KIND_VERSION", KIND_VERSION)


def _create(kind: KindCluster) -> None:
    """Create the cluster unless it exists, downloading the pinned kind first if needed.

    pytest-kind downloads the kind its own module pins unless ``KIND_DOWNLOAD_URL`` says where.
    """
    url = os.environ.get("KIND_DOWNLOAD_URL") or kind_download_url(
        _kind_version(), system=platform.system(), machine=platform.machine()
    )
    with mock.patch.dict(os.environ, {"KIND_DOWNLOAD_URL": url}):
        kind.create(config_file=REPO / "kind-config.yaml")


@contextmanager
def provide_kind(*, keep: bool) -> Iterator[E2ECluster]:
    """The kind cluster (made unless it exists) with its host side running; see the docstring.

    Everything here is idempotent, so a second session on the same cluster reuses it all. The
    host's processes stop at the end; the kind cluster is deleted too unless ``keep``.
    """
    bins = ensure_binaries(print)
    kind = kind_handle()
    _create(kind)
    try:
        with host_side(
            name=f"kind-{kind.name}",
            kubeconfig=Path(kind.kubeconfig_path),
            kubectl=bins / "kubectl",
            address=host_address(),
        ) as cluster:
            yield cluster
    finally:
        if not keep:
            kind.delete()


@contextmanager
def host_side(*, name: str, kubeconfig: Path, kubectl: Path, address: str) -> Iterator[E2ECluster]:
    """Steps 2 to 5 of the module's docstring for the cluster at ``kubeconfig``, whose API server
    reaches this machine at ``address``; the processes (state folder ``name``) stop at the end."""
    host = DevCluster(name)
    try:
        cluster = E2ECluster(
            backend="kind",
            kubeconfig=kubeconfig,
            kubectl_path=kubectl,
            prometheus_url=host.start_prometheus_only(),
            host=host,
            second_scheduler=KindSecondScheduler(host),
            host_address=address,
        )
        server = client.VersionApi(cluster.api_client).get_code().git_version
        if problem := skew_problem(server=server, host=KUBERNETES_VERSION):
            raise RuntimeError(problem)
        serve_fake_nodes(cluster)
        yield cluster
    finally:
        host.down()


# -- this machine, as the API server sees it --------------------------------------------------


def gateway_address(inspect_output: str) -> str:
    """This machine's IPv4 address on the docker network ``docker network inspect`` describes:
    the network's gateway (Docker's default, the subnet's first address, when none is named)."""
    [network] = json.loads(inspect_output)
    for entry in (network.get("IPAM") or {}).get("Config") or []:
        if gateway := entry.get("Gateway"):
            if ipaddress.ip_address(gateway).version == 4:
                return str(gateway)
        elif (subnet := entry.get("Subnet")) and ipaddress.ip_network(subnet).version == 4:
            return str(next(ipaddress.ip_network(subnet).hosts()))
    raise RuntimeError(f"the docker network {network.get('Name')!r} has no IPv4 subnet")


def host_address() -> str:
    """Where kind's API server (a container on the kind network) reaches this machine."""
    network = os.environ.get(KIND_NETWORK_ENV, "kind")
    inspected = subprocess.run(
        ["docker", "network", "inspect", network], capture_output=True, text=True, check=False, timeout=60
    )
    if inspected.returncode != 0:
        raise RuntimeError(f"`docker network inspect {network}` failed: {inspected.stderr.strip()}")
    return gateway_address(inspected.stdout)


# -- real nodes and fake nodes ----------------------------------------------------------------


def real_node_patch(node: dict[str, Any]) -> dict[str, Any] | None:
    """The patch that labels and taints a real node ``ebbtide.io/real-node``; None for a node
    KWOK plays and for one that has both already. Other taints are kept (the list is replaced)."""
    metadata = node.get("metadata") or {}
    if (metadata.get("annotations") or {}).get(KWOK_NODE_ANNOTATION) == "fake":
        return None
    taints = (node.get("spec") or {}).get("taints") or []
    labelled = (metadata.get("labels") or {}).get(REAL_NODE) == "true"
    tainted = any(t.get("key") == REAL_NODE and t.get("effect") == "NoSchedule" for t in taints)
    if labelled and tainted:
        return None
    patch: dict[str, Any] = {"metadata": {"labels": {REAL_NODE: "true"}}}
    if not tainted:
        patch["spec"] = {"taints": [*taints, REAL_NODE_TAINT]}
    return patch


def off_fake_nodes_patch(daemon_set: dict[str, Any]) -> dict[str, Any] | None:
    """The patch that keeps a DaemonSet off the fake nodes (a required node affinity on the
    absence of their ``ebbtide.io/dev-node`` label, added to each term); None if it is already."""
    pod = daemon_set["spec"]["template"]["spec"]
    node_affinity = (pod.get("affinity") or {}).get("nodeAffinity") or {}
    required = node_affinity.get("requiredDuringSchedulingIgnoredDuringExecution") or {}
    terms = required.get("nodeSelectorTerms") or [{}]
    if all(OFF_FAKE_NODES in (term.get("matchExpressions") or []) for term in terms):
        return None
    kept_off = [
        {**term, "matchExpressions": [*(term.get("matchExpressions") or []), OFF_FAKE_NODES]}
        if OFF_FAKE_NODES not in (term.get("matchExpressions") or [])
        else term
        for term in terms
    ]
    selector = {"nodeSelectorTerms": kept_off}
    affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": selector}}
    return {"spec": {"template": {"spec": {"affinity": affinity}}}}


def real_node_placement() -> dict[str, Any]:
    """Chart values that put the operator and the scheduler on kind's real nodes only."""
    placement = {
        "nodeSelector": {REAL_NODE: "true"},
        "tolerations": [{"operator": "Equal", **REAL_NODE_TAINT}],
    }
    return {"operator": placement, "scheduler": placement}


def serve_fake_nodes(cluster: E2ECluster) -> None:
    """Steps 2 and 3 of the module's docstring: real nodes tainted, KWOK and its nodes running."""
    # First, so that kind's own pods start on its own nodes, not on nodes where nothing runs.
    eventually(
        lambda: _deployments_available(cluster),
        timeout=READY_SECONDS,
        every=1,
        what="kind's Deployments (CoreDNS, the storage provisioner) to be Available",
    )
    serialise = cluster.api_client.sanitize_for_serialization
    for node in cluster.core.list_node().items:
        if (patch := real_node_patch(serialise(node))) is not None:
            cluster.core.patch_node(node.metadata.name, patch)
    for daemon_set in cluster.apps.list_daemon_set_for_all_namespaces().items:
        if (patch := off_fake_nodes_patch(serialise(daemon_set))) is not None:
            metadata = daemon_set.metadata
            cluster.apps.patch_namespaced_daemon_set(metadata.name, metadata.namespace, patch)
    layout = cluster.host.layout
    kubeconfig = layout.component_kubeconfig("kwok")
    kubeconfig.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(cluster.kubeconfig, kubeconfig)
    write_kwok_stages(layout)
    cluster.host.start(kwok(layout, _ports(cluster.host), bin_dir()))
    reconcile_nodes(cluster.kubeconfig, default_nodes())
    wait_nodes_ready(cluster.kubeconfig, timeout_seconds=READY_SECONDS)


def _deployments_available(cluster: E2ECluster) -> bool:
    deployments = cluster.apps.list_deployment_for_all_namespaces().items
    return all(
        any(c.type == "Available" and c.status == "True" for c in d.status.conditions or [])
        for d in deployments
    )


def _ports(host: DevCluster) -> Ports:
    ports = host.layout.load_ports()
    if ports is None:
        raise RuntimeError(f"the host side {host.name!r} has no ports yet (start Prometheus first)")
    return ports


# -- the second scheduler ---------------------------------------------------------------------


@dataclass(frozen=True)
class KindSecondScheduler:
    """The second scheduler and the extender on this machine, for kind, as the Helm chart runs
    them: the scheduler as the chart's scheduler service account, holding the one lease the
    chart lets it renew; the extender as the chart's extender account (the caller places its
    kubeconfig and configuration in the host's layout)."""

    host: DevCluster

    def start(self, identities: ChartIdentities) -> None:
        layout = self.host.layout
        kubeconfig = layout.component_kubeconfig("ebbtide-scheduler")
        kubeconfig.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(identities.scheduler, kubeconfig)
        namespace, lease = identities.scheduler_lease
        write_scheduler_configuration(
            layout.config_file("ebbtide-scheduler.yaml"),
            ebbtide_scheduler_configuration(
                layout, _ports(self.host), lease_name=lease, lease_namespace=namespace
            ),
        )
        for component in self._components():  # the extender first: the scheduler calls it
            self.host.stop_component(component.name)
            self.host.start(component)

    def start_extender(self) -> None:
        [extender] = [c for c in self._components() if c.name == "ebbtide-extender"]
        self.host.start(extender)

    def _components(self) -> list[Component]:
        return ebbtide_scheduling(self.host.layout, _ports(self.host), bin_dir())
