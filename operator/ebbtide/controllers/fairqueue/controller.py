"""Handlers of the queue controller (registered by :mod:`ebbtide.controllers.registration`).

kopf runs the admission webhooks (:mod:`ebbtide.controllers.fairqueue.webhook`) and the
operator's lifecycle; the admission engine (:mod:`ebbtide.controllers.fairqueue.engine`, admitting only
while it holds the Lease of :mod:`ebbtide.controllers.fairqueue.leadership`) starts
with the operator, stops with it, and reports its health through kopf's liveness probe.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import Any

import kopf
from kubernetes import client

from ebbtide.api.fairqueue_vocabulary import WEBHOOK_CONFIGURATION
from ebbtide.controllers.fairqueue.leadership import LeaderElectedEngine
from ebbtide.controllers.fairqueue.webhook import register_webhooks
from ebbtide.controllers.fairqueue.webhook_certificate import RotationPolicy
from ebbtide.controllers.fairqueue.webhook_serving import (
    CertificateKeeper,
    SecretWebhookServer,
    SelfSignedWebhookServer,
    ServingTLS,
)
from ebbtide.controllers.runtime import OperatorConfig, OperatorContext
from ebbtide.kube.errors import ForbiddenError, NotFoundError
from ebbtide.kube.leases import default_namespace
from ebbtide.kube.webhook_certificates import WebhookCertificateObjects


def webhook_server(config: OperatorConfig, tls: ServingTLS | None = None) -> kopf.WebhookServer:
    """The HTTPS server of the admission webhooks.

    With ``tls`` (the operator keeps its certificate in a Secret), it serves what ``tls`` holds.
    With given certificate files, kopf serves them and reloads them when the files change
    (cert-manager renews in place). In both cases the configuration that trusts the certificate
    is the chart's. Otherwise a self-signed certificate is made at start-up and kopf writes it
    into the configuration it manages.
    """
    address: dict[str, Any] = {
        "addr": config.webhook_host,
        "port": config.webhook_port,
        "host": config.webhook_public_host,
    }
    if tls is not None:
        return SecretWebhookServer(tls=tls, **address)
    if config.webhook_cert_file is not None and config.webhook_key_file is not None:
        return kopf.WebhookServer(
            certfile=config.webhook_cert_file, pkeyfile=config.webhook_key_file, **address
        )
    return SelfSignedWebhookServer(**address)


def certificate_keeper(config: OperatorConfig, api_client: client.ApiClient) -> CertificateKeeper | None:
    """The keeper of the webhook's certificate in ``config.webhook_cert_secret``; None without one."""
    if config.webhook_cert_secret is None or config.webhook_configuration is None:
        return None
    objects = WebhookCertificateObjects(
        api_client,
        namespace=default_namespace(config.cluster_access),
        secret=config.webhook_cert_secret,
        configuration=config.webhook_configuration,
    )
    policy = RotationPolicy(
        hosts=config.webhook_cert_hosts,
        ca_validity=config.webhook_ca_validity,
        serving_validity=config.webhook_cert_validity,
        # Every replica reads the Secret once per refresh interval; five of them is ample margin.
        overlap=dt.timedelta(seconds=5 * config.webhook_cert_refresh),
    )
    return CertificateKeeper(objects, policy=policy, tls=ServingTLS())


async def _start_keeping(keeper: CertificateKeeper, *, interval: float) -> asyncio.Task[None]:
    """The first certificate loaded, and the task that keeps it current."""
    try:
        await keeper.start()
    except (NotFoundError, ForbiddenError) as error:
        objects = keeper.objects
        raise kopf.TemporaryError(
            f"cannot read or write Secret {objects.namespace}/{objects.secret} for the webhook's "
            f"certificate (the chart creates it and grants get and update on it): {error}",
            delay=10,
        ) from error
    return asyncio.create_task(keeper.keep(interval=interval), name="webhook certificate keeper")


def register(registry: kopf.OperatorRegistry, context: OperatorContext) -> None:
    """Register this controller's kopf handlers on ``registry``."""
    config = context.config
    engines: list[LeaderElectedEngine] = []
    keepers: list[asyncio.Task[None]] = []
    keeper = certificate_keeper(config, context.api_client)
    register_webhooks(registry)

    @kopf.on.startup(registry=registry)
    async def start_fair_queues(settings: kopf.OperatorSettings, **_: Any) -> None:
        if keeper is not None and not keepers:
            keepers.append(await _start_keeping(keeper, interval=config.webhook_cert_refresh))
        settings.admission.server = webhook_server(config, keeper.tls if keeper is not None else None)
        if config.webhook_cert_file is None and keeper is None:
            settings.admission.managed = WEBHOOK_CONFIGURATION
        if not engines:
            engine = LeaderElectedEngine(
                context.api_client, lease_namespace=default_namespace(config.cluster_access)
            )
            await asyncio.to_thread(engine.start)
            engines.append(engine)

    @kopf.on.cleanup(registry=registry)
    async def stop_fair_queues(**_: Any) -> None:
        while keepers:
            keepers.pop().cancel()
        while engines:
            await asyncio.to_thread(engines.pop().stop)

    @kopf.on.probe(id="fairQueueAdmission", registry=registry)
    def admission_health(**_: Any) -> dict[str, Any]:
        if not engines:
            return {"running": False}
        loop = engines[0].loop
        since = None if loop.last_cycle_at is None else round(time.monotonic() - loop.last_cycle_at, 3)
        return {
            "running": True,
            "leader": engines[0].is_leader,
            "cycles": loop.cycles,
            "secondsSinceCycle": since,
            "lastError": loop.last_error,
        }
