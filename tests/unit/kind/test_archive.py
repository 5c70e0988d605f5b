"""The release tarball's image archive: kind must learn every image from its first entry."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from ebbtide.kind.archive import index_first, qualified


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("kindest/kindnetd:v1", "docker.io/kindest/kindnetd:v1"),
        ("busybox:1", "docker.io/library/busybox:1"),
        ("registry.k8s.io/pause:3.10", "registry.k8s.io/pause:3.10"),
        ("localhost/x:1", "localhost/x:1"),
        ("host:5000/x:1", "host:5000/x:1"),
    ],
)
def test_references_get_their_registry_spelled_out(reference: str, expected: str) -> None:
    assert qualified(reference) == expected


def _saved(path: Path, images: dict[str, list[str]]) -> None:
    """A stand-in for a ``docker save`` archive: a layer file per image, then its indexes."""
    manifest = [
        {"Config": f"{image_id}.json", "RepoTags": tags, "Layers": [f"{image_id}/layer.tar"]}
        for image_id, tags in images.items()
    ]
    with tarfile.open(path, "w") as archive:
        for name, data in [
            *((f"{i}/layer.tar", b"layer") for i in images),
            *((f"{i}.json", b"{}") for i in images),
            ("manifest.json", json.dumps(manifest).encode()),
            ("repositories", b"{}"),
        ]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))


def test_the_index_comes_first_and_names_every_image_in_full(tmp_path: Path) -> None:
    source, target = tmp_path / "saved.tar", tmp_path / "kube-proxy.tar"
    _saved(
        source,
        {
            "aaa": ["kindest/kindnetd:v1"],
            "bbb": ["registry.k8s.io/pause:3.10", "registry.k8s.io/pause:3.10.2"],
        },
    )

    references = index_first(source, target)

    expected = ["docker.io/kindest/kindnetd:v1", "registry.k8s.io/pause:3.10", "registry.k8s.io/pause:3.10.2"]
    assert references == expected
    with tarfile.open(target) as archive:
        names = archive.getnames()
        assert names[0] == "repositories"
        assert names.count("repositories") == 1 and names.count("manifest.json") == 1
        assert {"aaa/layer.tar", "bbb/layer.tar", "aaa.json", "bbb.json"} <= set(names)
        index = json.load(archive.extractfile("repositories"))  # type: ignore[arg-type]
        manifest = json.load(archive.extractfile("manifest.json"))  # type: ignore[arg-type]
    assert index == {
        "docker.io/kindest/kindnetd": {"v1": "aaa"},
        "registry.k8s.io/pause": {"3.10": "bbb", "3.10.2": "bbb"},
    }
    assert manifest[0]["RepoTags"] == ["docker.io/kindest/kindnetd:v1"]
