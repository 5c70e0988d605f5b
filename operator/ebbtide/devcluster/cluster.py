"""``ebbtide dev``: bring a local cluster up, report on it, and take it down.

``up`` is idempotent: components already running and ready are left alone, missing ones are
started (etcd keeps its data, so the cluster's objects survive), and the node set is reconciled.
``down`` stops every process the cluster started and removes its state folder.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ebbtide.devcluster import process
from ebbtide.devcluster.build import ensure_binaries
from ebbtide.devcluster.components import Component, control_plane
from ebbtide.devcluster.configs import (
    scheduler_configuration,
    write_audit_policy,
    write_kubeconfig,
    write_kwok_stages,
    write_prometheus_config,
    write_scheduler_configuration,
)
from ebbtide.devcluster.credentials import ensure_credentials
from ebbtide.devcluster.layout import LOOPBACK, Layout, Ports
from ebbtide.devcluster.node_sync import reconcile_nodes, wait_nodes_ready, wait_service_account
from ebbtide.devcluster.nodes import NodeSpec, default_nodes
from ebbtide.devcluster.paths import bin_dir, cluster_dir
from ebbtide.devcluster.rbac import ensure_component_rbac
from ebbtide.devcluster.scheduling import ebbtide_scheduler_configuration, ebbtide_scheduling
from ebbtide.devcluster.versions import ETCD_VERSION, KUBERNETES_VERSION, KWOK_VERSION
from ebbtide.errors import ComponentFailedError, PrometheusMissingError

Progress = Callable[[str], None]
DEFAULT_NAME = "dev"
START_TIMEOUT_SECONDS = 90.0
_EXTENDER_COMPONENTS = ("ebbtide-extender", "ebbtide-scheduler")


@dataclass(frozen=True)
class ClusterInfo:
    """How to reach a running local cluster."""

    name: str
    kubeconfig: Path
    apiserver_url: str
    prometheus_url: str
    bin_dir: Path
    state_dir: Path


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    pid: int | None
    ready: bool


class DevCluster:
    """One named local cluster whose state lives in ``cluster_dir(name)``."""

    def __init__(self, name: str = DEFAULT_NAME, *, root: Path | None = None) -> None:
        self.name = name
        self.layout = Layout(root or cluster_dir(name))

    # ----------------------------------------------------------------------------- queries
    def info(self) -> ClusterInfo:
        ports = self._ports()
        return ClusterInfo(
            name=self.name,
            kubeconfig=self.layout.kubeconfig,
            apiserver_url=f"https://{LOOPBACK}:{ports.apiserver}",
            prometheus_url=f"http://{LOOPBACK}:{ports.prometheus}",
            bin_dir=bin_dir(),
            state_dir=self.layout.root,
        )

    def exists(self) -> bool:
        return self.layout.load_ports() is not None

    def status(self) -> list[ComponentStatus]:
        """Each component's pid (None when not running) and readiness."""
        if not self.exists():
            return []
        result = []
        for component in self._components():
            pid = process.find(self.layout.pid_file(component.name))
            result.append(ComponentStatus(component.name, pid, pid is not None and component.ready()))
        return result

    # ----------------------------------------------------------------------------- lifecycle
    def up(
        self,
        *,
        nodes: list[NodeSpec] | None = None,
        extender: bool | None = None,
        progress: Progress = print,
    ) -> ClusterInfo:
        """Start whatever is not running, wait until every component and node is ready.

        ``extender`` adds the second scheduler (``ebbtide-scheduler``) and the ebbtide extender;
        None keeps what the cluster had.
        """
        started = time.monotonic()
        bins = ensure_binaries(progress)
        ports = self.layout.load_ports() or Ports.allocate()
        if extender is None:
            extender = self.layout.extender_enabled()
        versions = {"kubernetes": KUBERNETES_VERSION, "etcd": ETCD_VERSION, "kwok": KWOK_VERSION}
        self.layout.save_ports(ports, versions=versions, extender=extender)
        ensure_credentials(self.layout)
        self._write_configs(ports)
        components = self._components(bins)
        by_name = {c.name: c for c in components}
        for component in components:
            for dependency in component.after:
                self._wait_ready(by_name[dependency])
            if component.name.startswith("ebbtide-"):
                ensure_component_rbac(self.layout.kubeconfig)
            self._ensure_running(component)
        for name in _EXTENDER_COMPONENTS:
            if name not in by_name:  # switched off: stop what an earlier `up` started
                process.stop(self.layout.pid_file(name))
        info = self.info()
        reconcile_nodes(info.kubeconfig, nodes if nodes is not None else default_nodes())
        for component in components:
            self._wait_ready(component)
        wait_nodes_ready(info.kubeconfig, timeout_seconds=START_TIMEOUT_SECONDS)
        wait_service_account(info.kubeconfig, namespace="default", timeout_seconds=START_TIMEOUT_SECONDS)
        progress(f"cluster {self.name!r} ready in {time.monotonic() - started:.1f}s")
        return info

    def start_prometheus_only(self) -> str:
        """Run just this cluster's Prometheus (for a cluster that lives elsewhere, e.g. kind).

        Returns its URL. The apiserver and KWOK jobs in its configuration simply stay down.
        """
        ports = self.layout.load_ports() or Ports.allocate()
        self.layout.save_ports(ports, versions={"kubernetes": KUBERNETES_VERSION})
        ensure_credentials(self.layout)
        write_prometheus_config(self.layout, ports)
        (prometheus,) = [c for c in self._components(bin_dir()) if c.name == "prometheus"]
        self.start(prometheus)
        return self.info().prometheus_url

    def stop_component(self, name: str) -> bool:
        """Stop one component (e.g. to test an outage); returns whether it was running."""
        return process.stop(self.layout.pid_file(name))

    def start_component(self, name: str) -> None:
        """Start one stopped component again and wait until it is ready."""
        (component,) = [c for c in self._components(bin_dir()) if c.name == name]
        self.start(component)

    def restart_second_scheduler(self) -> None:
        """Stop the extender and the second scheduler, write the scheduler's configuration again
        (it follows the extender's file: the filter verb only with a ceiling) and start both."""
        ports = self._ports()
        for name in reversed(_EXTENDER_COMPONENTS):
            process.stop(self.layout.pid_file(name))
        configuration = ebbtide_scheduler_configuration(self.layout, ports)
        write_scheduler_configuration(self.layout.config_file("ebbtide-scheduler.yaml"), configuration)
        for component in ebbtide_scheduling(self.layout, ports, bin_dir()):
            self.start(component)

    def start(self, component: Component) -> None:
        """Start ``component`` unless it runs, and wait until it is ready.

        Its pid file and log live with this cluster's state, so ``stop_component`` and ``down``
        stop it too. For processes that serve a cluster living elsewhere (KWOK or a scheduler
        for a kind cluster); ``component.after`` is not waited for.
        """
        self._ensure_running(component)
        self._wait_ready(component)

    def down(self) -> list[str]:
        """Stop every component (dependents first) and remove the state folder; returns what ran."""
        stopped = []
        if self.layout.run.is_dir():
            order = [c.name for c in reversed(self._components())] if self.exists() else []
            extra = sorted(p.stem for p in self.layout.run.glob("*.pid") if p.stem not in order)
            for name in [*extra, *order]:
                if process.stop(self.layout.pid_file(name)):
                    stopped.append(name)
        shutil.rmtree(self.layout.root, ignore_errors=True)
        return stopped

    # ----------------------------------------------------------------------------- internals
    def _ports(self) -> Ports:
        ports = self.layout.load_ports()
        if ports is None:
            raise RuntimeError(f"cluster {self.name!r} does not exist; run `ebbtide dev up` first")
        return ports

    def _components(self, bins: Path | None = None) -> list[Component]:
        prometheus = _prometheus_binary(required=bins is not None)
        ports = self._ports()
        components = control_plane(self.layout, ports, bins or bin_dir(), prometheus)
        if self.layout.extender_enabled():
            components += ebbtide_scheduling(self.layout, ports, bins or bin_dir())
        return components

    def _write_configs(self, ports: Ports) -> None:
        layout = self.layout
        server = f"https://{LOOPBACK}:{ports.apiserver}"
        identities = {
            "admin": layout.kubeconfig,
            "kube-controller-manager": layout.component_kubeconfig("kube-controller-manager"),
            "kube-scheduler": layout.component_kubeconfig("kube-scheduler"),
            "kwok": layout.component_kubeconfig("kwok"),
            "ebbtide-scheduler": layout.component_kubeconfig("ebbtide-scheduler"),
            "ebbtide-extender": layout.component_kubeconfig("ebbtide-extender"),
        }
        for identity, path in identities.items():
            write_kubeconfig(
                path,
                server=server,
                ca=layout.ca.cert,
                identity=layout.cert(identity),
                user=identity,
            )
        write_scheduler_configuration(
            layout.config_file("kube-scheduler.yaml"),
            scheduler_configuration(
                kubeconfig=identities["kube-scheduler"],
                scheduler_name="default-scheduler",
                # The only default scheduler: no election, so a slow lease renewal never stops it.
                lease_name=None,
            ),
        )
        write_scheduler_configuration(
            layout.config_file("ebbtide-scheduler.yaml"), ebbtide_scheduler_configuration(layout, ports)
        )
        write_prometheus_config(layout, ports)
        write_kwok_stages(layout)
        write_audit_policy(layout)

    def _ensure_running(self, component: Component) -> None:
        if process.find(self.layout.pid_file(component.name)) is None:
            process.start(
                argv=component.argv,
                log=self.layout.log_file(component.name),
                pid_file=self.layout.pid_file(component.name),
            )

    def _wait_ready(self, component: Component) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        log = self.layout.log_file(component.name)
        while time.monotonic() < deadline:
            if process.find(self.layout.pid_file(component.name)) is None:
                raise _failed(component.name, "exited during start-up", log)
            if component.ready():
                return
            time.sleep(0.1)
        raise _failed(component.name, f"not ready after {START_TIMEOUT_SECONDS:.0f}s", log)


def _prometheus_binary(*, required: bool) -> str:
    """The Prometheus server on PATH; when not ``required`` (status, down) a placeholder will do."""
    found = shutil.which("prometheus")
    if found is None and not required:
        return "prometheus"
    if found is None:
        raise PrometheusMissingError(
            "the Prometheus server is not installed: `sudo apt-get install prometheus` "
            "(ebbtide starts it by hand with its own configuration)"
        )
    return found


def _failed(component: str, reason: str, log: Path) -> ComponentFailedError:
    return ComponentFailedError(
        component, f"{component} {reason}; last lines of {log}:\n{process.log_tail(log)}"
    )
