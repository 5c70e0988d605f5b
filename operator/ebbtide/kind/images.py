"""The images ebbtide's kind test bed runs, built here from Debian packages and the checkout.

- the Debian base: Debian's python3 on ``minbase`` (users build on the official Python image),
  which the node image's component images share;
- ``ebbtide``: the project's Dockerfile on that base (its ``BASE_IMAGE`` build argument);
- the demo workload and the load generator: thin images over ``ebbtide`` whose entry points are
  ``ebbtide workload serve`` and ``ebbtide workload load`` (see :mod:`ebbtide.workload`);
- Prometheus: Debian's prometheus binary on the Python base's Debian userland.

Each tag ends in a hash of everything the image is made of (the recipe, the files copied in, the
base image's id), so a build is skipped exactly when an image of the same content exists.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import ebbtide
from ebbtide.errors import CheckoutMissingError, DockerError
from ebbtide.kind import docker
from ebbtide.kind.rootfs import Rootfs, bootstrapped

Progress = Callable[[str], None]

DEBIAN_ROOTFS = Rootfs(
    name="debian",
    suite="bookworm",  # Python 3.11, the version the project targets and its Dockerfile names
    packages=(
        "python3",
        "python3-venv",
        "python-is-python3",
        "ca-certificates",
        # for the node image's component images (ebbtide.kind.nodeimage): kube-proxy's
        # nftables and conntrack userspace, and the pause process
        "nftables",
        "iptables",
        "conntrack",
        "catatonit",
    ),
)
#: The certificate authorities this machine trusts. The Debian base trusts the same ones, so
#: that a build on it reaches the package indexes the way this machine does (through a proxy
#: that presents its own certificate authority, say).
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
#: Folders and files of the checkout the ebbtide image is built from (the Dockerfile's context,
#: as .dockerignore narrows it).
_EBBTIDE_SOURCES = ("Dockerfile", ".dockerignore", "pyproject.toml", "README.md", "operator")
_IGNORED_PARTS = {"__pycache__", ".mypy_cache", ".ruff_cache"}


@dataclass(frozen=True)
class Images:
    """References of the built images, each tagged with its content hash."""

    debian_base: str
    ebbtide: str
    workload: str
    loadgen: str
    prometheus: str


def checkout() -> Path:
    """The working directory if it is a checkout of ebbtide, else the one the package runs from."""
    for root in (Path.cwd(), Path(ebbtide.__file__).resolve().parents[2]):
        if (root / "Dockerfile").is_file() and (root / "images").is_dir():
            return root
    raise CheckoutMissingError("the images are built from a checkout of ebbtide: run this from one")


def ensure_images(*, progress: Progress, log: Path) -> Images:
    """Build whichever image is missing and return all of their references."""
    root = checkout()
    debian_base = ensure_debian_base(progress=progress, log=log)
    ebbtide_image = _ensure_built(
        "ebbtide",
        context=root,
        dockerfile=root / "Dockerfile",
        inputs=_files(root, _EBBTIDE_SOURCES),
        base=debian_base,
        progress=progress,
    )
    images = root / "images"
    workload, loadgen = (
        _ensure_built(
            f"ebbtide-{name}",
            context=images,
            dockerfile=images / f"{name}.Dockerfile",
            inputs=[images / f"{name}.Dockerfile"],
            base=ebbtide_image,
            base_arg="EBBTIDE_IMAGE",
            progress=progress,
        )
        for name in ("workload", "loadgen")
    )
    return Images(
        debian_base=debian_base,
        ebbtide=ebbtide_image,
        workload=workload,
        loadgen=loadgen,
        prometheus=_ensure_prometheus(images, base=debian_base, progress=progress),
    )


def ensure_debian_base(*, progress: Progress, log: Path) -> str:
    """The Debian base image, made with debootstrap unless it exists."""
    trusted = HOST_CA_BUNDLE.read_bytes() if HOST_CA_BUNDLE.is_file() else b""
    key = hashlib.sha256(DEBIAN_ROOTFS.key.encode() + trusted).hexdigest()[:12]
    reference = f"{docker.repository('ebbtide-debian')}:{DEBIAN_ROOTFS.suite}-{key}"
    if docker.image_exists(reference):
        return reference
    with docker.building(reference) as needed:
        if needed:
            progress(f"building {reference} with debootstrap (log: {log})")
            _bootstrap_debian_base(reference, trusted=trusted, log=log)
    return reference


def _bootstrap_debian_base(reference: str, *, trusted: bytes, log: Path) -> None:
    with bootstrapped(DEBIAN_ROOTFS, log=log) as tree:
        if trusted:
            (tree / HOST_CA_BUNDLE.relative_to("/")).write_bytes(trusted)
        docker.import_rootfs(
            tree,
            tag=reference,
            changes=[
                "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "ENV LANG=C.UTF-8",
                # pip carries its own certificate authorities; have it trust the system's
                f"ENV PIP_CERT={HOST_CA_BUNDLE}",
                'CMD ["python3"]',
            ],
        )


def _ensure_prometheus(images: Path, *, base: str, progress: Progress) -> str:
    binary = shutil.which("prometheus")
    if binary is None:
        raise DockerError("the prometheus binary is missing: `make bootstrap` installs it")
    with tempfile.TemporaryDirectory() as scratch:
        context = Path(scratch)
        shutil.copy2(images / "prometheus.Dockerfile", context / "Dockerfile")
        shutil.copy2(binary, context / "prometheus")
        return _ensure_built(
            "ebbtide-prometheus",
            context=context,
            dockerfile=context / "Dockerfile",
            inputs=[context / "Dockerfile", context / "prometheus"],
            base=base,
            progress=progress,
        )


def _ensure_built(
    repository: str,
    *,
    context: Path,
    dockerfile: Path,
    inputs: Iterable[Path],
    base: str,
    progress: Progress,
    base_arg: str = "BASE_IMAGE",
) -> str:
    """Build ``repository`` from ``dockerfile`` on ``base`` unless its content hash is tagged."""
    digest = hashlib.sha256(docker.image_id(base).encode())
    for path in sorted(inputs):
        digest.update(str(path.relative_to(context) if path.is_relative_to(context) else path.name).encode())
        digest.update(path.read_bytes())
    version = re.sub(r"[^A-Za-z0-9_.-]", "-", ebbtide.__version__)  # a tag allows no "+"
    reference = f"{docker.repository(repository)}:{version}-{digest.hexdigest()[:12]}"
    if not docker.image_exists(reference):
        progress(f"building {reference}")
        docker.build(context, tag=reference, dockerfile=dockerfile, build_args={base_arg: base})
    return reference


def _files(root: Path, names: Iterable[str]) -> list[Path]:
    """Every file under ``names`` (files or folders of ``root``), caches left out."""
    found: list[Path] = []
    for name in names:
        path = root / name
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            found += [
                p
                for p in path.rglob("*")
                if p.is_file() and not _IGNORED_PARTS.intersection(p.parts) and ".egg-info" not in str(p)
            ]
    return found
