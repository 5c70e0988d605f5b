"""The Docker CLI, as the image builds and the kind test bed call it.

Every call goes through :func:`docker`, which raises :class:`DockerError` with the command's own
words when it fails. Images are told apart by their tags, which carry the hash of their inputs
(see :mod:`ebbtide.kind.images`), so "is it built?" is "does the tag exist?".
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from ebbtide.devcluster.paths import cache_root
from ebbtide.errors import DockerError

#: Prefixed to the repository of every image built here (empty unless set), so that a second,
#: separate set of images (a cold build timed beside the usual one, say) never meets the first.
IMAGE_PREFIX_ENV = "EBBTIDE_IMAGE_PREFIX"


def repository(name: str) -> str:
    """The repository an image called ``name`` is tagged in: ``name`` behind ``$EBBTIDE_IMAGE_PREFIX``."""
    return os.environ.get(IMAGE_PREFIX_ENV, "") + name


def docker(*args: str, input: bytes | None = None, timeout: float = 1800) -> str:
    """Run ``docker args...`` and return its standard output (decoded)."""
    binary = shutil.which("docker")
    if binary is None:
        raise DockerError("docker is not on PATH: `make bootstrap` installs and starts the engine")
    # The classic builder: it uses a local base image as it is, where BuildKit would look it up in
    # a registry first.
    env = {**os.environ, "DOCKER_BUILDKIT": "0"}
    done = subprocess.run(
        [binary, *args], input=input, capture_output=True, timeout=timeout, check=False, env=env
    )
    if done.returncode != 0:
        words = done.stderr.decode(errors="replace").strip() or done.stdout.decode(errors="replace")[-2000:]
        raise DockerError(f"`docker {' '.join(args[:3])} ...` failed: {words}")
    return done.stdout.decode(errors="replace")


def image_exists(reference: str) -> bool:
    """Whether the engine holds an image tagged ``reference``."""
    try:
        docker("image", "inspect", "--format", "{{.Id}}", reference, timeout=60)
    except DockerError:
        return False
    return True


@contextmanager
def building(reference: str) -> Iterator[bool]:
    """Hold the lock for building ``reference`` (two processes never build one image at once);
    yields whether it still has to be built once the lock is held."""
    locks = cache_root() / "image-locks"
    locks.mkdir(parents=True, exist_ok=True)
    with (locks / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', reference)}.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield not image_exists(reference)
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def image_id(reference: str) -> str:
    """The content-addressed id of the image tagged ``reference``."""
    return docker("image", "inspect", "--format", "{{.Id}}", reference, timeout=60).strip()


def build(
    context: Path,
    *,
    tag: str,
    dockerfile: Path | None = None,
    build_args: Mapping[str, str] | None = None,
) -> None:
    """``docker build`` of ``context``; the engine's classic builder, which uses local images as
    they are and never pulls one that is already there."""
    args = ["build", "--quiet", f"--tag={tag}"]
    if dockerfile is not None:
        args.append(f"--file={dockerfile}")
    for name, value in (build_args or {}).items():
        args.append(f"--build-arg={name}={value}")
    docker(*args, str(context))


def import_rootfs(rootfs: Path, *, tag: str, changes: Sequence[str] = ()) -> None:
    """Make image ``tag`` of the folder ``rootfs`` (``docker import`` of its tar, streamed, with
    numeric owners), with Dockerfile instructions ``changes`` (ENV, ENTRYPOINT, ...)."""
    binary = shutil.which("docker") or "docker"
    tar = subprocess.Popen(
        ["tar", "--numeric-owner", "--create", f"--directory={rootfs}", "."], stdout=subprocess.PIPE
    )
    try:
        done = subprocess.run(
            [binary, "import", *[f"--change={change}" for change in changes], "-", tag],
            stdin=tar.stdout,
            capture_output=True,
            timeout=1800,
            check=False,
        )
    finally:
        if tar.stdout is not None:
            tar.stdout.close()
        tar.wait()
    if done.returncode != 0 or tar.returncode != 0:
        raise DockerError(f"`docker import` of {rootfs} failed: {done.stderr.decode(errors='replace')}")


def save(references: Sequence[str], path: Path) -> None:
    """Write the images ``references`` into one ``docker save`` archive at ``path``."""
    docker("save", f"--output={path}", *references)


def tag(source: str, target: str) -> None:
    docker("tag", source, target, timeout=60)
