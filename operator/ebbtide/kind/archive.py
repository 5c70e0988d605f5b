"""Image archives in the shape ``kind build node-image --type file`` reads.

kind takes a Kubernetes release tarball and side-loads the images in four of its archives
(``kube-apiserver.tar``, ``kube-controller-manager.tar``, ``kube-scheduler.tar``,
``kube-proxy.tar``); every other image the node needs, it pulls. It learns an archive's images
from the first ``repositories`` or ``manifest.json`` entry it meets, and of ``manifest.json`` it
reads only the first image. So the images that cannot be pulled here travel in ``kube-proxy.tar``
as one multi-image archive whose first entry is a ``repositories`` index naming every image by
its full reference (``docker save`` writes ``docker.io`` ones in short form).
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import IO, Any

_INDEXES = ("repositories", "manifest.json")


def qualified(reference: str) -> str:
    """``reference`` with the registry spelled out, as kind compares them:
    ``kindest/x:1`` -> ``docker.io/kindest/x:1``, ``busybox:1`` -> ``docker.io/library/busybox:1``."""
    repository, _, tag = reference.rpartition(":")
    first = repository.split("/", 1)[0]
    if "." in first or ":" in first or first == "localhost":
        return reference
    prefix = "docker.io/" if "/" in repository else "docker.io/library/"
    return f"{prefix}{repository}:{tag}"


def index_first(source: Path, target: Path) -> list[str]:
    """Copy the ``docker save`` archive ``source`` to ``target`` with a ``repositories`` index of
    every image's full reference as its first entry; returns those references."""
    with tarfile.open(source) as archive:
        manifest: list[dict[str, Any]] = json.load(_read(archive, "manifest.json"))
        repositories: dict[str, dict[str, str]] = {}
        for image in manifest:
            image["RepoTags"] = [qualified(tag) for tag in image.get("RepoTags") or []]
            image_id = Path(image["Config"]).name.removesuffix(".json")
            for reference in image["RepoTags"]:
                repository, _, tag = reference.rpartition(":")
                repositories.setdefault(repository, {})[tag] = image_id
        with tarfile.open(target, "w") as out:
            _add(out, "repositories", json.dumps(repositories).encode())
            for member in archive.getmembers():
                if member.name not in _INDEXES:
                    out.addfile(member, archive.extractfile(member) if member.isfile() else None)
            _add(out, "manifest.json", json.dumps(manifest).encode())
    return sorted(f"{repository}:{tag}" for repository, tags in repositories.items() for tag in tags)


def _read(archive: tarfile.TarFile, name: str) -> IO[bytes]:
    member = archive.extractfile(name)
    if member is None:
        raise ValueError(f"{archive.name!s} has no {name}")
    return member


def _add(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    archive.addfile(info, io.BytesIO(data))
