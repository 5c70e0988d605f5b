"""``ebbtide_build_info``: which ebbtide each scraped process runs, as a constant 1 with labels.

Joined on ``job``/``instance`` it tells which version produced a series, and a rollout shows as
two versions side by side.
"""

from __future__ import annotations

import platform

from prometheus_client import REGISTRY, CollectorRegistry, Info

from ebbtide import __version__


def build_labels(component: str) -> dict[str, str]:
    """The labels of ``ebbtide_build_info`` for ``component`` (operator, extender)."""
    return {"version": __version__, "python_version": platform.python_version(), "component": component}


def register_build_info(component: str, registry: CollectorRegistry = REGISTRY) -> None:
    """Export ``ebbtide_build_info{version, python_version, component} 1`` in ``registry``."""
    Info("ebbtide_build", "The ebbtide build this process runs.", registry=registry).info(
        build_labels(component)
    )
