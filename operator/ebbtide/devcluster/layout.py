"""Where each file of one local cluster lives, and which loopback ports it uses.

Ports are picked once, when the cluster is first created, and kept in ``cluster.json`` so that a
second ``up`` (or a restart of one component) finds everything where it was. Several clusters
(the demo's and the tests') can run side by side because each picks its own ports.
"""

from __future__ import annotations

import json
import socket
from dataclasses import asdict, dataclass
from pathlib import Path

from ebbtide.devcluster.pki import CertPair

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class Ports:
    """The loopback ports of one cluster's components."""

    etcd_client: int
    etcd_peer: int
    apiserver: int
    controller_manager: int
    scheduler: int
    kwok: int
    prometheus: int
    ebbtide_scheduler: int
    ebbtide_extender: int

    @classmethod
    def allocate(cls) -> Ports:
        """Pick currently free ports (the kernel's choice, so clusters do not collide)."""
        names = list(cls.__dataclass_fields__)
        sockets = [socket.socket() for _ in names]
        try:
            for sock in sockets:
                sock.bind((LOOPBACK, 0))
            return cls(**{n: s.getsockname()[1] for n, s in zip(names, sockets, strict=True)})
        finally:
            for sock in sockets:
                sock.close()


@dataclass(frozen=True)
class Layout:
    """The files of the cluster whose state lives in ``root``."""

    root: Path

    @property
    def manifest(self) -> Path:
        return self.root / "cluster.json"

    @property
    def pki(self) -> Path:
        return self.root / "pki"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def etcd_data(self) -> Path:
        return self.root / "etcd"

    @property
    def prometheus_dir(self) -> Path:
        return self.root / "prometheus"

    @property
    def prometheus_targets(self) -> Path:
        """File-based service discovery: one JSON file per job, read by Prometheus within seconds."""
        return self.prometheus_dir / "targets"

    @property
    def kubeconfig(self) -> Path:
        """The admin kubeconfig handed to users and tests."""
        return self.root / "kubeconfig"

    def component_kubeconfig(self, component: str) -> Path:
        return self.root / "kubeconfigs" / f"{component}.kubeconfig"

    def config_file(self, name: str) -> Path:
        return self.root / "config" / name

    @property
    def audit_log(self) -> Path:
        """The API server's audit log: one JSON event per write (see :func:`write_audit_policy`)."""
        return self.logs / "kube-apiserver-audit.log"

    def log_file(self, component: str) -> Path:
        return self.logs / f"{component}.log"

    def pid_file(self, component: str) -> Path:
        return self.run / f"{component}.pid"

    def cert(self, name: str) -> CertPair:
        return CertPair(self.pki / f"{name}.crt", self.pki / f"{name}.key")

    @property
    def ca(self) -> CertPair:
        return self.cert("ca")

    def load_ports(self) -> Ports | None:
        """The ports recorded when the cluster was created, or None for a new cluster."""
        if not self.manifest.is_file():
            return None
        recorded = json.loads(self.manifest.read_text())["ports"]
        # A cluster made before a component existed gets fresh ports for the new ones only.
        fresh = asdict(Ports.allocate())
        return Ports(**{name: recorded.get(name, port) for name, port in fresh.items()})

    def save_ports(self, ports: Ports, *, versions: dict[str, str], extender: bool = False) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        document = {"ports": asdict(ports), "versions": versions, "extender": extender}
        self.manifest.write_text(json.dumps(document, indent=2) + "\n")

    def extender_enabled(self) -> bool:
        """Whether the cluster runs the second scheduler with the ebbtide extender."""
        if not self.manifest.is_file():
            return False
        return bool(json.loads(self.manifest.read_text()).get("extender", False))
