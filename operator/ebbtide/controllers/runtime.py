"""Running the operator: kopf settings, and the shared configuration handlers receive.

kopf runs standalone, without its peering: every replica must run every ScalingPolicy's loop
(each decides the policies it owns, :mod:`ebbtide.controllers.scaling.ownership`), and FairQueue
admission elects its one admitting replica on a Lease of its own
(:mod:`ebbtide.controllers.fairqueue.leadership`). kopf's peering would pause all of a standby's
handlers, the policy loops with them.

Handlers get an :class:`OperatorContext` through kopf's ``memo``. kopf keeps its own bookkeeping
in annotations under ``ebbtide.io`` rather than in ``status``: the CRDs' status schemas are
structural, so anything kopf wrote there would be pruned (and warned about) by the apiserver.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import kopf
from kubernetes import client
from prometheus_client import start_http_server

from ebbtide.event_loop import new_event_loop
from ebbtide.kube.client import ClusterAccess, load_api_client
from ebbtide.kube.leases import default_identity
from ebbtide.metrics.build_info import register_build_info
from ebbtide.metrics.prometheus_access import NO_CREDENTIALS, PrometheusCredentials

ANNOTATION_PREFIX = "ebbtide.io"
#: The finalizer kopf would put on an object a handler of ebbtide needed one for (none does).
KOPF_FINALIZER_NOW = f"{ANNOTATION_PREFIX}/kopf"
logger = logging.getLogger(__name__)


@dataclass
class OperatorConfig:
    """What the operator was started with (``ebbtide operator`` options)."""

    kubeconfig: Path | None = None
    #: The kubeconfig context (``--context``); None: the current one.
    context: str | None = None
    prometheus_url: str = "http://127.0.0.1:9090"
    #: How to authenticate to it (``--prometheus-*`` options); none by default.
    prometheus_credentials: PrometheusCredentials = NO_CREDENTIALS
    namespaces: tuple[str, ...] = ()
    metrics_host: str = "0.0.0.0"
    metrics_port: int = 8080
    health_port: int = 8081
    webhook_host: str = "0.0.0.0"
    webhook_port: int = 9443
    webhook_public_host: str | None = None
    #: A certificate (chain) and key to serve, e.g. mounted from a Secret; the webhook
    #: configuration is then someone else's (the Helm chart's). Without them the operator makes a
    #: self-signed certificate and manages the configuration itself.
    webhook_cert_file: Path | None = None
    webhook_key_file: Path | None = None
    #: A Secret (in the operator's namespace, see :func:`ebbtide.kube.leases.default_namespace`)
    #: where the operator keeps the webhook's CA and certificate itself, renewing them and the
    #: ``caBundle`` of MutatingWebhookConfiguration ``webhook_configuration`` (the chart's).
    webhook_cert_secret: str | None = None
    webhook_configuration: str | None = None
    #: The names (DNS or IP) the kept certificate is for: how the API server calls the webhook.
    webhook_cert_hosts: tuple[str, ...] = ()
    webhook_cert_validity: dt.timedelta = dt.timedelta(days=365)
    webhook_ca_validity: dt.timedelta = dt.timedelta(days=3650)
    #: Seconds between two reads of the Secret by each replica.
    webhook_cert_refresh: float = 60.0
    prometheus_concurrency: int = 8
    controllers: tuple[str, ...] = ("scaling", "queueing")

    @property
    def cluster_access(self) -> ClusterAccess:
        return ClusterAccess(kubeconfig=self.kubeconfig, context=self.context)


@dataclass
class OperatorContext:
    """Shared state for handlers: the configuration and clients made once at start-up."""

    config: OperatorConfig
    api_client: client.ApiClient
    extras: dict[str, Any] = field(default_factory=dict)


def configure_settings(settings: kopf.OperatorSettings, config: OperatorConfig) -> None:
    """Apply ebbtide's kopf settings (called from the startup handler)."""
    # No handler needs a finalizer. Not kopf's default one: earlier versions kept it on every
    # ScalingPolicy, and kopf would take it off on every event, in every replica (see
    # ebbtide.controllers.scaling.finalizer for how it comes off instead).
    settings.persistence.finalizer = KOPF_FINALIZER_NOW
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=ANNOTATION_PREFIX)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=ANNOTATION_PREFIX, key="last-handled-configuration"
    )
    settings.posting.level = logging.WARNING
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    settings.peering.standalone = True


def run(config: OperatorConfig) -> None:
    """Register the selected controllers and run kopf until interrupted.

    /metrics (prometheus_client's default registry) is served on ``metrics_port`` and kopf's
    liveness probe on ``health_port``; both bind ``metrics_host``.
    """
    if config.kubeconfig is not None:
        # Whatever reads $KUBECONFIG later (the Lease's namespace) reads the same file.
        os.environ["KUBECONFIG"] = str(config.kubeconfig)
    context = OperatorContext(
        config=config, api_client=load_api_client(config.kubeconfig, context=config.context)
    )
    register_build_info("operator")
    start_http_server(config.metrics_port, addr=config.metrics_host)
    registry = kopf.OperatorRegistry()
    _register(registry, context)
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        runner.run(_operator(registry, config, context))


async def _operator(
    registry: kopf.OperatorRegistry, config: OperatorConfig, context: OperatorContext
) -> None:
    await kopf.operator(
        registry=registry,
        clusterwide=not config.namespaces,
        namespaces=config.namespaces,
        standalone=True,
        # kopf would otherwise name itself after the user, which a container's arbitrary uid
        # (65532 in the chart) does not have: getpwuid() fails and the operator never starts.
        # (kopf types the identity as a NewType of str it does not export.)
        identity=cast(Any, default_identity()),
        memo=kopf.Memo(context=context),
        liveness_endpoint=f"http://{config.metrics_host}:{config.health_port}/healthz",
    )


def _register(registry: kopf.OperatorRegistry, context: OperatorContext) -> None:
    from ebbtide.controllers.registration import register_all

    register_all(registry, context)
