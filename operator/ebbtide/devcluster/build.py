"""Builds the pinned binaries with Go when the cache misses.

``go install k8s.io/kubernetes/cmd/...`` does not work: k8s.io/kubernetes replaces its k8s.io/*
staging modules with paths inside its own repository. ``gomod/k8s`` is a small module that
requires k8s.io/kubernetes and replaces each staging module with the release of the same
version, so the commands build from the module proxy alone. etcd builds the same way from
``gomod/etcd``; KWOK, Helm and kubeconform have no replace directives and install with
``go install``.

Builds go to a temporary folder beside the cache and are renamed into place, so an interrupted
build never leaves a half-written binary that a later run would trust. A lock file serialises
concurrent builds (two test runs starting at once).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from importlib import resources
from pathlib import Path

from ebbtide.devcluster.paths import bin_dir
from ebbtide.devcluster.versions import (
    ETCD_VERSION,
    HELM_VERSION,
    KUBECONFORM_VERSION,
    KUBERNETES_BINARIES,
    KUBERNETES_VERSION,
    KWOK_VERSION,
)
from ebbtide.errors import BuildError

Progress = Callable[[str], None]

# Binaries that `go install` builds as they are (their modules have no replace directives).
GO_INSTALLED = {
    "kwok": f"sigs.k8s.io/kwok/cmd/kwok@{KWOK_VERSION}",
    "helm": f"helm.sh/helm/v4/cmd/helm@{HELM_VERSION}",
    "kubeconform": f"github.com/yannh/kubeconform/cmd/kubeconform@{KUBECONFORM_VERSION}",
}
ALL_BINARIES = (*KUBERNETES_BINARIES, "etcd", *GO_INSTALLED)


def missing_binaries() -> list[str]:
    """Names of the pinned binaries not yet in the cache."""
    return [name for name in ALL_BINARIES if not (bin_dir() / name).is_file()]


def ensure_binaries(progress: Progress = print) -> Path:
    """Build whatever the cache lacks and return the folder holding every binary."""
    target = bin_dir()
    if not missing_binaries():
        return target
    _require_go()
    target.mkdir(parents=True, exist_ok=True)
    with _build_lock(target.parent / "build.lock"):
        missing = missing_binaries()  # another process may have built them meanwhile
        if any(name in KUBERNETES_BINARIES for name in missing):
            _build_kubernetes(target, progress)
        if "etcd" in missing:
            _build_from_module(
                module="etcd",
                packages=["go.etcd.io/etcd/server/v3"],
                output=target / "etcd",
                label=f"etcd {ETCD_VERSION}",
                progress=progress,
            )
        for name, package in GO_INSTALLED.items():
            if name in missing:
                _go_install(name=name, package=package, target=target, progress=progress)
    return target


def _require_go() -> None:
    if shutil.which("go") is None:
        raise BuildError(
            "the Go toolchain is needed to build the pinned Kubernetes binaries once: "
            "install Go 1.26 (https://go.dev/dl/ or your distribution's golang package)"
        )


@contextmanager
def _build_lock(path: Path) -> Iterator[None]:
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _go_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        CGO_ENABLED="0",
        GOFLAGS="-mod=readonly -buildvcs=false",
        # Go 1.27 turns on encoding/json v2 by default, and an apiserver built that way serves a
        # broken OpenAPI document; pin the v1 behaviour the release was tested with.
        GOEXPERIMENT="nojsonv2",
    )
    return env


def _version_ldflags() -> str:
    major, minor = KUBERNETES_VERSION.lstrip("v").split(".")[:2]
    flags = ["-s", "-w"]
    for package in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [
            f"-X {package}.gitVersion={KUBERNETES_VERSION}",
            f"-X {package}.gitMajor={major}",
            f"-X {package}.gitMinor={minor}",
            f"-X {package}.gitTreeState=clean",
        ]
    return " ".join(flags)


def _build_kubernetes(target: Path, progress: Progress) -> None:
    commands = {
        "kube-apiserver": "k8s.io/kubernetes/cmd/kube-apiserver",
        "kube-controller-manager": "k8s.io/kubernetes/cmd/kube-controller-manager",
        "kube-scheduler": "k8s.io/kubernetes/cmd/kube-scheduler",
        "kubectl": "k8s.io/kubernetes/cmd/kubectl",
    }
    build_commands(
        module="k8s",
        commands=commands,
        target=target,
        label=f"Kubernetes {KUBERNETES_VERSION} ({', '.join(commands)})",
        progress=progress,
    )


def build_commands(
    *, module: str, commands: dict[str, str], target: Path, label: str, progress: Progress
) -> None:
    """Build ``commands`` (binary name -> package) of the Go module ``gomod/<module>`` at the
    pinned Kubernetes version's ldflags into ``target``, each binary renamed into place."""
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
        out = Path(scratch)
        _run_go_build(
            module=module,
            args=["-trimpath", "-ldflags", _version_ldflags(), "-o", f"{out}/", *commands.values()],
            label=label,
            progress=progress,
        )
        for name in commands:
            os.replace(out / name, target / name)


