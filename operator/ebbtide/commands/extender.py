"""``ebbtide extender``: the HTTP scheduler extender the kube-scheduler calls."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ebbtide.commands.cluster_options import cluster_options, connect
from ebbtide.commands.logging_options import configure_logging, logging_options
from ebbtide.commands.prometheus_options import credentials_from, prometheus_credential_options
from ebbtide.errors import PrometheusUnusableError
from ebbtide.kube.client import ClusterAccess
from ebbtide.metrics.prometheus_probe import check_url

DEFAULT_PORT = 8888
#: Seconds a thread holding the GIL keeps it when another thread asks for it (see below).
REQUEST_SWITCH_INTERVAL = 0.0005


@click.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="YAML configuration, re-read when it changes (defaults apply without one).",
)
@cluster_options
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--prometheus-url",
    default=None,
    help="Prometheus to read node load from (overrides the configuration's load.prometheusUrl).",
)
@prometheus_credential_options
@logging_options
def extender(
    config_path: Path | None,
    kubeconfig: Path | None,
    context: str | None,
    host: str,
    port: int,
    prometheus_url: str | None,
    log_level: str,
    log_format: str,
    **prometheus_options: Any,
) -> None:
    """Serve filter and prioritize for the kube-scheduler (nodeCacheCapable, ignorable)."""
    # Imported here so `ebbtide --help` does not load aiohttp, numpy and the Kubernetes client.
    from aiohttp import web
    from kubernetes import client

    from ebbtide.errors import InvalidConfigError
    from ebbtide.event_loop import new_event_loop
    from ebbtide.extender.config import ExtenderConfig, load_config
    from ebbtide.extender.config_reload import ConfigHolder
    from ebbtide.extender.runtime import Extender
    from ebbtide.extender.telemetry import Telemetry
    from ebbtide.kube.node_cache import NodeCache

    configure_logging(level=log_level, log_format=log_format)
    credentials = credentials_from(prometheus_options)
    try:
        initial = load_config(config_path) if config_path is not None else ExtenderConfig()
        if prometheus_url is not None:
            check_url(prometheus_url)
    except (InvalidConfigError, PrometheusUnusableError) as error:
        raise click.ClickException(str(error)) from error
    api_client = connect(ClusterAccess(kubeconfig=kubeconfig, context=context))
    telemetry = Telemetry()
    holder = ConfigHolder(
        initial=initial, path=config_path, prometheus_url=prometheus_url, telemetry=telemetry
    )
    # The node cache's watch threads decode every pod and node event while holding the GIL; a
    # request waiting for the GIL gets it only when the switch interval (5 ms by default) has
    # passed, so while pods are bound by the hundred, answers queued behind the watch by up to
    # 5 ms. The scheduler waits for each answer; the watch can wait a fraction of a millisecond.
    sys.setswitchinterval(REQUEST_SWITCH_INTERVAL)
    cache = NodeCache(virtual_nodes=initial.cache.virtual_nodes, assume_ttl=initial.cache.assume_seconds)
    cache.start(client.CoreV1Api(api_client))
    try:
        app = Extender(
            config=holder, cluster=cache, telemetry=telemetry, prometheus_credentials=credentials
        ).app()
        web.run_app(app, host=host, port=port, access_log=None, print=None, loop=new_event_loop())
    finally:
        cache.stop()
