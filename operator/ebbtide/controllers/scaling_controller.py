"""Handlers of the scaling controller (registered by :mod:`ebbtide.controllers.registration`)."""

from __future__ import annotations

import kopf

from ebbtide.controllers.runtime import OperatorContext


def register(registry: kopf.OperatorRegistry, context: OperatorContext) -> None:
    """Register this controller's kopf handlers on ``registry``."""