def go_install(*, name: str, package: str, target: Path, progress: Progress) -> None:
    """``go install package`` (``module/path@version``) and move its binary ``name`` into ``target``."""
    _go_install(name=name, package=package, target=target, progress=progress)


def build_lock(folder: Path) -> AbstractContextManager[None]:
    """The lock that serialises builds into ``folder``."""
    return _build_lock(folder / "build.lock")


def _build_from_module(
    *, module: str, packages: list[str], output: Path, label: str, progress: Progress
) -> None:
    with tempfile.TemporaryDirectory(dir=output.parent) as scratch:
        built = Path(scratch) / output.name
        _run_go_build(
            module=module,
            args=["-trimpath", "-ldflags", "-s -w", "-o", str(built), *packages],
            label=label,
            progress=progress,
        )
        os.replace(built, output)


def _go_install(*, name: str, package: str, target: Path, progress: Progress) -> None:
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
        env = _go_env() | {"GOBIN": scratch, "GOFLAGS": "-buildvcs=false"}
        command = ["go", "install", "-v", "-trimpath", "-ldflags", "-s -w", package]
        _stream(command, cwd=Path(scratch), env=env, label=package, progress=progress)
        os.replace(Path(scratch) / name, target / name)


def _run_go_build(*, module: str, args: list[str], label: str, progress: Progress) -> None:
    # The module ships inside the package, which may be read-only once installed: build from a copy.
    with tempfile.TemporaryDirectory() as workdir:
        source = resources.files("ebbtide.devcluster") / "gomod" / module
        for entry in source.iterdir():
            if entry.name in ("go.mod", "go.sum") or entry.name.endswith(".go"):
                (Path(workdir) / entry.name).write_bytes(entry.read_bytes())
        _stream(
            ["go", "build", "-v", *args],
            cwd=Path(workdir),
            env=_go_env(),
            label=label,
            progress=progress,
        )


def _stream(command: list[str], *, cwd: Path, env: dict[str, str], label: str, progress: Progress) -> None:
    """Run a Go command, reporting progress every 100 modules fetched or packages compiled."""
    started = time.monotonic()
    progress(f"building {label}: {' '.join(command[:2])} (a cold build takes several minutes)")
    tail: list[str] = []
    packages = downloads = 0
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert process.stdout is not None
    for line in process.stdout:
        tail = [*tail[-39:], line.rstrip()]
        if line.startswith("go: downloading"):
            downloads += 1
            if downloads % 100 == 0:
                progress(f"  {label}: {downloads} modules downloaded, {time.monotonic() - started:.0f}s")
        else:
            packages += 1
            if packages % 100 == 0:
                progress(f"  {label}: {packages} packages compiled, {time.monotonic() - started:.0f}s")
    if process.wait() != 0:
        raise BuildError(f"building {label} failed:\n" + "\n".join(tail))
    progress(f"  {label}: done in {time.monotonic() - started:.0f}s")
