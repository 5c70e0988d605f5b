"""Where the local cluster keeps its binaries (a shared cache) and its state (one folder per cluster)."""

from __future__ import annotations

import os
from pathlib import Path

from ebbtide.devcluster.versions import ETCD_VERSION, KUBERNETES_VERSION, KWOK_VERSION

CACHE_ENV = "EBBTIDE_CACHE_DIR"
STATE_ENV = "EBBTIDE_STATE_DIR"


def cache_root() -> Path:
    """The binary cache: ``$EBBTIDE_CACHE_DIR``, else ``$XDG_CACHE_HOME/ebbtide`` or ``~/.cache/ebbtide``."""
    if value := os.environ.get(CACHE_ENV):
        return Path(value).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "ebbtide"


def bin_dir() -> Path:
    """Binaries for the pinned versions; the folder name changes with any pin, so a new pin rebuilds."""
    return cache_root() / f"k8s-{KUBERNETES_VERSION}-etcd-{ETCD_VERSION}-kwok-{KWOK_VERSION}" / "bin"


def state_root() -> Path:
    """Where clusters keep their state: ``$EBBTIDE_STATE_DIR``, else ``~/.local/state/ebbtide``."""
    if value := os.environ.get(STATE_ENV):
        return Path(value).expanduser()
    xdg = os.environ.get("XDG_STATE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".local" / "state") / "ebbtide"


def cluster_dir(name: str) -> Path:
    """The state folder of the cluster called ``name``; ``down`` removes it entirely."""
    return state_root() / name
