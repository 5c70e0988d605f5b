"""A kind cluster of the offline node image: created, wired, loaded with images, deleted.

The cluster is made from the repository's kind-config.yaml (one control plane, two workers,
the kubelet's cgroup v1 setting) with two changes for the offline node image: no default CNI
(:mod:`ebbtide.kind.network` wires the pod network) and kube-proxy in nftables mode (the mode
that needs only ``nft`` in its image). kind's calls go through the docker shim where the engine
refuses privileged containers (:mod:`ebbtide.kind.shim`).
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ebbtide.devcluster.paths import bin_dir, state_root
from ebbtide.errors import KindError
from ebbtide.kind.network import node_networks, wire
from ebbtide.kind.shim import kind_environment, privileged_refused

Progress = Callable[[str], None]
READY_SECONDS = 300.0


def offline_config(config: dict[str, Any], *, name: str, root: Path) -> dict[str, Any]:
    """``config`` (a kind Cluster) named ``name``, without kind's CNI, with kube-proxy in
    nftables mode, and with its nodes' relative mount paths made absolute from ``root``."""
    networking = {**(config.get("networking") or {}), "disableDefaultCNI": True, "kubeProxyMode": "nftables"}
    nodes = [
        {**node, "extraMounts": [{**m, "hostPath": str(root / m["hostPath"])} for m in node["extraMounts"]]}
        if node.get("extraMounts")
        else node
        for node in config.get("nodes") or []
    ]
    return {**config, "name": name, "networking": networking, "nodes": nodes}


@dataclass(frozen=True)
class KindCluster:
    """The kind cluster ``name`` run by the ``kind`` binary; its state (kubeconfig, the config it
    was made with) lives in ``<state>/kind-<name>``."""

    name: str
    kind: Path

    @property
    def state(self) -> Path:
        return state_root() / f"kind-{self.name}"

    @property
    def kubeconfig(self) -> Path:
        return self.state / "kubeconfig"

    def exists(self) -> bool:
        clusters = self._kind("get", "clusters", capture=True).split()
        return self.name in clusters

    def create(self, *, image: str, config: Path, progress: Progress) -> None:
        """Create the cluster from ``config`` on node ``image`` unless it exists, wire its pod
        network, and wait until every node is Ready."""
        self.state.mkdir(parents=True, exist_ok=True)
        if not self.exists():
            made = self.state / "kind-config.yaml"
            # Relative mount paths are the checkout's, where kind-config.yaml lives.
            wanted = offline_config(
                yaml.safe_load(config.read_text()), name=self.name, root=config.resolve().parent
            )
            made.write_text(yaml.safe_dump(wanted))
            progress(f"creating kind cluster {self.name!r} from {config} on {image}")
            self._kind(
                "create", "cluster", f"--name={self.name}", f"--image={image}", f"--config={made}",
                f"--kubeconfig={self.kubeconfig}", "--retain", timeout=900, image=image,
            )  # fmt: skip
        elif not self.kubeconfig.is_file():
            self.kubeconfig.write_text(self._kind("get", "kubeconfig", f"--name={self.name}", capture=True))
        wire(self._networks())
        self.kubectl("wait", "--for=condition=Ready", "node", "--all", f"--timeout={READY_SECONDS:.0f}s")

    def delete(self) -> None:
        """Delete the cluster (and its state) if it exists."""
        if self.exists():
            self._kind("delete", "cluster", f"--name={self.name}", timeout=300)
        if self.kubeconfig.exists():
            self.kubeconfig.unlink()

    def load(self, *images: str) -> None:
        """Put the local docker ``images`` on every node (``kind load docker-image``); images a
        node holds already are left as they are."""
        self._kind("load", "docker-image", *images, f"--name={self.name}", timeout=1800, image=images[0])

    def kubectl(self, *args: str, input: str | None = None) -> str:
        """Run the pinned kubectl against the cluster; returns its output, raises KindError."""
        done = subprocess.run(
            [str(bin_dir() / "kubectl"), f"--kubeconfig={self.kubeconfig}", *args],
            input=input,
            capture_output=True,
            text=True,
            timeout=READY_SECONDS + 60,
            check=False,
        )
        if done.returncode != 0:
            raise KindError(f"kubectl {' '.join(args[:3])} failed: {done.stderr.strip()}")
        return done.stdout

    def _networks(self) -> list[Any]:
        """The nodes' networks, once the controller-manager has given each its pod range."""
        deadline = time.monotonic() + READY_SECONDS
        while True:
            try:
                return node_networks(json.loads(self.kubectl("get", "nodes", "--output=json")))
            except ValueError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)

    def _kind(self, *args: str, capture: bool = False, timeout: float = 120, image: str | None = None) -> str:
        env = kind_environment(use_shim=image is not None and _needs_shim(image))
        done = subprocess.run(
            [str(self.kind), *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
        if done.returncode != 0:
            raise KindError(f"kind {' '.join(args[:2])} failed:\n{done.stderr.strip()[-3000:]}")
        return done.stdout if capture else ""


def _needs_shim(image: str) -> bool:
    return privileged_refused(image)
