"""Which controllers the operator runs, and where each registers its kopf handlers."""

from __future__ import annotations

import importlib
from typing import Any

import kopf

from ebbtide.controllers.runtime import OperatorContext

# controller name (``ebbtide operator --controllers``) -> module exposing ``register``.
CONTROLLERS: dict[str, str] = {
    "scaling": "ebbtide.controllers.scaling.controller",
    "queueing": "ebbtide.controllers.fairqueue.controller",
}


def register_all(registry: kopf.OperatorRegistry, context: OperatorContext) -> None:
    """Register the handlers of every controller selected in the configuration."""
    _register_startup(registry, context)
    for name in context.config.controllers:
        if name not in CONTROLLERS:  # ``ebbtide operator`` refuses unknown names before this
            raise ValueError(f"unknown controller {name!r}; known: {', '.join(sorted(CONTROLLERS))}")
        module = importlib.import_module(CONTROLLERS[name])
        module.register(registry, context)


def _register_startup(registry: kopf.OperatorRegistry, context: OperatorContext) -> None:
    from ebbtide.controllers.runtime import configure_settings

    @kopf.on.startup(registry=registry)
    def configure(settings: kopf.OperatorSettings, **_: object) -> None:
        configure_settings(settings, context.config)

    @kopf.on.login(registry=registry)
    def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
        # kopf uses the same cluster and credentials as the operator's own client: in a pod,
        # the service account's token, so the operator acts with exactly the chart's RBAC.
        from ebbtide.kube.login import login as cluster_login

        return cluster_login(context.config.cluster_access, **kwargs)
