"""Handlers of the queue controller (registered by :mod:`ebbtide.controllers.registration`).

kopf runs the admission webhooks (:mod:`ebbtide.controllers.fairqueue.webhook`) and the
operator's lifecycle; the admission engine (:mod:`ebbtide.controllers.fairqueue.engine`, admitting only
while it holds the Lease of :mod:`ebbtide.controllers.fairqueue.leadership`) starts
with the operator, stops with it, and reports its health through kopf's liveness probe.
"""

from __future__ import annotations

import time
from typing import Any

import kopf

from ebbtide.api.fairqueue_vocabulary import WEBHOOK_CONFIGURATION
from ebbtide.controllers.fairqueue.leadership import LeaderElectedEngine
from ebbtide.controllers.fairqueue.webhook import SelfSignedWebhookServer, register_webhooks
from ebbtide.controllers.runtime import OperatorConfig, OperatorContext


def webhook_server(config: OperatorConfig) -> kopf.WebhookServer:
    """The HTTPS server of the admission webhooks.

    With a given certificate, kopf serves it and reloads it when the files change (cert-manager
    renews in place); the configuration that trusts it belongs to whoever issued it, so the
    operator needs no right on webhook configurations. Otherwise a self-signed certificate is
    made at start-up and kopf writes it into the configuration it manages.
    """
    if config.webhook_cert_file is not None and config.webhook_key_file is not None:
        return kopf.WebhookServer(
            addr=config.webhook_host,
            port=config.webhook_port,
            host=config.webhook_public_host,
            certfile=config.webhook_cert_file,
            pkeyfile=config.webhook_key_file,
        )
    return SelfSignedWebhookServer(
        addr=config.webhook_host, port=config.webhook_port, host=config.webhook_public_host
    )


def register(registry: kopf.OperatorRegistry, context: OperatorContext) -> None:
    """Register this controller's kopf handlers on ``registry``."""
    config = context.config
    engines: list[LeaderElectedEngine] = []
    register_webhooks(registry)

    @kopf.on.startup(registry=registry)
    def start_fair_queues(settings: kopf.OperatorSettings, **_: Any) -> None:
        settings.admission.server = webhook_server(config)
        if config.webhook_cert_file is None:
            settings.admission.managed = WEBHOOK_CONFIGURATION
        engine = LeaderElectedEngine(context.api_client)
        engine.start()
        engines.append(engine)

    @kopf.on.cleanup(registry=registry)
    def stop_fair_queues(**_: Any) -> None:
        while engines:
            engines.pop().stop()

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
