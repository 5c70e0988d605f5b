"""Debian root filesystems made with debootstrap: the bases of every image built here.

A :class:`Rootfs` names a Debian release and the packages on top of ``minbase``; its
:attr:`Rootfs.key` changes with either, so an image tagged with the key is rebuilt exactly when
its recipe changes. The tree is made in a temporary folder, trimmed of what no container reads
(apt's lists and caches, documentation), and removed once the caller has imported it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ebbtide.devcluster.paths import cache_root
from ebbtide.errors import RootfsError

MIRROR_ENV = "EBBTIDE_DEBIAN_MIRROR"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
_TRIMMED = ("var/lib/apt/lists", "var/cache/apt", "usr/share/doc", "usr/share/man", "usr/share/info")


@dataclass(frozen=True)
class Rootfs:
    """Debian ``suite`` (``minbase``) with ``packages`` on top."""

    name: str
    suite: str
    packages: tuple[str, ...]

    @property
    def key(self) -> str:
        """A short hash of the recipe: the same key means the same tree."""
        recipe = "\n".join([self.suite, *sorted(self.packages)])
        return hashlib.sha256(recipe.encode()).hexdigest()[:12]


@contextmanager
def bootstrapped(rootfs: Rootfs, *, log: Path) -> Iterator[Path]:
    """A fresh tree of ``rootfs`` in a temporary folder (removed afterwards); debootstrap's
    output goes to ``log``."""
    if shutil.which("debootstrap") is None:
        raise RootfsError("debootstrap is not installed: `make bootstrap` installs it")
    scratch_parent = cache_root() / "scratch"
    scratch_parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f"rootfs-{rootfs.name}-", dir=scratch_parent))
    tree = scratch / "rootfs"
    try:
        _debootstrap(rootfs, tree, log=log)
        for relative in _TRIMMED:
            shutil.rmtree(tree / relative, ignore_errors=True)
            (tree / relative).mkdir(parents=True, exist_ok=True)
        yield tree
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _debootstrap(rootfs: Rootfs, tree: Path, *, log: Path) -> None:
    mirror = os.environ.get(MIRROR_ENV, DEFAULT_MIRROR)
    command = [
        "debootstrap",
        "--variant=minbase",
        f"--include={','.join(rootfs.packages)}",
        rootfs.suite,
        str(tree),
        mirror,
    ]
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        done = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, timeout=3600, check=False)
    if done.returncode != 0:
        tail = log.read_text(errors="replace").splitlines()[-20:]
        raise RootfsError(f"debootstrap of {rootfs.name} ({rootfs.suite}) failed:\n" + "\n".join(tail))
