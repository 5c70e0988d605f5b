"""The kind node's base image, made from Debian packages and kind's own base files.

kind's base image is built from sources fetched at build time; here the same layout comes from a
Debian root filesystem (:data:`NODE_ROOTFS`: systemd, containerd, runc, the CNI plugins, the
iptables/nftables userspace) and the files kind's module ships under ``images/base/files``. Two
changes make it run where the engine starts no privileged containers:

- the entry point remounts the cgroup filesystems read-write before kind's own runs
  (``files/node-entrypoint``);
- containerd clamps the OOM score adjustments it cannot set (``restrict_oom_score_adj``).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from ebbtide.devcluster.versions import KIND_NODE_SUITE, KIND_VERSION
from ebbtide.errors import NodeImageError
from ebbtide.kind import docker
from ebbtide.kind.binaries import kind_source
from ebbtide.kind.rootfs import Rootfs, bootstrapped

Progress = Callable[[str], None]

NODE_ROOTFS = Rootfs(
    name="kind-node",
    suite=KIND_NODE_SUITE,
    packages=(
        # what kind's base image installs
        "systemd",
        "conntrack",
        "iptables",
        "nftables",
        "iproute2",
        "ethtool",
        "util-linux",
        "mount",
        "kmod",
        "libseccomp2",
        "pigz",
        "fuse-overlayfs",
        "e2fsprogs",
        "bash",
        "ca-certificates",
        "curl",
        "jq",
        "procps",
        # what kind builds from source for it
        "containerd",
        "runc",
        "containernetworking-plugins",
    ),
)
#: The CNI plugins kind's layout expects in /opt/cni/bin (Debian installs them in /usr/lib/cni).
CNI_PLUGINS = ("host-local", "loopback", "ptp", "portmap", "bridge")
#: Changes with :func:`_lay_out`, so that a base laid out differently gets another tag.
LAYOUT_REVISION = 1
_FILES = resources.files("ebbtide.kind") / "files"
_OOM_SETTING = "restrict_oom_score_adj = "


def base_reference() -> str:
    """The base image's tag: kind's version and a hash of everything it is made of."""
    digest = hashlib.sha256(NODE_ROOTFS.key.encode())
    for part in (str(LAYOUT_REVISION), _CONFIGURE, " ".join(CNI_PLUGINS)):
        digest.update(part.encode())
    digest.update((_FILES / "node-entrypoint").read_bytes())
    return f"{docker.repository('ebbtide-kind-base')}:{KIND_VERSION}-{digest.hexdigest()[:12]}"


def ensure_base(*, progress: Progress, log: Path) -> str:
    """The node base image, built unless it exists; returns its reference."""
    reference = base_reference()
    if docker.image_exists(reference):
        return reference
    with docker.building(reference) as needed:
        if needed:
            progress(f"building {reference} with debootstrap {NODE_ROOTFS.suite} (log: {log})")
            _build_base(reference, log=log)
    return reference


def _build_base(reference: str, *, log: Path) -> None:
    kind_files = kind_source() / "images" / "base" / "files"
    with bootstrapped(NODE_ROOTFS, log=log) as tree:
        _lay_out(tree, kind_files)
        _configure(tree, log=log)
        flat = f"{reference}-flat"
        docker.import_rootfs(
            tree,
            tag=flat,
            changes=[
                "ENV container=docker",
                "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]',
            ],
        )
    # systemd stops on SIGRTMIN+3, which `docker import` cannot set: one build step on top.
    with tempfile.TemporaryDirectory() as scratch:
        Path(scratch, "Dockerfile").write_text(f"FROM {flat}\nSTOPSIGNAL SIGRTMIN+3\n")
        docker.build(Path(scratch), tag=reference)
    docker.docker("rmi", flat)


def _lay_out(tree: Path, kind_files: Path) -> None:
    """kind's base files in place, with this project's two changes."""
    for folder in ("kind", "etc", "usr"):
        _copy(kind_files / folder, tree / folder)
    entrypoint = tree / "usr/local/bin/entrypoint"
    entrypoint.rename(entrypoint.with_name("entrypoint.kind"))
    entrypoint.write_bytes((_FILES / "node-entrypoint").read_bytes())
    entrypoint.chmod(0o755)
    config = tree / "etc/containerd/config.toml"
    text = config.read_text()
    if f"{_OOM_SETTING}false" not in text:
        raise NodeImageError(f"kind {KIND_VERSION}'s containerd configuration has no {_OOM_SETTING}false")
    config.write_text(text.replace(f"{_OOM_SETTING}false", f"{_OOM_SETTING}true"))
    # kind's units start containerd from /usr/local/bin and look for CNI plugins in /opt/cni/bin.
    (tree / "usr/local/bin/containerd").symlink_to("/usr/bin/containerd")
    (tree / "opt/cni/bin").mkdir(parents=True, exist_ok=True)
    for plugin in CNI_PLUGINS:
        shutil.copy2(tree / "usr/lib/cni" / plugin, tree / "opt/cni/bin" / plugin)
    (tree / "etc/kubernetes/manifests").mkdir(parents=True, exist_ok=True)
    (tree / "etc/machine-id").write_text("")


def _copy(source: Path, target: Path) -> None:
    """Copy the tree ``source`` into ``target`` with the modes kind's image gives its files
    (the Go module cache holds them read-only): 0755 for folders and executables, else 0644."""
    shutil.copytree(source, target, dirs_exist_ok=True)
    target.chmod(0o755)
    for path in source.rglob("*"):
        copied = target / path.relative_to(source)
        executable = path.is_dir() or path.stat().st_mode & 0o111 or path.parent.name == "bin"
        copied.chmod(0o755 if executable else 0o644)


# As kind's base image does: only the services a node needs start, the journal does not read
# the kernel's ring buffer, and containerd's base OCI spec runs kind's product-files hook.
_CONFIGURE = r"""
set -eu
find /lib/systemd/system/sysinit.target.wants/ -name systemd-tmpfiles-setup.service -delete
rm -f /lib/systemd/system/multi-user.target.wants/* /etc/systemd/system/*.wants/* \
      /lib/systemd/system/local-fs.target.wants/* /lib/systemd/system/sockets.target.wants/*udev* \
      /lib/systemd/system/sockets.target.wants/*initctl* /lib/systemd/system/basic.target.wants/*
echo ReadKMsg=no >> /etc/systemd/journald.conf
ln -sf /usr/lib/systemd/systemd /sbin/init
systemctl enable kubelet.service containerd.service undo-mount-hacks.service
systemctl mask systemd-binfmt.service
hook='{"path": "/kind/bin/mount-product-files.sh"}'
ctr oci spec \
  | jq ".hooks.createContainer[.hooks.createContainer | length] |= . + $hook" \
  | jq 'del(.process.rlimits)' > /etc/containerd/cri-base.json
"""


def _configure(tree: Path, *, log: Path) -> None:
    with log.open("ab") as out:
        done = subprocess.run(
            ["chroot", str(tree), "/bin/bash", "-c", _CONFIGURE],
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=600,
            check=False,
        )
    if done.returncode != 0:
        raise NodeImageError(f"configuring the node base failed (log: {log})")
