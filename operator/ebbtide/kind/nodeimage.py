"""``ebbtide kind image``: a kind node image of the pinned Kubernetes release, built offline.

With a registry, kind's own node images serve; this one is for machines that can pull nothing.
Every image a node runs is made here on the Debian base (:func:`ebbtide.kind.images.ensure_debian_base`)
around one binary: the control plane and etcd of the local test bed's cache, kube-proxy and CoreDNS
of the kind cache, and Debian's ``catatonit`` as the pause process. They are tagged exactly as
``kubeadm config images list`` and kind's containerd configuration name them, packed into a
release tarball (:mod:`ebbtide.kind.archive`), and ``kind build node-image`` makes the node of it
on the node base (:mod:`ebbtide.kind.nodebase`).

The cluster runs kube-proxy in nftables mode and a pod network this project wires itself
(:mod:`ebbtide.kind.network`), so kind's kindnetd never runs; neither does its storage
provisioner, whose manifest the image drops (kind then installs a plain default StorageClass). kind's
build still insists on both images being present, so their tags point at the pause image.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path

from ebbtide.devcluster.build import ensure_binaries
from ebbtide.devcluster.versions import (
    COREDNS_VERSION,
    ETCD_VERSION,
    KIND_VERSION,
    KUBERNETES_VERSION,
)
from ebbtide.errors import NodeImageError
from ebbtide.kind import docker
from ebbtide.kind.archive import index_first
from ebbtide.kind.binaries import ensure_node_binaries, kind_source
from ebbtide.kind.images import ensure_debian_base
from ebbtide.kind.nodebase import ensure_base
from ebbtide.kind.shim import kind_environment, privileged_refused

Progress = Callable[[str], None]

#: The images kind's build requires although the cluster never runs them (see the docstring).
UNUSED_KIND_IMAGES = ("kindnetd", "local-path-provisioner", "local-path-helper")
STORAGE_MANIFEST = "/kind/manifests/default-storage.yaml"
PAUSE_ENTRYPOINT = '["/usr/bin/catatonit", "-P"]'
#: Changes with how the images are assembled here, so that such a change gets another tag.
ASSEMBLY_REVISION = 2
_SIDE_LOADED = ("kube-apiserver", "kube-controller-manager", "kube-scheduler")


def node_reference(*, base: str, userland: str) -> str:
    """The node image's tag: the Kubernetes version and a hash of every input's identity."""
    digest = hashlib.sha256()
    for part in (docker.image_id(base), docker.image_id(userland), KIND_VERSION, KUBERNETES_VERSION):
        digest.update(part.encode())
    for part in (ETCD_VERSION, COREDNS_VERSION, str(ASSEMBLY_REVISION)):
        digest.update(part.encode())
    return f"{docker.repository('ebbtide-kind-node')}:{KUBERNETES_VERSION}-{digest.hexdigest()[:12]}"


def ensure_node_image(*, progress: Progress, log: Path) -> str:
    """The node image, built unless an image of the same inputs exists; returns its reference."""
    control_plane = ensure_binaries(progress)
    node_bins = ensure_node_binaries(progress)
    base = ensure_base(progress=progress, log=log)
    userland = ensure_debian_base(progress=progress, log=log)
    reference = node_reference(base=base, userland=userland)
    if docker.image_exists(reference):
        return reference
    with docker.building(reference) as needed:
        if needed:
            progress(f"building {reference}")
            _build(reference, binaries=[control_plane, node_bins], base=base, userland=userland, log=log)
    return reference


def _build(reference: str, *, binaries: list[Path], base: str, userland: str, log: Path) -> None:
    by_name = {path.name: path for folder in binaries for path in folder.iterdir()}
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        wanted = _required_images(by_name["kubeadm"])
        built = _component_images(wanted, binaries=by_name, userland=userland, work=work)
        tarball = _release_tarball(built, binaries=by_name, work=work)
        unpruned = f"{reference}-unpruned"
        _kind_build(tarball, base=base, image=unpruned, kind=by_name["kind"], log=log)
    _drop_storage_manifest(unpruned, reference)
    docker.docker("rmi", unpruned)


def _required_images(kubeadm: Path) -> list[str]:
    """What the node runs: kubeadm's images for the release, kind's sandbox image, and the
    images kind's build insists on."""
    listed = subprocess.run(
        [str(kubeadm), "config", "images", "list", f"--kubernetes-version={KUBERNETES_VERSION}"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout.split()
    containerd_config = (kind_source() / "images/base/files/etc/containerd/config.toml").read_text()
    sandbox = re.search(r'sandbox_image\s*=\s*"([^"]+)"', containerd_config)
    if sandbox is None:
        raise NodeImageError(f"kind {KIND_VERSION}'s containerd configuration names no sandbox_image")
    unused = _kind_build_constants()
    return sorted({*listed, sandbox[1], *unused})


def _kind_build_constants() -> list[str]:
    """The kindnetd and storage images kind's node build pulls (constants of its source)."""
    source = kind_source() / "pkg/build/nodeimage"
    text = "".join(p.read_text() for p in source.glob("const_*.go"))
    found = re.findall(r'"(docker\.io/kindest/[a-z-]+:[^"]+)"', text)
    if {reference.split("/")[-1].split(":")[0] for reference in found} != set(UNUSED_KIND_IMAGES):
        raise NodeImageError(
            f"kind {KIND_VERSION}'s node build requires images this build does not know: {found}"
        )
    return found


def _component_images(
    wanted: list[str], *, binaries: dict[str, Path], userland: str, work: Path
) -> list[str]:
    """Build one image per binary on ``userland`` and tag it with every wanted reference it
    serves; returns the references."""
    for reference in wanted:
        name = reference.rsplit("/", 1)[-1].split(":")[0]
        if name == "pause" or name in UNUSED_KIND_IMAGES:
            _build_image(reference, userland=userland, work=work, binary=None)
            continue
        if name == "coredns" and not reference.endswith(f":{COREDNS_VERSION}"):
            raise NodeImageError(f"kubeadm wants {reference}; COREDNS_VERSION pins {COREDNS_VERSION}")
        if name not in binaries:
            raise NodeImageError(f"kubeadm wants {reference}, and no binary {name!r} was built")
        _build_image(reference, userland=userland, work=work, binary=binaries[name])
    return wanted


def _build_image(reference: str, *, userland: str, work: Path, binary: Path | None) -> None:
    context = work / "context"
    shutil.rmtree(context, ignore_errors=True)
    context.mkdir()
    if binary is None:
        dockerfile = f"FROM {userland}\nENTRYPOINT {PAUSE_ENTRYPOINT}\n"
    else:
        shutil.copy2(binary, context / binary.name)
        # CoreDNS's manifest passes only arguments; the others name their command.
        dockerfile = (
            f"FROM {userland}\nCOPY {binary.name} /usr/local/bin/{binary.name}\n"
            f'ENTRYPOINT ["/usr/local/bin/{binary.name}"]\n'
        )
    (context / "Dockerfile").write_text(dockerfile)
    docker.build(context, tag=reference)


def _release_tarball(references: list[str], *, binaries: dict[str, Path], work: Path) -> Path:
    """``kubernetes-server-linux-amd64.tar.gz`` as kind reads it (see :mod:`ebbtide.kind.archive`)."""
    server = work / "kubernetes" / "server" / "bin"
    server.mkdir(parents=True)
    (work / "kubernetes" / "version").write_text(KUBERNETES_VERSION)
    for name in ("kubeadm", "kubelet", "kubectl"):
        shutil.copy2(binaries[name], server / name)
    side_loaded = {name: f"registry.k8s.io/{name}:{KUBERNETES_VERSION}" for name in _SIDE_LOADED}
    for name, reference in side_loaded.items():
        docker.save([reference], server / f"{name}.tar")
    others = [r for r in references if r not in side_loaded.values()]
    docker.save(others, work / "others.tar")
    index_first(work / "others.tar", server / "kube-proxy.tar")
    (work / "others.tar").unlink()
    tarball = work / "kubernetes-server-linux-amd64.tar.gz"
    with tarfile.open(tarball, "w:gz", compresslevel=1) as out:
        out.add(work / "kubernetes", arcname="kubernetes")
    return tarball


def _kind_build(tarball: Path, *, base: str, image: str, kind: Path, log: Path) -> None:
    command = [str(kind), "build", "node-image", "--type=file", str(tarball), f"--base-image={base}"]
    with log.open("ab") as out:
        done = subprocess.run(
            [*command, f"--image={image}"],
            env=kind_environment(use_shim=privileged_refused(base)),
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=3600,
            check=False,
        )
    if done.returncode != 0:
        raise NodeImageError(f"`kind build node-image` failed (log: {log})")


def _drop_storage_manifest(source: str, target: str) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        Path(scratch, "Dockerfile").write_text(f"FROM {source}\nRUN rm {STORAGE_MANIFEST}\n")
        docker.build(Path(scratch), tag=target)
