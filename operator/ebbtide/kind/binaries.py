"""The Go binaries of the kind test bed, built from the Go module proxy into the cache.

kubelet, kubeadm and kube-proxy come from the same Kubernetes release as the local test bed's
control plane (module ``gomod/k8snode``, which pins it as ``gomod/k8s`` does); CoreDNS from
``gomod/coredns``, a CoreDNS with only the plugins kubeadm's Corefile uses; kind installs with
``go install`` at its pinned version. The folder's name carries every pin, so a
new pin builds anew and an old cache is never trusted.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

from ebbtide.devcluster.build import build_commands, build_lock, go_install
from ebbtide.devcluster.paths import cache_root
from ebbtide.devcluster.versions import COREDNS_VERSION, KIND_VERSION, KUBERNETES_VERSION
from ebbtide.errors import BuildError

Progress = Callable[[str], None]

NODE_COMMANDS = {
    "kubelet": "k8s.io/kubernetes/cmd/kubelet",
    "kubeadm": "k8s.io/kubernetes/cmd/kubeadm",
    "kube-proxy": "k8s.io/kubernetes/cmd/kube-proxy",
}
GO_INSTALLED = {"kind": f"sigs.k8s.io/kind@{KIND_VERSION}"}


def kind_bin_dir() -> Path:
    """Where the kind test bed's binaries are cached."""
    name = f"kind-{KIND_VERSION}-k8s-{KUBERNETES_VERSION}-coredns-{COREDNS_VERSION}-kubeadm-plugins"
    return cache_root() / name / "bin"


def ensure_kind(progress: Progress) -> Path:
    """The kind binary, installed unless cached."""
    _ensure(["kind"], progress)
    return kind_bin_dir() / "kind"


def ensure_node_binaries(progress: Progress) -> Path:
    """Every binary of the node image, built unless cached; returns their folder."""
    _ensure([*NODE_COMMANDS, "coredns", *GO_INSTALLED], progress)
    return kind_bin_dir()


def kind_source() -> Path:
    """The pinned kind's module source (``go mod download``): its node base files live there."""
    done = subprocess.run(
        ["go", "mod", "download", "-json", GO_INSTALLED["kind"]],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=cache_root(),
    )
    if done.returncode != 0:
        raise BuildError(f"go mod download {GO_INSTALLED['kind']} failed: {done.stderr or done.stdout}")
    return Path(json.loads(done.stdout)["Dir"])


def _ensure(names: list[str], progress: Progress) -> None:
    target = kind_bin_dir()
    if all((target / name).is_file() for name in names):
        return
    target.mkdir(parents=True, exist_ok=True)
    with build_lock(target.parent):
        missing = [name for name in names if not (target / name).is_file()]
        node = {name: package for name, package in NODE_COMMANDS.items() if name in missing}
        if node:
            build_commands(
                module="k8snode",
                commands=node,
                target=target,
                label=f"Kubernetes {KUBERNETES_VERSION} ({', '.join(node)})",
                progress=progress,
            )
        if "coredns" in missing:
            build_commands(
                module="coredns",
                commands={"coredns": "."},
                target=target,
                label=f"CoreDNS {COREDNS_VERSION}",
                progress=progress,
            )
        for name in missing:
            if name in GO_INSTALLED:
                go_install(name=name, package=GO_INSTALLED[name], target=target, progress=progress)
