"""Finding and reading a policy's target, with every failure turned into a reason and message.

A missing target (deleted, or not created yet) or one whose kind cannot be scaled is not an error
of the operator: the round reports it (Ready=False and an event) and tries again next interval.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from kubernetes.client.exceptions import ApiException

from ebbtide.api import scalingpolicy_vocabulary as why
from ebbtide.api.scalingpolicy import TargetRef
from ebbtide.controllers.scaling.services import ScalingServices
from ebbtide.errors import TargetKindError
from ebbtide.kube.discovery import ScalableResource
from ebbtide.kube.errors import api_error
from ebbtide.kube.scale import ScaleReading
from ebbtide.metrics import scaling_metrics

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Target:
    """A target that exists: its resource and its /scale as read."""

    resource: ScalableResource
    scale: ScaleReading


@dataclass(frozen=True)
class TargetProblem:
    """Why the target could not be read: a condition/event ``reason`` and a ``message``."""

    reason: str
    message: str


def describe(ref: TargetRef) -> str:
    """How messages name the target, e.g. ``Deployment web``."""
    return f"{ref.kind} {ref.name}"


async def read_target(services: ScalingServices, *, ref: TargetRef, namespace: str) -> Target | TargetProblem:
    """The target's /scale, or the problem that stopped reading it."""
    try:
        # Both answers usually come from memory: a kind resolved before, a watched target.
        resource = services.resolver.known(api_version=ref.api_version, kind=ref.kind)
        if resource is None:
            resource = await services.kube(
                services.resolver.resolve, api_version=ref.api_version, kind=ref.kind
            )
        cluster = services.cluster
        scale = cluster.cached_scale(resource, namespace=namespace, name=ref.name)
        if scale is None:
            scale = await services.kube(cluster.read_scale, resource, namespace=namespace, name=ref.name)
    except TargetKindError as error:
        scaling_metrics.ERRORS.labels(kind="target_kind").inc()
        return TargetProblem(why.TARGET_NOT_SCALABLE, f"cannot scale {describe(ref)}: {error}")
    except Exception as error:  # API errors and network failures alike: retried next round
        scaling_metrics.ERRORS.labels(kind="kube_api").inc()
        logger.warning("reading %s in %s failed: %r", describe(ref), namespace, error)
        return TargetProblem(
            why.KUBERNETES_API_ERROR, f"reading {describe(ref)} failed: {api_error_text(error)}"
        )
    if scale is None:
        scaling_metrics.ERRORS.labels(kind="target_not_found").inc()
        return TargetProblem(
            why.TARGET_NOT_FOUND,
            f"{describe(ref)} ({ref.api_version}) does not exist in namespace {namespace}; "
            "replicas are left alone until it does",
        )
    return Target(resource=resource, scale=scale)


def api_error_text(error: BaseException) -> str:
    """A short description of a Kubernetes API failure (the API server's message if it sent one)."""
    if isinstance(error, ApiException):
        error = api_error(error)
        return f"HTTP {error.status} {error.reason or ''}".strip() + (
            f": {error.message}" if error.message else ""
        )
    return f"{type(error).__name__}: {error}"[:500]
